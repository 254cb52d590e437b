#!/usr/bin/env bash
# The main job: the clinic web app on the embedded SQLite database (under ./data unless
# KETACLINIC_DATA_DIR or KETACLINIC_DATABASE_URL says otherwise), with the synthetic demo clinic loaded.
# Installs only what the app needs (no test tools). Extra arguments go to `ketaclinic serve`
# (e.g. --port 8080).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
venv="${KETACLINIC_VENV:-.venv}"
export KETACLINIC_DATA_DIR="${KETACLINIC_DATA_DIR:-$PWD/data}"
"$venv/bin/ketaclinic" db upgrade
"$venv/bin/ketaclinic" demo load
exec "$venv/bin/ketaclinic" serve --demo "$@"
