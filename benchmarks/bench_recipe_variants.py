"""Recipe variants from one image-LLM: LinVT and stage options compared without re-training the image-LLM each time.

`examples/mini_recipe.py` trains the data set and the image-LLM before LinVT's two stages; the options that decide
the video result (queries, top-k share, temporal prior, LoRA rank, stage steps and rates) only act after it. This
script trains the data and the image-LLM once into `--work-dir` (the recipe's own functions, the recipe's options
given in `--base`), then, for each `--variant NAME="--option value ..."`, converts it with `from_backbone`, runs
stage 1 and stage 2 and scores the validation videos and still images, exactly as the recipe does, and writes one
JSON per variant and a Markdown table.

    python benchmarks/bench_recipe_variants.py --work-dir /tmp/variants --prepare-only   # add --base="--option v"
    python benchmarks/bench_recipe_variants.py --work-dir /tmp/variants --num-threads 1 \
        --variant defaults="" --variant q16="--num_queries 16,8,4 --min_tokens_per_frame 0"

`--probe-every N` also scores the validation time-only questions every N stage-2 steps (printed as `probe` rows and
kept in the variant's JSON): when each skill is learned, or that it never is.
`--prepare-only` lets two processes (one thread each: as fast per run as two threads on this tiny model) share
one prepared work dir. Figures differ from a full recipe run by float-rounding noise only (thread count, and the
image-LLM reloaded from disk: see RESULTS.md on how far such noise moves the time-only accuracy).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import tempfile
import time
from dataclasses import fields
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as in the recipe: idle threads sleep

import torch  # noqa: E402
from transformers import AutoModelForImageTextToText, HfArgumentParser, set_seed  # noqa: E402

from linvt_hf import recipe  # noqa: E402
from linvt_hf.data import TIME_ONLY_TYPES, generate_synthetic_video_qa  # noqa: E402

# Options a variant may change: they act after the image-LLM. Anything else belongs in --base.
VARIANT_OPTIONS = {
    "seed", "linvt_width", "linvt_layers", "num_queries", "top_k_tokens", "min_tokens_per_frame", "temporal_prior",
    "temporal_prior_clock",
    "batch_size", "stage1_steps", "stage1_lr", "contrastive_weight", "stage2_steps", "multi_turn_qa",
    "stage2_image_share", "stage2_lr", "lora_rank", "num_frames", "shot_detector",
}


def parse_recipe_args(argv: list[str], output_dir: Path) -> recipe.RecipeArguments:
    (args,) = HfArgumentParser(recipe.RecipeArguments).parse_args_into_dataclasses(
        args=["--output_dir", str(output_dir), *argv]
    )
    return args


def variant_args(base_argv: list[str], name: str, argv: list[str], work_dir: Path) -> recipe.RecipeArguments:
    """The base options with the variant's after them (the last one given wins); refuses a variant that changes
    an option acting on the image-LLM, which would need another work dir."""
    base = parse_recipe_args(base_argv, work_dir / name)
    args = parse_recipe_args([*base_argv, *argv], work_dir / name)
    changed = {f.name for f in fields(args) if getattr(args, f.name) != getattr(base, f.name)}
    if changed - VARIANT_OPTIONS:
        raise ValueError(
            f"variant {name!r} changes {sorted(changed - VARIANT_OPTIONS)}, which act on the image-LLM: "
            "give them in --base (with their own --work-dir)"
        )
    return args


def prepare(base: recipe.RecipeArguments, work_dir: Path) -> None:
    """Data set and image-LLM, once per work dir."""
    data_dir, llm_dir = work_dir / "data", work_dir / "image_llm"
    if not (data_dir / "specs.jsonl").exists():
        generate_synthetic_video_qa(data_dir, base.num_train_videos, base.num_validation_videos, seed=base.seed)
    if not (llm_dir / "config.json").exists():
        set_seed(base.seed)
        processor = recipe.build_processor(base)
        image_llm, _ = recipe.train_image_llm(base, processor, data_dir)
        recipe.save_image_llm(image_llm, processor, llm_dir)


def run_variant(args: recipe.RecipeArguments, work_dir: Path, probe_every: int = 0) -> dict:
    """Stage 1 and 2 from the prepared image-LLM, then the scores; with `probe_every` > 0 also the accuracy on the
    validation time-only questions every that many stage-2 steps (`"probe"`)."""
    data_dir = work_dir / "data"
    processor = recipe.build_processor(args, tokenizer=recipe.image_llm_tokenizer(work_dir / "image_llm"))
    image_llm = AutoModelForImageTextToText.from_pretrained(work_dir / "image_llm")
    videos = recipe.video_items(recipe.read_jsonl(data_dir / "validation_qa.jsonl"), data_dir)
    images = recipe.image_items(recipe.read_jsonl(data_dir / "validation_image_qa.jsonl"), data_dir)
    Path(args.output_dir).mkdir(parents=True, exist_ok=True)
    model = recipe.convert_image_llm(args, image_llm, processor)  # seeded by args.seed
    started = time.perf_counter()
    with recipe.sampled_videos_kept(processor), recipe.frame_tokens_kept(model):
        recipe.train_stage1(args, model, processor, data_dir)
        probes = []
        if probe_every > 0:
            time_only = [item for item in videos if item.question_type in TIME_ONLY_TYPES]
            probes.append(recipe.AccuracyProbe(processor, time_only, probe_every, args.eval_batch_size))
        model = recipe.train_stage2(args, model, processor, data_dir, callbacks=probes)
        training_s = time.perf_counter() - started
        video = recipe.evaluate(model, processor, videos, args.eval_batch_size)
        image = recipe.evaluate(model, processor, images, args.eval_batch_size)
    result = {"video": video, "image": image, "training_s": round(training_s, 1)}
    if probes:
        result["probe"] = probes[0].history
    return result


def table_row(name: str, argv: str, result: dict) -> str:
    video, image = result["video"], result["image"]
    cells = [video.get(k) for k in ("time_only", *TIME_ONLY_TYPES, "single_frame")]
    cells += [image.get("single_frame"), image.get("frame")]
    shown = " | ".join("" if c is None else f"{100 * c:.0f}" for c in cells)
    return f"| {name} | `{argv}` | {shown} | {result['training_s']:.0f} |"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work-dir", type=Path, help="required unless --smoke (then a temporary directory)")
    parser.add_argument("--base", default="", help="recipe options for the data and the image-LLM")
    parser.add_argument("--variant", action="append", default=[], help='NAME="--option value ..." (repeatable)')
    parser.add_argument("--num-threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--prepare-only", action="store_true")
    parser.add_argument(
        "--probe-every", type=int, default=0,
        help="also score the validation time-only questions every N stage-2 steps (when each skill is learned; "
        "training is unchanged; the time counts in 'stages 1+2')",
    )
    parser.add_argument("--smoke", action="store_true", help="the recipe's --smoke sizes, one variant: seconds")
    options = parser.parse_args(argv)
    if options.smoke:
        options.base = f"--smoke {options.base}"
        options.variant = options.variant or ["fewer_queries=--num_queries 8,4,4"]
        options.probe_every = options.probe_every or 1
        if options.work_dir is None:
            with tempfile.TemporaryDirectory(prefix="recipe_variants_") as work_dir:
                options.work_dir = Path(work_dir)
                return compare(options)
    if options.probe_every < 0:
        parser.error(f"--probe-every must be >= 0, got {options.probe_every}")
    if options.work_dir is None:
        parser.error("--work-dir is required (unless --smoke)")
    compare(options)


def compare(options: argparse.Namespace) -> None:
    """Prepare the work dir, then train and score each variant in turn."""
    torch.set_num_threads(options.num_threads)
    base_argv = shlex.split(options.base)
    base = parse_recipe_args(base_argv, options.work_dir)
    variants = []
    for spec in options.variant:
        name, sep, rest = spec.partition("=")
        if not sep or not name.isidentifier():
            raise ValueError(f'--variant must be NAME="--option value ...", got {spec!r}')
        variants.append((name, rest, variant_args(base_argv, name, shlex.split(rest), options.work_dir)))
    prepare(base, options.work_dir)
    if options.prepare_only:
        return
    rows = []
    for name, rest, args in variants:
        result = run_variant(args, options.work_dir, options.probe_every)
        (options.work_dir / name / "variant.json").write_text(json.dumps({"options": rest, **result}, indent=1))
        rows.append(table_row(name, rest, result))
        print(rows[-1], flush=True)
    header = "| variant | options | time-only | " + " | ".join(TIME_ONLY_TYPES)
    print(header + " | single-frame (video) | single-frame (image) | frame (image) | stages 1+2 (s) |")
    print("|---" * 11 + "|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
