"""The live machinery: how a committed row reaches the wall's screen within a second, cheaply.

A case committed to the platform database travels like this (docs/architecture.md has the diagram):

1. ``signal``: one change poller per process and database polls the deployment's newest change
   (``data_access.changes``) every 0.1 s and turns it into a *data version* (a signed token). A
   failed poll marks the database down (``outage``).
2. ``versions``: a wall's view (region, moment) asks for its version; nothing new costs no query.
3. ``push`` (``GET /live/events``, Server-Sent Events) or, where push is unavailable, ``tick`` (the
   wall's long-polled Dash callback): when the version moves, the view's figures and case stream are
   read once per version for every viewer (``shared.bundle`` over ``cache``: in-process, then Redis),
   rendered once (``shared.shared_outputs``) and sent as only what the wall lacks.
4. The slower panels (SLA board, staffing, region table, alerts, map) follow ``live-slow``: one version
   per 10-second epoch shared by every wall (``tick.slow_version``), at once when the alerts moved;
   identical panel requests share one serialised answer (``response_cache``).
5. In the browser, ``assets/live.js`` applies frames (at most every 100 ms), draws the case stream
   itself and keeps ``#freshness``; everything it does to Dash's internals goes through
   ``assets/dash_adapter.js``.

Modules: ``signal`` (change poller), ``cache`` (shared cache tiers), ``response_cache``, ``outage``
(``read`` and ``DataUnavailable``), ``versions``, ``shared`` (per-version results and digests),
``tick`` (the wall's tick callback), ``push`` (the SSE channel). Only the wall loads this machinery.
"""
