#!/usr/bin/env bash
# Installs what ketaclinic needs on a fresh Debian machine.
#   bash scripts/bootstrap.sh          the app: Python 3.11+ with venv, a virtualenv with ketaclinic
#                                      and its runtime dependencies only (what scripts/run.sh needs)
#   bash scripts/bootstrap.sh --test   also the development tools (pytest, hypothesis, Playwright,
#                                      Spark, ruff, mypy) and the system packages the tests use
#                                      (PostgreSQL server, Chromium, a Java runtime for Spark)
# Debian packages come from apt-get, as root or through sudo. Safe to run again: it only installs
# what is missing. KETACLINIC_PYTHON picks the interpreter (default python3); KETACLINIC_VENV the
# virtualenv directory (default .venv, which scripts/run.sh and scripts/test.sh use).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=app
case "${1:-}" in
  "") ;;
  --test) mode=test ;;
  *) echo "bootstrap: unknown option '$1' (use no option for the app, --test for the test suite)" >&2; exit 2 ;;
esac
python="${KETACLINIC_PYTHON:-python3}"
venv="${KETACLINIC_VENV:-.venv}"

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "bootstrap: installing Debian packages needs root; run as root or install sudo (wanted: $*)" >&2
    exit 1
  fi
}

apt_install() {
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: apt-get not found; install these packages by hand, then run again: $*" >&2
    exit 1
  fi
  echo "bootstrap: installing Debian packages: $*"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

# --- Python 3.11 or newer, with a working venv module -------------------------------------------
if ! command -v "$python" >/dev/null 2>&1; then
  if [ "$python" != python3 ]; then
    echo "bootstrap: KETACLINIC_PYTHON=$python is not an executable" >&2
    exit 1
  fi
  apt_install python3 python3-venv
fi
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  found=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  echo "bootstrap: ketaclinic needs Python 3.11 or newer; $python is $found." >&2
  echo "  Install a newer Python (Debian 12 and later ship 3.11+) and run again, or point" >&2
  echo "  KETACLINIC_PYTHON at one, e.g. KETACLINIC_PYTHON=python3.12 bash scripts/run.sh" >&2
  exit 1
fi

new_venv() {
  # Debian's python3 has no ensurepip until python3-venv is installed; venv then fails half-way
  # and leaves a directory without bin/python, which we remove before trying again.
  if "$python" -m venv "$venv" >/dev/null 2>&1; then
    return 0
  fi
  rm -rf -- "$venv"
  return 1
}
if [ ! -x "$venv/bin/python" ]; then
  if ! new_venv; then
    if [ "$python" = python3 ] || [ "$(command -v "$python")" = /usr/bin/python3 ]; then
      apt_install python3-venv
    else
      version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
      apt_install "python$version-venv"
    fi
    if ! new_venv; then
      echo "bootstrap: '$python -m venv $venv' still fails after installing the venv package;" >&2
      echo "  run it by hand to see why." >&2
      exit 1
    fi
  fi
fi

# --- System packages the tests use ------------------------------------------------------------------
need_apt=()
if [ "$mode" = test ]; then
  ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || need_apt+=(postgresql)
  command -v chromium >/dev/null 2>&1 || need_apt+=(chromium fonts-dejavu-core)
  command -v java >/dev/null 2>&1 || need_apt+=(default-jre-headless)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  apt_install "${need_apt[@]}"
fi

# --- Python packages: reinstall only when the dependency list or the wanted extras changed ---------
# The app needs the package alone; the tests also need the dev extras. A venv set up for the tests
# already holds everything the app needs, so the app never downgrades it.
stamp="$venv/.ketaclinic-installed"
digest=$(sha256sum pyproject.toml | cut -d' ' -f1)
installed=""
[ -f "$stamp" ] && installed=$(cat "$stamp")
# A stamp without a mode was written when every install included the dev extras.
[ "$installed" = "$digest" ] && installed="$digest test"
if [ "$installed" = "$digest test" ] || { [ "$mode" = app ] && [ "$installed" = "$digest app" ]; }; then
  exit 0
fi
target='.'
[ "$mode" = test ] && target='.[dev]'
echo "bootstrap: installing ketaclinic ($mode) into $venv"
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q -e "$target"
echo "$digest $mode" > "$stamp"
