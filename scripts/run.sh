#!/usr/bin/env bash
# The main job: sets up .venv (scripts/setup_env.sh) and asks the shipped demo LinVT model a question about a real
# video, offline: `linvt-hf ask VIDEO QUESTION --selection`. With no arguments it uses the bundled sample
# tests/data/videos/bigbuckbunny.mp4 and "How many shots does the video have?"; otherwise the arguments go to
# `linvt-hf ask` (VIDEO QUESTION [--model M] [--num-frames N] ...).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup_env.sh"
cd "$ROOT"
if [ $# -eq 0 ]; then
  set -- "$ROOT/tests/data/videos/bigbuckbunny.mp4" "How many shots does the video have?" --selection
fi
exec "$VENV/bin/linvt-hf" ask "$@"
