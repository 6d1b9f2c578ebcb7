"""Where a LinVT model's answers on the synthetic set go wrong: accuracy per question type split by what the video
shows (number of shots, whether the object appears or disappears, growth), and each type's confusion counts.

The model defaults to the shipped demo model and the data to the recipe's own validation set (the seed-0 synthetic
set at the recipe's sizes, generated into a temporary folder: about a minute), so with no arguments this explains
the demo model's time-only score:

    python benchmarks/bench_answer_breakdown.py                     # the demo model on its validation videos
    python benchmarks/bench_answer_breakdown.py --model mini_recipe_output/final_model \
        --data-dir mini_recipe_output/data                          # a recipe run's model on its own data
"""

from __future__ import annotations

import argparse
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

import torch
from transformers import AutoModelForImageTextToText, AutoProcessor

from linvt_hf import recipe
from linvt_hf.assets import demo_model_path
from linvt_hf.data import TIME_ONLY_TYPES, generate_synthetic_video_qa

# Video properties (fields of specs.jsonl) the answers are split by.
PROPERTIES = {
    "shots": lambda spec: str(len(spec["shot_lengths"])),
    "visibility": lambda spec: spec["visibility"],
    "size trend": lambda spec: spec["size_trend"],
}


def answers(model_path: Path, data_dir: Path, batch_size: int) -> list[dict]:
    """One row per validation time-only question: its type, gold answer, the model's answer and the video's spec."""
    for name in ("specs.jsonl", "validation_qa.jsonl"):
        if not (data_dir / name).is_file():
            raise FileNotFoundError(f"--data-dir {data_dir} has no {name}: it is not a synthetic set's folder")
    model = AutoModelForImageTextToText.from_pretrained(model_path).eval()
    processor = AutoProcessor.from_pretrained(model_path)
    records = [r for r in recipe.read_jsonl(data_dir / "validation_qa.jsonl") if r["question_type"] in TIME_ONLY_TYPES]
    if not records:
        raise ValueError(f"{data_dir / 'validation_qa.jsonl'} holds no time-only questions")
    specs = {spec["name"]: spec for spec in recipe.read_jsonl(data_dir / "specs.jsonl")}
    items = recipe.video_items(records, data_dir)
    predictions: list[str] = []
    with torch.inference_mode():
        for start in range(0, len(items), batch_size):
            predictions += recipe.answer(model, processor, items[start : start + batch_size])
    return [
        {"type": item.question_type, "gold": item.answer, "answer": prediction, "spec": specs[Path(r["video"]).stem]}
        for r, item, prediction in zip(records, items, predictions)
    ]


def breakdown_table(rows: list[dict]) -> str:
    """Markdown: per question type and property value, right answers / questions (%)."""
    lines = ["| question | split by | value | right | % |", "|---|---|---|---:|---:|"]
    for kind in TIME_ONLY_TYPES:
        of_kind = [row for row in rows if row["type"] == kind]
        if not of_kind:
            continue
        right = sum(row["answer"] == row["gold"] for row in of_kind)
        lines.append(f"| {kind} | all |  | {right}/{len(of_kind)} | {100 * right / len(of_kind):.0f} |")
        for name, value_of in PROPERTIES.items():
            groups: dict[str, list[bool]] = defaultdict(list)
            for row in of_kind:
                groups[value_of(row["spec"])].append(row["answer"] == row["gold"])
            for value, hits in sorted(groups.items()):
                share = 100 * sum(hits) / len(hits)
                lines.append(f"| {kind} | {name} | {value} | {sum(hits)}/{len(hits)} | {share:.0f} |")
    return "\n".join(lines)


def confusion_table(rows: list[dict]) -> str:
    """Markdown: per question type, how often each gold answer got each answer."""
    lines = ["| question | right answer | answered (count) |", "|---|---|---|"]
    for kind in TIME_ONLY_TYPES:
        counts = Counter((row["gold"], row["answer"]) for row in rows if row["type"] == kind)
        for gold in sorted({g for g, _ in counts}):
            given = ", ".join(f"{a or '(nothing)'} {n}" for (g, a), n in counts.most_common() if g == gold)
            lines.append(f"| {kind} | {gold} | {given} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=None, help="a saved LinVT model + processor (default: the demo)")
    parser.add_argument(
        "--data-dir", type=Path, default=None,
        help="a synthetic set's folder (specs.jsonl, validation_qa.jsonl; default: the recipe's seed-0 set, generated)",
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--num-threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--smoke", action="store_true", help="6 generated validation videos: seconds")
    options = parser.parse_args(argv)
    if options.batch_size < 1:
        parser.error(f"--batch-size must be >= 1, got {options.batch_size}")
    torch.set_num_threads(options.num_threads)
    model_path = options.model or demo_model_path()
    with tempfile.TemporaryDirectory(prefix="answer_breakdown_") as scratch:
        data_dir = options.data_dir
        if data_dir is None:
            data_dir = Path(scratch)
            defaults = recipe.RecipeArguments()
            sizes = (2, 6) if options.smoke else (defaults.num_train_videos, defaults.num_validation_videos)
            generate_synthetic_video_qa(data_dir, *sizes, seed=defaults.seed)
        rows = answers(model_path, data_dir, options.batch_size)
    print(f"model: {model_path}\n")
    print(breakdown_table(rows))
    print()
    print(confusion_table(rows))


if __name__ == "__main__":
    main()
