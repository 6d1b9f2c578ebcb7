"""Can the image-LLM's own LLM learn to count a video's shots when it sees every token of its frames?

The recipe's LinVT models answer the other time-only questions but not "How many shots does the video have?". This
asks whether the limit is LinVT's compression or the LLM: the prepared image-LLM of a `bench_recipe_variants.py`
work dir is trained on the shot questions alone, each video given as `--frames` still frames (sampled as LinVT's
processor samples them, shot-aware) with all their tokens, and scored on the validation videos the same way.
`--mode lora` trains what stage 2 trains in the LLM (a LoRA of `--lora-rank` on its linear layers, at the stage-2
rate); `--mode full` trains all of the LLM's weights (at the image-LLM's rate). The vision encoder and projector stay
frozen. Accuracy on 200 of the training questions says whether the model can even fit them.

    python benchmarks/bench_recipe_variants.py --work-dir /tmp/variants --prepare-only
    python benchmarks/bench_llm_counting.py --work-dir /tmp/variants --mode lora --num-threads 1
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from peft import LoraConfig, get_peft_model  # noqa: E402
from transformers import AutoModelForImageTextToText, Trainer, set_seed  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_recipe_variants as variants  # noqa: E402

from linvt_hf import recipe  # noqa: E402
from linvt_hf.training import VideoInstructionCollator, load_video_instruction_data  # noqa: E402
from linvt_hf.training.stages import linear_layers_regex  # noqa: E402

QUESTION_TYPE = "shots"


def shot_questions(data_dir: Path, split: str) -> list[dict]:
    """The QA records of `split` that ask for the number of shots."""
    records = [r for r in recipe.read_jsonl(data_dir / f"{split}_qa.jsonl") if r["question_type"] == QUESTION_TYPE]
    if not records:
        raise ValueError(f"{data_dir / f'{split}_qa.jsonl'} holds no {QUESTION_TYPE!r} questions")
    return records


def write_frame_records(processor, data_dir: Path, questions: list[dict], frames: int, out_dir: Path) -> list[dict]:
    """Each question as an image chat: `frames` frames sampled as `recipe.frames_as_images_items` samples them (the
    scoring's input), saved as .npy, one <image> marker each."""
    out_dir.mkdir(parents=True, exist_ok=True)
    records = []
    for record in questions:
        sampled = processor.video_processor.sample(str(data_dir / record["video"]), num_frames=frames).frames
        paths = []
        for i, frame in enumerate(sampled):
            path = out_dir / f"{Path(record['video']).stem}-{i}.npy"
            np.save(path, frame)
            paths.append(str(path))
        question = "<image>\n" * len(paths) + recipe.question_text(record)
        answer = record["conversations"][1]["value"]
        records.append({"id": record["id"], "image": paths, "conversations": [
            {"from": "human", "value": question}, {"from": "gpt", "value": answer}]})
    return records


def run(options: argparse.Namespace) -> dict:
    args = variants.parse_recipe_args(["--smoke"] if options.smoke else [], options.work_dir / "counting")
    data_dir, llm_dir = options.work_dir / "data", options.work_dir / "image_llm"
    if not (llm_dir / "config.json").is_file():
        raise FileNotFoundError(
            f"--work-dir {options.work_dir} has no prepared image-LLM (image_llm/config.json): run "
            "bench_recipe_variants.py --work-dir ... --prepare-only first"
        )
    processor = recipe.build_processor(args, tokenizer=recipe.image_llm_tokenizer(llm_dir))
    train, validation = shot_questions(data_dir, "train"), shot_questions(data_dir, "validation")
    frames_dir = options.work_dir / "counting" / f"frames{options.frames}"
    records = write_frame_records(processor, data_dir, train, options.frames, frames_dir)
    train_file = recipe.write_jsonl(records, options.work_dir / "counting" / f"train_{options.frames}.jsonl")

    set_seed(args.seed)
    model = AutoModelForImageTextToText.from_pretrained(llm_dir)
    model.requires_grad_(False)
    if options.mode == "lora":
        lora = LoraConfig(
            r=options.lora_rank, lora_alpha=2 * options.lora_rank, lora_dropout=0.0,
            target_modules=linear_layers_regex(model, model.model.language_model),
        )
        trained, lr = get_peft_model(model, lora), args.stage2_lr
    else:
        model.model.language_model.requires_grad_(True)
        trained, lr = model, args.image_llm_lr
    steps = 2 if options.smoke else options.steps
    trainer = Trainer(
        model=trained,
        args=recipe.training_arguments(args, f"counting_{options.mode}", steps, lr),
        train_dataset=load_video_instruction_data([str(train_file)]),
        data_collator=recipe.image_llm_collator(VideoInstructionCollator(processor, video_root=data_dir)),
    )
    started = time.perf_counter()
    trainer.train()
    training_s = time.perf_counter() - started
    scored = trained.merge_and_unload() if options.mode == "lora" else trained

    def score(questions: list[dict]) -> float:
        items = recipe.frames_as_images_items(questions, data_dir, processor, options.frames)
        return recipe.evaluate(scored, processor, items, 32, image_llm_only=True)[QUESTION_TYPE]

    return {"validation": score(validation), "training": score(train[:200]), "training_s": training_s, "steps": steps}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work-dir", type=Path, help="a prepared bench_recipe_variants.py work dir (not with --smoke)")
    parser.add_argument("--mode", choices=("lora", "full"), default="lora")
    parser.add_argument("--frames", type=int, default=8, help="frames per video, each given as an image")
    parser.add_argument("--steps", type=int, default=800)
    parser.add_argument("--lora-rank", type=int, default=16)
    parser.add_argument("--num-threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--smoke", action="store_true", help="a toy work dir and 2 steps: seconds")
    options = parser.parse_args(argv)
    for name in ("frames", "steps", "lora_rank"):
        if getattr(options, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(options, name)}")
    torch.set_num_threads(options.num_threads)
    if options.smoke:
        with tempfile.TemporaryDirectory(prefix="llm_counting_") as work_dir:
            options.work_dir = Path(work_dir)
            variants.prepare(variants.parse_recipe_args(["--smoke"], options.work_dir), options.work_dir)
            result = run(options)
    elif options.work_dir is None:
        parser.error("--work-dir is required (unless --smoke)")
    else:
        result = run(options)
    print("| mode | frames as images | steps | shots, validation | shots, 200 training questions | training (s) |")
    print("|---|---|---|---|---|---|")
    print(
        f"| {options.mode} | {options.frames} | {result['steps']} | {100 * result['validation']:.0f} | "
        f"{100 * result['training']:.0f} | {result['training_s']:.0f} |"
    )


if __name__ == "__main__":
    main()
