"""The video tokenizer registry, the common interface of its classes, and the config's `video_tokenizer_type`."""

from __future__ import annotations

import inspect
import json

import pytest
import torch
from torch import nn

from linvt_hf import LinVTConfig
from linvt_hf.modeling.video_tokenizer import (
    VIDEO_TOKENIZERS,
    AverageVideoTokenizer,
    LinearVideoTokenizer,
    LinearVideoTokenizerOutput,
    LlamaVidVideoTokenizer,
    VideoTokenizer,
    build_video_tokenizer,
    register_video_tokenizer,
    video_tokenizer_class,
)

D = 16
TINY = dict(hidden_size=32, num_attention_heads=4, num_layers=1, top_k_tokens=12, num_queries=[4, 2, 1])


class FirstTokenVideoTokenizer(VideoTokenizer):
    """A custom tokenizer for the tests: the first token of every frame, through one linear layer."""

    def __init__(self, config: LinVTConfig, input_size: int | None = None) -> None:
        super().__init__(config, input_size)
        self.proj = nn.Linear(self.input_size, self.input_size)
        self.post_init()

    @classmethod
    def num_output_tokens(cls, config: LinVTConfig, num_frames: int) -> int:
        return num_frames

    def tokenize(self, visual_tokens, frame_mask, text_embeds, text_mask, clip_ids, output_aggregation_weights):
        return LinearVideoTokenizerOutput(
            video_tokens=self.proj(visual_tokens[:, :, 0]), video_tokens_mask=frame_mask,
            num_frames=visual_tokens.shape[1], tokens_per_frame=visual_tokens.shape[2],
        )


@pytest.fixture
def custom_registered():
    register_video_tokenizer("first_token", FirstTokenVideoTokenizer)
    yield "first_token"
    VIDEO_TOKENIZERS.pop("first_token")


def test_the_registry_holds_linvt_and_the_baselines():
    assert VIDEO_TOKENIZERS == {
        "linvt": LinearVideoTokenizer, "avg": AverageVideoTokenizer, "llama_vid": LlamaVidVideoTokenizer
    }
    for name, cls in VIDEO_TOKENIZERS.items():
        config = LinVTConfig(video_tokenizer_type=name, **TINY)
        assert video_tokenizer_class(config) is cls
        assert type(build_video_tokenizer(config, D)) is cls


def test_an_unknown_name_raises_value_error_naming_the_known_ones():
    with pytest.raises(ValueError, match=r"video_tokenizer_type.*\['avg', 'linvt', 'llama_vid'\].*'qformer'"):
        LinVTConfig(video_tokenizer_type="qformer")
    config = LinVTConfig(**TINY)
    config.video_tokenizer_type = "qformer"  # set after the config's own check
    known = r"unknown video_tokenizer_type 'qformer'; known: \['avg', 'linvt', 'llama_vid'\]"
    with pytest.raises(ValueError, match=known):
        build_video_tokenizer(config, D)


def test_a_registered_custom_tokenizer_is_built_and_runs(custom_registered):
    config = LinVTConfig(video_tokenizer_type=custom_registered, initializer_range=0.01, **TINY)
    tokenizer = build_video_tokenizer(config, D)
    assert type(tokenizer) is FirstTokenVideoTokenizer
    assert tokenizer.proj.weight.abs().max() <= 0.02  # init_video_tokenizer_weights: truncated at 2 std
    frame_mask = torch.tensor([[True, True, True], [True, False, False]])
    out = tokenizer(torch.randn(2, 3, 5, D), frame_mask=frame_mask)
    assert out.video_tokens.shape == (2, 3, D)
    assert out.video_tokens_mask.sum(1).tolist() == [video_tokenizer_class(config).num_output_tokens(config, t)
                                                     for t in (3, 1)]
    with pytest.raises(ValueError, match="frame_mask must have shape"):  # the common input checks apply
        tokenizer(torch.randn(2, 3, 5, D), frame_mask=frame_mask[:, :2])


def test_registering_checks_the_class_and_the_name(custom_registered):
    with pytest.raises(TypeError, match="'bad' must be a subclass of .*VideoTokenizer"):
        register_video_tokenizer("bad", nn.Linear)
    with pytest.raises(ValueError, match="'linvt' is already registered \\(LinearVideoTokenizer\\)"):
        register_video_tokenizer("linvt", FirstTokenVideoTokenizer)
    register_video_tokenizer(custom_registered, FirstTokenVideoTokenizer)  # the same class again: fine
    with pytest.raises(ValueError, match="must not be empty"):
        register_video_tokenizer("", FirstTokenVideoTokenizer)
    with pytest.raises(TypeError, match="must be a str"):
        register_video_tokenizer(3, FirstTokenVideoTokenizer)
    register_video_tokenizer("avg", FirstTokenVideoTokenizer, exist_ok=True)
    try:
        assert video_tokenizer_class(LinVTConfig(video_tokenizer_type="avg")) is FirstTokenVideoTokenizer
    finally:
        register_video_tokenizer("avg", AverageVideoTokenizer, exist_ok=True)


@pytest.mark.parametrize(
    "settings, per_frames",
    [
        (dict(), {1: 7, 3: 7, 50: 7}),
        (dict(video_tokenizer_type="avg"), {1: 1, 3: 3, 50: 50}),
        (dict(video_tokenizer_type="llama_vid"), {1: 2, 3: 6, 50: 100}),
        (dict(video_tokenizer_type="llama_vid", llama_vid_content_tokens=3), {1: 4, 3: 12}),
    ],
)
def test_each_class_answers_its_own_token_count(settings, per_frames):
    config = LinVTConfig(**{**TINY, **settings})
    cls = video_tokenizer_class(config)
    tokenizer = build_video_tokenizer(config, D)
    for frames, count in per_frames.items():
        assert cls.num_output_tokens(config, frames) == count
        if frames <= 3:  # and it is the number of real tokens the tokenizer gives
            out = tokenizer(torch.randn(1, frames, 4, D))
            assert int(out.video_tokens_mask.sum()) == count == out.video_tokens.shape[1]


def test_every_class_has_the_same_forward_signature():
    expected = inspect.signature(VideoTokenizer.forward)
    assert list(expected.parameters) == ["self", "visual_tokens", "frame_mask", "text_embeds", "text_mask", "clip_ids",
                                         "output_aggregation_weights"]
    for cls in VIDEO_TOKENIZERS.values():
        assert inspect.signature(cls.forward) == expected, cls.__name__


@pytest.mark.parametrize("name", ["linvt", "avg", "llama_vid"])
def test_each_class_saves_and_loads_as_a_pretrained_model(name, tmp_path):
    config = LinVTConfig(video_tokenizer_type=name, temporal_prior=1.5, **TINY)
    tokenizer = build_video_tokenizer(config, D)  # input_size given here: the saved config must hold it
    assert config.input_size is None and tokenizer.config.input_size == D
    tokenizer.save_pretrained(tmp_path)
    loaded = video_tokenizer_class(LinVTConfig.from_pretrained(tmp_path)).from_pretrained(tmp_path)
    assert type(loaded) is type(tokenizer) and loaded.config.video_tokenizer_type == name
    assert loaded.state_dict().keys() == tokenizer.state_dict().keys()
    assert all(torch.equal(value, loaded.state_dict()[key]) for key, value in tokenizer.state_dict().items())


def test_initialisation_follows_the_config():
    """Queries and null tokens: truncated normal of `initializer_range`; the prior: its configured strength; the
    LLaMA-VID projections: the identity; layer norms: unit."""
    config = LinVTConfig(multiscale="multi_b", temporal_prior=1.5, initializer_range=0.01, **TINY)
    tokenizer = build_video_tokenizer(config, D)
    for tensor in (tokenizer.tta.query_sets[0].queries, tokenizer.tta.text.null_token,
                   tokenizer.tta.multiscale.scale_embedding, tokenizer.svr.input_proj.weight):
        assert 0 < tensor.abs().max() <= 0.02 and tensor.std() < 0.015
    assert tokenizer.tta.query_sets[0].temporal_prior.strength.item() == 1.5
    assert torch.equal(tokenizer.svr.output_norm.weight, torch.ones(32))
    llama_vid = build_video_tokenizer(LinVTConfig(video_tokenizer_type="llama_vid", **TINY), D)
    assert torch.equal(llama_vid.content_proj.weight, torch.eye(D)) and not llama_vid.null_query.any()


def test_old_tokenizer_type_key_still_loads(tmp_path):
    config = LinVTConfig(tokenizer_type="llama_vid", **TINY)
    assert config.video_tokenizer_type == "llama_vid"
    assert "tokenizer_type" not in config.to_dict() and not hasattr(config, "tokenizer_type")
    saved = {**LinVTConfig(**TINY).to_dict(), "tokenizer_type": "avg"}
    saved.pop("video_tokenizer_type")
    (tmp_path / "config.json").write_text(json.dumps(saved))
    assert LinVTConfig.from_pretrained(tmp_path).video_tokenizer_type == "avg"
    with pytest.raises(ValueError, match="video_tokenizer_type='avg' and its old name tokenizer_type='llama_vid'"):
        LinVTConfig(video_tokenizer_type="avg", tokenizer_type="llama_vid")


def test_input_size_comes_from_the_argument_or_the_config():
    assert build_video_tokenizer(LinVTConfig(input_size=D, **TINY)).input_size == D
    assert build_video_tokenizer(LinVTConfig(input_size=D, **TINY), D).input_size == D
    with pytest.raises(ValueError, match="input_size is 8 but config.input_size is 16"):
        build_video_tokenizer(LinVTConfig(input_size=D, **TINY), 8)
    with pytest.raises(ValueError, match="input_size is needed"):
        build_video_tokenizer(LinVTConfig(**TINY))
    with pytest.raises(ValueError, match="input_size must be >= 1"):
        LinVTConfig(input_size=0)
    assert {"video_tokenizer_type", "input_size", "num_queries"} <= LinVTConfig.setting_names()
    assert not {"dtype", "architectures", "tokenizer_type"} & LinVTConfig.setting_names()


def test_average_baseline_keeps_padding_content_out_of_every_token():
    """A padding frame full of NaN gave the "avg" baseline a NaN token (masked out, but there); now a zero."""
    tokenizer = build_video_tokenizer(LinVTConfig(video_tokenizer_type="avg", **TINY), D)
    visual = torch.randn(1, 3, 4, D)
    visual[0, 2] = float("nan")
    out = tokenizer(visual, frame_mask=torch.tensor([[True, True, False]]), output_aggregation_weights=True)
    assert torch.isfinite(out.video_tokens).all()
    assert out.video_tokens_mask.tolist() == [[True, True, False]]
    assert out.video_tokens[0, 2].abs().max() == 0
    torch.testing.assert_close(out.video_tokens[0, :2], visual[0, :2].mean(1))


@pytest.mark.parametrize(
    "settings, num_scales",
    [(dict(), 3), (dict(multiscale="multi_b", temporal_prior=2.0, temporal_prior_clock="shots"), 3),
     (dict(multiscale="single"), 1), (dict(use_svr=False), 3)],
)
def test_linvt_forward_is_tta_weights_times_svrs_raw_tokens(settings, num_scales):
    """The forward reads as Sec. 3.2: SVR (scores, top-k, MTP) -> TTA (convex weights over the kept tokens) ->
    weights @ the kept RAW tokens, with nothing else in between."""
    torch.manual_seed(0)
    tokenizer = build_video_tokenizer(LinVTConfig(**{**TINY, **settings}), D).eval()
    visual, question = torch.randn(2, 4, 5, D), torch.randn(2, 3, D)
    frame_mask = torch.tensor([[True] * 4, [True, True, False, False]])
    clip_ids = torch.tensor([[0, 0, 1, 1], [0, 1, 0, 0]])
    out = tokenizer(visual, frame_mask, question, None, clip_ids, output_aggregation_weights=True)
    svr = tokenizer.svr(visual, frame_mask, clip_ids)
    weights = tokenizer.tta(svr, frame_mask, clip_ids, question, None)
    assert torch.equal(weights, out.aggregation_weights)
    assert torch.equal(weights @ svr.selection.gather(visual), out.video_tokens)
    assert torch.equal(svr.selection.indices, out.selected_indices)
    assert len(svr.scales) == num_scales  # MTP pools at the windows the multiscale variant reads


def test_activation_checkpointing_reaches_svr_and_keeps_the_gradients():
    visual = torch.randn(1, 3, 4, D)
    grads = []
    for checkpointing in (False, True):
        torch.manual_seed(5)
        tokenizer = build_video_tokenizer(LinVTConfig(**TINY), D).train()
        if checkpointing:
            tokenizer.activation_checkpointing_enable()
            assert tokenizer.svr.gradient_checkpointing
        tokenizer(visual).video_tokens.pow(2).sum().backward()
        grads.append(tokenizer.svr.layers[0].spatial_attn.q_proj.weight.grad)
    torch.testing.assert_close(grads[0], grads[1])
