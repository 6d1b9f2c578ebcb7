"""Every benchmark script runs end to end in its fast --smoke form (the full runs are not tests)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.mark.parametrize("script", sorted(p.name for p in BENCHMARKS.glob("bench_*.py")))
def test_benchmark_smoke_run(script):
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--smoke"], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "|" in result.stdout  # a Markdown table came out
    if script == "bench_recipe_variants.py":  # its smoke run probes every stage-2 step
        assert result.stdout.count('probe {"step": ') == 2


def test_recipe_variants_refuse_options_that_change_the_image_llm(tmp_path):
    """A variant reuses the prepared image-LLM, so an option acting on it (the LLM's depth here) is refused before
    any training, and a malformed variant is named. (In-process: the script's `main` takes its argv.)"""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import bench_recipe_variants
    finally:
        sys.path.remove(str(BENCHMARKS))
    refused = "variant 'deeper' changes ['num_llm_layers'], which act on the image-LLM"
    with pytest.raises(ValueError, match=re.escape(refused)):
        bench_recipe_variants.main(["--work-dir", str(tmp_path), "--variant", "deeper=--num_llm_layers 3"])
    assert not any(tmp_path.iterdir())  # nothing was prepared
    with pytest.raises(ValueError, match="--variant must be NAME="):
        bench_recipe_variants.main(["--work-dir", str(tmp_path), "--variant", "--num_queries 8,4,4"])


def test_autoshot_profile_gives_each_convolutions_rate():
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / "bench_autoshot_profile.py"), "--smoke", "--shapes", "--precisions",
         "float32", "--rows", "40"], capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [line for line in result.stdout.splitlines() if line.startswith("| aten::") and "convolution" in line]
    assert rows, result.stdout
    # The stage-3 spatial convolution (on a batch of 100 frames): its input and weight shapes, and a rate in GMAC/s.
    (stage3,) = [row for row in rows if "[100, 256, 1, 6, 12], [640, 256, 1, 3, 3]" in row]
    assert float(stage3.rstrip(" |").rsplit("|", 1)[1]) > 0


def test_autoshot_outputs_compares_saved_runs(tmp_path):
    import numpy as np

    first, second, other = tmp_path / "a.npz", tmp_path / "b.npz", tmp_path / "c.npz"
    np.savez(first, **{"float32": np.array([0.1, 0.5], np.float32), "bfloat16": np.array([0.2], np.float32)})
    np.savez(second, **{"float32": np.array([0.1, 0.5 + 2**-20], np.float32), "bfloat16": np.array([0.2], np.float32)})
    np.savez(other, **{"float32": np.array([0.1, 0.5], np.float32)})
    compare = [sys.executable, str(BENCHMARKS / "autoshot_outputs.py"), "compare", str(first)]
    result = subprocess.run([*compare, str(second)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    rows = {line.split("|")[1].strip(): line for line in result.stdout.splitlines()[2:]}
    assert "9.54e-07" in rows["float32"] and "False" in rows["float32"] and "True" in rows["bfloat16"]
    result = subprocess.run([*compare, str(other)], capture_output=True, text=True)
    assert result.returncode != 0 and "hold different runs" in result.stderr
