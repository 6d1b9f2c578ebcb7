"""The "video-question-answering" / "video-text-to-text" pipeline on tiny random LinVT models (offline)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from transformers import AutoModelForImageTextToText, Qwen2VLForConditionalGeneration, pipeline
from transformers.pipelines import PIPELINE_REGISTRY

import linvt_hf  # noqa: F401  (registers the tasks)
from linvt_hf import FAMILIES
from linvt_hf.pipelines import VideoQuestionAnsweringPipeline, register_pipelines
from linvt_hf.pipelines.video_question_answering import collate_video_inputs
from linvt_hf.processing import LinVTQwen2VLProcessor
from linvt_hf.testing import BACKBONES, make_tiny, make_tiny_processor, tiny_image_llm_config

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


def _spread(model: torch.nn.Module, seed: int = 0) -> None:
    """Re-draw the image-LLM's matrices with a larger spread, so that a tiny random model's answers differ from one
    input to the next (at the default initialisation they are much alike)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if parameter.ndim == 2 and not name.startswith("model.video_tokenizer."):
                parameter.normal_(0.0, 0.3, generator=generator)


def _image_llm() -> Qwen2VLForConditionalGeneration:
    """A tiny Qwen2-VL that is not a LinVT model."""
    return Qwen2VLForConditionalGeneration(tiny_image_llm_config("qwen2_vl")).eval()


def _frames(count: int = 6, seed: int = 0) -> np.ndarray:
    return np.random.RandomState(seed).randint(0, 256, (count, 64, 96, 3), dtype=np.uint8)


def _chat_inputs(processor, video, question, num_frames=8):
    """The processor's inputs for one question about one video, through the chat template."""
    messages = [{"role": "user", "content": [{"type": "video", "video": video}, {"type": "text", "text": question}]}]
    return processor.apply_chat_template(
        messages, tokenize=True, add_generation_prompt=True, return_dict=True, return_tensors="pt",
        processor_kwargs={"num_frames": num_frames},
    )


def _reference(model, processor, video, question, max_new_tokens, num_frames=8):
    """Chat template + generate + decode by hand: what the pipeline must return."""
    inputs = _chat_inputs(processor, video, question, num_frames)
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
    assert type(by_path.processor) is LinVTQwen2VLProcessor
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
        output = model.get_video_features(**inputs).tokenizer_outputs[0]
    assert top[0]["score"] == pytest.approx(float(output.significance_scores[0].max()), abs=1e-4)
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
    _, processor, _ = tiny
    with pytest.raises(ValueError, match="question"):
        qa(video=BUNNY)
    with pytest.raises(ValueError, match="2 questions"):
        qa(video=[BUNNY], question=["a", "b"])
    with pytest.raises(ValueError, match="'video' and a 'question'"):
        qa({"video": BUNNY, "prompt": "x"})
    with pytest.raises(FileNotFoundError):
        qa(video="missing.mp4", question=QUESTION)
    with pytest.raises(TypeError, match="LinVT model"):
        VideoQuestionAnsweringPipeline(model=_image_llm(), processor=processor)


def test_native_task_stays_for_other_models(tiny, monkeypatch):
    """If transformers implements a task itself, other models keep its pipeline; LinVT models get ours."""
    model, processor, _ = tiny
    tasks = dict(PIPELINE_REGISTRY.supported_tasks)
    tasks["video-question-answering"] = dict(tasks["image-text-to-text"])  # stand-in for a native implementation
    monkeypatch.setattr(PIPELINE_REGISTRY, "supported_tasks", tasks)
    register_pipelines()
    native = pipeline("video-question-answering", model=_image_llm(), processor=make_tiny_processor("qwen2_vl"))
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


@pytest.mark.parametrize("backbone", sorted(set(BACKBONES) - {"qwen2_vl"}))
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
        out = model.get_video_features(**inputs, output_aggregation_weights=True).tokenizer_outputs[0]
    frame_of_token = out.selected_indices[0] // out.tokens_per_frame  # [K]
    on_first_shot = out.aggregation_weights[0][:, frame_of_token == 0].sum(-1)  # [Q]
    assert low <= float(on_first_shot.mean()) <= high


# ------------------------------------------------------------------------------------------ one encoding per video


def _count_calls(monkeypatch, model, backbone):
    """Count video encodings (`get_video_features` and `encode_video_context` calls, with their video counts) and
    vision encoder forwards of `model`."""
    calls = {"get_video_features": [], "vision": 0}
    counters = (
        ("get_video_features", lambda out: len(out.video_tokens)),
        ("encode_video_context", lambda out: out.num_videos),
    )
    for name, count in counters:
        inner = getattr(model.model, name)

        def counted(*args, _inner=inner, _count=count, **kwargs):
            output = _inner(*args, **kwargs)
            calls["get_video_features"].append(_count(output))
            return output

        monkeypatch.setattr(model.model, name, counted)
    vision = model.get_submodule(FAMILIES[backbone].vision_modules[0])
    vision.register_forward_hook(lambda *_: calls.__setitem__("vision", calls["vision"] + 1))
    return calls


@pytest.mark.parametrize("backbone", ["qwen2_vl", "internvl"])
def test_each_video_is_encoded_once_and_answers_equal_generate(backbone, monkeypatch):
    """A batch of mixed prompt lengths and frame sizes: the pipeline encodes each video once (one
    `get_video_features` call, as many vision calls as that one call needs), generates what `model.generate` generates
    on the same inputs, and reports the selection that `get_video_features` run separately makes."""
    model, processor = make_tiny(backbone, top_k_tokens=TOP_K)
    _spread(model)
    qa = pipeline("video-question-answering", model=model, processor=processor)
    requests = [
        {"video": BUNNY, "question": QUESTION},
        {"video": CARPHONE, "question": "Who is on the phone, and where is the car going at night?"},
    ]
    chats = [
        [{"role": "user", "content": [{"type": "video", "video": r["video"]}, {"type": "text", "text": r["question"]}]}]
        for r in requests
    ]
    inputs = processor.apply_chat_template(
        chats, tokenize=True, add_generation_prompt=True, return_dict=True, return_tensors="pt",
        processor_kwargs={"num_frames": 8, "padding": True},
    )
    assert inputs["attention_mask"][0].sum() < inputs["attention_mask"][1].sum()  # mixed lengths
    calls = _count_calls(monkeypatch, model, backbone)
    with torch.no_grad():
        features = model.get_video_features(**inputs)
        vision_calls_to_encode = calls["vision"]
        sequences = model.generate(**inputs, max_new_tokens=4, do_sample=False)
    expected = processor.tokenizer.batch_decode(sequences[:, inputs["input_ids"].shape[1] :], skip_special_tokens=True)

    calls["get_video_features"].clear()
    calls["vision"] = 0
    results = qa(requests, batch_size=2, return_selection=True, **CALL)
    assert calls["get_video_features"] == [2] and calls["vision"] == vision_calls_to_encode
    assert [result[0]["answer"] for result in results] == [text.strip() for text in expected]
    assert len(set(expected)) == 2 and all(expected)  # answers that tell the inputs apart

    for video, result in enumerate(results):
        selection = result[0]["selection"][0]
        output, row = features.tokenizer_output_of(video)
        cols = features.frame_token_grids[video][1]
        frames, tokens = output.selected_positions()
        keep = output.selected_mask[row]
        assert selection["selected"] == [
            [f, *divmod(t, cols)] for f, t in zip(frames[row][keep].tolist(), tokens[row][keep].tolist())
        ]
        steps = len(selection["frame_indices"])
        best = output.significance_scores[row, :steps].flatten().topk(len(selection["top_tokens"])).values
        assert [t["score"] for t in selection["top_tokens"]] == [round(v, 4) for v in best.tolist()]

    calls["get_video_features"].clear()
    assert qa(requests, batch_size=1, **CALL) == [[{"answer": r[0]["answer"]}] for r in results]
    assert calls["get_video_features"] == []  # asked again: both videos come from the pipeline's cache
    uncached = pipeline("video-question-answering", model=model, processor=processor, video_cache=None)
    assert uncached(requests, batch_size=1, **CALL) == [[{"answer": r[0]["answer"]}] for r in results]
    assert calls["get_video_features"] == [1, 1]  # one input at a time: once each


# ------------------------------------------------------------------------------------------ several sequences


@pytest.mark.parametrize("backbone", ["qwen2_vl", "llava_onevision"])
def test_several_sequences_per_input(backbone):
    """`num_return_sequences` (beams, sampling): as `model.generate` on the same inputs, batched or not."""
    model, processor = make_tiny(backbone, top_k_tokens=TOP_K)
    _spread(model)
    qa = pipeline("video-question-answering", model=model, processor=processor)
    requests = [{"video": BUNNY, "question": QUESTION}, {"video": CARPHONE, "question": "Who is in the car?"}]
    options = {"num_frames": 4, "max_new_tokens": 3, "num_beams": 2, "num_return_sequences": 2}
    one_by_one = qa(requests, **options)
    assert [len(answers) for answers in one_by_one] == [2, 2]
    assert qa(requests, batch_size=2, **options) == one_by_one
    for request, answers in zip(requests, one_by_one):
        inputs = _chat_inputs(processor, request["video"], request["question"], num_frames=4)
        with torch.no_grad():
            sequences = model.generate(**inputs, max_new_tokens=3, num_beams=2, num_return_sequences=2)
        texts = processor.tokenizer.batch_decode(sequences[:, inputs["input_ids"].shape[1] :], skip_special_tokens=True)
        assert [answer["answer"] for answer in answers] == [text.strip() for text in texts]
    sampled = qa(requests, batch_size=2, num_frames=4, max_new_tokens=3, do_sample=True, num_return_sequences=3)
    assert [len(answers) for answers in sampled] == [3, 3]


def test_collate_puts_each_video_in_its_prompts_row():
    """Inputs prepared one by one (each its own batch of one) collate into a batch whose `video_sample_index` names
    the batch's rows; keys only some inputs have (images) keep those inputs' values."""
    items = [
        {"input_ids": torch.tensor([[5, 6]]), "video_sample_index": torch.tensor([0])},
        {"input_ids": torch.tensor([[7]]), "video_sample_index": torch.tensor([0, 0]), "pixel_values": torch.ones(1, 3)},
        {"input_ids": torch.tensor([[8, 9, 10]]), "video_sample_index": torch.tensor([0])},
    ]
    batch = collate_video_inputs(items, pad_token_id=0)
    assert batch["video_sample_index"].tolist() == [0, 1, 1, 2]
    assert batch["input_ids"].tolist() == [[0, 5, 6], [0, 0, 7], [8, 9, 10]]
    assert batch["pixel_values"].shape == (1, 3)


@pytest.mark.parametrize("backbone", BACKBONES)
def test_batch_of_requests_with_and_without_images(backbone):
    model, processor = make_tiny(backbone, top_k_tokens=TOP_K)
    qa = pipeline("video-question-answering", model=model, processor=processor)
    image = Image.fromarray(_frames(1)[0])
    chats = [
        [{"role": "user", "content": [{"type": "video", "video": BUNNY}, {"type": "text", "text": "What?"}]}],
        [{"role": "user", "content": [
            {"type": "image", "image": image}, {"type": "video", "video": CARPHONE}, {"type": "text", "text": "Who?"},
        ]}],
    ]
    options = {"num_frames": 4, "max_new_tokens": 3, "return_selection": True}
    assert qa(chats, batch_size=2, **options) == qa(chats, **options)


@pytest.mark.parametrize("video_tokenizer_type", ["avg", "llama_vid"])
def test_baseline_selection_covers_only_each_videos_own_frames(video_tokenizer_type):
    """The baselines read every token of every frame: a video batched with a longer one reports its own frames'
    tokens only (not the padding steps its row has in the batch), as when asked alone."""
    model, processor = make_tiny("internvl", video_tokenizer_type=video_tokenizer_type)
    qa = pipeline("video-question-answering", model=model, processor=processor)
    requests = [
        {"video": {"video": BUNNY, "num_frames": 2}, "question": "What?"},
        {"video": {"video": CARPHONE, "num_frames": 6}, "question": "Who is on the phone?"},
    ]
    options = {"max_new_tokens": 2, "return_selection": True}
    batched = qa(requests, batch_size=2, **options)
    assert batched == qa(requests, **options)
    short = batched[0][0]["selection"][0]
    assert short["num_selected"] == 2 * short["tokens_per_frame"] and sum(short["frame_share"]) == pytest.approx(1)
