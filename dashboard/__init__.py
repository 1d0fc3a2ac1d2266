"""gridwall: the real-time command-center wall for grid-linkage governance (网格化联动指挥中心大屏)."""

__version__ = "0.1.0"
