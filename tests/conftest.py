"""pytest hooks for the suite."""

from __future__ import annotations

import transformers_tests


def pytest_configure(config) -> None:
    # transformers' own tests (test_transformers_common.py) use markers of their own; they are registered when those
    # tests are imported (see transformers_tests.register_markers).
    transformers_tests.pytest_config = config
