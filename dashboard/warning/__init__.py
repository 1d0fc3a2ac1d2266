"""Early warning (智能预警): the engine, its single-instance lock, the replay, the detector families.

``run_once(engine, root_scope, m)`` runs every detector family as of a moment and writes the
alerts; ``lock.run_loop`` is ``gridwall warn --loop``; ``replay.replay`` is ``warn --replay``.
"""

from .engine import EngineState, RunReport, run_engine, run_once

__all__ = ["EngineState", "RunReport", "run_engine", "run_once"]
