#!/usr/bin/env bash
# Sets up everything the tests need on a fresh machine, then runs the whole suite:
# venv + gridwall[test], Chromium and its driver, the Noto CJK fonts (the wall's layout is tested with real
# Chinese glyphs, not boxes), PostgreSQL and Redis (installed and started when missing).
# Extra arguments go to pytest.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_venv test
ensure_browser
ensure_cjk_fonts
ensure_pack_libs
ensure_postgres
ensure_redis
cd "$REPO"
log "running the tests"
# Both cores (CI has 2): pytest-xdist, one test module per worker at a time (module fixtures built once);
# GRIDWALL_TEST_WORKERS=0 runs everything in this process.
exec "$VENV/bin/python" -m pytest -n "${GRIDWALL_TEST_WORKERS:-2}" --dist loadfile "$@"
