#!/usr/bin/env bash
# The main job: sets up .venv (scripts/setup_env.sh) and runs `linvt-hf demo` (arguments pass through).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup_env.sh"
cd "$ROOT"
exec "$VENV/bin/linvt-hf" demo "$@"
