#!/usr/bin/env bash
# Rewrite constraints.txt from an environment the suite just passed in (default .venv): every installed package,
# pinned. Run it after `bash scripts/test.sh` passes on new versions you mean to ship.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${LINVT_VENV:-$ROOT/.venv}"
{
  echo "# The lock of the README's environment: every package scripts/setup_env.sh installs, at the versions the"
  echo "# suite passed with (written by scripts/lock.sh from $(basename "$VENV") on $(date -u +%Y-%m-%d)). The package metadata"
  echo "# asks only for ranges; .ci/run also tests the newest releases and transformers' lower bound."
  echo "pip==$("$VENV/bin/python" -m pip --version | cut -d' ' -f2)"
  "$VENV/bin/python" -m pip freeze --exclude-editable | grep -vE '^(#|-e )' | sed -E 's/^torch==([^+]*)\+.*/torch==\1/' | sort -f
} > "$ROOT/constraints.txt"
echo "[lock] wrote $(grep -c '==' "$ROOT/constraints.txt") pins to constraints.txt"
