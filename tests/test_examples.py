"""The example scripts run and say what they claim."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_tokenizer_walkthrough_checks_linearity():
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "tokenizer_walkthrough.py"), "--frames", "8", "--tokens-per-frame", "16"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "video tokens == weights @ raw selected tokens: True" in result.stdout
    assert "weights are convex: True" in result.stdout
