"""The lmms-eval plugin (linvt_hf.evaluation): its logic without lmms-eval (messages, generation settings, batching,
multi-round, failures per document), the demo model answering through it exactly as the recipe's evaluation does,
and the local synthetic tasks. lmms-eval itself is not in the test environment (docs/evaluation.md); where it is
installed, the last test runs benchmarks/lmms_eval_synthetic.py --smoke through lmms-eval's own CLI."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from transformers import AutoModelForImageTextToText, AutoProcessor, pipeline

from linvt_hf.assets import demo_model_path
from linvt_hf.data.synthetic import qa_records, random_spec, render_frames, write_mp4
from linvt_hf.evaluation import (
    EvalRequest,
    LinVTChatEvaluator,
    first_word,
    generation_options,
    synthetic_task,
    to_linvt_messages,
    write_lmms_eval_task,
)
from linvt_hf.evaluation.chat_model import cut_at_stops

ROOT = Path(__file__).resolve().parents[1]


def user(*content):
    return [{"role": "user", "content": list(content)}]


class RecordingPipeline:
    """Stands in for the video-question-answering pipeline: records each call, answers `answer <question text>`,
    and reports a missing file as the pipeline does with `on_error="skip"`."""

    def __init__(self):
        self.calls = []

    def __call__(self, chats, **kwargs):
        self.calls.append((chats, kwargs))
        results = []
        for i, chat in enumerate(chats):
            videos = [item["video"] for m in chat for item in m["content"] if item["type"] == "video"]
            if not videos:
                results.append({"error": f"input {i}: ValueError: the input holds no video"})
            elif "missing" in str(videos[0]):
                results.append({"error": f"input {i} (video {videos[0]!r}): FileNotFoundError: not found"})
            else:
                text = [item["text"] for item in chat[-1]["content"] if item["type"] == "text"][-1]
                results.append([{"answer": f"answer {text}. STOP here"}])
        return results


# --------------------------------------------------------------------------------------------- messages and settings


def test_lmms_eval_messages_become_linvt_chats():
    class Item:  # lmms-eval's pydantic content items are read through model_dump
        def model_dump(self):
            return {"type": "video", "url": "b.mp4", "start_time": 1, "end_time": 2.5}

    messages = [
        {"role": "system", "content": "Answer in one word."},
        {"role": "user", "content": [{"type": "video", "url": "a.mp4"}, Item(), {"type": "image", "url": "f.png"},
                                     {"type": "video", "url": {"video": "c.mp4", "video_start": 3, "video_end": 4}},
                                     {"type": "text", "text": "What?"}]},
    ]
    assert to_linvt_messages(messages) == [
        {"role": "system", "content": [{"type": "text", "text": "Answer in one word."}]},
        {"role": "user", "content": [
            {"type": "video", "video": "a.mp4"},
            {"type": "video", "video": "b.mp4", "start": 1.0, "end": 2.5},
            {"type": "image", "image": "f.png"},
            {"type": "video", "video": "c.mp4", "start": 3.0, "end": 4.0},
            {"type": "text", "text": "What?"},
        ]},
    ]
    with pytest.raises(ValueError, match=r"message 0, content item 1: .* type 'audio'"):
        to_linvt_messages(user({"type": "text", "text": "x"}, {"type": "audio", "url": "a.wav"}))
    with pytest.raises(ValueError, match=r"message 0, content item 0: a video item needs 'url'"):
        to_linvt_messages(user({"type": "video"}))
    with pytest.raises(ValueError, match=r"a video dict needs 'video', 'url' or 'path'"):
        to_linvt_messages(user({"type": "video", "url": {"video_start": 1}}))


def test_generation_settings():
    assert generation_options({}, 256) == ({"max_new_tokens": 256, "num_beams": 1, "do_sample": False}, [], [])
    greedy, stops, ignored = generation_options(
        {"max_new_tokens": 8, "temperature": 0, "top_p": 0.9, "until": "\n\n", "image_aspect_ratio": "pad"}, 256
    )
    assert greedy == {"max_new_tokens": 8, "num_beams": 1, "do_sample": False}  # top_p only when sampling
    assert (stops, ignored) == (["\n\n"], ["image_aspect_ratio"])
    sampled, _, _ = generation_options({"temperature": 0.7, "top_p": 0.9, "top_k": 5, "num_beams": 2}, 16)
    assert sampled == {"max_new_tokens": 16, "num_beams": 2, "do_sample": True, "temperature": 0.7, "top_p": 0.9,
                       "top_k": 5}
    assert generation_options({"temperature": 0.7, "do_sample": False}, 16)[0]["do_sample"] is False
    for bad in ({"max_new_tokens": 0}, {"num_beams": 1.5}, {"until": [3]}):
        with pytest.raises(ValueError):
            generation_options(bad, 16)
    assert cut_at_stops("yes. STOP no END", ["END", "STOP"]) == "yes. "
    assert cut_at_stops("yes", []) == "yes"
    assert first_word("  Left, then right") == "left" and first_word("") == ""


def test_evaluator_refuses_bad_model_arguments():
    with pytest.raises(ValueError, match=r"unknown model argument\(s\) \['frames'\]"):
        LinVTChatEvaluator("m", pipeline=RecordingPipeline(), frames=8)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        LinVTChatEvaluator("m", pipeline=RecordingPipeline(), batch_size=0)


# --------------------------------------------------------------------------------------------- batching and failures


def test_batches_by_settings_in_order_and_counts_failures_per_document():
    fake = RecordingPipeline()
    evaluator = LinVTChatEvaluator("m", pipeline=fake, batch_size=2, num_frames=8)
    short, long = {"max_new_tokens": 4, "until": [" STOP"]}, {"max_new_tokens": 9}
    requests = [
        EvalRequest(user({"type": "video", "url": "a.mp4"}, {"type": "text", "text": "q0"}), short, "t/test/0"),
        EvalRequest(user({"type": "video", "url": "b.mp4"}, {"type": "text", "text": "q1"}), long, "t/test/1"),
        EvalRequest(user({"type": "video", "url": "missing.mp4"}, {"type": "text", "text": "q2"}), short, "t/test/2"),
        EvalRequest(user({"type": "audio", "url": "x.wav"}), short, "t/test/3"),
        EvalRequest([], short, "t/test/4", error="KeyError: 'video'"),
        EvalRequest(user({"type": "video", "url": "c.mp4"}, {"type": "text", "text": "q5"}), short, "t/test/5"),
    ]
    answers = evaluator.generate(requests)
    assert answers == ["answer q0.", "answer q1. STOP here", "", "", "", "answer q5."]
    # Same settings together, at most batch_size per call; the run's video options and the task's settings passed on.
    sizes = [(len(chats), kwargs["max_new_tokens"]) for chats, kwargs in fake.calls]
    assert sizes == [(2, 4), (1, 4), (1, 9)]  # requests 3 and 4 failed before the pipeline
    assert all(kwargs["num_frames"] == 8 and kwargs["on_error"] == "skip" for _, kwargs in fake.calls)
    assert [(f.name, f.reason.split(":")[0]) for f in evaluator.failures] == [
        ("t/test/2", "(video 'missing.mp4')"), ("t/test/3", "ValueError"), ("t/test/4", "KeyError"),
    ]
    assert evaluator.answered == 3
    summary = evaluator.summary().splitlines()
    assert summary[0] == "linvt: 3 answered, 3 failed" and summary[1].startswith("  t/test/2: (video 'missing.mp4')")
    assert evaluator.summary(answered_before=2, failed_before=2) == "linvt: 1 answered, 1 failed\n  t/test/4: KeyError: 'video'"


def test_multi_round_follows_the_task_and_keeps_the_conversation_when_asked():
    def rounds(evaluator, last_round):
        def next_round(round_idx, answers):
            assert len(answers) == round_idx
            if round_idx == 2 and last_round == "fails":
                raise KeyError("no such chunk")
            if round_idx == 3:
                return None
            return user({"type": "text", "text": f"r{round_idx}"})

        first = EvalRequest(user({"type": "video", "url": "a.mp4"}, {"type": "text", "text": "r0"}), {}, "t/x/0")
        return evaluator.generate_rounds(first, next_round)

    evaluator = LinVTChatEvaluator("m", pipeline=RecordingPipeline())
    # lmms-eval's protocol: each round on its own messages, so rounds 1-2 (no video) fail, counted per round.
    assert rounds(evaluator, "ends") == ["answer r0. STOP here", "", ""]
    assert [(f.round, f.reason) for f in evaluator.failures] == [
        (1, "ValueError: the input holds no video"), (2, "ValueError: the input holds no video")
    ]
    kept = RecordingPipeline()
    evaluator = LinVTChatEvaluator("m", pipeline=kept, multi_round_history=True)
    assert rounds(evaluator, "ends") == ["answer r0. STOP here", "answer r1. STOP here", "answer r2. STOP here"]
    last_chat = kept.calls[-1][0][0]
    assert [m["role"] for m in last_chat] == ["user", "assistant", "user", "assistant", "user"]
    assert last_chat[1]["content"][0]["text"] == "answer r0. STOP here"
    evaluator = LinVTChatEvaluator("m", pipeline=RecordingPipeline(), multi_round_history=True)
    assert rounds(evaluator, "fails") == ["answer r0. STOP here", "answer r1. STOP here"]
    assert [(f.name, f.round, f.reason) for f in evaluator.failures] == [("t/x/0", 2, "KeyError: 'no such chunk'")]


# --------------------------------------------------------------------------------------------- the demo model


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """One synthetic clip at the demo model's sizes, its (question, answer) pairs, and an undecodable file."""
    folder = tmp_path_factory.mktemp("clip")
    spec = random_spec(np.random.default_rng(3), "clip")
    write_mp4(render_frames(spec, 56), folder / "clip.mp4", 8)
    pairs = [tuple(t["value"].removeprefix("<video>\n") for t in r["conversations"]) for r in qa_records(spec, "")]
    (folder / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 not really a video")
    return folder, pairs[:2]


def test_demo_model_answers_as_the_recipe_evaluation_and_reports_bad_videos(clip):
    recipe = pytest.importorskip("linvt_hf.recipe")
    folder, pairs = clip
    model = AutoModelForImageTextToText.from_pretrained(demo_model_path()).eval()
    processor = AutoProcessor.from_pretrained(demo_model_path())
    items = [recipe.EvalItem("q", question, answer, video=str(folder / "clip.mp4")) for question, answer in pairs]
    own = recipe.answer(model, processor, items)  # the project's own evaluation

    qa = pipeline("video-question-answering", model=model, processor=processor, device="cpu")
    evaluator = LinVTChatEvaluator("demo", pipeline=qa, batch_size=4)
    videos = ["clip.mp4"] * len(pairs) + ["gone.mp4", "broken.mp4"]
    questions = [q for q, _ in pairs] + [pairs[0][0]] * 2
    requests = [
        EvalRequest(user({"type": "video", "url": str(folder / v)}, {"type": "text", "text": q}),
                    {"max_new_tokens": 4, "temperature": 0}, f"synthetic/validation/{i}")
        for i, (v, q) in enumerate(zip(videos, questions))
    ]
    answers = evaluator.generate(requests)
    assert [first_word(a) for a in answers[: len(pairs)]] == own
    assert answers[len(pairs):] == ["", ""]
    failed = {f.name: f.reason for f in evaluator.failures}
    assert set(failed) == {f"synthetic/validation/{len(pairs)}", f"synthetic/validation/{len(pairs) + 1}"}
    assert "gone.mp4" in failed[f"synthetic/validation/{len(pairs)}"]
    assert "broken.mp4" in failed[f"synthetic/validation/{len(pairs) + 1}"]


# --------------------------------------------------------------------------------------------- the local tasks


def test_local_tasks_are_written_and_score_the_recipe_way(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    records = [dict(r, video="videos/v0.mp4") for r in qa_records(random_spec(np.random.default_rng(0), "v0"), "")]
    (data / "validation_qa.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    folder = write_lmms_eval_task(data, tmp_path / "tasks")
    with pytest.raises(FileExistsError, match="already holds"):
        write_lmms_eval_task(data, tmp_path / "tasks")
    with pytest.raises(FileNotFoundError, match="test_qa.jsonl: missing"):
        write_lmms_eval_task(data, tmp_path / "other", split="test")
    yaml = (folder / "linvt_synthetic.yaml").read_text()
    assert "output_type: generate_until\n" in yaml and "doc_to_messages: !function utils.doc_to_messages" in yaml
    assert str((folder / "linvt_synthetic_questions.jsonl").resolve()) in yaml
    assert "generate_until_multi_round" in (folder / "linvt_synthetic_rounds.yaml").read_text()
    spec = importlib.util.spec_from_file_location("task_utils", folder / "utils.py")  # the hooks lmms-eval imports
    utils = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(utils)

    docs = [json.loads(line) for line in (folder / "linvt_synthetic_questions.jsonl").read_text().splitlines()]
    assert docs[0]["video"] == str((data / "videos/v0.mp4").resolve()) and "<video>" not in docs[0]["question"]
    assert utils.doc_to_messages(docs[0])[0]["content"] == [
        {"type": "video", "url": docs[0]["video"]}, {"type": "text", "text": docs[0]["question"]}
    ]
    scored = [utils.process_results(d, [d["answer"].upper() + ". yes" if i % 2 == 0 else "no"])
              for i, d in enumerate(docs)]
    right = [i % 2 == 0 for i in range(len(docs))]
    assert utils.mean_accuracy([s["accuracy"] for s in scored]) == pytest.approx(np.mean(right))
    time_only = [r for d, r in zip(docs, right) if d["question_type"] in synthetic_task.TIME_ONLY_TYPES]
    assert utils.mean_time_only([s["time_only"] for s in scored]) == pytest.approx(np.mean(time_only))

    (video,) = [json.loads(line) for line in (folder / "linvt_synthetic_videos.jsonl").read_text().splitlines()]
    assert video["questions"] == [d["question"] for d in docs]
    assert utils.rounds_doc_to_text(video) == docs[0]["question"]
    assert utils.rounds_doc_to_text(video, {}, ["x"], 1, None) == ([video["video"]], docs[1]["question"], False,
                                                                   ["x"], None)
    assert utils.rounds_doc_to_text(video, {}, ["x"] * len(docs), len(docs), None)[2] is True
    per_round = utils.process_round_results(video, [[d["answer"] for d in docs[:-1]]])  # the last round missing
    assert utils.mean_accuracy([per_round["accuracy"]]) == pytest.approx((len(docs) - 1) / len(docs))


def test_entry_point_is_declared_for_lmms_eval():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["entry-points"]["lmms_eval.models"] == {"linvt": "linvt_hf.evaluation.lmms_eval_plugin:manifest"}
    assert any(req.startswith("lmms-eval") for req in project["optional-dependencies"]["eval"])
    from linvt_hf.evaluation import lmms_eval_plugin

    module, cls = lmms_eval_plugin.CHAT_CLASS_PATH.rsplit(".", 1)
    assert importlib.util.find_spec(module) is not None
    assert f"class {cls}(lmms)" in Path(importlib.util.find_spec(module).origin).read_text()


@pytest.mark.slow
def test_lmms_eval_cli_matches_the_recipe_evaluation():
    pytest.importorskip("lmms_eval", reason="lmms-eval is not installed (pip install 'linvt-hf[eval]')")
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "lmms_eval_synthetic.py"), "--smoke"],
        capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "lmms-eval and the recipe's evaluation agree" in result.stdout
