#!/usr/bin/env bash
# The two README commands:
#   ./hotline.sh up     install what the hotline needs and bring it all up
#   ./hotline.sh test   install what the tests need and run them all
# Everything else is `.venv/bin/hotline ...`.
# espeak-ng and sox make the German and English prompts when Asterisk is set up.
set -euo pipefail
cd "$(dirname "$0")"

need_root() {
  if [ "$(id -u)" != 0 ]; then
    echo "hotline: this step installs Debian packages and runs Asterisk in a chroot; run as root (sudo $0 $*)" >&2
    exit 1
  fi
}

apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "hotline: installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

python_env() {
  local py
  py="$(command -v python3)"
  if ! "$py" -c 'import venv, ensurepip' 2>/dev/null; then apt_install python3-venv; fi
  if [ ! -x .venv/bin/python ]; then "$py" -m venv .venv; fi
  .venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
  .venv/bin/python -m pip install -q -e ".[$1]" 2>&1 | grep -v '^WARNING: Location' || true
  .venv/bin/python -c 'import cti, callqueue, agent_console, tickets' # fail loudly if the install broke
}

postgres_up() {
  # The tests run once more against PostgreSQL; use the local server when there is one.
  # Either way the server binaries must be here: tests/integration/test_pg_restart.py
  # stops and starts a private cluster of its own (initdb, pg_ctl) and must not skip.
  # Probe before installing: the package may start Debian's cluster, which still needs the set-up below.
  if .venv/bin/python - <<'PY'
import socket, sys
s = socket.socket(); s.settimeout(1)
sys.exit(0 if s.connect_ex(("127.0.0.1", 5432)) == 0 else 1)
PY
  then apt_install postgresql; return 0; fi
  apt_install postgresql
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  # a fresh Debian server authenticates local socket users by peer: give root a role
  su postgres -c "createuser -s root" >/dev/null 2>&1 || true
  su postgres -c "createdb -O root test" >/dev/null 2>&1 || true
  export HOTLINE_TEST_PG_URL="postgresql+psycopg:///test?host=/var/run/postgresql"
}

redis_up() {
  # The scale-out tests (tests/console/redis/) and `up --sites N` need a real Redis;
  # use the local one when it answers, else install Debian's and start it on loopback.
  if .venv/bin/python - <<'PY'
import socket, sys
s = socket.socket(); s.settimeout(1)
sys.exit(0 if s.connect_ex(("127.0.0.1", 6379)) == 0 else 1)
PY
  then return 0; fi
  apt_install redis-server
  # the package may have started its own service already (systemd); otherwise start one
  redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 ||
    redis-server --bind 127.0.0.1 --port 6379 --save '' --appendonly no --daemonize yes >/dev/null || true
  for _ in $(seq 50); do
    redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "hotline: redis-server did not answer on 127.0.0.1:6379" >&2
  exit 1
}

case "${1:-}" in
  up)
    need_root "$@"
    apt_install python3 mmdebstrap ca-certificates espeak-ng sox
    python_env "test"
    shift
    if [[ " $* " == *" --sites "* || " $* " == *" --sites="* ]] && [ -z "${HOTLINE_REDIS_URL:-}" ]; then
      redis_up  # several sites share their live state over one Redis
    fi
    exec .venv/bin/hotline up "$@"
    ;;
  test)
    need_root "$@"
    apt_install python3 mmdebstrap ca-certificates chromium procps espeak-ng sox
    python_env "test,bench"
    postgres_up
    redis_up
    shift
    exec .venv/bin/python -m tests.run_all "$@"
    ;;
  *)
    echo "usage: $0 up | test" >&2
    exit 2
    ;;
esac
