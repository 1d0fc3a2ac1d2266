"""The code version of this process: a digest of gridwall's source and assets, computed once.

It changes whenever the deployed code changes (any byte of a module, template or asset), and is the
same in every gunicorn worker and on every host that runs the same code (content only: no mtimes, no
paths outside the tree, no process state). A wall compares it with the version it was served with and
reloads itself when they differ (``assets/heartbeat.js``).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent  # the tree holding dashboard/, assets/ ...
# What a page is made of: the packages that build and serve it, and what the browser loads.
PARTS = ("dashboard", "callbacks", "layouts", "data_access", "assets")
SKIPPED_DIRS = frozenset(("__pycache__",))
SKIPPED_SUFFIXES = (".pyc", ".pyo")
LENGTH = 12


def digest(root: Path = ROOT, parts: tuple[str, ...] = PARTS) -> str:
    """The hex digest of every file under ``root/part`` (relative path and content), in a fixed order."""
    h = hashlib.sha256()
    for part in parts:
        base = root / part
        if not base.is_dir():
            continue
        files = sorted(p for p in base.rglob("*")
                       if p.is_file() and not SKIPPED_DIRS.intersection(p.relative_to(root).parts)
                       and not p.name.endswith(SKIPPED_SUFFIXES))
        for path in files:
            h.update(path.relative_to(root).as_posix().encode())
            h.update(b"\0")
            h.update(path.read_bytes())
            h.update(b"\0")
    return h.hexdigest()[:LENGTH]


@lru_cache(maxsize=1)
def code_version() -> str:
    """This process's code version (computed at the first call, kept for the life of the process)."""
    return digest()
