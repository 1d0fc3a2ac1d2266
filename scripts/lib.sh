# Shared steps of scripts/demo.sh and scripts/test.sh: a newcomer's machine from nothing but Python.
# shellcheck shell=bash
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${GRIDWALL_VENV:-$REPO/.venv}"
PY="${PYTHON:-python3}"

log() { printf '\033[1;34m[gridwall]\033[0m %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    log "need root for: $*  (install it by hand or run as root)"; return 1; fi
}

apt_install() {  # apt_install PKG...: installs the Debian packages that are missing
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || { log "no apt-get: install ${missing[*]} by hand"; return 1; }
  log "installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
}

ensure_venv() {  # ensure_venv EXTRA: a venv with gridwall installed (editable) and its extra
  local extra="${1:-}"
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating $VENV"
    "$PY" -m venv "$VENV" || { apt_install python3-venv && "$PY" -m venv "$VENV"; }
  fi
  local stamp="$VENV/.gridwall-installed${extra:+-$extra}"
  if [ ! -f "$stamp" ] || [ "$REPO/pyproject.toml" -nt "$stamp" ]; then
    log "installing gridwall${extra:+[$extra]} into $VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -e "$REPO${extra:+[$extra]}"
    touch "$stamp"
  fi
}

pg_running() { "$VENV/bin/python" - <<'PY' 2>/dev/null
import socket, sys
s = socket.socket(); s.settimeout(1)
sys.exit(0 if s.connect_ex(("127.0.0.1", 5432)) == 0 else 1)
PY
}

redis_running() { "$VENV/bin/python" - <<'PY' 2>/dev/null
import socket, sys
s = socket.socket(); s.settimeout(1)
sys.exit(0 if s.connect_ex(("127.0.0.1", 6379)) == 0 else 1)
PY
}

ensure_postgres() {  # PostgreSQL on 127.0.0.1:5432 with a database `test` the tests can reach
  if [ -n "${GRIDWALL_TEST_PG_URL:-}" ]; then return 0; fi
  if ! pg_running; then
    local fresh=0
    if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then apt_install postgresql; fresh=1; fi
    if [ "$fresh" = 1 ]; then
      # A cluster we just installed: let local test connections in without a password.
      local hba; hba=$(ls /etc/postgresql/*/main/pg_hba.conf | head -n1)
      as_root sed -i -E 's/^(host\s+all\s+all\s+127\.0\.0\.1\/32\s+)\S+/\1trust/; s/^(local\s+all\s+postgres\s+)\S+/\1trust/' "$hba"
    fi
    log "starting PostgreSQL"
    as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    for _ in $(seq 1 30); do pg_running && break; sleep 1; done
    pg_running || { log "PostgreSQL did not start"; return 1; }
  fi
  "$VENV/bin/python" - <<'PY'
import sys
import psycopg
try:
    with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres", autocommit=True, connect_timeout=5) as c:
        if not c.execute("SELECT 1 FROM pg_database WHERE datname = 'test'").fetchone():
            c.execute("CREATE DATABASE test")
except psycopg.OperationalError as exc:
    sys.exit(f"cannot reach PostgreSQL as postgres on 127.0.0.1:5432 ({exc}); "
             "set GRIDWALL_TEST_PG_URL to a database the tests may use")
PY
}

ensure_redis() {
  if [ -n "${GRIDWALL_TEST_REDIS_URL:-}" ]; then return 0; fi
  redis_running && return 0
  command -v redis-server >/dev/null || apt_install redis-server
  log "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
  for _ in $(seq 1 20); do redis_running && return 0; sleep 0.5; done
  log "Redis did not start"; return 1
}

ensure_browser() {
  command -v chromium >/dev/null && command -v chromedriver >/dev/null && return 0
  apt_install chromium chromium-driver
}

have_cjk_font() {  # some font here draws Chinese (fontconfig's view, as Chromium's on Linux; a machine
  # without fontconfig, macOS say, has its own CJK fonts)
  ! command -v fc-list >/dev/null || [ -n "$(fc-list :lang=zh family 2>/dev/null)" ]
}

ensure_pack_libs() {  # the meeting pack's PDF: WeasyPrint draws text through pango (and harfbuzz, fontconfig)
  ldconfig -p 2>/dev/null | grep -q 'libpangoft2-1.0.so.0' && return 0
  apt_install libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0
}

ensure_cjk_fonts() {  # Chinese text in the browser tests, screenshots and packs: no boxes
  # Noto Sans CJK exactly, not just any CJK font: the wall's layout tests measure real glyph boxes
  # (a CJK font's em box is 1.45 of the type size, a Latin one's 1.16) and were made with this one.
  apt_install fonts-noto-cjk
}
