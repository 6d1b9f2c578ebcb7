"""The whole recipe (`run`) and its command line (`main`): data, image-LLM, its evaluation, conversion, the two
stages with an evaluation after each, and the results, model card and final model written to `output_dir`."""

from __future__ import annotations

import json
import shlex
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import torch
from transformers import HfArgumentParser, PreTrainedModel, set_seed

from ..data import TIME_ONLY_TYPES, generate_synthetic_video_qa
from ..modeling import LinVTForConditionalGeneration
from ..processing import LinVTProcessorMixin
from .arguments import RecipeArguments
from .caching import frame_tokens_kept, sampled_videos_kept
from .data import read_jsonl
from .evaluation import EvalItem, chance, evaluate, frames_as_images_items, image_items, video_items
from .image_llm_training import train_image_llm
from .processor import build_processor
from .report import Clock, markdown_table, model_card
from .stages import convert_image_llm, train_stage1, train_stage2

# How `python -m linvt_hf.recipe` is written in the results and the model card.
PROGRAM = "python -m linvt_hf.recipe"


@dataclass
class ValidationSets:
    """What the recipe scores: the video questions (`records`, and as `videos`), the still-frame questions
    (`images`), the picture sets (`pictures`) and the time-only video questions as `image_frames` frames given to
    the image-LLM as images (`frames`)."""

    records: list[dict[str, Any]]
    videos: list[EvalItem]
    images: list[EvalItem]
    pictures: list[EvalItem]
    frames: list[EvalItem]


def run(args: RecipeArguments, command: str | None = None) -> dict[str, Any]:
    """The whole recipe; returns the results (also written to `output_dir/results.json`). `command` is how it was
    started, as the results and the model card give it (default: `recipe_command(args)`)."""
    torch.set_num_threads(args.num_threads)
    set_seed(args.seed)
    out = Path(args.output_dir)
    data_dir = out / "data"
    clock = Clock()
    if not (data_dir / "specs.jsonl").exists():
        generate_synthetic_video_qa(data_dir, args.num_train_videos, args.num_validation_videos, seed=args.seed)
    clock.lap("data")

    processor = build_processor(args)
    image_llm, vision_accuracy = train_image_llm(args, processor, data_dir, clock)
    sets = validation_sets(args, data_dir, processor)
    evaluations: list[dict[str, Any]] = []
    evaluate_image_llm(args, image_llm, processor, sets, evaluations)
    clock.lap("image_llm_eval")

    model = train_and_evaluate_linvt(args, image_llm, processor, data_dir, sets, evaluations, clock)
    final = out / "final_model"
    model.save_pretrained(final)
    processor.save_pretrained(final)
    clock.lap("save")

    results = {
        "command": recipe_command(args) if command is None else command,
        "arguments": {f.name: getattr(args, f.name) for f in fields(args)},
        "chance": chance(
            sets.records
            + read_jsonl(data_dir / "validation_image_qa.jsonl")
            + read_jsonl(data_dir / "validation_multi_image_qa.jsonl")
        ),
        "vision_pretraining_accuracy": vision_accuracy,
        "evaluations": evaluations,
        "wall_time_s": {**clock.phases, "total": round(time.perf_counter() - clock.started, 1)},
        "model_size_bytes": sum(f.stat().st_size for f in final.iterdir() if f.is_file()),
        "num_parameters": sum(p.numel() for p in model.parameters()),
    }
    write_results(args, results, out)
    return results


def validation_sets(args: RecipeArguments, data_dir: Path, processor: LinVTProcessorMixin) -> ValidationSets:
    """The validation questions of the synthetic set in `data_dir`, as `EvalItem`s."""
    records = read_jsonl(data_dir / "validation_qa.jsonl")
    time_records = [r for r in records if r["question_type"] in TIME_ONLY_TYPES]
    return ValidationSets(
        records=records,
        videos=video_items(records, data_dir),
        images=image_items(read_jsonl(data_dir / "validation_image_qa.jsonl"), data_dir),
        pictures=image_items(read_jsonl(data_dir / "validation_multi_image_qa.jsonl"), data_dir),
        frames=frames_as_images_items(time_records, data_dir, processor, args.image_frames),
    )


def record(evaluations: list[dict[str, Any]], model_name: str, input_name: str, scores: dict[str, Any]) -> None:
    """Add one evaluation row (`model`, `input`, `scores`) to `evaluations` and print it."""
    evaluations.append({"model": model_name, "input": input_name, "scores": scores})
    rounded = {k: round(v, 3) for k, v in scores.items() if k != "counts"}
    print(f"{model_name:12s} {input_name:32s} " + json.dumps(rounded))


def evaluate_image_llm(
    args: RecipeArguments,
    image_llm: PreTrainedModel,
    processor: LinVTProcessorMixin,
    sets: ValidationSets,
    evaluations: list[dict[str, Any]],
) -> None:
    """The image-LLM on still frames, picture sets and time-only questions with frames as images (its only way to
    see a video), recorded in `evaluations`."""
    bs = args.eval_batch_size
    images = evaluate(image_llm, processor, sets.images, bs, image_llm_only=True)
    record(evaluations, "image-LLM", "frame as image", images)
    if sets.pictures:
        pictures = evaluate(image_llm, processor, sets.pictures, bs // 4, True)
        record(evaluations, "image-LLM", "3-8 frames as images", pictures)
    frames = evaluate(image_llm, processor, sets.frames, bs // 4, True)
    record(evaluations, "image-LLM", f"{args.image_frames} frames as images", frames)


def train_and_evaluate_linvt(
    args: RecipeArguments,
    image_llm: PreTrainedModel,
    processor: LinVTProcessorMixin,
    data_dir: Path,
    sets: ValidationSets,
    evaluations: list[dict[str, Any]],
    clock: Clock,
) -> LinVTForConditionalGeneration:
    """`image_llm` converted, then stage 1 (scored on videos) and stage 2 (scored on videos, still frames and picture
    sets), each scoring recorded in `evaluations`; returns the final (merged) model."""
    bs = args.eval_batch_size
    model = convert_image_llm(args, image_llm, processor)
    with sampled_videos_kept(processor), frame_tokens_kept(model):  # merge_stage2 gives back the same model
        train_stage1(args, model, processor, data_dir)
        clock.lap("stage1_training")
        videos = f"video ({args.num_frames} frames)"
        record(evaluations, "LinVT stage 1", videos, evaluate(model, processor, sets.videos, bs))
        clock.lap("stage1_eval")

        model = train_stage2(args, model, processor, data_dir)
        clock.lap("stage2_training")
        record(evaluations, "LinVT stage 2", videos, evaluate(model, processor, sets.videos, bs))
        record(evaluations, "LinVT stage 2", "frame as image", evaluate(model, processor, sets.images, bs))
        if sets.pictures:
            pictures = evaluate(model, processor, sets.pictures, bs // 4)
            record(evaluations, "LinVT stage 2", "3-8 frames as images", pictures)
        clock.lap("stage2_eval")
    return model


def write_results(args: RecipeArguments, results: dict[str, Any], out: Path) -> None:
    """`results.json` in `out`, the model card in `out/final_model` (copied to `save_model_to` if set), and the
    accuracy table printed."""
    final = out / "final_model"
    (out / "results.json").write_text(json.dumps(results, indent=2))
    (final / "README.md").write_text(model_card(results))
    if args.save_model_to:
        shutil.copytree(final, args.save_model_to, dirs_exist_ok=True)
    print(markdown_table(results))


def recipe_command(args: RecipeArguments, program: str = PROGRAM) -> str:
    """A command line that reproduces `args`: `program` and each setting that differs from its default. A smoke
    run's settings are spelled out instead of `--smoke`, which would override any of them changed after it."""
    defaults = RecipeArguments()
    flags = [
        f"--{f.name} {shlex.quote(str(getattr(args, f.name)))}"
        for f in fields(args)
        if f.name != "smoke" and getattr(args, f.name) != getattr(defaults, f.name)
    ]
    return " ".join([program, *flags])


def main(argv: Sequence[str] | None = None, program: str = PROGRAM) -> dict[str, Any]:
    """The recipe from the command line `argv` (default: `sys.argv[1:]`), recorded as `program` and `argv`."""
    argv = sys.argv[1:] if argv is None else list(argv)
    (args,) = HfArgumentParser(RecipeArguments, prog=program).parse_args_into_dataclasses(args=argv)
    return run(args, command=f"{program} " + " ".join(argv))
