"""Dash layouts of the wall (presentation only; no queries)."""
