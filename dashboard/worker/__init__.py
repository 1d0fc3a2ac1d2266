"""``gridwall worker``: every background duty in one process (docs/interfaces.md).

Each duty runs in its own thread through the early-warning engine's loop (``dashboard.warning.lock.
run_loop``): one active instance per duty across workers and hosts, by its own single-instance lock
(PostgreSQL advisory lock, a lease row, or Redis), the others standing by. The duties:

- ``warning``: the early-warning engine, under the same lock as ``gridwall warn --loop``, so the two
  never both run it;
- ``packs``: the scheduled meeting packs (``packs.py``; when each week's pack is due: ``schedule.py``),
  exactly once per pack also without the lock, by the claim row of ``gw_packs``.

The push dispatcher and its escalations belong to a later issue; an archived pack is handed to
``packs.announce`` for it.
"""
