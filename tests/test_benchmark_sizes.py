"""The benchmarks' released sizes (`--model-size`) and device handling, checked without building the large models
(their smoke runs, tests/test_benchmarks_smoke.py, build the small ones on the CPU through the same code)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import bench_linvt_scaling as scaling  # noqa: E402
import bench_native_vs_linvt as native  # noqa: E402

from linvt_hf.testing.tiny_processors import make_tiny_tokenizer  # noqa: E402


def test_released_widths_and_depths():
    tokenizer = make_tiny_tokenizer("qwen2_vl")
    llm, vision = native.MODEL_SIZES["qwen2-vl-7b"]["depth"]
    config = native.qwen2_vl_config(tokenizer, 448, llm, vision, False, "qwen2-vl-7b")
    text, encoder = config["text_config"], config["vision_config"]
    assert (text["hidden_size"], text["num_hidden_layers"], text["num_key_value_heads"]) == (3584, 28, 4)
    assert (encoder["embed_dim"], encoder["depth"], encoder["hidden_size"]) == (1280, 32, 3584)
    assert config["tie_word_embeddings"] is False
    internvl = native.internvl_config(make_tiny_tokenizer("internvl"), 448, 28, 24, False, "internvl3-8b")
    assert internvl["text_config"]["hidden_size"] == 3584 and internvl["vision_config"]["num_hidden_layers"] == 24
    assert native.full_depth({"family": "qwen2_vl", "model_size": "qwen2-vl-7b"}) == (28, 32)
    assert native.full_depth({"family": "internvl"}) == (24, 24)  # rows saved before --model-size existed
    with pytest.raises(ValueError, match="internvl3-8b is a internvl backbone, not qwen2_vl"):
        native.resolve_model_size("qwen2_vl", "internvl3-8b")


@pytest.mark.parametrize("kind", ["qwen2_vl", "internvit"])
def test_scaling_vision_paths(kind):
    """Both vision encoders of bench_linvt_scaling run at smoke sizes; Qwen2-VL's gives one step per two frames."""
    path = scaling.VisionPath(kind, 1, 64, 56, True, torch.float32, "cpu")
    with torch.inference_mode():
        tokens = path.encode(path.pixels(4))
    assert tokens.shape[-1] == 64
    assert tokens.shape[0] == (2 * 4 if kind == "qwen2_vl" else 4)  # 2 steps x 2x2 tokens, or 4 frames
