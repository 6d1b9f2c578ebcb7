"""The Linear Video Tokenizer: linearity, selection, batching, gradients, persistence and input checks."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file, save_file

from linvt_hf import LinVTConfig
from linvt_hf.modeling.video_tokenizer import VideoTokenizer, build_video_tokenizer, video_tokenizer_class
from linvt_hf.modeling.video_tokenizer.mtp import window_groups
from linvt_hf.modeling.video_tokenizer.temporal_prior import shot_clock

D = 24


def tiny_config(**overrides) -> LinVTConfig:
    settings = dict(
        hidden_size=32, num_attention_heads=4, num_layers=2, top_k_tokens=20, num_queries=[8, 4, 2], pooling_windows=[1, 2, 4]
    )
    settings.update(overrides)
    return LinVTConfig(**settings)


def build(seed: int = 0, input_size: int = D, **overrides) -> VideoTokenizer:
    torch.manual_seed(seed)
    return build_video_tokenizer(tiny_config(**overrides), input_size=input_size).eval()


LINEAR_VARIANTS = [
    dict(multiscale="multi_c"),
    dict(multiscale="multi_b"),
    dict(multiscale="multi_a"),
    dict(multiscale="single"),
    dict(multiscale="multi_c", text_condition=False),
    dict(multiscale="multi_c", score_bias=False),
    dict(multiscale="multi_c", temporal_window=1),
    dict(multiscale="multi_c", temporal_prior=3.0),
    dict(multiscale="multi_b", temporal_prior=3.0),
    dict(use_tta=False),
    dict(use_svr=False),
    dict(use_svr=False, use_tta=False),
    dict(video_tokenizer_type="avg"),
]


@pytest.mark.parametrize("variant", LINEAR_VARIANTS, ids=lambda v: "-".join(f"{k}={v[k]}" for k in v))
def test_outputs_are_convex_combinations_of_raw_tokens(variant):
    """D = T*N one-hot tokens: each output row IS its weight vector over the inputs, so it must be >= 0, sum to 1."""
    t, n = 3, 8
    tokenizer = build(input_size=t * n, **variant)
    one_hot = torch.eye(t * n).reshape(1, t, n, t * n)
    text = torch.randn(1, 5, t * n)
    clips = torch.tensor([[0, 0, 1]])
    out = tokenizer(one_hot, text_embeds=text, clip_ids=clips, output_aggregation_weights=True)
    rows = out.video_tokens[0]
    assert rows.min() >= 0
    torch.testing.assert_close(rows.sum(-1), torch.ones(rows.shape[0]), atol=1e-5, rtol=0)
    # The reported weights are exactly the map that produced the tokens.
    torch.testing.assert_close(out.dense_aggregation_weights().flatten(2)[0], rows, atol=1e-6, rtol=0)


def test_top_k_smaller_than_the_video_keeps_linearity_and_only_selected_tokens():
    t, n = 4, 8
    tokenizer = build(input_size=t * n, top_k_tokens=10)
    out = tokenizer(torch.eye(t * n).reshape(1, t, n, t * n), output_aggregation_weights=True)
    assert int(out.selected_mask.sum()) == 10
    rows = out.video_tokens[0]
    torch.testing.assert_close(rows.sum(-1), torch.ones(rows.shape[0]), atol=1e-5, rtol=0)
    unselected = torch.ones(t * n, dtype=torch.bool)
    unselected[out.selected_indices[0]] = False
    assert rows[:, unselected].abs().max() == 0


def test_min_tokens_per_frame_gives_every_frame_its_share_whatever_the_scores_favour():
    """Scores that prefer the first frames (as a barely trained score head's time trend does) take the whole global
    budget there; `min_tokens_per_frame` m still keeps min(m, k // T') tokens of every valid frame, its best ones."""
    from linvt_hf.modeling.video_tokenizer.svr import select_top_k

    scores = torch.randn(2, 5, 8)
    scores[:, :2] += 100.0  # frames 0 and 1 outrank everything
    frame_mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]], dtype=torch.bool)
    k = 12
    greedy = select_top_k(scores, frame_mask, k)
    assert set(greedy.frame_index[0].tolist()) == {0, 1}
    for m, quotas in ((1, (1, 1)), (2, (2, 2)), (100, (12 // 5, 12 // 4))):
        balanced = select_top_k(scores, frame_mask, k, min_per_frame=m)
        assert balanced.mask.all()
        assert (balanced.indices[:, 1:] > balanced.indices[:, :-1]).all()  # still in temporal order
        for video, (frames, quota) in enumerate(zip((5, 4), quotas)):
            counts = torch.bincount(balanced.frame_index[video], minlength=5)
            assert int(counts.sum()) == k and counts[frames:].sum() == 0
            # Frames 2.. keep exactly their quota, their best tokens; the rest of the budget goes to frames 0-1.
            assert counts[2:frames].tolist() == [quota] * (frames - 2)
            assert int(counts[:2].sum()) == k - quota * (frames - 2)
            for frame in range(2, frames):
                chosen = balanced.indices[video][balanced.frame_index[video] == frame] % 8
                assert set(chosen.tolist()) == set(scores[video, frame].topk(quota).indices.tolist())


def test_min_tokens_per_frame_keeps_linearity_and_is_saved_with_the_config(tmp_path):
    t, n = 4, 8
    tokenizer = build(input_size=t * n, top_k_tokens=10, min_tokens_per_frame=2)
    out = tokenizer(torch.eye(t * n).reshape(1, t, n, t * n), output_aggregation_weights=True)
    frames, _ = out.selected_positions()
    assert torch.bincount(frames[0][out.selected_mask[0]], minlength=t).min() >= 2
    rows = out.video_tokens[0]
    assert rows.min() >= 0
    torch.testing.assert_close(rows.sum(-1), torch.ones(rows.shape[0]), atol=1e-5, rtol=0)
    tokenizer.config.save_pretrained(tmp_path)
    assert LinVTConfig.from_pretrained(tmp_path).min_tokens_per_frame == 2
    with pytest.raises(ValueError, match="min_tokens_per_frame must be >= 0, got -1"):
        tiny_config(min_tokens_per_frame=-1)


def test_llama_vid_is_exempt_from_linearity():
    """LLaMA-VID projects its context and content tokens with learned linear layers (plus a bias), so its output is
    not a convex combination of input tokens once those layers move away from their identity initialisation. That
    is what the paper's linearity principle argues against; the baseline exists to measure it."""
    t, n = 2, 4
    tokenizer = build(input_size=t * n, video_tokenizer_type="llama_vid")
    one_hot = torch.eye(t * n).reshape(1, t, n, t * n)
    fresh = tokenizer(one_hot, text_embeds=torch.randn(1, 3, t * n)).video_tokens[0]
    torch.testing.assert_close(fresh.sum(-1), torch.ones(fresh.shape[0]), atol=1e-5, rtol=0)  # identity init
    with torch.no_grad():
        tokenizer.content_proj.weight.add_(0.3 * torch.randn_like(tokenizer.content_proj.weight))
    trained = tokenizer(one_hot, text_embeds=torch.randn(1, 3, t * n)).video_tokens[0]
    assert (trained.sum(-1) - 1).abs().max() > 1e-3
    assert trained.shape == (t * 2, t * n)


def test_gradient_reaches_score_head_queries_and_text():
    tokenizer = build().train()
    x = torch.randn(2, 4, 6, D)
    out = tokenizer(x, text_embeds=torch.randn(2, 3, D))
    (out.video_tokens * torch.randn_like(out.video_tokens)).sum().backward()
    assert tokenizer.svr.score_head.weight.grad.abs().sum() > 0
    assert tokenizer.svr.layers[0].temporal_attn.q_proj.weight.grad.abs().sum() > 0
    for query_set in tokenizer.tta.query_sets:
        assert query_set.queries.grad.abs().sum() > 0
    assert tokenizer.tta.text.proj.weight.grad.abs().sum() > 0


def test_padding_frames_are_never_selected():
    tokenizer = build(top_k_tokens=1000)
    x = torch.randn(2, 5, 6, D)
    x[1, 3:] = 1e6  # padding full of huge values must not win top-k
    x[1, 4] = float("nan")  # nor poison anything
    frame_mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=torch.bool)
    out = tokenizer(x, frame_mask=frame_mask, output_aggregation_weights=True)
    frames, _ = out.selected_positions()
    assert (frames[1][out.selected_mask[1]] < 3).all()
    assert int(out.selected_mask[1].sum()) == 3 * 6
    assert torch.isfinite(out.video_tokens).all()
    assert out.dense_aggregation_weights()[1, :, 3:].abs().max() == 0
    assert torch.isinf(out.significance_scores[1, 3:]).all()


@pytest.mark.parametrize("variant", [dict(), dict(multiscale="multi_b"), dict(video_tokenizer_type="avg"), dict(video_tokenizer_type="llama_vid")])
def test_batch_of_videos_of_different_lengths_equals_one_by_one(variant):
    tokenizer = build(top_k_tokens=12, **variant)
    long, short = torch.randn(1, 5, 6, D), torch.randn(1, 3, 6, D)
    text_long, text_short = torch.randn(1, 4, D), torch.randn(1, 2, D)
    clips_long, clips_short = torch.tensor([[0, 0, 1, 1, 2]]), torch.tensor([[0, 1, 1]])
    batch = torch.zeros(2, 5, 6, D)
    batch[0], batch[1, :3] = long[0], short[0]
    text = torch.zeros(2, 4, D)
    text[0], text[1, :2] = text_long[0], text_short[0]
    out = tokenizer(
        batch,
        frame_mask=torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=torch.bool),
        text_embeds=text,
        text_mask=torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]], dtype=torch.bool),
        clip_ids=torch.tensor([[0, 0, 1, 1, 2], [0, 1, 1, 0, 0]]),
    )
    alone = [
        tokenizer(long, text_embeds=text_long, clip_ids=clips_long),
        tokenizer(short, text_embeds=text_short, clip_ids=clips_short),
    ]
    for i, single in enumerate(alone):
        count = single.video_tokens.shape[1]
        mask = out.video_tokens_mask[i]
        assert int(mask.sum()) == count
        torch.testing.assert_close(out.video_tokens[i][mask], single.video_tokens[0], atol=1e-5, rtol=1e-5)


def test_fewer_tokens_than_k_keeps_all_and_single_frame_works():
    tokenizer = build(top_k_tokens=2048)
    out = tokenizer(torch.randn(1, 2, 5, D))
    assert int(out.selected_mask.sum()) == 10
    assert out.video_tokens.shape == (1, 14, D)
    image = tokenizer(torch.randn(3, 1, 5, D))  # T = 1: an image as a video
    assert image.video_tokens.shape == (3, 14, D)
    assert torch.isfinite(image.video_tokens).all()


def test_runs_without_text_and_without_text_condition():
    x = torch.randn(1, 3, 4, D)
    with_text = build()
    assert torch.isfinite(with_text(x).video_tokens).all()
    no_condition = build(text_condition=False)
    assert no_condition.tta.text is None
    a = no_condition(x, text_embeds=torch.randn(1, 3, D)).video_tokens
    b = no_condition(x).video_tokens
    torch.testing.assert_close(a, b)


def test_question_changes_the_tokens_when_text_condition_is_on():
    tokenizer = build()
    x = torch.randn(1, 3, 4, D)
    a = tokenizer(x, text_embeds=torch.randn(1, 3, D)).video_tokens
    b = tokenizer(x, text_embeds=torch.randn(1, 3, D)).video_tokens
    assert (a - b).abs().max() > 1e-6


def test_deterministic_under_a_fixed_seed():
    x = torch.randn(2, 3, 4, D)
    a, b = build(seed=7), build(seed=7)
    torch.testing.assert_close(a(x).video_tokens, b(x).video_tokens, atol=0, rtol=0)
    torch.testing.assert_close(a(x).video_tokens, a(x).video_tokens, atol=0, rtol=0)
    assert (build(seed=8)(x).video_tokens - a(x).video_tokens).abs().max() > 0


def test_state_dict_round_trip_is_exact(tmp_path):
    source = build(seed=1, multiscale="multi_b")
    save_file(source.state_dict(), tmp_path / "linvt.safetensors")
    target = build(seed=2, multiscale="multi_b")
    target.load_state_dict(load_file(tmp_path / "linvt.safetensors"))
    x = torch.randn(1, 3, 4, D)
    torch.testing.assert_close(source(x).video_tokens, target(x).video_tokens, atol=0, rtol=0)


def test_chunking_and_a_wide_temporal_window_do_not_change_the_result():
    x, clips = torch.randn(2, 6, 5, D), torch.tensor([[0, 0, 0, 1, 1, 1], [0, 1, 2, 3, 4, 5]])
    reference = build(seed=3)(x, clip_ids=clips).video_tokens
    chunked = build(seed=3, chunk_size=7)(x, clip_ids=clips).video_tokens
    windowed = build(seed=3, temporal_window=10)(x, clip_ids=clips).video_tokens
    torch.testing.assert_close(chunked, reference, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(windowed, reference, atol=1e-5, rtol=1e-5)


def test_narrow_temporal_window_limits_what_a_frame_sees():
    tokenizer = build(seed=4, temporal_window=1, num_layers=1)
    x = torch.randn(1, 6, 4, D)
    base = tokenizer(x).significance_scores
    changed = x.clone()
    changed[0, 5] += 5.0  # frame 5 is more than one frame away from frame 0
    scores = tokenizer(changed).significance_scores
    torch.testing.assert_close(scores[0, :4], base[0, :4])  # one layer, window 1: frames 0-3 cannot see frame 5
    assert (scores[0, 4:] - base[0, 4:]).abs().max() > 0


def test_bfloat16_runs_and_stays_convex():
    t, n = 2, 6
    tokenizer = build(input_size=t * n).to(torch.bfloat16)
    out = tokenizer(torch.eye(t * n, dtype=torch.bfloat16).reshape(1, t, n, t * n))
    assert out.video_tokens.dtype == torch.bfloat16
    torch.testing.assert_close(out.video_tokens[0].float().sum(-1), torch.ones(14), atol=1e-2, rtol=0)


def test_mtp_windows_stay_inside_a_shot_and_are_shifted():
    mask = torch.ones(1, 9, dtype=torch.bool)
    clips = torch.tensor([[0, 0, 0, 0, 0, 1, 1, 1, 1]])
    scale = window_groups(mask, clips, window=4)
    groups = scale.group[0].tolist()
    # Shifted by 2 inside each shot: [0 0][0 0 0][1 1][1 1]
    assert groups == [0, 0, 1, 1, 1, 2, 2, 3, 3]
    for g in set(groups):
        assert len({int(clips[0, i]) for i in range(9) if groups[i] == g}) == 1
    assert scale.sizes[0].tolist() == [2, 3, 2, 2]
    identity = window_groups(mask, clips, window=1)
    assert identity.group[0].tolist() == list(range(9))
    ignoring_shots = window_groups(mask, None, window=4)
    assert ignoring_shots.group[0].tolist() == [0, 0, 1, 1, 1, 1, 2, 2, 2]


def test_baseline_token_counts_follow_the_config():
    config = tiny_config(video_tokenizer_type="llama_vid", llama_vid_content_tokens=2)
    assert video_tokenizer_class(config).num_output_tokens(config, 5) == 15
    config = tiny_config(video_tokenizer_type="avg")
    assert video_tokenizer_class(config).num_output_tokens(config, 5) == 5
    config = tiny_config()
    assert video_tokenizer_class(config).num_output_tokens(config, 5) == 14
    out = build(video_tokenizer_type="llama_vid", llama_vid_content_tokens=2)(torch.randn(1, 5, 4, D))
    assert out.video_tokens.shape == (1, 15, D)


def test_default_config_matches_the_paper_and_its_size():
    config = LinVTConfig()
    assert (config.num_svr_layers, config.num_tta_layers, config.num_attention_heads) == (4, 4, 8)
    assert (config.top_k_tokens, config.num_queries, config.multiscale, config.text_condition) == (2048, [64, 32, 16], "multi_c", True)
    assert config.num_video_tokens == 112
    with torch.device("meta"):
        tokenizer = build_video_tokenizer(config, input_size=3584)  # Qwen2-VL-7B's width
    millions = sum(p.numel() for p in tokenizer.parameters()) / 1e6
    assert 240 < millions < 280  # the paper: "its number of parameters is 267M"


def test_config_round_trip(tmp_path):
    config = tiny_config(multiscale="multi_a", temporal_window=8)
    config.save_pretrained(tmp_path)
    loaded = LinVTConfig.from_pretrained(tmp_path)
    assert loaded.to_dict() == config.to_dict()


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(multiscale="multi_d"), "multiscale"),
        (dict(video_tokenizer_type="qformer"), "video_tokenizer_type"),
        (dict(hidden_size=30), "divisible"),
        (dict(num_queries=[8, 4], pooling_windows=[1, 2, 4]), "pooling_windows"),
        (dict(top_k_tokens=0), "top_k_tokens"),
        (dict(multiscale="multi_a", num_queries=[8, 3, 2]), "divide"),
        (dict(temporal_prior=-1.0), "temporal_prior"),
    ],
)
def test_bad_config_raises_value_error(overrides, message):
    with pytest.raises(ValueError, match=message):
        tiny_config(**overrides)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda tok: tok(torch.randn(3, 4, D)), "rank 4"),
        (lambda tok: tok(torch.randn(1, 3, 4, D + 1)), "hidden size"),
        (lambda tok: tok(torch.randn(1, 3, 4, D), frame_mask=torch.ones(1, 4, dtype=torch.bool)), r"frame_mask must have shape \[1, 3\]"),
        (lambda tok: tok(torch.randn(1, 3, 4, D), frame_mask=torch.ones(3, dtype=torch.bool)), "frame_mask must have shape"),
        (lambda tok: tok(torch.randn(1, 3, 4, D), frame_mask=torch.full((1, 3), 0.5)), "boolean"),
        (lambda tok: tok(torch.randn(2, 3, 4, D), frame_mask=torch.tensor([[1, 1, 1], [0, 0, 0]])), r"no real frame for video\(s\) \[1\]"),
        (lambda tok: tok(torch.randn(1, 3, 4, D), text_embeds=torch.randn(1, 2, D + 2)), "text_embeds must have shape"),
        (lambda tok: tok(torch.randn(1, 3, 4, D), text_embeds=torch.randn(2, 2, D)), "text_embeds must have shape"),
        (lambda tok: tok(torch.randn(1, 3, 4, D), text_mask=torch.ones(1, 2, dtype=torch.bool)), "without text_embeds"),
        (lambda tok: tok(torch.randn(1, 3, 4, D), text_embeds=torch.randn(1, 2, D), text_mask=torch.ones(1, 3, dtype=torch.bool)), "text_mask must have shape"),
        (lambda tok: tok(torch.randn(1, 3, 4, D), clip_ids=torch.zeros(1, 2, dtype=torch.long)), "clip_ids must be a tensor of shape"),
        (lambda tok: tok(torch.randn(1, 3, 4, D), clip_ids=torch.zeros(1, 3)), "integer"),
        (lambda tok: tok(torch.randn(1, 3, 4, D), clip_ids=-torch.ones(1, 3, dtype=torch.long)), ">= 0"),
        (lambda tok: tok(torch.zeros(1, 3, 4, D, dtype=torch.long)), "floating point"),
        (lambda tok: tok(torch.randn(1, 0, 4, D)), "empty"),
    ],
)
def test_bad_input_raises_value_error_naming_the_problem(call, message):
    with pytest.raises(ValueError, match=message):
        call(build())


def test_weights_are_not_available_unless_requested():
    out = build()(torch.randn(1, 2, 3, D))
    assert out.aggregation_weights is None
    with pytest.raises(ValueError, match="output_aggregation_weights=True"):
        out.dense_aggregation_weights()


def test_gradient_checkpointing_gives_the_same_gradients():
    x = torch.randn(1, 3, 4, D)
    grads = []
    for checkpointing in (False, True):
        tokenizer = build(seed=5).train()
        tokenizer.svr.gradient_checkpointing = checkpointing
        tokenizer(x).video_tokens.pow(2).sum().backward()
        grads.append(tokenizer.svr.layers[0].spatial_attn.q_proj.weight.grad.clone())
    torch.testing.assert_close(grads[0], grads[1])


@pytest.mark.parametrize("multiscale", ["single", "multi_a", "multi_b", "multi_c"])
def test_temporal_prior_puts_each_query_set_in_temporal_order(multiscale):
    """With a strong prior, query j of each set starts on the j-th segment of the video (padding frames excluded),
    and the prior's strength is learned."""
    t, n = 12, 2
    tokenizer = build(input_size=t * n, top_k_tokens=t * n, multiscale=multiscale, temporal_prior=50.0).train()
    one_hot = torch.eye(t * n).reshape(1, t, n, t * n)
    padded = torch.cat([one_hot, torch.zeros(1, 4, n, t * n)], dim=1)  # 4 padding frames after the 12 real ones
    frame_mask = torch.tensor([[True] * t + [False] * 4])
    out = tokenizer(padded, frame_mask=frame_mask)
    frame_weights = out.video_tokens[0].reshape(-1, t, n).sum(-1)  # [Q, T]: each row a distribution over frames
    centre = frame_weights @ torch.arange(t, dtype=torch.float32)
    start = 0
    for size in tokenizer.config.query_set_sizes:
        block = centre[start : start + size]
        assert torch.all(block[1:] > block[:-1]), block
        assert block[0] < t / size and block[-1] > t - 1 - t / size
        start += size
    out.video_tokens.sum().backward()
    assert all(a.temporal_prior.strength.grad is not None for a in tokenizer.tta.query_sets)


def test_shot_clock_gives_every_shot_an_equal_share_skipping_padding():
    frame_mask = torch.tensor([[1, 1, 1, 1, 1, 1, 0, 0], [1, 1, 0, 1, 1, 1, 1, 1]]).bool()
    clip_ids = torch.tensor([[0, 0, 0, 0, 1, 1, 0, 0], [3, 3, 7, 5, 5, 2, 2, 2]])
    clock = shot_clock(frame_mask, clip_ids)
    # Video 0: shots of 4 and 2 frames, each over half of [0, 1]. Video 1: a padding frame between two frames of
    # shot "3"; shots of 2, 2 and 3 valid frames, each over a third (ids need not be ordered or contiguous).
    expected_0 = [1 / 16, 3 / 16, 5 / 16, 7 / 16, 0.5 + 1 / 8, 0.5 + 3 / 8]
    expected_1 = [1 / 12, 3 / 12, 4 / 12 + 1 / 12, 4 / 12 + 3 / 12, 2 / 3 + 1 / 18, 2 / 3 + 3 / 18, 2 / 3 + 5 / 18]
    torch.testing.assert_close(clock[0, :6], torch.tensor(expected_0))
    torch.testing.assert_close(clock[1, [0, 1, 3, 4, 5, 6, 7]], torch.tensor(expected_1))
    # Without shots the whole video is one shot, its frames spread evenly.
    torch.testing.assert_close(shot_clock(frame_mask, None)[0, :6], (torch.arange(6) + 0.5) / 6)


@pytest.mark.parametrize(
    "clock, expected",
    [
        ("frames", [False, False, False, True] * 2),
        ("shots", [False, False, True, True] * 2),
        (["frames", "shots"], [False, False, False, True, False, False, True, True]),
    ],
)
def test_shot_clock_prior_lines_the_queries_up_with_the_shots(clock, expected):
    """A long shot then a short one, two sets of 4 queries: by the frame clock 3 of 4 queries start on the long
    shot; by the shot clock 2 start on each; a list gives each query set its own clock. The strengths still learn."""
    t, n = 12, 2
    clip_ids = torch.tensor([[0] * 10 + [1] * 2])
    one_hot = torch.eye(t * n).reshape(1, t, n, t * n)
    tokenizer = build(
        input_size=t * n, top_k_tokens=t * n, num_queries=[4, 4], pooling_windows=[1, 1], temporal_prior=50.0,
        temporal_prior_clock=clock,
    ).train()
    out = tokenizer(one_hot, clip_ids=clip_ids)
    frame_weights = out.video_tokens[0].reshape(-1, t, n).sum(-1)  # [8, T]
    assert (frame_weights[:, 10:].sum(-1) > 0.5).tolist() == expected
    out.video_tokens.sum().backward()
    assert all(a.temporal_prior.strength.grad is not None for a in tokenizer.tta.query_sets)


@pytest.mark.parametrize(
    "overrides",
    [
        dict(temporal_prior_clock="seconds"),
        dict(temporal_prior_clock=["frames", "shots"]),  # three query sets
        dict(temporal_prior_clock=["frames", "shots", "shots"], multiscale="multi_b"),  # one query set
    ],
)
def test_temporal_prior_clock_is_checked(overrides):
    with pytest.raises(ValueError, match="temporal_prior_clock"):
        LinVTConfig(**overrides)
    assert LinVTConfig(temporal_prior_clock=["shots"], multiscale="multi_b").temporal_prior_clocks == ["shots"]
    assert LinVTConfig(temporal_prior_clock="shots").temporal_prior_clocks == ["shots"] * 3


def test_temporal_prior_clock_list_survives_saving(tmp_path):
    LinVTConfig(temporal_prior_clock=("frames", "frames", "shots")).save_pretrained(tmp_path)
    assert LinVTConfig.from_pretrained(tmp_path).temporal_prior_clock == ["frames", "frames", "shots"]


def test_temporal_prior_off_by_default_and_its_strength_survives_init_and_saving(tmp_path):
    assert LinVTConfig().temporal_prior == 0.0
    assert all(a.temporal_prior is None for a in build().tta.query_sets)
    tokenizer = build(temporal_prior=2.5)
    assert [a.temporal_prior.strength.item() for a in tokenizer.tta.query_sets] == [2.5, 2.5, 2.5]
    save_file(tokenizer.state_dict(), tmp_path / "t.safetensors")
    assert "tta.query_sets.0.temporal_prior.strength" in load_file(tmp_path / "t.safetensors")


def test_svr_only_pools_selected_tokens_in_consecutive_segments_and_trains_the_scorer():
    """`use_tta=False` ("SVR only"): no queries; every output token averages a run of consecutive selected tokens,
    and the score head still gets gradient through the sigmoid-score weights."""
    t, n = 6, 4
    tokenizer = build(input_size=t * n, top_k_tokens=12, use_tta=False).train()
    assert tokenizer.tta is None
    out = tokenizer(torch.eye(t * n).reshape(1, t, n, t * n), output_aggregation_weights=True)
    weights = out.aggregation_weights[0]  # [Q, K] over the 12 selected tokens, in temporal order
    assert out.video_tokens.shape == (1, 14, t * n)
    for row in weights:
        support = row.nonzero().flatten()
        assert torch.equal(support, torch.arange(int(support[0]), int(support[-1]) + 1))
    out.video_tokens.pow(2).sum().backward()
    assert tokenizer.svr.score_head.weight.grad.abs().sum() > 0


def test_tta_only_keeps_every_token_and_refines_nothing():
    t, n = 5, 4
    tokenizer = build(input_size=t * n, top_k_tokens=3, use_svr=False)
    assert len(tokenizer.svr.layers) == 0
    out = tokenizer(torch.eye(t * n).reshape(1, t, n, t * n), text_embeds=torch.randn(1, 3, t * n))
    assert bool(out.selected_mask.all()) and out.selected_mask.shape[1] == t * n  # top_k_tokens is not applied
