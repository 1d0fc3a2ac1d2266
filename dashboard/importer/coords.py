"""Coordinates: GCJ-02 (AMap, Tencent) and BD-09 (Baidu) to WGS-84, and the local metre projection of the cells.

GCJ-02 is WGS-84 with a published, deterministic obfuscation inside China; its inverse is found by
fixed-point iteration of the forward formula (error under 1 cm after a few steps). Outside China
GCJ-02 equals WGS-84 and points are left as they are.

The cells are laid in a local equirectangular projection about a fixed origin: x = R·Δλ·cos φ0,
y = R·Δφ (metres). Over a city (tens of km) its scale error is well under 1 %, which is plenty for
square cells of a few hundred metres; no projection library is needed.
"""

from __future__ import annotations

import math

import numpy as np

EARTH_R = 6_371_008.8  # mean radius, m

_A = 6378245.0
_EE = 0.00669342162296594323


def _out_of_china(lon, lat):
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _transform_lat(x, y):
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (160.0 * np.sin(y / 12.0 * np.pi) + 320 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x, y):
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return ret


def wgs84_to_gcj02(lon, lat):
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    dlat = _transform_lat(lon - 105.0, lat - 35.0)
    dlon = _transform_lon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * np.pi
    magic = 1 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    out = _out_of_china(lon, lat)
    return np.where(out, lon, lon + dlon), np.where(out, lat, lat + dlat)


def gcj02_to_wgs84(lon, lat, steps: int = 6):
    """The WGS-84 point whose GCJ-02 image is (lon, lat), by fixed-point iteration."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    wlon, wlat = lon.copy(), lat.copy()
    for _ in range(steps):
        glon, glat = wgs84_to_gcj02(wlon, wlat)
        wlon = wlon - (glon - lon)
        wlat = wlat - (glat - lat)
    return wlon, wlat


_X_PI = math.pi * 3000.0 / 180.0


def gcj02_to_bd09(lon, lat):
    """GCJ-02 to Baidu's BD-09 (a further published offset)."""
    x, y = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(lon, lat, steps: int = 3):
    """BD-09 back to GCJ-02: the usual closed form (off by up to 1e-6 degrees), then refined by
    fixed-point iteration of the forward formula like ``gcj02_to_wgs84``."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    x, y = lon - 0.0065, lat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    glon, glat = z * np.cos(theta), z * np.sin(theta)
    for _ in range(steps):
        blon, blat = gcj02_to_bd09(glon, glat)
        glon, glat = glon - (blon - lon), glat - (blat - lat)
    return glon, glat


def to_wgs84(lon, lat, crs: str):
    """Points in ``crs`` ("wgs84", "gcj02" for AMap/Tencent, "bd09" for Baidu) as WGS-84."""
    if crs == "bd09":
        lon, lat = bd09_to_gcj02(lon, lat)
        crs = "gcj02"
    if crs == "gcj02":
        return gcj02_to_wgs84(lon, lat)
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


class LocalProjection:
    """Metres east/north of ``origin`` (lon, lat)."""

    def __init__(self, lon0: float, lat0: float):
        self.lon0, self.lat0 = float(lon0), float(lat0)
        self.kx = EARTH_R * math.pi / 180.0 * math.cos(math.radians(self.lat0))
        self.ky = EARTH_R * math.pi / 180.0

    def forward(self, lon, lat):
        return (np.asarray(lon, dtype=float) - self.lon0) * self.kx, (np.asarray(lat, dtype=float) - self.lat0) * self.ky

    def inverse(self, x, y):
        return np.asarray(x, dtype=float) / self.kx + self.lon0, np.asarray(y, dtype=float) / self.ky + self.lat0

    def forward_coords(self, coords: np.ndarray) -> np.ndarray:
        x, y = self.forward(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    def inverse_coords(self, coords: np.ndarray) -> np.ndarray:
        lon, lat = self.inverse(coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])
