"""The paper's ablation in miniature (Tab. 2, 4, 5): video tokenizers compared on the synthetic set and recipe.

Every variant starts from the SAME image-LLM, trained once by the miniature recipe (`examples/mini_recipe.py`,
its settings and seed 0), and then goes through the recipe's stage 1 and stage 2 with its own tokenizer; only the
tokenizer differs. Each (variant, seed) runs in its own process; the seed sets the tokenizer's initialisation, the
LoRA initialisation and the data order. Reported: validation accuracy on time-only and single-frame video questions.

Variants (paper names):
- `avg`: one token per frame, the frame's mean (Tab. 2 "Avg"); `llama_vid`: LLaMA-VID's context + content tokens;
- `svr_only`: SVR + MTP, no TTA queries (Tab. 2); `tta_only`: TTA over every token, no SVR (Tab. 2);
- `full`: LinVT (SVR + TTA, Multi-C) as the recipe builds it; `single`, `multi_a`, `multi_b`: Tab. 4's variants;
- `no_text`: TTA without the question (Tab. 5); `no_prior`: without `temporal_prior` (ours, not in the paper).

    python benchmarks/bench_ablation.py --output-dir runs/ablation --seeds 0 1 2 --jobs 2 --json-out ablation.json
    python benchmarks/bench_ablation.py --load-json ablation.json        # the table again, from saved rows
    python benchmarks/bench_ablation.py --smoke                          # seconds; what CI runs
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see examples/mini_recipe.py

import argparse
import importlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import mean, stdev
from typing import Any

from _shared import machine

# LinVTConfig overrides of each variant, on top of the recipe's LinVT settings.
VARIANTS: dict[str, dict[str, Any]] = {
    "avg": {"video_tokenizer_type": "avg"},
    "llama_vid": {"video_tokenizer_type": "llama_vid"},
    "svr_only": {"use_tta": False},
    "tta_only": {"use_svr": False},
    "full": {},
    "single": {"multiscale": "single"},
    "multi_a": {"multiscale": "multi_a"},
    "multi_b": {"multiscale": "multi_b"},
    "no_text": {"text_condition": False},
    "no_prior": {"temporal_prior": 0.0},
}
TABLES = {
    "Tab. 2 (components)": ("avg", "llama_vid", "svr_only", "tta_only", "full"),
    "Tab. 4 (multi-scale)": ("single", "multi_a", "multi_b", "full"),
    "Tab. 5 (text condition) and the temporal prior": ("no_text", "no_prior", "full"),
}


def load_recipe():
    """`linvt_hf.recipe` (the benchmark re-uses its data, models, stages and evaluation), imported when a function
    needs it, as torch is."""
    return importlib.import_module("linvt_hf.recipe")


# The recipe settings of the ablation: InternVL (its vision tokens carry absolute positions, which direction
# questions need), reading-comprehension text data (the image-LLM knows the answer words), the temporal prior, and
# stage-2 samples that ask all of a video's questions (TTA is conditioned on the first one only).
# RecipeArguments overrides; none by default: the ablation runs the recipe as it is.
RECIPE_SETTINGS: dict[str, Any] = {}


def recipe_arguments(
    recipe, output_dir: str, smoke: bool, seed: int, stage2_steps: int | None, threads: int, settings: dict
):
    args = recipe.RecipeArguments(output_dir=output_dir, smoke=smoke, seed=seed, num_threads=threads, **settings)
    if stage2_steps is not None and not smoke:
        args.stage2_steps = stage2_steps
    return args


def prepare(output_dir: str, smoke: bool, settings: dict) -> None:
    """Data and the shared image-LLM (recipe seed 0, the recipe's thread count, as the recipe itself trains it),
    unless they are already in `output_dir`."""
    import torch
    from transformers import set_seed

    from linvt_hf.data import generate_synthetic_video_qa

    recipe = load_recipe()
    args = recipe_arguments(recipe, output_dir, smoke, 0, None, recipe.RecipeArguments.num_threads, settings)
    torch.set_num_threads(args.num_threads)
    out = Path(output_dir)
    if not (out / "data" / "specs.jsonl").exists():
        generate_synthetic_video_qa(out / "data", args.num_train_videos, args.num_validation_videos, seed=0)
    if (out / "image_llm" / "config.json").exists():
        return
    set_seed(0)
    processor = recipe.build_processor(args)
    image_llm, _ = recipe.train_image_llm(args, processor, out / "data")
    recipe.save_image_llm(image_llm, processor, out / "image_llm")


def run_variant(
    variant: str, seed: int, output_dir: str, smoke: bool, stage2_steps: int | None, threads: int, settings: dict
) -> dict:
    """Runs in the child: stage 1 + stage 2 of one variant from the shared image-LLM; returns its scores."""
    import torch
    from transformers import AutoModelForImageTextToText, set_seed

    from linvt_hf import FAMILIES, LinVTConfig
    from linvt_hf.modeling.configuration_linvt import linvt_settings
    from linvt_hf.modeling.video_tokenizer import video_tokenizer_class

    recipe = load_recipe()
    args = recipe_arguments(recipe, output_dir, smoke, seed, stage2_steps, threads, settings)
    args.output_dir = str(Path(output_dir) / "runs" / f"{variant}-{seed}")
    torch.set_num_threads(threads)
    data_dir = Path(output_dir) / "data"
    started = time.perf_counter()
    processor = recipe.build_processor(args, tokenizer=recipe.image_llm_tokenizer(Path(output_dir) / "image_llm"))
    image_llm = AutoModelForImageTextToText.from_pretrained(Path(output_dir) / "image_llm")
    config = LinVTConfig(**{**linvt_settings(recipe.linvt_config(args)), **VARIANTS[variant]})
    if config.video_tokenizer_type != "linvt":
        processor.video_tokens_per_frame = video_tokenizer_class(config).num_output_tokens(config, 1)
    set_seed(seed)
    model = FAMILIES[args.backbone].for_generation_class.from_backbone(
        image_llm, video_tokenizer_config=config, video_token_id=processor.video_token_id
    )
    records = recipe.read_jsonl(data_dir / "validation_qa.jsonl")
    with recipe.sampled_videos_kept(processor):
        recipe.train_stage1(args, model, processor, data_dir)
        model = recipe.train_stage2(args, model, processor, data_dir)
        scores = recipe.evaluate(model, processor, recipe.video_items(records, data_dir), args.eval_batch_size)
    return {
        "variant": variant,
        "seed": seed,
        "scores": scores,
        "chance": recipe.chance(records),
        "stage2_steps": args.stage2_steps,
        "recipe": settings,
        "wall_s": round(time.perf_counter() - started, 1),
    }


def run_all(options: argparse.Namespace) -> list[dict]:
    """Every (variant, seed) in a child process, `options.jobs` at a time."""
    prepare(options.output_dir, options.smoke, options.recipe)
    pending = [(v, s) for s in options.seeds for v in options.variants]
    running: list[tuple[subprocess.Popen, dict]] = []
    rows = []
    while pending or running:
        while pending and len(running) < options.jobs:
            variant, seed = pending.pop(0)
            spec = dict(variant=variant, seed=seed, output_dir=options.output_dir, smoke=options.smoke,
                        stage2_steps=options.stage2_steps, threads=options.threads, settings=options.recipe)
            log = open(Path(options.output_dir) / f"{variant}-{seed}.log", "w")
            child = subprocess.Popen([sys.executable, __file__, "--child", json.dumps(spec)], stdout=subprocess.PIPE,
                                     stderr=log, text=True)
            running.append((child, spec))
        time.sleep(1.0)
        for child, spec in list(running):
            if child.poll() is None:
                continue
            running.remove((child, spec))
            lines = child.stdout.read().strip().splitlines()
            row = json.loads(lines[-1]) if child.returncode == 0 and lines else {**spec, "error": f"exit {child.returncode}"}
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def summarise(rows: list[dict]) -> str:
    """Markdown tables: accuracy (%) as mean and standard deviation over seeds, per variant."""
    good = [r for r in rows if "error" not in r]
    if not good:
        return "no successful runs"
    chance = good[0]["chance"]
    columns = ("time_only", "direction", "size", "shots", "visibility", "single_frame")
    lines = []
    for title, variants in TABLES.items():
        lines += [f"**{title}**", "", "| variant | seeds | " + " | ".join(c.replace("_", "-") for c in columns) + " |",
                  "|" + "---|" * (len(columns) + 2)]
        lines.append("| chance | | " + " | ".join(f"{100 * chance.get(c, 0):.0f}" for c in columns) + " |")
        for variant in variants:
            runs = [r for r in good if r["variant"] == variant]
            if not runs:
                continue
            cells = []
            for column in columns:
                values = [100 * r["scores"][column] for r in runs if column in r["scores"]]
                spread = f" ± {stdev(values):.0f}" if len(values) > 1 else ""
                cells.append(f"{mean(values):.0f}{spread}" if values else "")
            lines.append(f"| {variant} | {len(runs)} | " + " | ".join(cells) + " |")
        lines.append("")
    failed = [r for r in rows if "error" in r]
    if failed:
        lines.append("Failed runs: " + ", ".join(f"{r['variant']} seed {r['seed']} ({r['error']})" for r in failed))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output-dir", help="data, image-LLM and logs (default: ablation_output; smoke: a temp dir)")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--stage2-steps", type=int, default=None, help="default: the recipe's")
    parser.add_argument("--recipe", type=json.loads, default=RECIPE_SETTINGS,
                        help=f"RecipeArguments overrides as JSON (default {json.dumps(RECIPE_SETTINGS)})")
    parser.add_argument("--jobs", type=int, default=1, help="variants trained at once (one process each)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads per job (default: 2 / jobs)")
    parser.add_argument("--json-out")
    parser.add_argument("--load-json", nargs="+", help="print the tables from saved rows instead of running")
    parser.add_argument("--smoke", action="store_true", help="the recipe's smoke sizes, two variants, one seed")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        print(json.dumps(run_variant(**json.loads(options.child))))
        return
    if options.load_json:
        rows = [row for path in options.load_json for row in json.loads(Path(path).read_text())["rows"]]
        print(summarise(rows))
        return
    if options.jobs < 1:
        parser.error(f"--jobs must be >= 1, got {options.jobs}")
    if options.threads is None:
        options.threads = max(1, 2 // options.jobs)
    if options.smoke:
        options.variants, options.seeds = ["avg", "svr_only", "full"], [0]
    if options.output_dir is None:
        options.output_dir = tempfile.mkdtemp(prefix="ablation-") if options.smoke else "ablation_output"
    Path(options.output_dir).mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    rows = run_all(options)
    print(f"\n{machine()}; {time.perf_counter() - started:.0f} s in all\n")
    print(summarise(rows))
    if options.json_out:
        Path(options.json_out).write_text(json.dumps({"machine": machine(), "rows": rows}, indent=2))
    if any("error" in r for r in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
