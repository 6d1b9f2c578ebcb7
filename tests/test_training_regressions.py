"""Regressions of the training code: the contrastive temperature left trainable and unused, the auxiliary losses
logged after resuming, `<image>` marking a video, records given as a Dataset or a list, malformed JSONL lines, the
collator's padding side."""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import socket
import subprocess
import sys
from pathlib import Path

import datasets
import pytest
import torch
from transformers import HfArgumentParser, TrainingArguments

from linvt_hf.data import generate_synthetic_video_qa
from linvt_hf.testing.tiny_models import make_tiny
from linvt_hf.training import (
    IGNORE_INDEX,
    LinVTTrainer,
    VideoInstructionCollator,
    load_video_instruction_data,
    prepare_stage1,
)

sys.path.insert(0, str(Path(__file__).parent))
from test_training import _StopAt  # noqa: E402  (stops a run at a step, to resume it)

ROOT = Path(__file__).resolve().parents[1]
VIDEO = "videos/train-00000.mp4"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synthetic")
    generate_synthetic_video_qa(root, num_train=2, num_validation=0, seed=0)
    return root


def _collator(processor, data_dir) -> VideoInstructionCollator:
    return VideoInstructionCollator(processor, video_root=data_dir, num_frames=4, shot_detector="none")


def _args(output_dir, **overrides) -> TrainingArguments:
    settings = dict(
        learning_rate=1e-3, logging_steps=1, save_strategy="no", report_to=[], use_cpu=True, seed=0,
        per_device_train_batch_size=2, lr_scheduler_type="constant",
    )
    return TrainingArguments(str(output_dir), **{**settings, **overrides})


def _write_jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


def _qa(record_id: str, question: str = "<video>\nWhat color is the shape?", answer: str = "red") -> dict:
    return {
        "id": record_id,
        "video": VIDEO,
        "conversations": [{"from": "human", "value": question}, {"from": "gpt", "value": answer}],
    }


# ------------------------------------------------------------------------------------------------ 1. temperature
@pytest.mark.parametrize("setup", ["stage1", "full"])
def test_contrastive_off_leaves_no_trainable_parameter_unused(data_dir, tmp_path, setup):
    """With contrastive_weight=0 every trainable parameter gets a gradient from the training loss (the temperature,
    used by no forward then, is frozen), so DDP without unused-parameter detection can run."""
    model, processor = make_tiny("qwen2_vl", seed=0)
    if setup == "stage1":
        prepare_stage1(model)
    trainable_before = {name for name, p in model.named_parameters() if p.requires_grad}
    assert "video_text_logit_scale" in trainable_before
    dataset = load_video_instruction_data([str(data_dir / "train_captions.jsonl")])
    trainer = LinVTTrainer(model=model, args=_args(tmp_path), train_dataset=dataset, contrastive_weight=0.0)
    assert not model.video_text_logit_scale.requires_grad
    assert {n for n, p in model.named_parameters() if p.requires_grad} == trainable_before - {"video_text_logit_scale"}

    batch = _collator(processor, data_dir)([dataset[0], dataset[1]])
    model.train()
    trainer.compute_loss(model, batch).backward()
    unused = [name for name, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert unused == []


def test_contrastive_on_keeps_the_temperature_trainable(data_dir, tmp_path):
    model, _ = make_tiny("qwen2_vl", seed=0)
    prepare_stage1(model)
    dataset = load_video_instruction_data([str(data_dir / "train_captions.jsonl")])
    LinVTTrainer(model=model, args=_args(tmp_path), train_dataset=dataset, contrastive_weight=0.5)
    assert model.video_text_logit_scale.requires_grad
    with pytest.raises(ValueError, match="contrastive_weight"):
        LinVTTrainer(model=model, args=_args(tmp_path), train_dataset=dataset, contrastive_weight=-1.0)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_ddp_stage1_without_contrastive_under_gradient_checkpointing(data_dir, tmp_path):
    """The real path: 2 gloo processes, stage 1, contrastive_weight=0, gradient checkpointing (so Trainer builds DDP
    with find_unused_parameters=False). Before the fix DDP failed at step 2 on the unused temperature."""
    worker = ROOT / "tests" / "training_worker.py"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(_free_port()),
         str(worker), "--data", str(data_dir), "--steps", "3", "--batch-size", "2", "--contrastive-weight", "0",
         "--gradient-checkpointing", "--out", str(tmp_path / "two.json"), "--output-dir", str(tmp_path / "two")],
        capture_output=True, text=True, timeout=300, env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "two.json").read_text())
    assert report["world_size"] == 2 and not report["logit_scale_trainable"]
    logs = [log for log in report["log_history"] if "loss" in log]
    assert [log["step"] for log in logs] == [1, 2, 3] and all(log["loss"] > 0 for log in logs)


# ------------------------------------------------------------------------------------------------ 2. resume logs
def test_resumed_run_logs_the_same_auxiliary_losses(data_dir, tmp_path):
    """The first `ce_loss` / `contrastive_loss` logged after resuming equal an uninterrupted run's at that step (they
    were divided by the global step)."""
    dataset = load_video_instruction_data([str(data_dir / "train_captions.jsonl"), str(data_dir / "train_qa.jsonl")])
    dataset = dataset.select([i for step in range(5) for i in (0, 1, 2 + step)])  # each batch: both captions, a QA

    def run(output_dir, resume=None, stop_at=None):
        model, processor = make_tiny("qwen2_vl", seed=0)
        prepare_stage1(model)
        args = _args(
            output_dir, max_steps=5, save_strategy="steps", save_steps=3, per_device_train_batch_size=3,
            train_sampling_strategy="sequential",
        )
        trainer = LinVTTrainer(
            model=model, args=args, train_dataset=dataset, data_collator=_collator(processor, data_dir),
            contrastive_weight=1.0, callbacks=[_StopAt(stop_at)] if stop_at else None,
        )
        trainer.train(resume_from_checkpoint=resume)
        return {log["step"]: log for log in trainer.state.log_history if "loss" in log}

    straight = run(tmp_path / "straight")
    run(tmp_path / "interrupted", stop_at=3)
    resumed = run(tmp_path / "interrupted", resume=str(tmp_path / "interrupted" / "checkpoint-3"))
    assert all(straight[step]["contrastive_loss"] > 0 for step in straight)
    for step in (4, 5):
        for key in ("loss", "ce_loss", "contrastive_loss"):
            assert resumed[step][key] == pytest.approx(straight[step][key], rel=1e-5, abs=1e-6), (step, key)


# ------------------------------------------------------------------------------------------- 3. <image> for the video
def test_image_marker_standing_for_the_video(data_dir, tmp_path):
    """A video record whose text marks the video with `<image>` loads and collates as with `<video>`."""
    path = _write_jsonl(tmp_path / "image_marker.jsonl", [
        json.dumps(_qa("as-image", "<image>\nWhat color is the shape?")),
        json.dumps(_qa("as-video", "<video>\nWhat color is the shape?")),
    ])
    records = load_video_instruction_data(str(path), cache_dir=str(tmp_path / "cache"))
    as_image, as_video = records[0], records[1]
    assert as_image["conversations"] == as_video["conversations"]
    assert as_image["conversations"][0]["value"] == "<video>\nWhat color is the shape?" and as_image["images"] == []

    model, processor = make_tiny("qwen2_vl", seed=0)
    collator = _collator(processor, data_dir)
    batch, reference = collator([as_image]), collator([as_video])
    for key in ("input_ids", "labels", "pixel_values_videos"):
        assert torch.equal(batch[key], reference[key]), key
    assert "pixel_values" not in batch
    labelled = batch["labels"][0] != IGNORE_INDEX
    assert processor.tokenizer.decode(batch["input_ids"][0][labelled]).startswith("red")
    inputs = {k: v for k, v in batch.items() if k not in ("num_skipped_samples", "caption_mask")}
    assert torch.isfinite(model(**inputs).loss)


def test_stray_markers_are_named_errors(data_dir, tmp_path):
    """Markers that match no video or image: the loader (and the collator, for records built by hand) name the
    record instead of failing deep in the processor."""
    for record in (
        {**_qa("two", "<image>\n<image>\nQ?")},  # two <image> for one video and no image: which is the video?
        {"id": "no-video", "conversations": [{"from": "human", "value": "<video>\nQ?"}, {"from": "gpt", "value": "A"}]},
    ):
        path = _write_jsonl(tmp_path / f"{record['id']}.jsonl", [json.dumps(record)])
        with pytest.raises(ValueError, match=rf"record '{record['id']}'.*marker"):
            load_video_instruction_data(str(path), cache_dir=str(tmp_path / "cache"))
    _, processor = make_tiny("qwen2_vl", seed=0)
    by_hand = {**_qa("by-hand", "<video>\n<image>\nQ?"), "images": [], "task": "instruction"}
    with pytest.raises(ValueError, match="record 'by-hand'.*0 image"):
        _collator(processor, data_dir)([by_hand])


# ------------------------------------------------------------------------------------------------ 4. Dataset / list
def _rows(dataset: datasets.Dataset) -> list[dict]:
    return [dict(row) for row in dataset]


def test_load_accepts_a_dataset_and_a_list_of_dicts(data_dir, tmp_path):
    files = [data_dir / name for name in ("train_qa.jsonl", "train_captions.jsonl", "train_image_qa.jsonl")]
    raw = [json.loads(line) for f in files for line in f.read_text().splitlines()]
    raw.append({"id": "openai", "video": VIDEO, "conversations": [
        {"role": "user", "content": "Which color?"}, {"role": "assistant", "content": "red"}]})
    raw.append({"id": "pictures", "image": ["images/train-00000.npy", "images/train-00001.npy"], "conversations": [
        {"from": "human", "value": "How many?"}, {"from": "gpt", "value": "two"}]})
    path = _write_jsonl(tmp_path / "all.jsonl", [json.dumps(r) for r in raw])
    from_file = _rows(load_video_instruction_data(str(path), cache_dir=str(tmp_path / "cache")))
    assert {row["task"] for row in from_file} == {"instruction", "caption"}
    assert any(len(row["images"]) > 1 for row in from_file)

    from_list = load_video_instruction_data(raw)
    assert from_list.features == load_video_instruction_data(str(path), cache_dir=str(tmp_path / "cache")).features
    assert _rows(from_list) == from_file
    # A Dataset of raw records (columns missing in some records are None there), and a DatasetDict's split.
    keys = sorted({key for r in raw for key in r})
    raw_dataset = datasets.Dataset.from_list([{key: r.get(key) for key in keys} for r in raw if "image" not in r])
    expected = [row for row, r in zip(from_file, raw) if "image" not in r]
    assert _rows(load_video_instruction_data(raw_dataset)) == expected
    splits = datasets.DatasetDict(validation=raw_dataset)
    assert _rows(load_video_instruction_data(splits, split="validation")) == expected
    # An already normalised dataset (e.g. filtered) loads unchanged: images and caption tasks survive.
    assert _rows(load_video_instruction_data(from_list)) == from_file


def test_load_rejects_mixed_or_unknown_inputs(tmp_path):
    path = _write_jsonl(tmp_path / "one.jsonl", [json.dumps(_qa("a"))])
    with pytest.raises(TypeError, match=r"data_files\[1\] is a dict"):
        load_video_instruction_data([str(path), _qa("b")])
    with pytest.raises(TypeError, match=r"data_files\[1\] is a str"):
        load_video_instruction_data([_qa("b"), str(path)])
    with pytest.raises(TypeError, match="got int"):
        load_video_instruction_data(3)
    with pytest.raises(ValueError, match=r"record 'bad' \(row 1\) of the given records has no"):
        load_video_instruction_data([_qa("a"), {"id": "bad", "video": VIDEO}])


# ------------------------------------------------------------------------------------------------ 5. malformed lines
def test_malformed_line_names_file_and_line(tmp_path):
    good = [json.dumps(_qa(f"q{i}")) for i in range(3)]
    path = _write_jsonl(tmp_path / "broken.jsonl", [good[0], "", good[1], '{"id": "cut", "video": ', good[2], "[1, 2]"])
    with pytest.raises(ValueError) as error:
        load_video_instruction_data(str(path), cache_dir=str(tmp_path / "cache"))
    message = str(error.value)
    assert message.startswith(f"{path}, line 4: invalid JSON (Expecting value at column 23)")
    assert "2 malformed line(s)" in message and "skip_malformed=True" in message

    not_object = _write_jsonl(tmp_path / "list.jsonl", [good[0], "[1, 2]"])
    with pytest.raises(ValueError, match=rf"{not_object}, line 2: expected a JSON object, got a JSON list"):
        load_video_instruction_data(str(not_object), cache_dir=str(tmp_path / "cache"))
    document = tmp_path / "array.json"
    document.write_text('[\n{"id": "a", "video": "v.mp4", "caption": "x"},\n{"id": "b" "video": "v.mp4"}\n]\n')
    with pytest.raises(ValueError, match=rf"{document}, line 3, column 12: invalid JSON \(Expecting ',' delimiter\)"):
        load_video_instruction_data(str(document), cache_dir=str(tmp_path / "cache"), skip_malformed=True)
    empty = _write_jsonl(tmp_path / "empty.jsonl", [""])
    with pytest.raises(ValueError, match="empty"):
        load_video_instruction_data(str(empty), cache_dir=str(tmp_path / "cache"))


def test_skip_malformed_lines_counts_and_logs_them(tmp_path, caplog):
    good = [json.dumps(_qa(f"q{i}")) for i in range(3)]
    broken = _write_jsonl(tmp_path / "broken.jsonl", [good[0], '{"id": "cut", "video": ', good[1], "null"])
    clean = _write_jsonl(tmp_path / "clean.jsonl", [good[2]])
    with caplog.at_level(logging.WARNING):
        dataset, count = load_video_instruction_data(
            [str(broken), str(clean)], cache_dir=str(tmp_path / "cache"), skip_malformed=True, return_num_malformed=True
        )
    assert count == 2 and dataset["id"][:] == ["q0", "q1", "q2"]
    assert f"skipping 2 malformed line(s) of {broken} (lines 2, 4)" in caplog.text
    # Loading again (from the cache) gives the same records and count; editing the file is seen.
    again, count = load_video_instruction_data(
        str(broken), cache_dir=str(tmp_path / "cache"), skip_malformed=True, return_num_malformed=True
    )
    assert (again["id"][:], count) == (["q0", "q1"], 2)
    _write_jsonl(broken, [good[0], "oops"])
    edited, count = load_video_instruction_data(
        str(broken), cache_dir=str(tmp_path / "cache"), skip_malformed=True, return_num_malformed=True
    )
    assert (edited["id"][:], count) == (["q0"], 1)
    assert load_video_instruction_data(str(clean), return_num_malformed=True, cache_dir=str(tmp_path / "cache"))[1] == 0
    nothing_left = _write_jsonl(tmp_path / "all_bad.jsonl", ["oops", "{"])
    with pytest.raises(ValueError, match="no record left after skipping its 2 malformed"):
        load_video_instruction_data(str(nothing_left), cache_dir=str(tmp_path / "cache"), skip_malformed=True)


def test_example_scripts_expose_skip_malformed_lines(tmp_path, monkeypatch):
    path = ROOT / "examples" / "training_common.py"
    spec = importlib.util.spec_from_file_location("training_common_under_test", path)
    common = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, common)  # its dataclasses look their module up
    spec.loader.exec_module(common)
    broken = _write_jsonl(tmp_path / "broken.jsonl", [json.dumps(_qa("q0")), "{oops", json.dumps(_qa("q1"))])
    parser = HfArgumentParser(common.DataArguments)
    (strict,) = parser.parse_args_into_dataclasses(["--train_files", str(broken)])
    (lenient,) = parser.parse_args_into_dataclasses(["--train_files", str(broken), "--skip_malformed_lines"])
    _, processor = make_tiny("qwen2_vl", seed=0)
    with pytest.raises(ValueError, match="line 2"):
        common.build_data(strict, processor)
    train, evaluation, _ = common.build_data(lenient, processor)
    assert train["id"][:] == ["q0", "q1"] and evaluation is None


def test_the_collator_pads_on_its_own_side_whatever_the_tokenizer_says(data_dir):
    """`padding_side` pads every batch (and truncates) on that side: batched generation sets the tokenizer to the
    left, and a collator that read the tokenizer's side then trained on other batches after each evaluation."""
    _, processor = make_tiny("qwen2_vl")
    records = [json.loads(line) for line in (data_dir / "train_qa.jsonl").read_text().splitlines()]
    pair = [min(records, key=lambda r: len(str(r))), max(records, key=lambda r: len(str(r)))]
    for tokenizer_side in ("left", "right"):
        processor.tokenizer.padding_side = tokenizer_side
        for side, pads in (("left", 0), ("right", -1)):
            collator = VideoInstructionCollator(
                processor, video_root=data_dir, num_frames=4, shot_detector="none", padding_side=side
            )
            batch = collator(pair)
            assert batch["attention_mask"][:, pads].eq(0).any(), (tokenizer_side, side)
            short = batch["attention_mask"][0].bool()
            assert batch["labels"][0][~short].eq(IGNORE_INDEX).all()
            assert processor.tokenizer.padding_side == tokenizer_side  # the tokenizer is left as it was
    with pytest.raises(ValueError, match="padding_side must be 'left', 'right' or None, got 'middle'"):
        VideoInstructionCollator(processor, padding_side="middle")


def test_ddp_stage1_with_a_batch_without_video_on_one_process(tmp_path):
    """2 gloo processes, stage 1 with the contrastive term, one sample per process per step: at each step one
    process has a captioned video and the other a text-only sample. Both processes must run the same collectives
    (forward and backward), or training hangs."""
    turns = [{"from": "human", "value": "Say it."}, {"from": "gpt", "value": "A red circle."}]
    text = {"id": "text", "conversations": turns}
    generate_synthetic_video_qa(tmp_path / "data", num_train=2, num_validation=0, seed=0)
    captions = [json.loads(line) for line in (tmp_path / "data" / "train_captions.jsonl").read_text().splitlines()]
    # The worker reads train_captions then train_qa: the samples are caption, text, caption, text.
    for name, rows in (("train_captions.jsonl", [captions[0], text]), ("train_qa.jsonl", [captions[1], text])):
        _write_jsonl(tmp_path / "data" / name, [json.dumps(row) for row in rows])
    worker = ROOT / "tests" / "training_worker.py"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(_free_port()),
        str(worker), "--data", str(tmp_path / "data"), "--steps", "2", "--batch-size", "1",
        "--out", str(tmp_path / "two.json"), "--output-dir", str(tmp_path / "two"),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        _, stderr = process.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        process.terminate()  # torchrun ends its workers on SIGTERM
        process.communicate(timeout=60)
        pytest.fail("two processes, one of them without a video: training hung")
    assert process.returncode == 0, stderr[-3000:]
    report = json.loads((tmp_path / "two.json").read_text())
    logs = [log for log in report["log_history"] if "loss" in log]
    assert report["world_size"] == 2 and [log["step"] for log in logs] == [1, 2]
