#!/usr/bin/env bash
# The whole test suite: lint, types, and every test on SQLite and on a real PostgreSQL server
# (started by the tests), including the browser tests in Debian's Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh --test
venv="${KETACLINIC_VENV:-.venv}"
"$venv/bin/ruff" check .
"$venv/bin/ruff" format --check .
"$venv/bin/mypy"
set +e
"$venv/bin/pytest" -n 2 --dist loadgroup "$@"
status=$?
set -e
# pytest's 5 means no test was collected: that is a failure here, never a pass.
if [ $status -eq 5 ]; then
  echo "test.sh: pytest collected no tests" >&2
  exit 1
fi
exit $status
