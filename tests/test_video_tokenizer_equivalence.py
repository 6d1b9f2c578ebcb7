"""The redesigned video tokenizers give the same bits as linvt-hf 0.1's on the same weights.

The oracle is a frozen copy of 0.1's tokenizer (tests/legacy_video_tokenizer/). Its weights go through
`convert_legacy_state_dict` into today's classes; every output (video tokens, scores, selection, weights) and every
gradient must be equal, bit for bit, over the variants of the config, and on the shipped demo model's LinVT weights.
"""

from __future__ import annotations

import json

import legacy_video_tokenizer
import pytest
import torch
from safetensors import safe_open

from linvt_hf import LinVTConfig, demo_model_path
from linvt_hf.modeling.video_tokenizer import (
    LEGACY_STATE_DICT_RENAMES,
    build_video_tokenizer,
    convert_legacy_state_dict,
    legacy_renames,
)

D = 24
OUTPUT_FIELDS = ("significance_scores", "selected_indices", "selected_mask", "aggregation_weights")

VARIANTS = [
    dict(),
    dict(multiscale="multi_b"),
    dict(multiscale="multi_a"),
    dict(multiscale="single"),
    dict(use_svr=False),
    dict(use_tta=False),
    dict(use_tta=False, score_bias=False),
    dict(use_svr=False, use_tta=False),
    dict(text_condition=False),
    dict(score_bias=False),
    dict(use_clip_embedding=False, mtp_respect_clips=False),
    dict(min_tokens_per_frame=2),
    dict(temporal_window=1),
    dict(temporal_prior=3.0),
    dict(temporal_prior=3.0, temporal_prior_clock="shots"),
    dict(temporal_prior=3.0, temporal_prior_clock=["frames", "shots", "shots"]),
    dict(temporal_prior=3.0, multiscale="multi_b", temporal_prior_clock="shots"),
    dict(temporal_prior=3.0, multiscale="multi_a"),
    dict(temporal_prior=3.0, multiscale="single", temporal_prior_clock="shots"),
    dict(video_tokenizer_type="avg"),
    dict(video_tokenizer_type="llama_vid"),
    dict(video_tokenizer_type="llama_vid", text_condition=False, llama_vid_content_tokens=2),
]


def variant_id(variant: dict) -> str:
    return "-".join(f"{k}={v}" for k, v in variant.items()) or "defaults"


def tiny_config(**overrides) -> LinVTConfig:
    settings = dict(hidden_size=32, num_attention_heads=4, num_layers=2, top_k_tokens=14, num_queries=[8, 4, 2])
    return LinVTConfig(**{**settings, **overrides})


def legacy_and_new(config: LinVTConfig, input_size: int, legacy_state: dict | None = None):
    """The 0.1 tokenizer (seed 0, its weights moved off their initial values unless `legacy_state` is given) and
    today's, built from another seed, holding the same weights through `convert_legacy_state_dict`."""
    torch.manual_seed(0)
    legacy = legacy_video_tokenizer.LinearVideoTokenizer(config, input_size=input_size).eval()
    if legacy_state is None:
        with torch.no_grad():  # identity-initialised and zero parameters would hide a swapped or missing weight
            for parameter in legacy.parameters():
                parameter.add_(0.05 * torch.randn_like(parameter))
    else:
        legacy.load_state_dict(legacy_state)
    torch.manual_seed(1)
    new = build_video_tokenizer(config, input_size).eval()
    new.load_state_dict(convert_legacy_state_dict(legacy.state_dict()), strict=True)
    return legacy, new


def inputs(with_text: bool, with_clips: bool, input_size: int = D, frames: int = 5, tokens: int = 6) -> dict:
    """Two videos, the second with two padding frames (NaN inside, which nothing may read)."""
    generator = torch.Generator().manual_seed(2)
    visual = torch.randn(2, frames, tokens, input_size, generator=generator)
    frame_mask = torch.ones(2, frames, dtype=torch.bool)
    frame_mask[1, frames - 2 :] = False
    visual[1, frames - 1] = float("nan")
    kwargs = dict(visual_tokens=visual, frame_mask=frame_mask, output_aggregation_weights=True)
    if with_text:
        kwargs["text_embeds"] = torch.randn(2, 4, input_size, generator=generator)
        kwargs["text_mask"] = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]], dtype=torch.bool)
    if with_clips:
        kwargs["clip_ids"] = (torch.arange(frames) * 3 // frames).expand(2, frames)
    return kwargs


def assert_same_outputs(legacy_out, new_out) -> None:
    """Every field equal; video tokens where `video_tokens_mask` is True (0.1's "avg" leaked a padding frame's NaN
    into its masked-out token, today's gives 0 there)."""
    assert torch.equal(legacy_out.video_tokens_mask, new_out.video_tokens_mask)
    keep = legacy_out.video_tokens_mask
    assert torch.equal(legacy_out.video_tokens[keep], new_out.video_tokens[keep])
    for field in OUTPUT_FIELDS:
        old, new = getattr(legacy_out, field), getattr(new_out, field)
        assert (old is None) == (new is None), field
        if old is not None:
            assert old.dtype == new.dtype and old.shape == new.shape, field
            assert torch.equal(old, new), f"{field} differs: max {(old.float() - new.float()).abs().max()}"
    assert (legacy_out.num_frames, legacy_out.tokens_per_frame) == (new_out.num_frames, new_out.tokens_per_frame)


@pytest.mark.parametrize("variant", VARIANTS, ids=variant_id)
@pytest.mark.parametrize("with_text, with_clips", [(True, True), (False, False)], ids=["question+shots", "bare"])
def test_same_weights_give_the_same_bits(variant, with_text, with_clips):
    legacy, new = legacy_and_new(tiny_config(**variant), D)
    kwargs = inputs(with_text, with_clips)
    assert_same_outputs(legacy(**kwargs), new(**kwargs))


@pytest.mark.parametrize("variant", [dict(), dict(multiscale="multi_b", temporal_prior=2.0), dict(use_tta=False),
                                     dict(video_tokenizer_type="llama_vid")], ids=variant_id)
def test_same_weights_give_the_same_gradients(variant):
    legacy, new = legacy_and_new(tiny_config(**variant), D)
    kwargs = inputs(with_text=True, with_clips=True)
    kwargs["visual_tokens"] = torch.nan_to_num(kwargs["visual_tokens"])
    for model in (legacy, new):
        model.train()
        out = model(**kwargs).video_tokens
        (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum().backward()
    legacy_grads = convert_legacy_state_dict({n: p.grad for n, p in legacy.named_parameters()})
    new_grads = {n: p.grad for n, p in new.named_parameters()}
    assert legacy_grads.keys() == new_grads.keys()
    for name, grad in new_grads.items():
        assert (grad is None) == (legacy_grads[name] is None), name
        assert grad is None or torch.equal(grad, legacy_grads[name]), name


def test_bfloat16_gives_the_same_bits():
    legacy, new = legacy_and_new(tiny_config(temporal_prior=1.0), D)
    legacy, new = legacy.to(torch.bfloat16), new.to(torch.bfloat16)
    kwargs = inputs(with_text=True, with_clips=True)
    kwargs["visual_tokens"] = kwargs["visual_tokens"].to(torch.bfloat16)
    kwargs["text_embeds"] = kwargs["text_embeds"].to(torch.bfloat16)
    assert_same_outputs(legacy(**kwargs), new(**kwargs))


def children_first(module: torch.nn.Module):
    """Every module below and at `module`, each after its children: the order of transformers' weight init."""
    for child in module.children():
        yield from children_first(child)
    yield module


@pytest.mark.parametrize(
    "variant", [dict(), dict(multiscale="multi_b", temporal_prior=1.0), dict(use_tta=False),
                dict(video_tokenizer_type="llama_vid")],
    ids=variant_id,
)
def test_the_same_seed_initialises_the_weights_0_1_did_inside_a_model(variant):
    """Construction and initialisation draw random numbers in the order 0.1's LinVT model did (its `_init_weights`
    ran over the tokenizer's modules children first), so a seed still gives the same weights."""
    config = tiny_config(**variant)
    torch.manual_seed(3)
    legacy = legacy_video_tokenizer.LinearVideoTokenizer(config, input_size=D, initialize=False)
    for module in children_first(legacy):
        legacy_video_tokenizer.LinearVideoTokenizer.init_module(module, config.initializer_range)
    torch.manual_seed(3)
    new = build_video_tokenizer(config, D)
    legacy_state = convert_legacy_state_dict(legacy.state_dict())
    assert legacy_state.keys() == new.state_dict().keys()
    assert all(torch.equal(value, legacy_state[name]) for name, value in new.state_dict().items())


def test_the_demo_models_linvt_weights_give_the_same_bits():
    folder = demo_model_path()
    saved = json.loads((folder / "config.json").read_text())
    names = LinVTConfig.setting_names() | {"tokenizer_type"}
    config = LinVTConfig(**{key: value for key, value in saved.items() if key in names and key != "input_size"})
    with safe_open(str(folder / "model.safetensors"), "pt") as weights:
        state = {key[len("linvt.") :]: weights.get_tensor(key) for key in weights.keys() if key.startswith("linvt.")}
    assert state, "the demo model has no linvt.* weights"
    input_size = state["scorer.input_proj.weight"].shape[1]
    assert config.temporal_prior > 0 and config.min_tokens_per_frame > 0  # the demo exercises both
    legacy, new = legacy_and_new(config, input_size, legacy_state=state)
    for with_text, with_clips in ((True, True), (False, False)):
        kwargs = inputs(with_text, with_clips, input_size=input_size, frames=8, tokens=16)
        assert_same_outputs(legacy(**kwargs), new(**kwargs))


def test_legacy_keys_map_onto_todays_names():
    old = ["scorer.score_head.weight", "scorer.layers.0.temporal_attn.q_proj.bias", "text.null_token",
           "aggregators.2.queries", "aggregators.0.temporal_prior.strength", "scale_embedding",
           "baseline.content_proj.weight"]
    new = ["svr.score_head.weight", "svr.layers.0.temporal_attn.q_proj.bias", "tta.text.null_token",
           "tta.query_sets.2.queries", "tta.query_sets.0.temporal_prior.strength", "tta.multiscale.scale_embedding",
           "content_proj.weight"]
    converted = convert_legacy_state_dict(dict.fromkeys(old, 0))
    assert list(converted) == new
    assert list(convert_legacy_state_dict(converted)) == new  # idempotent
    prefixed = convert_legacy_state_dict({"video_tokenizer." + key: 0 for key in old}, prefix="video_tokenizer.")
    assert list(prefixed) == ["video_tokenizer." + key for key in new]
    assert len(legacy_renames("x.")) == len(LEGACY_STATE_DICT_RENAMES)
    with pytest.raises(ValueError, match="'aggregators.0.queries' becomes 'tta.query_sets.0.queries'"):
        convert_legacy_state_dict({"tta.query_sets.0.queries": 0, "aggregators.0.queries": 1})
