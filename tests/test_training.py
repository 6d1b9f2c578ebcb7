"""Training: data loading, the collator's labels and masks, stage 1/2 preparation, LinVTTrainer (contrastive term,
skipped samples, resume, two processes) and the example scripts."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from transformers import TrainerCallback, TrainingArguments

from linvt_hf.data import generate_synthetic_video_qa
from linvt_hf.testing import make_tiny_processor
from linvt_hf.testing.tiny_models import TINY_LINVT, make_tiny, tiny_image_llm_config
from linvt_hf.training import (
    IGNORE_INDEX,
    LinVTTrainer,
    VideoInstructionCollator,
    language_model_linear_names,
    load_video_instruction_data,
    merge_stage2,
    prepare_stage1,
    prepare_stage2,
    video_text_contrastive_loss,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synthetic")
    generate_synthetic_video_qa(root, num_train=2, num_validation=0, seed=0)
    extra = [
        {  # multi-turn, the marker mid-sentence, OpenAI-style keys
            "id": "multi",
            "video": "videos/train-00000.mp4",
            "conversations": [
                {"role": "user", "content": "Look at <video> and tell me the color."},
                {"role": "assistant", "content": "red"},
                {"role": "user", "content": "And the shape?"},
                {"role": "assistant", "content": "a small circle"},
            ],
        },
        {"id": "vc2", "video": "videos/train-00001.mp4", "QA": [{"i": "Watch carefully.", "q": "Which way?", "a": "left"}]},
        {"id": "missing", "video": "videos/nope.mp4", "conversations": [{"from": "human", "value": "<video>\nQ?"}, {"from": "gpt", "value": "A"}]},
        {"id": "corrupt", "video": "videos/corrupt.mp4", "conversations": [{"from": "human", "value": "Q?"}, {"from": "gpt", "value": "A"}]},
        {  # LLaVA-OneVision multi-image: "image" a list, the markers left to the loader
            "id": "pictures",
            "image": ["images/train-00000.npy", "images/train-00001.npy"],
            "conversations": [{"from": "human", "value": "How many?"}, {"from": "gpt", "value": "two"}],
        },
    ]
    (root / "videos" / "corrupt.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(2000))
    with open(root / "extra.jsonl", "w") as handle:
        handle.writelines(json.dumps(record) + "\n" for record in extra)
    return root


def _records(data_dir: Path):
    files = [data_dir / name for name in ("train_qa.jsonl", "train_captions.jsonl", "train_image_qa.jsonl", "extra.jsonl")]
    dataset = load_video_instruction_data([str(f) for f in files])
    return {record["id"]: record for record in dataset}


def _collator(processor, data_dir, **kwargs) -> VideoInstructionCollator:
    return VideoInstructionCollator(processor, video_root=data_dir, num_frames=4, shot_detector="none", **kwargs)


def _args(output_dir, **overrides) -> TrainingArguments:
    settings = dict(
        learning_rate=1e-3, logging_steps=1, save_strategy="no", report_to=[], use_cpu=True, seed=0,
        per_device_train_batch_size=2, lr_scheduler_type="constant",
    )
    return TrainingArguments(str(output_dir), **{**settings, **overrides})


# ------------------------------------------------------------------------------------------------ data
def test_load_all_record_kinds(data_dir):
    records = _records(data_dir)
    files = ("train_qa.jsonl", "train_captions.jsonl", "train_image_qa.jsonl", "extra.jsonl")
    assert len(records) == sum(len((data_dir / name).read_text().splitlines()) for name in files)
    qa = records["train-00000-color"]
    assert qa["task"] == "instruction" and qa["video"] == "videos/train-00000.mp4" and qa["images"] == []
    assert qa["conversations"][0] == {"from": "human", "value": "<video>\nWhat color is the shape?"}
    caption = records["train-00000-caption"]
    assert caption["task"] == "caption"
    assert caption["conversations"][0]["value"] == "<video>\nDescribe the video briefly."
    assert caption["conversations"][1]["from"] == "gpt" and caption["conversations"][1]["value"].startswith("A ")
    image = records["train-00000-image-color"]
    assert image["images"] == ["images/train-00000.npy"] and image["video"] is None
    assert image["conversations"][0]["value"].startswith("<image>")
    multi = records["multi"]
    assert [t["from"] for t in multi["conversations"]] == ["human", "gpt", "human", "gpt"]
    assert multi["conversations"][0]["value"] == "Look at <video> and tell me the color."
    assert records["vc2"]["conversations"][0]["value"] == "<video>\nWatch carefully.\nWhich way?"
    assert records["corrupt"]["conversations"][0]["value"] == "<video>\nQ?"  # marker added where missing
    pictures = records["pictures"]
    assert pictures["images"] == ["images/train-00000.npy", "images/train-00001.npy"] and pictures["video"] is None
    assert pictures["conversations"][0]["value"] == "<image>\n<image>\nHow many?"  # one marker per image


def test_load_rejects_bad_records(tmp_path):
    for record in (
        {"id": "x", "video": "a.mp4"},
        {"id": "x", "video": "a.mp4", "conversations": [{"from": "gpt", "value": "a"}]},
        {"id": "x", "video": "a.mp4", "conversations": [{"from": "human", "value": "<video><video>"}, {"from": "gpt", "value": "a"}]},
        {"id": "x", "video": "a.mp4", "conversations": [
            {"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}, {"from": "human", "value": "<video>"}, {"from": "gpt", "value": "b"}]},
        # two images, one marker: which image goes where is ambiguous
        {"id": "x", "image": ["a.npy", "b.npy"], "conversations": [{"from": "human", "value": "<image> q"}, {"from": "gpt", "value": "a"}]},
        {"id": "x", "image": [], "conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]},
    ):
        path = tmp_path / "bad.jsonl"
        path.write_text(json.dumps(record) + "\n")
        with pytest.raises(Exception, match="conversations|alternate|marker|'image' must be"):
            load_video_instruction_data(str(path), cache_dir=str(tmp_path / "cache"))


# ------------------------------------------------------------------------------------------------ collator
def _runs(mask: torch.Tensor) -> list[list[int]]:
    """Contiguous runs of True positions."""
    runs: list[list[int]] = []
    for position in mask.nonzero().flatten().tolist():
        if runs and runs[-1][-1] == position - 1:
            runs[-1].append(position)
        else:
            runs.append([position])
    return runs


@pytest.mark.parametrize(
    "backbone, padding_side",
    [("qwen2_vl", "right"), ("qwen2_vl", "left"), ("internvl", "right"), ("llava_onevision", "left")],
)
def test_collator_labels_and_masks_token_by_token(data_dir, backbone, padding_side):
    records = _records(data_dir)
    _, processor = make_tiny(backbone)
    processor.tokenizer.padding_side = padding_side
    tokenizer = processor.tokenizer
    end_of_turn = tokenizer.convert_tokens_to_ids("<|im_end|>")
    features = [records["train-00000-color"], records["train-00001-caption"], records["multi"], records["train-00001-image-shape"]]
    batch = _collator(processor, data_dir)(features)

    assert int(batch["num_skipped_samples"]) == 0 and "empty_batch" not in batch
    assert batch["labels"].shape == batch["input_ids"].shape == batch["caption_mask"].shape
    expected_answers = [[turn["value"] for turn in f["conversations"] if turn["from"] == "gpt"] for f in features]
    assert expected_answers[2] == ["red", "a small circle"]
    for row, answers in enumerate(expected_answers):
        ids, labels = batch["input_ids"][row], batch["labels"][row]
        labelled = labels != IGNORE_INDEX
        assert torch.equal(labels[labelled], ids[labelled])
        runs = _runs(labelled)
        # Each answer is labelled exactly: its own tokens and the end-of-turn token, nothing else.
        assert [ids[run].tolist() for run in runs] == [
            tokenizer.encode(answer, add_special_tokens=False) + [end_of_turn] for answer in answers
        ]
        for run in runs:  # right after the assistant header
            assert tokenizer.decode(ids[: run[0]][batch["attention_mask"][row][: run[0]].bool()]).rstrip(" \n").endswith("assistant")
        # The padding carries no label.
        assert not labelled[batch["attention_mask"][row] == 0].any()

    question = lambda row: tokenizer.decode(batch["input_ids"][row][batch["question_mask"][row]]).replace(" ", "")
    assert question(0) == "Whatcoloristheshape?"
    assert question(1) == "Describethevideobriefly."
    assert question(2) == "Lookatandtellmethecolor."  # the question of the turn that holds the video
    assert question(3) == ""  # an image, no video: nothing conditions TTA
    caption = features[1]["conversations"][1]["value"]
    caption_ids = batch["input_ids"][1][batch["caption_mask"][1]]
    expected = [i for i in tokenizer.encode(caption, add_special_tokens=False) if tokenizer.decode([i]).strip()]
    assert caption_ids.tolist() == expected
    assert not batch["caption_mask"][[0, 2, 3]].any()


@pytest.mark.parametrize("backbone", ["internvl", "qwen2_vl", "llava"])
def test_collator_multi_image_record(data_dir, backbone):
    """A record with a list of images: every image reaches the processor, in order, at its own marker."""
    records = _records(data_dir)
    model, processor = make_tiny(backbone)
    batch = _collator(processor, data_dir)([records["pictures"], records["train-00000-image-color"]])
    one = _collator(processor, data_dir)([records["train-00000-image-color"]])
    image_id = processor.image_token_id
    per_image = int((one["input_ids"][0] == image_id).sum())
    assert [int((row == image_id).sum()) for row in batch["input_ids"]] == [2 * per_image, per_image]
    pixels = batch["pixel_values"]
    assert pixels.shape[0] == 3 * one["pixel_values"].shape[0]
    # The second image of the set is the second frame written: its pixels come second.
    second = _collator(processor, data_dir)([{**records["train-00000-image-color"], "images": ["images/train-00001.npy"]}])
    assert torch.equal(pixels[one["pixel_values"].shape[0] : 2 * one["pixel_values"].shape[0]], second["pixel_values"])
    labelled = batch["labels"][0] != IGNORE_INDEX
    # (LLaVA's "ASSISTANT: <answer>" puts a space before the answer, in its labels too.)
    assert processor.tokenizer.decode(batch["input_ids"][0][labelled]).lstrip(" ").startswith("two")
    inputs = {k: v for k, v in batch.items() if k not in ("num_skipped_samples", "caption_mask")}
    assert torch.isfinite(model(**inputs).loss)


def test_collator_skips_unreadable_samples(data_dir):
    records = _records(data_dir)
    model, processor = make_tiny("qwen2_vl")
    collator = _collator(processor, data_dir)
    good = records["train-00000-color"]
    broken_image = {**records["train-00000-image-color"], "images": ["images/nope.npy"]}
    batch = collator([records["missing"], good, records["corrupt"], broken_image])
    assert int(batch["num_skipped_samples"]) == 3
    assert batch["input_ids"].shape[0] == 1 and batch["video_grid_thw"].shape[0] == 1
    reference = collator([good])
    assert torch.equal(batch["input_ids"], reference["input_ids"]) and torch.equal(batch["labels"], reference["labels"])
    inputs = {k: v for k, v in batch.items() if k not in ("num_skipped_samples", "caption_mask")}
    assert torch.isfinite(model(**inputs).loss)

    empty = collator([records["missing"], records["corrupt"]])
    assert bool(empty["empty_batch"]) and int(empty["num_skipped_samples"]) == 2
    assert empty["input_ids"].numel() == 0


def test_collator_max_length(data_dir):
    records = _records(data_dir)
    _, processor = make_tiny("qwen2_vl")
    full = _collator(processor, data_dir)([records["multi"]])
    length = full["input_ids"].shape[1]
    cut = _collator(processor, data_dir, max_length=length - 3)([records["multi"]])
    assert cut["input_ids"].shape[1] == length - 3
    assert torch.equal(cut["input_ids"][0], full["input_ids"][0, : length - 3])
    assert torch.equal(cut["labels"][0], full["labels"][0, : length - 3])
    too_short = _collator(processor, data_dir, max_length=10)([records["multi"], records["train-00000-color"]])
    assert bool(too_short["empty_batch"]) and int(too_short["num_skipped_samples"]) == 2  # the video would be cut


# ------------------------------------------------------------------------------------------------ loss
def test_video_text_contrastive_loss():
    torch.manual_seed(0)
    text = torch.randn(4, 16)
    scale = torch.tensor(2.0, requires_grad=True)
    aligned = video_text_contrastive_loss(text * 3, text, scale)
    shuffled = video_text_contrastive_loss(text.roll(1, 0), text, scale)
    assert aligned < shuffled
    video = torch.randn(4, 16)
    assert torch.allclose(video_text_contrastive_loss(video, text, scale), video_text_contrastive_loss(text, video, scale))
    aligned.backward()
    assert scale.grad is not None and scale.grad < 0  # sharper is better when aligned
    big = torch.tensor(10.0)
    assert torch.allclose(video_text_contrastive_loss(video, text, big), video_text_contrastive_loss(video, text, torch.tensor(4.6052)), atol=1e-3)
    assert video_text_contrastive_loss(video[:0], text[:0], scale) == 0


# ------------------------------------------------------------------------------------------------ stage 1
def test_stage1_freezes_all_but_linvt_and_trains_with_both_terms(data_dir, tmp_path):
    model, processor = make_tiny("qwen2_vl")
    prepare_stage1(model)
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    assert trainable == {name for name, _ in model.named_parameters() if name.startswith("model.video_tokenizer.")} | {"video_text_logit_scale"}
    frozen_before = {n: p.detach().clone() for n, p in model.named_parameters() if not p.requires_grad}

    files = [str(data_dir / "train_captions.jsonl"), str(data_dir / "extra.jsonl")]
    dataset = load_video_instruction_data(files).select([0, 1, 4])  # two captions and the missing video
    args = _args(tmp_path, max_steps=8, per_device_train_batch_size=3, train_sampling_strategy="sequential")
    trainer = LinVTTrainer(
        model=model, args=args, train_dataset=dataset, data_collator=_collator(processor, data_dir), contrastive_weight=1.0
    )
    trainer.train()
    logs = [log for log in trainer.state.log_history if "loss" in log]
    assert len(logs) == 8
    for log in logs:
        assert log["loss"] == pytest.approx(log["ce_loss"] + log["contrastive_loss"], rel=1e-5)
        assert log["contrastive_loss"] > 0
    assert [log["num_skipped_samples"] for log in logs] == list(range(1, 9))  # running count
    assert logs[-1]["loss"] < logs[0]["loss"] and logs[-1]["contrastive_loss"] < logs[0]["contrastive_loss"]
    assert all(torch.equal(p, frozen_before[n]) for n, p in model.named_parameters() if n in frozen_before)


def test_trainer_skips_an_unreadable_batch(data_dir, tmp_path):
    model, processor = make_tiny("qwen2_vl")
    prepare_stage1(model)
    before = [p.detach().clone() for p in model.video_tokenizer.parameters()]
    dataset = load_video_instruction_data(str(data_dir / "extra.jsonl")).select([2, 3])
    args = _args(tmp_path, max_steps=1, train_sampling_strategy="sequential")
    trainer = LinVTTrainer(model=model, args=args, train_dataset=dataset, data_collator=_collator(processor, data_dir))
    trainer.train()
    log = next(log for log in trainer.state.log_history if "loss" in log)
    assert log["loss"] == 0 and log["num_skipped_samples"] == 2
    assert all(torch.equal(a, b) for a, b in zip(before, model.video_tokenizer.parameters()))


# ------------------------------------------------------------------------------------------------ stage 2
def _logits(model, batch):
    inputs = {k: v for k, v in batch.items() if k not in ("num_skipped_samples", "caption_mask", "labels")}
    with torch.no_grad():
        return model(**inputs).logits


@pytest.mark.parametrize("backbone", ["qwen2_vl", "llava_onevision"])
def test_stage2_lora_on_llm_only_save_and_merge(data_dir, tmp_path, backbone):
    from peft import PeftModel

    model, processor = make_tiny(backbone, seed=0)
    llm_linears = set(language_model_linear_names(model))
    peft_model = prepare_stage2(model)
    base = peft_model.get_base_model()
    lora_modules = {name for name, module in base.named_modules() if hasattr(module, "lora_A")}
    assert lora_modules == llm_linears and lora_modules
    assert all(name.startswith("model.language_model.") for name in lora_modules)
    for name, parameter in peft_model.named_parameters():
        expected = "lora_" in name or ".video_tokenizer.modules_to_save." in name
        assert parameter.requires_grad == expected, name
    for module in base.vision_modules():
        assert not any(p.requires_grad for p in module.parameters())

    records = _records(data_dir)
    dataset = load_video_instruction_data(str(data_dir / "train_qa.jsonl"))
    collator = _collator(processor, data_dir)
    trainer = LinVTTrainer(model=peft_model, args=_args(tmp_path / "run", max_steps=3), train_dataset=dataset, data_collator=collator)
    trainer.train()
    batch = collator([records["train-00000-color"], records["train-00001-caption"]])
    peft_model.eval()
    expected = _logits(peft_model, batch)

    adapter_dir = tmp_path / "adapter"
    peft_model.save_pretrained(adapter_dir)
    fresh, _ = make_tiny(backbone, seed=0)
    reloaded = PeftModel.from_pretrained(fresh, adapter_dir).eval()
    torch.testing.assert_close(_logits(reloaded, batch), expected)  # LinVT travelled with the adapter

    merged = merge_stage2(peft_model).eval()
    assert type(merged) is type(model) and not any("lora_" in n for n, _ in merged.named_parameters())
    torch.testing.assert_close(_logits(merged, batch), expected, rtol=1e-4, atol=1e-4)
    merged.save_pretrained(tmp_path / "merged")
    loaded = type(model).from_pretrained(tmp_path / "merged").eval()
    torch.testing.assert_close(_logits(loaded, batch), _logits(merged, batch))


def test_stage2_rejects_lora_outside_the_llm():
    from peft import LoraConfig

    model, _ = make_tiny("llava_onevision")
    with pytest.raises(ValueError, match="LLM"):
        prepare_stage2(model, LoraConfig(target_modules=["q_proj"]))  # bare names also hit SigLIP's q_proj


# ------------------------------------------------------------------------------------------------ resume
class _StopAt(TrainerCallback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            control.should_training_stop = True


@pytest.mark.parametrize("stage", [1, 2])
def test_resume_continues_the_same_loss_curve(data_dir, tmp_path, stage):
    files = [str(data_dir / "train_captions.jsonl"), str(data_dir / "train_qa.jsonl")]
    dataset = load_video_instruction_data(files)

    def run(output_dir, resume=None, stop_at=None):
        model, processor = make_tiny("qwen2_vl", seed=0)
        model = prepare_stage1(model) if stage == 1 else prepare_stage2(model)
        args = _args(output_dir, max_steps=6, save_strategy="steps", save_steps=3, lr_scheduler_type="linear")
        trainer = LinVTTrainer(
            model=model, args=args, train_dataset=dataset, data_collator=_collator(processor, data_dir),
            contrastive_weight=1.0 if stage == 1 else 0.0, callbacks=[_StopAt(stop_at)] if stop_at else None,
        )
        trainer.train(resume_from_checkpoint=resume)
        return {log["step"]: log["loss"] for log in trainer.state.log_history if "loss" in log}

    straight = run(tmp_path / "straight")
    first = run(tmp_path / "interrupted", stop_at=3)
    assert sorted(first) == [1, 2, 3]
    resumed = run(tmp_path / "interrupted", resume=str(tmp_path / "interrupted" / "checkpoint-3"))
    assert sorted(resumed) == [1, 2, 3, 4, 5, 6]  # the log history comes back with the checkpoint
    for step in (4, 5, 6):
        assert resumed[step] == pytest.approx(straight[step], rel=1e-5, abs=1e-6)
    assert len(set(straight.values())) > 1


# ------------------------------------------------------------------------------------------------ two processes
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_two_processes_match_one_on_the_same_global_batch(data_dir, tmp_path):
    """Stage 1 with DDP (gloo, 2 processes x 2 samples) equals one process with 4 samples per step: same losses
    (cross-entropy and the gathered contrastive term) and same trained weights."""
    worker = ROOT / "tests" / "training_worker.py"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    common = ["--data", str(data_dir), "--steps", "3"]
    single = subprocess.run(
        [sys.executable, str(worker), *common, "--batch-size", "4", "--out", str(tmp_path / "one.json"),
         "--output-dir", str(tmp_path / "one")],
        capture_output=True, text=True, timeout=300, env=env,
    )
    assert single.returncode == 0, single.stderr[-3000:]
    double = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(_free_port()),
         str(worker), *common, "--batch-size", "2", "--out", str(tmp_path / "two.json"), "--output-dir", str(tmp_path / "two")],
        capture_output=True, text=True, timeout=300, env=env,
    )
    assert double.returncode == 0, double.stderr[-3000:]
    one, two = (json.loads((tmp_path / name).read_text()) for name in ("one.json", "two.json"))
    assert (one["world_size"], two["world_size"]) == (1, 2)
    logs_one, logs_two = ([log for log in r["log_history"] if "loss" in log] for r in (one, two))
    assert len(logs_one) == len(logs_two) == 3
    assert logs_one[0]["contrastive_loss"] > 0  # the first global batch holds the two captions
    for a, b in zip(logs_one, logs_two):
        for key in ("loss", "ce_loss", "contrastive_loss"):
            assert b[key] == pytest.approx(a[key], rel=1e-5, abs=1e-6), key
    for key in ("linvt_sum", "linvt_abs_sum", "logit_scale"):
        assert two[key] == pytest.approx(one[key], rel=1e-5), key


# ------------------------------------------------------------------------------------------------ examples
def test_example_scripts_run_both_stages(data_dir, tmp_path):
    from transformers import Qwen2VLForConditionalGeneration

    processor = make_tiny_processor("qwen2_vl")
    backbone = tmp_path / "image_llm"
    Qwen2VLForConditionalGeneration(tiny_image_llm_config("qwen2_vl")).save_pretrained(backbone)
    processor.save_pretrained(backbone)
    linvt = json.dumps({k: v for k, v in TINY_LINVT.items()})
    common = [
        "--video_root", str(data_dir), "--num_frames", "4", "--shot_detector", "none", "--max_steps", "2",
        "--per_device_train_batch_size", "2", "--logging_steps", "1", "--report_to", "none", "--use_cpu",
        "--dtype", "float32", "--save_steps", "1",
    ]
    stage1 = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "train_stage1.py"), "--model_name_or_path", str(backbone),
         "--video_tokenizer_config", linvt, "--train_files", str(data_dir / "train_captions.jsonl"), "--output_dir",
         str(tmp_path / "stage1"), *common],
        capture_output=True, text=True, timeout=300,
    )
    assert stage1.returncode == 0, stage1.stderr[-3000:]
    stage2 = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "train_stage2.py"), "--model_name_or_path", str(tmp_path / "stage1"),
         "--train_files", str(data_dir / "train_qa.jsonl"), "--output_dir", str(tmp_path / "stage2"),
         *common],
        capture_output=True, text=True, timeout=300,
    )
    assert stage2.returncode == 0, stage2.stderr[-3000:]
    assert (tmp_path / "stage2" / "adapter_model.safetensors").exists()
    import linvt_hf  # noqa: F401  (registers the Auto classes)
    from transformers import AutoModelForImageTextToText

    merged = AutoModelForImageTextToText.from_pretrained(tmp_path / "stage2" / "merged")
    assert merged.config.num_video_tokens == 8
