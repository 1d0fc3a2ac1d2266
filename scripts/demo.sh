#!/usr/bin/env bash
# Sets up gridwall on a fresh machine and starts the demo: the embedded SQLite database with a synthetic
# county (太仓市) streaming live, served on http://127.0.0.1:8050/ . Extra arguments go to `gridwall demo`.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_venv
# The wall is served on loopback, so it is read in a browser on this machine: it needs a font that
# draws Chinese. Any will do here; without one the demo still runs (and says why it shows boxes).
have_cjk_font || ensure_cjk_fonts || log "no font for Chinese: install one (Debian: fonts-noto-cjk) or the wall shows boxes"
# The meeting pack (导出 PDF on /review): WeasyPrint needs pango; without it the PDF link answers 500.
ensure_pack_libs || log "no pango: install libpango-1.0-0 libpangoft2-1.0-0 or PDF packs fail"
cd "$REPO"
exec "$VENV/bin/gridwall" demo "$@"
