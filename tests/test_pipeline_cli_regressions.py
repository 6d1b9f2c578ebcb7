"""Regressions of the pipeline, the model-running CLI commands and the tiny processors (offline, tiny models).

Streams (generators, iterators, `KeyDataset`s) as pipeline inputs; batched generation with the tiny processors'
left padding; one-line CLI errors for broken model folders; a failing input named, or skipped with
`on_error="skip"`; prompts longer than the LLM's positions refused.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoProcessor, pipeline
from transformers.pipelines.pt_utils import KeyDataset

import linvt_hf  # noqa: F401  (registers the tasks)
from linvt_hf.cli import main
from linvt_hf.commands.common import MODEL_ENV
from linvt_hf.testing import make_tiny

VIDEOS = Path(__file__).parent / "data" / "videos"
BUNNY = str(VIDEOS / "bigbuckbunny.mp4")
CARPHONE = str(VIDEOS / "carphone_pristine.mp4")
CALL = {"num_frames": 4, "max_new_tokens": 4}


def _spread(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Re-draw the image-LLM's matrices (all but the video tokenizer's) with a larger spread, so that a tiny random
    model's answers differ from one input to the next (at the default initialisation they are all alike, which would
    let order bugs pass)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if parameter.ndim == 2 and not name.startswith("model.video_tokenizer."):
                parameter.normal_(0.0, 0.3, generator=generator)
    return model


def _frames(seed: int = 0) -> np.ndarray:
    return np.random.RandomState(seed).randint(0, 256, (6, 64, 96, 3), dtype=np.uint8)


REQUESTS = [
    {"video": BUNNY, "question": "What?"},
    {"video": CARPHONE, "question": "Who is on the phone, and where is the car going?"},  # longer prompt
    {"video": _frames(), "question": "Colours of the ball?"},
]


@pytest.fixture(scope="module")
def tiny():
    model, processor = make_tiny("qwen2_vl", top_k_tokens=12)
    return _spread(model), processor


@pytest.fixture(scope="module")
def qa(tiny):
    model, processor = tiny
    return pipeline("video-question-answering", model=model, processor=processor)


@pytest.fixture(scope="module")
def expected(qa):
    """Each request's answers, asked alone."""
    answers = [qa(**request, **CALL) for request in REQUESTS]
    assert len({a[0]["answer"] for a in answers}) == len(answers), "the answers must differ to show the order"
    return answers


# ------------------------------------------------------------------------------------------ 1. streams as inputs


def _counting(requests, seen):
    for request in requests:
        seen.append(request)
        yield request


@pytest.mark.parametrize("batch_size", [1, 2])
def test_generator_of_requests_streams_lazily_in_order(qa, expected, batch_size):
    seen: list = []
    results = qa(_counting(REQUESTS, seen), batch_size=batch_size, **CALL)
    assert not isinstance(results, list)  # an iterator, as transformers pipelines return for generators
    first = next(results)
    assert first == expected[0]
    assert [first, *results] == expected
    assert len(seen) == len(REQUESTS)


@pytest.mark.parametrize("batch_size", [1, 2])
def test_first_result_before_the_stream_is_read(qa, expected, batch_size):
    seen: list = []
    many = REQUESTS * 3
    results = qa(_counting(many, seen), batch_size=batch_size, **CALL)
    assert next(results) == expected[0]
    assert len(seen) <= 1 + batch_size  # the item transformers peeks at, and one batch


def test_iterators_and_videos_with_questions(qa, expected):
    assert list(qa(iter(REQUESTS), **CALL)) == expected  # any iterator, not only generators
    videos = (request["video"] for request in REQUESTS)
    questions = [request["question"] for request in REQUESTS]
    assert list(qa(videos, question=questions, batch_size=2, **CALL)) == expected
    one_question = list(qa(video=(r["video"] for r in REQUESTS[:2]), question="What?", **CALL))
    assert one_question[0] == expected[0] and len(one_question) == 2


def test_key_dataset_of_requests_and_of_videos(qa, expected):
    rows = [{"request": request, "video": request["video"], "question": request["question"]} for request in REQUESTS]
    assert list(qa(KeyDataset(rows, "request"), **CALL)) == expected
    assert list(qa(KeyDataset(rows, "request"), batch_size=2, **CALL)) == expected
    by_column = qa(KeyDataset(rows, "video"), question=KeyDataset(rows, "question"), batch_size=3, **CALL)
    assert list(by_column) == expected


def test_key_dataset_over_a_datasets_dataset(qa, expected):
    datasets = pytest.importorskip("datasets")
    table = datasets.Dataset.from_list([{"video": r["video"], "question": r["question"]} for r in REQUESTS[:2]])
    assert list(qa(KeyDataset(table, "video"), question=KeyDataset(table, "question"), **CALL)) == expected[:2]
    assert list(qa(table, batch_size=2, **CALL)) == expected[:2]  # rows that are requests


def test_generator_of_chats(qa, expected):
    def chats():
        for request in REQUESTS[:2]:
            content = [{"type": "video", "video": request["video"]}, {"type": "text", "text": request["question"]}]
            yield [{"role": "user", "content": content}]

    assert list(qa(chats(), batch_size=2, **CALL)) == expected[:2]


def test_stream_count_mismatch_is_an_error(qa):
    with pytest.raises(ValueError, match="questions ran out at video 1"):
        list(qa((r["video"] for r in REQUESTS[:2]), question=["only one"], **CALL))
    with pytest.raises(ValueError, match="more questions than videos"):
        list(qa((r["video"] for r in REQUESTS[:1]), question=["a", "b"], **CALL))
    rows = [{"video": BUNNY}, {"video": CARPHONE}]
    with pytest.raises(ValueError, match="3 questions need as many videos, got a dataset of 2"):
        qa(KeyDataset(rows, "video"), question=["a", "b", "c"], **CALL)


# ------------------------------------------------------------------------------------------ 2. left padding


@pytest.mark.parametrize("backbone", ["qwen2_vl", "internvl"])
def test_tiny_processors_pad_left_and_batches_generate_as_one_by_one(backbone, tmp_path):
    model, processor = make_tiny(backbone, top_k_tokens=12)
    model = _spread(model, seed=1)
    assert processor.tokenizer.padding_side == "left"
    processor.save_pretrained(tmp_path)
    assert AutoProcessor.from_pretrained(tmp_path).tokenizer.padding_side == "left"  # saved with the processor

    questions = ["What?", "Who is on the phone, and where is the car going at night in the rain?"]
    chats = [
        [{"role": "user", "content": [{"type": "video", "path": BUNNY}, {"type": "text", "text": q}]}]
        for q in questions
    ]
    options = {"tokenize": True, "add_generation_prompt": True, "return_dict": True, "return_tensors": "pt"}
    generate = {"max_new_tokens": 4, "do_sample": False, "return_dict_in_generate": True, "output_logits": True}
    batch = processor.apply_chat_template(chats, padding=True, processor_kwargs={"num_frames": 4}, **options)
    lengths = batch["attention_mask"].sum(1)
    assert lengths[0] < lengths[1]  # mixed lengths: the first prompt is padded
    with torch.no_grad():
        together = model.generate(**batch, **generate)
    for row, chat in enumerate(chats):
        alone = processor.apply_chat_template(chat, processor_kwargs={"num_frames": 4}, **options)
        with torch.no_grad():
            single = model.generate(**alone, **generate)
        width = batch["input_ids"].shape[1]
        assert together.sequences[row, width:].tolist() == single.sequences[0, alone["input_ids"].shape[1] :].tolist()
        for step_batch, step_single in zip(together.logits, single.logits):
            torch.testing.assert_close(step_batch[row], step_single[0], atol=1e-4, rtol=1e-4)

    qa = pipeline("video-question-answering", model=model, processor=processor)
    requests = [{"video": BUNNY, "question": q} for q in questions] + [{"video": CARPHONE, "question": "Car?"}]
    one_by_one = [qa(**request, **CALL) for request in requests]
    assert len({r[0]["answer"] for r in one_by_one}) > 1
    assert qa(requests, batch_size=2, **CALL) == one_by_one


# ------------------------------------------------------------------------------------------ 4. a failing input


@pytest.fixture(scope="module")
def broken_video(tmp_path_factory):
    path = tmp_path_factory.mktemp("broken") / "broken.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 4)
    return str(path)


@pytest.mark.parametrize("batch_size", [1, 2])
def test_failing_input_is_named(qa, broken_video, batch_size):
    requests = [REQUESTS[0], {"video": broken_video, "question": "What?"}, REQUESTS[1]]
    with pytest.raises(ValueError, match=r"input 1 \(video '.*broken\.mp4'\): ") as caught:
        qa(requests, batch_size=batch_size, **CALL)
    assert type(caught.value).__name__ == "VideoDecodeError"  # its own type, named
    missing = [REQUESTS[0], {"video": "missing.mp4", "question": "What?"}]
    with pytest.raises(FileNotFoundError, match=r"input 1 \(video 'missing\.mp4'\)"):
        qa(missing, batch_size=batch_size, **CALL)


@pytest.mark.parametrize("batch_size", [1, 2, 3])
def test_on_error_skip_keeps_the_other_answers(qa, expected, broken_video, batch_size):
    requests = [REQUESTS[0], {"video": broken_video, "question": "What?"}, REQUESTS[1], REQUESTS[2]]
    results = qa(requests, on_error="skip", batch_size=batch_size, **CALL)
    assert len(results) == 4
    assert results[0] == expected[0] and results[2] == expected[1] and results[3] == expected[2]
    assert set(results[1]) == {"error"}
    assert "input 1 (video '" in results[1]["error"] and "broken.mp4" in results[1]["error"]
    assert "VideoDecodeError" in results[1]["error"]


def test_on_error_skip_with_selection_streams_and_all_failed(qa, expected, broken_video):
    requests = [{"video": broken_video, "question": "What?"}, REQUESTS[0]]
    with_selection = qa(requests, on_error="skip", batch_size=2, return_selection=True, **CALL)
    alone = qa(**REQUESTS[0], return_selection=True, **CALL)
    assert "error" in with_selection[0] and with_selection[1] == alone
    streamed = list(qa(iter(requests), on_error="skip", batch_size=2, **CALL))
    assert "input 0 (" in streamed[0]["error"] and streamed[1] == expected[0]
    all_failed = qa([requests[0], {"video": "missing.mp4", "question": "x"}], on_error="skip", batch_size=2, **CALL)
    assert [set(r) for r in all_failed] == [{"error"}, {"error"}]
    assert "input 1 (video 'missing.mp4')" in all_failed[1]["error"]


def test_on_error_is_checked(qa):
    with pytest.raises(ValueError, match="on_error must be one of"):
        qa(**REQUESTS[0], on_error="ignore", **CALL)


# ------------------------------------------------------------------------------------------ 5. too long a prompt


def test_prompt_longer_than_the_positions_is_refused(qa, tiny, broken_video):
    model, _ = tiny
    limit = model.config.get_text_config(decoder=True).max_position_embeddings
    question = "the quick brown fox jumps over the lazy dog " * (limit // 8)
    with pytest.raises(ValueError, match=rf"is \d+ tokens long .* longer than the model's {limit} positions") as caught:
        qa(video=BUNNY, question=question, **CALL)
    assert "max_position_embeddings" in str(caught.value) and "the quick brown fox" in str(caught.value)
    requests = [REQUESTS[0], {"video": BUNNY, "question": question}]
    with pytest.raises(ValueError, match=r"input 1 \(video '.*bigbuckbunny\.mp4'\): the prompt of question"):
        qa(requests, batch_size=2, **CALL)
    skipped = qa(requests, on_error="skip", **CALL)
    assert "error" in skipped[1] and f"{limit} positions" in skipped[1]["error"]


# ------------------------------------------------------------------------------------------ 3. broken model folders


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    model, processor = make_tiny("qwen2_vl", top_k_tokens=12)
    folder = tmp_path_factory.mktemp("linvt-cli-good")
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


@pytest.fixture(autouse=True)
def no_default_model(monkeypatch):
    monkeypatch.delenv(MODEL_ENV, raising=False)


def _broken_copy(model_dir: Path, tmp_path: Path, how: str) -> tuple[Path, Path]:
    """A copy of the good folder broken in one way; returns the folder and the file the error must name."""
    folder = tmp_path / how
    shutil.copytree(model_dir, folder)
    weights = folder / "model.safetensors"
    if how == "truncated":
        data = weights.read_bytes()
        weights.write_bytes(data[: len(data) // 2])
        return folder, weights
    if how == "empty":
        weights.write_bytes(b"")
        return folder, weights
    if how == "pickle":
        from safetensors.torch import load_file

        torch.save(load_file(weights), folder / "pytorch_model.bin")
        weights.unlink()
        return folder, folder / "pytorch_model.bin"
    if how == "no_tokenizer":
        (folder / "tokenizer.json").unlink()
        return folder, folder / "tokenizer.json"
    raise AssertionError(how)


REASONS = {
    "truncated": "truncated: ",
    "empty": "the file is empty",
    "pickle": "a pickle checkpoint, and linvt-hf reads safetensors weights only",
    "no_tokenizer": "missing (and no other tokenizer file",
}


@pytest.mark.parametrize("command", ["ask", "visualize"])
@pytest.mark.parametrize("how", sorted(REASONS))
def test_broken_model_folder_is_one_line_exit_2(model_dir, tmp_path, capsys, command, how):
    folder, named = _broken_copy(model_dir, tmp_path, how)
    extra = ["Q?"] if command == "ask" else ["--out", str(tmp_path / "f.png")]
    code = main([command, BUNNY, *extra, "--model", str(folder), "--num-frames", "4", "--max-new-tokens", "2"])
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert lines[0].startswith(f"linvt-hf {command}: error: {named}: {REASONS[how]}")


def test_safetensors_file_checks(model_dir, tmp_path):
    from linvt_hf.commands.common import check_safetensors_file

    check_safetensors_file(str(model_dir / "model.safetensors"))  # a good file passes
    data = (model_dir / "model.safetensors").read_bytes()
    cases = {
        "trailing.safetensors": (data + b"extra", "5 bytes more than its header describes"),
        "short.safetensors": (data[:5], "too short for the header it announces"),
        "garbage.safetensors": ((12).to_bytes(8, "little") + b"not json!!!!", "its header cannot be read"),
        "huge.safetensors": ((2**60).to_bytes(8, "little") + b"{}", "too short for the header it announces"),
    }
    for name, (content, reason) in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(ValueError, match=reason):
            check_safetensors_file(str(path))


def test_sharded_folder_with_a_missing_shard(model_dir, tmp_path, capsys):
    folder = tmp_path / "sharded"
    shutil.copytree(model_dir, folder)
    (folder / "model.safetensors").rename(folder / "model-00001-of-00002.safetensors")
    index = '{"weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}'
    (folder / "model.safetensors.index.json").write_text(index)
    code = main(["ask", BUNNY, "Q?", "--model", str(folder)])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert f"{folder / 'model-00002-of-00002.safetensors'}: missing" in err
