"""Extra throwaway PostgreSQL clusters for tests: ``initdb`` on free ports, ``wal_level = logical``.

For testing logical replication between databases (county databases publishing, a city database
subscribing) without touching the main server on 127.0.0.1:5432::

    from tests.pg_clusters import drop_subscription, pg_clusters  # noqa: F401

    def test_replication(pg_clusters):
        county, city = pg_clusters("county"), pg_clusters("city")   # started, destroyed at teardown
        county_url = county.create_database("county")               # a SQLAlchemy URL
        ...CREATE SUBSCRIPTION s CONNECTION '{county.libpq_uri("county")}' PUBLICATION p...
        drop_subscription(city_url, "s")                            # before the clusters stop

Each cluster lives in its own directory (data, log ``server.log`` and Unix socket all in it), trusts
every local connection as ``postgres`` and runs without fsync: fast, and never for real data.

``initdb`` and ``postgres`` refuse to run as root: as root, every server binary runs as the
``postgres`` OS user (``runuser``), and the directory it works in is handed to that user. The
binaries are found with ``pg_config --bindir`` (or the newest /usr/lib/postgresql/*/bin, or
GRIDWALL_TEST_PG_BINDIR); when there are none the test fails with a clear message, never skips.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import pytest

PG_OS_USER = "postgres"
_SOCKET_PATH_MAX = 100  # sun_path holds 108 bytes, "/.s.PGSQL.NNNNN" takes 15 of them
_LIVE: set["PgCluster"] = set()  # stopped at interpreter exit if a teardown never ran


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_bindir() -> Path:
    """The directory holding initdb, pg_ctl and postgres; a clear error when there is none."""
    candidates: list[Path] = []
    if os.environ.get("GRIDWALL_TEST_PG_BINDIR"):
        candidates.append(Path(os.environ["GRIDWALL_TEST_PG_BINDIR"]))
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True)
            candidates.append(Path(out.stdout.strip()))
        except (OSError, subprocess.SubprocessError):
            pass

    def version(path: str) -> tuple[int, ...]:
        return tuple(int(n) for n in re.findall(r"\d+", Path(path).parent.name)) or (0,)

    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True)]
    for directory in candidates:
        if all(os.access(directory / tool, os.X_OK) for tool in ("initdb", "pg_ctl", "postgres")):
            return directory
    raise RuntimeError(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found: tried "
        f"{[str(c) for c in candidates] or 'pg_config --bindir and /usr/lib/postgresql/*/bin'}. "
        "Install the PostgreSQL server package or set GRIDWALL_TEST_PG_BINDIR.")


def _as_root() -> bool:
    return os.geteuid() == 0


def _pg_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(PG_OS_USER)
    except KeyError:
        raise RuntimeError(f"running as root, but there is no {PG_OS_USER!r} OS user to run PostgreSQL as "
                           "(initdb and postgres refuse to run as root)") from None


def _hand_over(path: Path) -> None:
    """As root, give ``path`` (and everything in it) to the postgres OS user."""
    if not _as_root():
        return
    user = _pg_user()
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.lchown(os.path.join(root, name), user.pw_uid, user.pw_gid)
    os.chown(path, user.pw_uid, user.pw_gid)


def _libpq(url: str) -> str:
    """A libpq URI from a SQLAlchemy URL (``postgresql+psycopg://`` -> ``postgresql://``)."""
    return re.sub(r"^postgresql\+\w+://", "postgresql://", url)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class PgCluster:
    """One PostgreSQL cluster in ``base_dir / name``, listening on 127.0.0.1:``port``."""

    def __init__(self, base_dir: Path, port: int, name: str):
        self.base_dir = Path(base_dir)
        self.port = port
        self.name = name
        self.data_dir = self.base_dir / name
        self.log_file = self.data_dir / "server.log"
        self.bindir = pg_bindir()
        self._socket_dir: Path | None = None

    def __repr__(self) -> str:
        return f"PgCluster({self.name!r}, port={self.port}, data_dir={str(self.data_dir)!r})"

    # --- life cycle --------------------------------------------------------------------------------

    def init(self) -> "PgCluster":
        """``initdb`` the data directory and write the settings for logical replication tests."""
        self.base_dir.mkdir(parents=True, exist_ok=True)
        if self.data_dir.exists() and any(self.data_dir.iterdir()):
            raise RuntimeError(f"{self}: data directory is not empty")
        self.data_dir.mkdir(exist_ok=True)
        self.data_dir.chmod(0o700)
        _hand_over(self.data_dir)
        if _as_root():
            probe = subprocess.run(["runuser", "-u", PG_OS_USER, "--", "test", "-w", str(self.data_dir)],
                                   capture_output=True, cwd="/")
            if probe.returncode != 0:
                raise RuntimeError(f"{self}: the {PG_OS_USER!r} OS user cannot write {self.data_dir}; "
                                   "every directory above it must be searchable by that user (o+x)")
        last = None
        for locale in ("C.UTF-8", "C"):
            last = self._run("initdb", "-D", str(self.data_dir), "-A", "trust", "-U", "postgres",
                             "--encoding", "UTF8", f"--locale={locale}", "--no-sync", check=False, timeout=120)
            if last.returncode == 0:
                break
            for child in self.data_dir.iterdir():  # initdb leaves a mess in a directory it did not create
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        else:
            raise RuntimeError(f"{self}: initdb failed:\n{last.stdout}\n{last.stderr}")

        socket_dir = self.data_dir
        if len(str(socket_dir)) > _SOCKET_PATH_MAX:  # a Unix socket path must be short
            socket_dir = Path(tempfile.mkdtemp(prefix="gwpg-"))
            socket_dir.chmod(0o755)
            _hand_over(socket_dir)
            self._socket_dir = socket_dir
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{socket_dir}'",
            "wal_level": "logical",
            "max_replication_slots": "20",
            "max_wal_senders": "20",
            "max_logical_replication_workers": "20",
            "max_worker_processes": "40",
            "max_sync_workers_per_subscription": "4",
            "wal_sender_timeout": "'10s'",
            "wal_receiver_timeout": "'10s'",
            # A subscription worker that lost its publisher is restarted after this (default 5s).
            "wal_retrieve_retry_interval": "'1s'",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "shared_buffers": "'32MB'",
            "logging_collector": "off",  # pg_ctl -l sends the server's output to server.log
            "log_min_messages": "warning",
            "log_line_prefix": "'%m [%p] %q%a '",
            "lc_messages": "'C'",
        }
        with open(self.data_dir / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write("\n# --- tests/pg_clusters.py ---\n")
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())
        return self

    def start(self) -> None:
        """``pg_ctl start -w``, then wait until a connection succeeds."""
        self.log_file.touch()
        _hand_over(self.log_file)
        result = self._run("pg_ctl", "start", "-D", str(self.data_dir), "-l", str(self.log_file),
                           "-w", "-t", "60", check=False, timeout=90)
        if result.returncode != 0:
            raise RuntimeError(f"{self}: pg_ctl start failed:\n{result.stdout}\n{result.stderr}\n"
                               f"--- server.log ---\n{self.log_tail()}")
        _LIVE.add(self)
        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(self.libpq_uri("postgres"), connect_timeout=3) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{self}: started but refuses connections: {exc}\n"
                                       f"--- server.log ---\n{self.log_tail()}") from exc
                time.sleep(0.1)

    def stop(self, mode: str = "fast") -> None:
        """``pg_ctl stop -m mode -w``; ``"immediate"`` kills it without a checkpoint, as a crash would."""
        if mode not in ("smart", "fast", "immediate"):
            raise ValueError(f"unknown shutdown mode {mode!r}")
        result = self._run("pg_ctl", "stop", "-D", str(self.data_dir), "-m", mode, "-w", "-t", "60",
                           check=False, timeout=90)
        if result.returncode != 0 and self.is_running():
            raise RuntimeError(f"{self}: pg_ctl stop -m {mode} failed:\n{result.stdout}\n{result.stderr}\n"
                               f"--- server.log ---\n{self.log_tail()}")
        _LIVE.discard(self)

    def is_running(self) -> bool:
        if not (self.data_dir / "PG_VERSION").exists():
            return False
        return self._run("pg_ctl", "status", "-D", str(self.data_dir), check=False, timeout=30).returncode == 0

    def destroy(self) -> None:
        """Stop it if it runs (fast, else immediate, else SIGKILL) and remove its directory."""
        try:
            if self.is_running():
                try:
                    self.stop("fast")
                except (RuntimeError, subprocess.TimeoutExpired):
                    try:
                        self.stop("immediate")
                    except (RuntimeError, subprocess.TimeoutExpired):
                        self._kill()
        finally:
            _LIVE.discard(self)
            shutil.rmtree(self.data_dir, ignore_errors=True)
            if self._socket_dir is not None:
                shutil.rmtree(self._socket_dir, ignore_errors=True)

    # --- connecting --------------------------------------------------------------------------------

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.libpq_uri("postgres"), autocommit=True, connect_timeout=10) as conn:
            conn.execute(f"CREATE DATABASE {_ident(name)}")
        return self.url(name)

    def url(self, db: str = "postgres") -> str:
        """A SQLAlchemy URL."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{db}"

    def libpq_uri(self, db: str) -> str:
        """A libpq URI: for psycopg.connect and for CREATE SUBSCRIPTION ... CONNECTION."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server.log)"

    # --- plumbing ----------------------------------------------------------------------------------

    def _run(self, tool: str, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
        cmd = [str(self.bindir / tool), *args]
        if _as_root():
            cmd = ["runuser", "-u", PG_OS_USER, "--", *cmd]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}  # no PGHOST/PGPORT from outside
        env.update(LC_ALL="C", LANG="C")
        # cwd "/": the postgres user may not be allowed into the current directory.
        # stdin closed, so the server started by pg_ctl holds none of our pipes.
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=check, env=env,
                              cwd="/", stdin=subprocess.DEVNULL)

    def _kill(self) -> None:
        try:
            pid = int((self.data_dir / "postmaster.pid").read_text().split()[0])
            os.kill(pid, signal.SIGKILL)
        except (OSError, ValueError, IndexError):
            pass


@atexit.register
def _stop_leftovers() -> None:
    """A cluster whose teardown never ran (interrupted run) must not outlive the test process."""
    for cluster in list(_LIVE):
        try:
            cluster.stop("immediate")
        except Exception:  # noqa: BLE001 - best effort at exit
            cluster._kill()


def drop_subscription(url: str, name: str, timeout: float = 10) -> None:
    """Drop subscription ``name`` in the database at ``url`` (SQLAlchemy URL or libpq URI), never hanging.

    A plain DROP SUBSCRIPTION also drops its replication slot on the publisher, so it needs the
    publisher; when that fails (publisher down, gone or unreachable) the subscription is detached
    from its slot first (DISABLE; SET (slot_name = NONE)) and dropped locally — the slot, if its
    publisher still exists, is left behind there. Nothing happens when there is no such subscription.
    """
    ms = int(timeout * 1000)
    with psycopg.connect(_libpq(url), autocommit=True, connect_timeout=10) as conn:
        conn.execute(f"SET statement_timeout = {ms}")
        conn.execute(f"SET lock_timeout = {ms}")
        exists = conn.execute("SELECT 1 FROM pg_subscription WHERE subname = %s AND subdbid = "
                              "(SELECT oid FROM pg_database WHERE datname = current_database())",
                              (name,)).fetchone()
        if not exists:
            return
        try:
            conn.execute(f"DROP SUBSCRIPTION {_ident(name)}")
            return
        except psycopg.Error:
            pass
        conn.execute(f"ALTER SUBSCRIPTION {_ident(name)} DISABLE")
        conn.execute(f"ALTER SUBSCRIPTION {_ident(name)} SET (slot_name = NONE)")
        conn.execute(f"DROP SUBSCRIPTION {_ident(name)}")


@pytest.fixture
def pg_clusters(tmp_path_factory):
    """A factory ``make(name) -> PgCluster`` for one test (see ``_clusters``)."""
    yield from _clusters(tmp_path_factory)


@pytest.fixture(scope="module")
def pg_clusters_module(tmp_path_factory):
    """The same factory for a whole test module (clusters shared by its tests)."""
    yield from _clusters(tmp_path_factory)


def _clusters(tmp_path_factory):
    """A factory ``make(name) -> PgCluster``: each call inits and starts a new cluster on a free port.

    Every cluster is destroyed at teardown, newest first, even when the test failed.
    """
    if _as_root():
        # pytest's temporary directories are root's own (0700): the postgres user could not reach them.
        base = Path(tempfile.mkdtemp(prefix="gridwall-pg-"))
        base.chmod(0o755)
    else:
        base = tmp_path_factory.mktemp("pg_clusters")
    made: list[PgCluster] = []

    def make(name: str) -> PgCluster:
        cluster = PgCluster(base, free_port(), name)
        made.append(cluster)
        cluster.init()
        cluster.start()
        return cluster

    try:
        yield make
    finally:
        errors = []
        for cluster in reversed(made):
            try:
                cluster.destroy()
            except Exception as exc:  # noqa: BLE001 - destroy the others anyway
                errors.append(f"{cluster}: {exc!r}")
        if _as_root():
            shutil.rmtree(base, ignore_errors=True)
        if errors:
            raise RuntimeError("pg_clusters teardown failed: " + "; ".join(errors))
