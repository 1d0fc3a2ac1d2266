"""Early warning (智能预警) and forecasting (预测研判): pure functions over arrays and data frames.

Nothing here touches the database or Dash; ``data_access`` feeds these functions and the warning
engine (``dashboard.warning``) turns their findings into rows of the ``alerts`` table.
"""
