"""The synthetic county: ``gridwall seed`` (a county and its history) and ``gridwall simulate``.

Pure generators live here (numpy, shapely); every statement they need is in
``data_access.writes`` and ``data_access.sim_reads``. Time inside the generators is integer
epoch seconds (UTC); the calendar (working hours, "today") is read in the configured timezone.
"""
