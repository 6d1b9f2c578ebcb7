#!/usr/bin/env bash
# The main job: sets up .venv (scripts/setup_env.sh) and shows the shipped demo LinVT model, offline.
#   bash scripts/run.sh                       `linvt-hf tour`: the demo model on synthetic clips of its own world (its
#                                             answers beside the right ones), then the same pipeline on the bundled
#                                             real video tests/data/videos/bigbuckbunny.mp4
#   bash scripts/run.sh VIDEO QUESTION [...]  `linvt-hf ask VIDEO QUESTION [--model M] [--num-frames N] [--selection]`
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup_env.sh"
cd "$ROOT"
if [ $# -eq 0 ]; then
  exec "$VENV/bin/linvt-hf" tour --real-video "$ROOT/tests/data/videos/bigbuckbunny.mp4"
fi
exec "$VENV/bin/linvt-hf" ask "$@"
