#!/usr/bin/env bash
# The test command: sets up .venv (scripts/setup_env.sh) and runs the whole suite. Extra arguments go to pytest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup_env.sh"
cd "$ROOT"
# The suite runs on every core (pytest-xdist, one worker per core); LINVT_TEST_WORKERS=0 runs it in one process.
exec "$VENV/bin/python" -m pytest -n "${LINVT_TEST_WORKERS:-auto}" "$@"
