"""The "video-question-answering" / "video-text-to-text" pipeline on tiny random LinVT models (offline)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from transformers import AutoModelForImageTextToText, pipeline
from transformers.pipelines import PIPELINE_REGISTRY

import linvt_hf  # noqa: F401  (registers the tasks)
from linvt_hf.pipelines import VideoQuestionAnsweringPipeline, register_pipelines
from linvt_hf.testing.tiny_models import IMAGE_LLM_CONFIGS, make_tiny

VIDEOS = Path(__file__).parent / "data" / "videos"
BUNNY = str(VIDEOS / "bigbuckbunny.mp4")
CARPHONE = str(VIDEOS / "carphone_pristine.mp4")
QUESTION = "What is the rabbit doing?"
TOP_K = 12  # of 4 time steps x 8 tokens: the selection is a real choice
CALL = {"num_frames": 8, "max_new_tokens": 4}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    model, processor = make_tiny("qwen2_vl", top_k_tokens=TOP_K)
    folder = tmp_path_factory.mktemp("linvt-tiny")
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return model, processor, str(folder)


@pytest.fixture(scope="module")
def qa(tiny):
    model, processor, _ = tiny
    return pipeline("video-question-answering", model=model, processor=processor)


def _frames(count: int = 6, seed: int = 0) -> np.ndarray:
    return np.random.RandomState(seed).randint(0, 256, (count, 64, 96, 3), dtype=np.uint8)


def _reference(model, processor, video, question, max_new_tokens, num_frames=8):
    """Chat template + generate + decode by hand: what the pipeline must return."""
    messages = [{"role": "user", "content": [{"type": "video", "video": video}, {"type": "text", "text": question}]}]
    inputs = processor.apply_chat_template(
        messages, tokenize=True, add_generation_prompt=True, return_dict=True, return_tensors="pt",
        processor_kwargs={"num_frames": num_frames},
    )
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False)
    new = out[0, inputs["input_ids"].shape[1] :]
    return processor.tokenizer.decode(new, skip_special_tokens=True).strip(), new


def test_tasks_registered_on_import():
    for task in ("video-question-answering", "video-text-to-text"):
        assert PIPELINE_REGISTRY.supported_tasks[task]["impl"] is VideoQuestionAnsweringPipeline


def test_pipeline_by_object_matches_generate(tiny, qa):
    model, processor, _ = tiny
    assert isinstance(qa, VideoQuestionAnsweringPipeline)
    result = qa(video=BUNNY, question=QUESTION, **CALL)
    assert isinstance(result, list) and len(result) == 1 and set(result[0]) == {"answer"}
    expected, _ = _reference(model, processor, BUNNY, QUESTION, max_new_tokens=4)
    assert result[0]["answer"] == expected
    assert qa({"video": BUNNY, "question": QUESTION}, **CALL) == result


def test_pipeline_by_path(tiny, qa):
    _, _, folder = tiny
    by_path = pipeline("video-text-to-text", model=folder)
    assert isinstance(by_path, VideoQuestionAnsweringPipeline)
    assert type(by_path.processor).__name__ == "LinVTProcessor"
    expected = qa(video=BUNNY, question=QUESTION, **CALL)
    assert by_path(video=BUNNY, question=QUESTION, **CALL) == expected
    # A model object loaded from a folder finds its processor there.
    loaded = AutoModelForImageTextToText.from_pretrained(folder)
    assert pipeline("video-question-answering", model=loaded)(video=BUNNY, question=QUESTION, **CALL) == expected


def test_max_new_tokens_respected(tiny, qa):
    model, processor, _ = tiny
    for limit in (1, 3):
        expected, new_tokens = _reference(model, processor, BUNNY, QUESTION, max_new_tokens=limit)
        assert len(new_tokens) <= limit
        assert qa(video=BUNNY, question=QUESTION, num_frames=8, max_new_tokens=limit)[0]["answer"] == expected


def test_list_input_and_batching(qa):
    requests = [
        {"video": BUNNY, "question": QUESTION},
        {"video": CARPHONE, "question": "Who is on the phone, and where is the car going?"},  # other size, longer
        {"video": _frames(), "question": "Colours?"},
    ]
    one_by_one = qa(requests, **CALL)
    assert len(one_by_one) == 3 and all(isinstance(r, list) and len(r) == 1 for r in one_by_one)
    assert one_by_one[0] == qa(**requests[0], **CALL)
    assert qa(requests, batch_size=2, **CALL) == one_by_one
    assert qa(requests, batch_size=3, return_selection=True, **CALL) == qa(requests, return_selection=True, **CALL)
    paired = qa(video=[r["video"] for r in requests], question=[r["question"] for r in requests], **CALL)
    assert paired == one_by_one
    same_question = qa(video=[BUNNY, CARPHONE], question=QUESTION, **CALL)
    assert same_question[0] == one_by_one[0] and len(same_question) == 2


def test_chat_input(qa):
    messages = [{"role": "user", "content": [{"type": "video", "path": BUNNY}, {"type": "text", "text": QUESTION}]}]
    expected = qa(video=BUNNY, question=QUESTION, **CALL)
    assert qa(messages, **CALL) == expected
    assert qa([messages, messages], batch_size=2, **CALL) == [expected, expected]
    # Sampling options inside the content item win over the call's.
    item = {"type": "video", "path": BUNNY, "num_frames": 8}
    with_options = [{"role": "user", "content": [item, {"type": "text", "text": QUESTION}]}]
    assert qa(with_options, num_frames=2, max_new_tokens=4) == expected


def test_return_selection(tiny, qa):
    model, processor, _ = tiny
    result = qa(video=BUNNY, question=QUESTION, return_selection=True, top_scores=5, **CALL)[0]
    assert set(result) == {"answer", "selection"} and len(result["selection"]) == 1
    selection = result["selection"][0]
    json.loads(json.dumps(selection))  # plain Python throughout
    steps = len(selection["frame_indices"])
    assert steps == 4  # 8 frames = 4 temporal patches of 2 for Qwen2-VL
    assert selection["frame_indices"] == sorted(selection["frame_indices"])
    assert [pair[0] for pair in selection["step_frame_indices"]] == selection["frame_indices"]
    assert all(b > a for a, b in zip(selection["timestamps"], selection["timestamps"][1:]))
    rows, cols = selection["grid"]
    assert rows * cols == selection["tokens_per_frame"] == 8
    assert selection["num_selected"] == TOP_K == len(selection["selected"])
    assert sum(selection["frame_share"]) == pytest.approx(1.0, abs=1e-3)
    per_frame = np.bincount([t for t, _, _ in selection["selected"]], minlength=steps) / TOP_K
    np.testing.assert_allclose(selection["frame_share"], per_frame, atol=1e-4)
    assert all(0 <= r < rows and 0 <= c < cols for _, r, c in selection["selected"])

    top = selection["top_tokens"]
    assert len(top) == 5 and [t["score"] for t in top] == sorted((t["score"] for t in top), reverse=True)
    # The best-scored tokens are selected, and the scores are SVR's.
    chosen = {tuple(place) for place in selection["selected"]}
    assert all((t["frame"], t["row"], t["col"]) in chosen for t in top)
    assert all(t["token"] == t["row"] * cols + t["col"] for t in top)
    inputs = processor.apply_chat_template(
        [{"role": "user", "content": [{"type": "video", "path": BUNNY}, {"type": "text", "text": QUESTION}]}],
        tokenize=True, add_generation_prompt=True, return_dict=True, return_tensors="pt",
        processor_kwargs={"num_frames": 8},
    )
    with torch.no_grad():
        _, outputs, _ = model.encode_videos(inputs["input_ids"], dict(inputs), output_video_tokenizer=True)
    assert top[0]["score"] == pytest.approx(float(outputs[0].significance_scores[0].max()), abs=1e-4)
    assert top[0]["timestamp"] == selection["timestamps"][top[0]["frame"]]


def test_selection_of_each_video_in_a_chat(qa):
    content = [
        {"type": "video", "path": BUNNY},
        {"type": "video", "path": CARPHONE},
        {"type": "text", "text": "Compare the two videos."},
    ]
    result = qa([{"role": "user", "content": content}], return_selection=True, **CALL)[0]
    first, second = result["selection"]
    assert first["grid"] != second["grid"]  # 16:9 and 11:9 frames: each video keeps its own layout
    single = qa(video=CARPHONE, question="x", return_selection=True, **CALL)[0]["selection"][0]
    assert second["frame_indices"] == single["frame_indices"]


def test_frames_input(qa):
    frames = _frames()
    result = qa(video=frames, question="What colour?", return_selection=True, **CALL)[0]
    selection = result["selection"][0]
    assert all(0 <= i < len(frames) for i in selection["frame_indices"])
    expected = result["answer"]
    assert qa(video=torch.from_numpy(frames), question="What colour?", **CALL)[0]["answer"] == expected
    assert qa(video=[Image.fromarray(f) for f in frames], question="What colour?", **CALL)[0]["answer"] == expected
    assert qa(video=Path(BUNNY).read_bytes(), question=QUESTION, **CALL) == qa(video=BUNNY, question=QUESTION, **CALL)


def test_bad_inputs(tiny, qa):
    model, processor, _ = tiny
    with pytest.raises(ValueError, match="question"):
        qa(video=BUNNY)
    with pytest.raises(ValueError, match="2 questions"):
        qa(video=[BUNNY], question=["a", "b"])
    with pytest.raises(ValueError, match="'video' and a 'question'"):
        qa({"video": BUNNY, "prompt": "x"})
    with pytest.raises(FileNotFoundError):
        qa(video="missing.mp4", question=QUESTION)
    with pytest.raises(TypeError, match="LinVT model"):
        VideoQuestionAnsweringPipeline(model=model.image_llm, processor=processor)


def test_native_task_stays_for_other_models(tiny, monkeypatch):
    """If transformers implements a task itself, other models keep its pipeline; LinVT models get ours."""
    model, processor, _ = tiny
    tasks = dict(PIPELINE_REGISTRY.supported_tasks)
    tasks["video-question-answering"] = dict(tasks["image-text-to-text"])  # stand-in for a native implementation
    monkeypatch.setattr(PIPELINE_REGISTRY, "supported_tasks", tasks)
    register_pipelines()
    native = pipeline("video-question-answering", model=model.image_llm, processor=processor.backbone_processor)
    assert type(native).__name__ == "ImageTextToTextPipeline"
    ours = pipeline("video-question-answering", model=model, processor=processor)
    assert isinstance(ours, VideoQuestionAnsweringPipeline)
    assert ours(video=BUNNY, question=QUESTION, **CALL)[0]["answer"]


def test_bfloat16_model_keeps_exact_timestamps(qa):
    model, processor = make_tiny("qwen2_vl", top_k_tokens=TOP_K)
    half = pipeline("video-question-answering", model=model.to(torch.bfloat16), processor=processor)
    selection = half(video=CARPHONE, question=QUESTION, return_selection=True, **CALL)[0]["selection"][0]
    reference = qa(video=CARPHONE, question=QUESTION, return_selection=True, **CALL)[0]["selection"][0]
    assert selection["timestamps"] == reference["timestamps"]
    assert selection["frame_indices"] == reference["frame_indices"]


@pytest.mark.parametrize("backbone", sorted(set(IMAGE_LLM_CONFIGS) - {"qwen2_vl"}))
def test_every_family_batches_like_one_by_one(backbone):
    model, processor = make_tiny(backbone, top_k_tokens=TOP_K)
    qa = pipeline("video-question-answering", model=model, processor=processor)
    requests = [{"video": BUNNY, "question": QUESTION}, {"video": CARPHONE, "question": "Who is in the car?"}]
    options = {"num_frames": 4, "max_new_tokens": 3, "return_selection": True}
    one_by_one = qa(requests, **options)
    assert qa(requests, batch_size=2, **options) == one_by_one
    selection = one_by_one[0][0]["selection"][0]
    assert len(selection["frame_indices"]) == len(selection["frame_share"]) and selection["grid"] is not None


@pytest.mark.parametrize("clock, low, high", [("frames", 0.0, 0.3), ("shots", 0.45, 0.55)])
def test_the_processors_shots_reach_the_shot_clock(clock, low, high):
    """A 20-frame shot then a 112-frame one, 8 frames sampled: the first shot gets 1 of them; by the shot clock it
    still gets half of every query set (a strong prior decides alone), by the frame clock far less."""
    model, processor = make_tiny("internvl", top_k_tokens=4096, temporal_prior=50.0, temporal_prior_clock=clock)
    video = {"type": "video", "path": BUNNY, "shots": [(0, 20), (20, 132)]}
    inputs = processor.apply_chat_template(
        [{"role": "user", "content": [video, {"type": "text", "text": QUESTION}]}],
        tokenize=True, add_generation_prompt=True, return_dict=True, return_tensors="pt",
        processor_kwargs={"num_frames": 8},
    )
    assert inputs["video_clip_ids"][0].tolist() == [0] + [1] * 7
    with torch.no_grad():
        _, outputs, _ = model.encode_videos(inputs["input_ids"], dict(inputs), output_video_tokenizer=True)
    out = outputs[0]
    frame_of_token = out.selected_indices[0] // out.tokens_per_frame  # [K]
    on_first_shot = out.aggregation_weights[0][:, frame_of_token == 0].sum(-1)  # [Q]
    assert low <= float(on_first_shot.mean()) <= high
