"""City and province walls over many counties (contract 1.1): the roll-up's commands, its bundled
names, and the county's heartbeat duty. The SQL is in ``data_access.rollup``."""
