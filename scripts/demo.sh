#!/usr/bin/env bash
# Sets up gridwall on a fresh machine and starts the demo: the embedded SQLite database with a synthetic
# county (太仓市) streaming live, served on http://127.0.0.1:8050/ . Extra arguments go to `gridwall demo`.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_venv
cd "$REPO"
exec "$VENV/bin/gridwall" demo "$@"
