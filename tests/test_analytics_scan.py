"""Space-time permutation scan on a small lattice: a planted cluster is found, noise is not, a new camera is not."""

from __future__ import annotations

import numpy as np

from dashboard.analytics import scan

PARAMS = scan.ScanParams(study_days=21, max_window=5, max_neighbors=6, max_radius_km=1.5, replications=199)


def _lattice(side=10, step_km=0.5):
    i, j = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    lat = 31.5 + i.ravel() * step_km / scan.KM_PER_DEG_LAT
    lon = 121.1 + j.ravel() * step_km / (scan.KM_PER_DEG_LAT * np.cos(np.deg2rad(31.5)))
    return lon, lat


def _background(rng, n_locs, days, per_day=60, sources=("patrol", "hotline", "video")):
    n = rng.poisson(per_day * days)
    return (rng.integers(0, n_locs, n), rng.integers(0, days, n), rng.choice(np.array(sources), n, p=[0.6, 0.25, 0.15]))


def _run(loc, day, src, lon, lat, params=PARAMS):
    nbr, dist = scan.neighbours(lon, lat, params.max_neighbors, params.max_radius_km)
    strata = scan.strata_of(src, loc, params.automated_sources)
    return scan.scan(loc, day, strata, len(lon), params.study_days - 1, nbr, dist, params,
                     rng=np.random.default_rng(9))


def test_neighbours_are_nearest_first_and_bounded_by_radius():
    lon, lat = _lattice(4, step_km=1.0)
    nbr, dist = scan.neighbours(lon, lat, 6, 1.5)
    assert (nbr[:, 0] == np.arange(16)).all() and (dist[:, 0] == 0).all()
    assert np.isclose(dist[0, 1], 1.0, atol=0.01) and np.isinf(dist[0, 5])  # (0,0): 4 neighbours within 1.5 km


def test_planted_cluster_is_found_and_noise_is_not():
    rng = np.random.default_rng(1)
    lon, lat = _lattice()
    loc, day, src = _background(rng, len(lon), PARAMS.study_days)
    assert _run(loc, day, src, lon, lat) == []
    # 25 extra cases in two neighbouring grids over the last two days, from people (patrol, hotline)
    extra_loc = rng.choice([44, 45], 25)
    extra_day = rng.choice([PARAMS.study_days - 2, PARAMS.study_days - 1], 25)
    extra_src = rng.choice(np.array(["patrol", "hotline"]), 25)
    found = _run(np.concatenate([loc, extra_loc]), np.concatenate([day, extra_day]),
                 np.concatenate([src, extra_src]), lon, lat)
    assert found
    best = found[0]
    assert {44, 45} & set(best.members.tolist()) and best.window <= 3
    assert best.p_value <= 0.01 and best.recurrence_days >= 100 and best.observed > best.expected


def test_a_new_camera_is_not_a_cluster():
    rng = np.random.default_rng(2)
    lon, lat = _lattice()
    loc, day, src = _background(rng, len(lon), PARAMS.study_days)
    # a camera installed three days ago in grid 30 reports 40 cases
    cam_loc = np.full(40, 30)
    cam_day = rng.choice(np.arange(PARAMS.study_days - 3, PARAMS.study_days), 40)
    cam_src = np.full(40, "video")
    all_loc, all_day = np.concatenate([loc, cam_loc]), np.concatenate([day, cam_day])
    all_src = np.concatenate([src, cam_src])
    assert _run(all_loc, all_day, all_src, lon, lat) == []
    # without the channel adjustment it would be read as a cluster
    naive = scan.ScanParams(**{**PARAMS.__dict__, "automated_sources": ()})
    assert _run(all_loc, all_day, np.full(len(all_loc), "any"), lon, lat, naive)


def test_too_few_cases_scan_to_nothing():
    lon, lat = _lattice(3)
    assert _run(np.array([0, 1]), np.array([0, 20]), np.array(["patrol", "patrol"]), lon, lat) == []


def test_automated_channels_are_left_out_not_diluting():
    # video and sensor cases follow where devices are; they carry no information on clusters, so the
    # scan with them is the scan without them (the same clusters, the same strength)
    src = np.array(["patrol", "video", "hotline", "sensor", "resident"])
    strata = scan.strata_of(src, np.arange(5), PARAMS.automated_sources)
    assert strata[1] == -1 and strata[3] == -1 and len(set(strata[[0, 2, 4]].tolist())) == 3
    rng = np.random.default_rng(5)
    lon, lat = _lattice()
    loc, day, s = _background(rng, len(lon), PARAMS.study_days)
    last = PARAMS.study_days - 1
    # a burst reported on the hotline and, just as much, by the cameras that watch the same street
    loc = np.concatenate([loc, np.full(12, 44), np.full(12, 45)])
    day = np.concatenate([day, np.full(24, last)])
    s = np.concatenate([s, np.array(["hotline", "video"] * 12)])
    with_video = _run(loc, day, s, lon, lat)
    human = s != "video"
    without = _run(loc[human], day[human], s[human], lon, lat)
    assert with_video and without
    assert with_video[0].llr == without[0].llr and with_video[0].observed == without[0].observed
    assert {44, 45} & set(with_video[0].members.tolist()) and with_video[0].recurrence_days >= 100
