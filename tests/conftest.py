"""pytest hooks for the suite."""

from __future__ import annotations

import os

import transformers_tests

# The suite never reads or writes the user's shot cache: a cached detection would hide the detector under test (and
# tests replace the detector with stand-ins). tests/test_shot_cache.py turns it on in a temporary folder.
os.environ["LINVT_DISABLE_SHOT_CACHE"] = "1"

# Under pytest-xdist (scripts/test.sh runs `-n auto`) the workers share the machine's cores: each takes its share of
# the threads, and so do the processes it starts (benchmark smokes, example scripts), instead of every one of them
# starting a thread per core.
_workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _workers > 1:
    import torch

    _threads = max(1, (os.cpu_count() or 1) // _workers)
    torch.set_num_threads(_threads)
    os.environ.setdefault("OMP_NUM_THREADS", str(_threads))


def pytest_configure(config) -> None:
    # transformers' own tests (test_transformers_common.py) use markers of their own; they are registered when those
    # tests are imported (see transformers_tests.register_markers).
    transformers_tests.pytest_config = config
