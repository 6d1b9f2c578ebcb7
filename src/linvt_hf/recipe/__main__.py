"""`python -m linvt_hf.recipe ...`: the recipe in miniature from the command line (see `linvt_hf.recipe`)."""

from __future__ import annotations

import os
import sys


def passive_openmp_or_restart() -> None:
    """Start again with `OMP_WAIT_POLICY=PASSIVE` unless it is set (to anything). Idle OpenMP threads then sleep
    instead of spinning: with 2 threads on 2 shared cores, spinning makes tiny ops up to 50x slower as soon as
    anything else runs. OpenMP reads it when torch loads, which `import linvt_hf` did before this module ran."""
    if "OMP_WAIT_POLICY" in os.environ or not sys.executable:
        return
    os.execve(sys.executable, sys.orig_argv, {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"})


if __name__ == "__main__":
    passive_openmp_or_restart()
    from linvt_hf.recipe import main

    main()
