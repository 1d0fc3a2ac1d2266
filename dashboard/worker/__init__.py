"""``gridwall worker``: every background duty in one process (docs/interfaces.md).

Each duty runs in its own thread through the early-warning engine's loop (``dashboard.warning.lock.
run_loop``): one active instance per duty across workers and hosts, by its own single-instance lock
(PostgreSQL advisory lock, a lease row, or Redis), the others standing by. The duties:

- ``warning``: the early-warning engine, under the same lock as ``gridwall warn --loop``, so the two
  never both run it;
- ``packs``: the scheduled meeting packs (``packs.py``; when each week's pack is due: ``schedule.py``),
  exactly once per pack also without the lock, by the claim row of ``gw_packs``.
- ``walls``: every 30 s, an alert for a kiosk wall silent for two minutes, ended when it reports
  again (``walls.py``).

Each instance records itself in ``gw_duties`` (active, standby, stopped; its last success) for /ops
and /healthz.

- ``push``: the alert push dispatcher (``dashboard.push``), a pass every ``[push] poll_seconds``
  (1 s): owes, escalates and sends; started only when ``[push]`` has a channel. With push routes the
  ``warning`` duty owes each alert it raises to its channels in the transaction that inserts it.

An archived pack is handed to ``packs.announce``; announcing packs through the push channels is not
done yet.
"""
