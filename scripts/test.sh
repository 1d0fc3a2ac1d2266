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
exec "$VENV/bin/python" -m pytest "$@"
