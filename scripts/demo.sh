#!/usr/bin/env bash
# Sets up gridwall on a fresh machine and starts the demo: the embedded SQLite database with a synthetic
# county (太仓市) streaming live, served on http://127.0.0.1:8050/ . Extra arguments go to `gridwall demo`.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_venv
# The wall is served on loopback, so it is read in a browser on this machine: it needs a font that
# draws Chinese. Any will do here; without one the demo still runs (and says why it shows boxes).
have_cjk_font || ensure_cjk_fonts || log "no font for Chinese: install one (Debian: fonts-noto-cjk) or the wall shows boxes"
cd "$REPO"
exec "$VENV/bin/gridwall" demo "$@"
