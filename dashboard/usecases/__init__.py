"""The writes gridwall does, each in one place, used by the API, the wall and the command line.

A use case takes what it works on explicitly (engine, scope, user) and reads no Flask globals, so
that a worker can call it too. Who may call it is decided before, by ``require_role`` at the edge
(``dashboard.identity.auth``). Each write and its audit row share one transaction.
"""
