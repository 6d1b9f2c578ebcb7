"""Ask again without re-encoding: a video encoded up to TTA once (`encode_video_context`) answers every question as
asking from scratch does, in the model API, the pipeline's cache and `linvt-hf chat`."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import pipeline

from linvt_hf import FAMILIES, LinVTVideoContext, VideoTokenizerContext
from linvt_hf.cli import main
from linvt_hf.pipelines.video_cache import VideoContextCache
from linvt_hf.testing.tiny_models import make_tiny

VIDEOS = Path(__file__).resolve().parent / "data" / "videos"
ENCODER_ONLY = ("pixel_values_videos", "video_frame_mask", "video_clip_ids")


def _frames(count: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(count, 56, 56, 3), dtype=np.uint8)


def _batch(processor, questions, videos) -> dict:
    processor.tokenizer.padding_side = "left"
    chats = [
        [{"role": "user", "content": [{"type": "video", "video": video}, {"type": "text", "text": question}]}]
        for question, video in zip(questions, videos)
    ]
    return processor.apply_chat_template(
        chats, tokenize=True, add_generation_prompt=True, return_dict=True, return_tensors="pt",
        processor_kwargs={"padding": True},
    )


# ------------------------------------------------------------------------------------------------ model API
@pytest.mark.parametrize(
    "backbone, video_tokenizer_type",
    [("qwen2_vl", "linvt"), ("qwen2_vl", "avg"), ("qwen2_vl", "llama_vid"), ("qwen3_vl", "linvt")],
)
def test_context_answers_as_from_scratch(backbone, video_tokenizer_type):
    """Two videos of different lengths encoded once with one pair of questions, then asked others: the features,
    the logits and the generated answers equal those computed from the frames with the new questions."""
    if backbone not in FAMILIES:
        pytest.skip(f"{backbone} is not registered")
    model, processor = make_tiny(backbone, video_tokenizer_type=video_tokenizer_type)
    videos = [_frames(4, 0), _frames(6, 1)]
    first = _batch(processor, ["what is the man doing", "colours?"], videos)
    second = _batch(processor, ["where does the red ball go after it bounces", "shapes"], videos)
    with torch.no_grad():
        context = model.encode_video_context(**first)
        expected = model.get_video_features(**second, output_aggregation_weights=True)
        got = model.video_features_from_context(
            context, input_ids=second["input_ids"], question_mask=second["question_mask"],
            video_sample_index=second["video_sample_index"], output_aggregation_weights=True,
        )
        assert torch.equal(got.video_tokens, expected.video_tokens)
        assert torch.equal(got.video_tokens_mask, expected.video_tokens_mask)
        assert got.frame_token_grids == expected.frame_token_grids
        for ours, theirs in zip(got.tokenizer_outputs, expected.tokenizer_outputs):
            for name in ("significance_scores", "selected_indices", "aggregation_weights"):
                assert (getattr(ours, name) is None) == (getattr(theirs, name) is None)
                if getattr(ours, name) is not None:
                    assert torch.equal(getattr(ours, name), getattr(theirs, name)), name
        if expected.deepstack_tokens is not None:  # Qwen3-VL's DeepStack maps
            assert all(torch.equal(a, b) for a, b in zip(got.deepstack_tokens, expected.deepstack_tokens))

        prompts = {key: value for key, value in second.items() if key not in ENCODER_ONLY}
        logits = model(**prompts, video_context=context).logits
        assert torch.equal(logits, model(**prompts, video_features=expected).logits)
        answers = model.generate(**prompts, video_context=context, max_new_tokens=4, do_sample=False)
        assert torch.equal(answers, model.generate(**second, max_new_tokens=4, do_sample=False))
    assert context.nbytes() > 0


def test_context_select_concat_and_bad_input():
    model, processor = make_tiny("qwen2_vl")
    inputs = _batch(processor, ["a", "b"], [_frames(4, 0), _frames(6, 1)])
    with torch.no_grad():
        context = model.encode_video_context(**inputs)
        assert isinstance(context.tokenizer_contexts[0], VideoTokenizerContext) and context.num_videos == 2
        swapped = LinVTVideoContext.concat([context.select([1]), context.select([0])])
        # The prompts in the other order: each video keeps its tokens.
        reordered = {**inputs, "video_sample_index": torch.tensor([1, 0])}
        ours = model.video_features_from_context(swapped, **reordered)
        theirs = model.video_features_from_context(context, **inputs)
        assert torch.allclose(ours.video_tokens[[1, 0]], theirs.video_tokens, atol=1e-6)
        with pytest.raises(ValueError, match="video_sample_index names 2 videos but video_context holds 1"):
            model.video_features_from_context(context.select([0]), **inputs)
        with pytest.raises(TypeError, match="video_context must be a LinVTVideoContext"):
            model.video_features_from_context(theirs, **inputs)
        with pytest.raises(IndexError, match=r"videos \[5\] are not in this context"):
            context.select([5])


# ------------------------------------------------------------------------------------------------ pipeline cache
@pytest.fixture(scope="module")
def tiny_pair():
    return make_tiny("qwen2_vl"), make_tiny("qwen2_vl", seed=1)


def _vision_calls(model) -> dict:
    calls = {"vision": 0}
    model.model.visual.register_forward_hook(lambda *_: calls.__setitem__("vision", calls["vision"] + 1))
    return calls


def test_pipeline_cache_serves_only_the_same_video_settings_and_model(tiny_pair, tmp_path):
    (model, processor), (other, other_processor) = tiny_pair
    cache = VideoContextCache()
    qa = pipeline("video-question-answering", model=model, processor=processor, video_cache=cache)
    fresh = pipeline("video-question-answering", model=model, processor=processor, video_cache=None)
    calls = _vision_calls(model)
    video = _frames(6, 2)
    ask = {"max_new_tokens": 4, "do_sample": False}

    first = qa(video=video, question="what is the man doing", num_frames=4, **ask)
    encoded = calls["vision"]
    assert encoded > 0 and len(cache) == 1 and cache.misses == 1
    second = qa(video=video.copy(), question="where does the ball go next", num_frames=4, return_selection=True, **ask)
    assert calls["vision"] == encoded and cache.hits == 1  # not encoded again
    asked = {"question": "where does the ball go next", "num_frames": 4, "return_selection": True, **ask}
    assert second == fresh(video=video, **asked)
    assert first == fresh(video=video, question="what is the man doing", num_frames=4, **ask)

    # Other sampling settings, other frames, another model: never served from the entry above.
    calls["vision"] = 0
    other_frames = qa(video=video, question="what is the man doing", num_frames=6, **ask)
    assert calls["vision"] > 0 and cache.hits == 1
    assert other_frames == fresh(video=video, question="what is the man doing", num_frames=6, **ask)
    changed = video.copy()
    changed[0, 0, 0, 0] ^= 1
    hits = cache.hits
    qa(video=changed, question="what is the man doing", num_frames=4, **ask)
    assert cache.hits == hits
    by_other = pipeline("video-question-answering", model=other, processor=other_processor, video_cache=cache)
    other_fresh = pipeline("video-question-answering", model=other, processor=other_processor, video_cache=None)
    answer = by_other(video=video, question="where does the ball go next", num_frames=4, **ask)
    assert cache.hits == hits
    assert answer == other_fresh(video=video, question="where does the ball go next", num_frames=4, **ask)

    # A file: keyed by its path and its bytes, so new content at the same path is read again.
    path = tmp_path / "clip.mp4"
    shutil.copy(VIDEOS / "bigbuckbunny.mp4", path)
    key = cache.key(model, str(path), {"num_frames": 4})
    assert key == cache.key(model, str(path), {"num_frames": 4}) != cache.key(model, str(path), {"num_frames": 5})
    shutil.copy(VIDEOS / "carphone_pristine.mp4", path)
    assert cache.key(model, str(path), {"num_frames": 4}) != key
    assert cache.key(model, "https://example.com/clip.mp4", {}) is None  # a URL is never cached


def test_cache_bounds_and_clear(tiny_pair):
    (model, processor), _ = tiny_pair
    ask = {"max_new_tokens": 1, "num_frames": 4}
    cache = VideoContextCache(max_entries=2)
    qa = pipeline("video-question-answering", model=model, processor=processor, video_cache=cache)
    for seed in range(3):
        qa(video=_frames(4, 10 + seed), question="q", **ask)
    assert len(cache) == 2 and cache.nbytes > 0
    qa(video=_frames(4, 10), question="q", **ask)  # the least recently used one was dropped
    assert cache.hits == 0
    qa(video=_frames(4, 12), question="q", **ask)
    assert cache.hits == 1
    cache.clear()
    assert len(cache) == 0 and cache.nbytes == 0 and cache.hits == 0
    tiny_bytes = VideoContextCache(max_bytes=1)
    pipeline("video-question-answering", model=model, processor=processor, video_cache=tiny_bytes)(
        video=_frames(4, 10), question="q", **ask
    )
    assert len(tiny_bytes) == 0  # an entry larger than max_bytes is not kept
    with pytest.raises(ValueError, match="max_entries must be an int >= 1"):
        VideoContextCache(max_entries=0)
    with pytest.raises(TypeError, match="video_cache must be a VideoContextCache or None"):
        pipeline("video-question-answering", model=model, processor=processor, video_cache={})


# ------------------------------------------------------------------------------------------------ linvt-hf chat
@pytest.fixture(scope="module")
def short_video(tmp_path_factory) -> str:
    from video_factory import make_video

    return str(make_video(tmp_path_factory.mktemp("chat") / "clip.mp4", num_frames=12, size=(56, 56)))


def test_chat_keeps_the_conversation_and_answers_as_from_scratch(short_video, capsys, monkeypatch):
    """Turns read from stdin (an empty line between them, then end of input): each answer equals the pipeline's
    answer to the whole conversation asked from scratch, and the video is encoded once."""
    from linvt_hf.commands import chat

    encodings = []
    original = chat.VideoChat.__init__
    monkeypatch.setattr(
        chat.VideoChat, "__init__", lambda self, *a, **k: (encodings.append(1), original(self, *a, **k))[1]
    )
    questions = ["What colour is the shape?", "Which direction does it move?"]
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{questions[0]}\n\n{questions[1]}\n"))
    code = main(["chat", short_video, "--num-frames", "4", "--max-new-tokens", "6"])
    out, err = capsys.readouterr()
    answers = out.splitlines()
    assert code == 0 and len(answers) == 2 and encodings == [1]
    assert err.count("empty line ignored") == 1 and err.rstrip().endswith("end of input: chat closed")

    from linvt_hf.assets import demo_model_path

    qa = pipeline("video-question-answering", model=str(demo_model_path()), video_cache=None)
    video = {"type": "video", "path": short_video}
    messages = [{"role": "user", "content": [video, {"type": "text", "text": questions[0]}]}]
    expected_first = qa(messages, num_frames=4, max_new_tokens=6)[0]["answer"]
    # The follow-up is asked with the video in its own turn (the earlier turns as text), so TTA reads it.
    messages = [
        {"role": "user", "content": [{"type": "text", "text": questions[0]}]},
        {"role": "assistant", "content": [{"type": "text", "text": expected_first}]},
        {"role": "user", "content": [video, {"type": "text", "text": questions[1]}]},
    ]
    prompt = qa.processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    (start, end), = qa.processor.question_spans(prompt)
    assert prompt[start:end].endswith(questions[1]) and questions[0] not in prompt[start:end]
    assert answers == [expected_first, qa(messages, num_frames=4, max_new_tokens=6)[0]["answer"]]


def test_chat_unreadable_video_is_one_message(tmp_path, capsys, monkeypatch):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    monkeypatch.setattr("sys.stdin", io.StringIO("hello\n"))
    code = main(["chat", str(bad)])
    out, err = capsys.readouterr()
    errors = [line for line in err.splitlines() if "error" in line]
    assert code == 2 and out == "" and len(errors) == 1 and "bad.mp4" in errors[0] and "cannot decode" in errors[0]
