#!/usr/bin/env bash
# The main job: sets up .venv (scripts/setup_env.sh) and runs `linvt-hf demo` on a video (the bundled sample
# tests/data/videos/bigbuckbunny.mp4 unless the first argument names another); other arguments pass through.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup_env.sh"
cd "$ROOT"
if [ $# -eq 0 ] || [[ "$1" == -* ]]; then
  set -- "$ROOT/tests/data/videos/bigbuckbunny.mp4" "$@"
fi
exec "$VENV/bin/linvt-hf" demo "$@"
