"""The paper's ablations in miniature (Tab. 2, 3, 4, 5, 12) on the synthetic set and the recipe that learns.

Every variant starts from the SAME image-LLM, trained once by the miniature recipe (`python -m linvt_hf.recipe`,
its settings and seed 0), and then goes through the recipe's stage 1 and stage 2 with its own video tokenizer (or,
for Tab. 3, with the image-LLM's projector re-initialised); nothing else differs. Each (variant, seed) runs in its
own process; the seed sets the tokenizer's initialisation, the LoRA initialisation and the data order. Reported:
validation accuracy per video question group and on still images after stage 2, as mean and spread over seeds,
and each of the paper's orderings as a paired comparison over seeds (confirms / contradicts / cannot tell).

Variants (paper names):
- `avg`: one token per frame, the frame's mean (Tab. 2 "Avg"); `llama_vid`: LLaMA-VID's context + content tokens;
- `svr_only`: SVR + MTP, no TTA queries (Tab. 2); `tta_only`: TTA over every token, no SVR (Tab. 2);
- `full`: LinVT (SVR + TTA, Multi-C) as the recipe builds it; `single`, `multi_a`, `multi_b`: Tab. 4's variants;
- `no_alignment`: the projector re-initialised and trained in both stages (Tab. 3 "LinVT w/o alignment");
  `full_video_only` / `no_alignment_video_only`: the same pair with stage 2 on video data only, as the paper trained;
- `no_text`: TTA without the question (Tab. 5); `no_prior`: without `temporal_prior` (ours, not in the paper);
- `layers_x2`, `queries_half`, `queries_x2`, `top_k_half`, `top_k_x2`: Tab. 12's sizes around the recipe's.

Each finished run's row is saved under OUTPUT_DIR/rows/ and not run again: runs made at different times (more
seeds, more variants) merge, and an interrupted run resumes.

    python benchmarks/bench_ablation.py --output-dir runs/ablation --seeds 0 1 2 --jobs 2
    python benchmarks/bench_ablation.py --load-json runs/ablation/rows     # the tables again, from saved rows
    python benchmarks/bench_ablation.py --smoke                            # a minute; what CI runs
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see examples/mini_recipe.py

import argparse
import hashlib
import importlib
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from statistics import mean, stdev
from typing import Any

from _shared import machine

@dataclass(frozen=True)
class Variant:
    """One variant of the ablation: LinVTConfig overrides (`config`), RecipeArguments overrides acting after the
    image-LLM (`recipe`: LinVT's sizes), and whether the image-LLM's projector is re-initialised and trained in both
    stages (paper Tab. 3, "LinVT w/o alignment")."""

    config: dict[str, Any] = field(default_factory=dict)
    recipe: dict[str, Any] = field(default_factory=dict)
    reinitialise_projector: bool = False


VARIANTS: dict[str, Variant] = {
    "avg": Variant(config={"video_tokenizer_type": "avg"}),
    "llama_vid": Variant(config={"video_tokenizer_type": "llama_vid"}),
    "svr_only": Variant(config={"use_tta": False}),
    "tta_only": Variant(config={"use_svr": False}),
    "full": Variant(),
    "no_alignment": Variant(reinitialise_projector=True),
    # Tab. 3 as the paper ran it: stage 2 on video data only (the recipe replays image QA in a 0.2 share).
    "full_video_only": Variant(recipe={"stage2_image_share": 0.0}),
    "no_alignment_video_only": Variant(recipe={"stage2_image_share": 0.0}, reinitialise_projector=True),
    "single": Variant(config={"multiscale": "single"}),
    "multi_a": Variant(config={"multiscale": "multi_a"}),
    "multi_b": Variant(config={"multiscale": "multi_b"}),
    "no_text": Variant(config={"text_condition": False}),
    "no_prior": Variant(config={"temporal_prior": 0.0}),
    # Tab. 12 around the recipe's LinVT (1 layer, queries 16/8/4, k = 96): one layer cannot be halved.
    "layers_x2": Variant(recipe={"linvt_layers": 2}),
    "queries_half": Variant(recipe={"num_queries": "8,4,2"}),
    "queries_x2": Variant(recipe={"num_queries": "32,16,8"}),
    "top_k_half": Variant(recipe={"top_k_tokens": 48}),
    "top_k_x2": Variant(recipe={"top_k_tokens": 192}),
}
TABLES = {
    "Tab. 2 (components)": ("avg", "llama_vid", "tta_only", "svr_only", "full"),
    "Tab. 3 (the image-LLM's vision-language alignment)": (
        "no_alignment", "full", "no_alignment_video_only", "full_video_only"
    ),
    "Tab. 4 (multi-scale)": ("multi_a", "single", "multi_b", "full"),
    "Tab. 5 (text condition) and the temporal prior": ("no_text", "no_prior", "full"),
    "Tab. 12 (LinVT's sizes)": ("layers_x2", "queries_half", "queries_x2", "top_k_half", "top_k_x2", "full"),
}
# The paper's orderings, as (table, lower, higher, score): `higher` should score above `lower`. "image" is the
# accuracy on still-image questions after stage 2; the others are video question groups.
ORDERINGS: tuple[tuple[str, str, str, str], ...] = (
    ("Tab. 2", "avg", "tta_only", "time_only"),
    ("Tab. 2", "tta_only", "svr_only", "time_only"),
    ("Tab. 2", "svr_only", "full", "time_only"),
    ("Tab. 2", "avg", "full", "time_only"),
    ("Tab. 3 (video data only, as the paper)", "no_alignment_video_only", "full_video_only", "image"),
    ("Tab. 3 (video data only, as the paper)", "no_alignment_video_only", "full_video_only", "time_only"),
    ("Tab. 3 (the recipe's image replay)", "no_alignment", "full", "image"),
    ("Tab. 3 (the recipe's image replay)", "no_alignment", "full", "time_only"),
    ("Tab. 4", "multi_a", "single", "time_only"),
    ("Tab. 4", "single", "multi_b", "time_only"),
    ("Tab. 4", "multi_b", "full", "time_only"),
    ("Tab. 4", "multi_a", "full", "time_only"),
    ("Tab. 5", "no_text", "full", "time_only"),
    ("Tab. 5 (the temporal prior, ours)", "no_prior", "full", "time_only"),
    ("Tab. 12", "queries_half", "full", "time_only"),
    ("Tab. 12", "top_k_half", "full", "time_only"),
    ("Tab. 12 (doubling gains little)", "full", "layers_x2", "time_only"),
    ("Tab. 12 (doubling gains little)", "full", "queries_x2", "time_only"),
    ("Tab. 12 (doubling gains little)", "full", "top_k_x2", "time_only"),
)
# Where each recipe backbone keeps its vision-language projector (Tab. 3 re-initialises it).
PROJECTORS = {"internvl": "model.multi_modal_projector", "qwen2_vl": "model.visual.merger"}
# Two-sided 5% critical values of Student's t for 1-10 degrees of freedom (paired comparison over seeds).
T_CRITICAL = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228)


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


def reinitialise(module) -> None:
    """Every parameterised layer of `module` drawn again with torch's default initialisation."""
    for layer in module.modules():
        if hasattr(layer, "reset_parameters"):
            layer.reset_parameters()


def run_variant(
    variant: str, seed: int, output_dir: str, smoke: bool, stage2_steps: int | None, threads: int, settings: dict
) -> dict:
    """Runs in the child: stage 1 + stage 2 of one variant from the shared image-LLM; returns its scores on the
    validation videos and, after stage 2, on the still-image questions."""
    import torch
    from transformers import AutoModelForImageTextToText, set_seed

    from linvt_hf import FAMILIES, LinVTConfig
    from linvt_hf.modeling.configuration_linvt import linvt_settings
    from linvt_hf.modeling.video_tokenizer import video_tokenizer_class

    recipe = load_recipe()
    spec = VARIANTS[variant]
    args = recipe_arguments(recipe, output_dir, smoke, seed, stage2_steps, threads, {**settings, **spec.recipe})
    args.output_dir = str(Path(output_dir) / "runs" / f"{variant}-{seed}")
    torch.set_num_threads(threads)
    data_dir = Path(output_dir) / "data"
    started = time.perf_counter()
    processor = recipe.build_processor(args, tokenizer=recipe.image_llm_tokenizer(Path(output_dir) / "image_llm"))
    image_llm = AutoModelForImageTextToText.from_pretrained(Path(output_dir) / "image_llm")
    config = LinVTConfig(**{**linvt_settings(recipe.linvt_config(args)), **spec.config})
    if config.video_tokenizer_type != "linvt":
        processor.video_tokens_per_frame = video_tokenizer_class(config).num_output_tokens(config, 1)
    set_seed(seed)
    model = FAMILIES[args.backbone].for_generation_class.from_backbone(
        image_llm, video_tokenizer_config=config, video_token_id=processor.video_token_id
    )
    also_train: tuple[str, ...] = ()
    if spec.reinitialise_projector:
        also_train = (PROJECTORS[args.backbone],)
        reinitialise(model.get_submodule(also_train[0]))
    records = recipe.read_jsonl(data_dir / "validation_qa.jsonl")
    images = recipe.image_items(recipe.read_jsonl(data_dir / "validation_image_qa.jsonl"), data_dir)
    with recipe.sampled_videos_kept(processor):
        recipe.train_stage1(args, model, processor, data_dir, also_train=also_train)
        model = recipe.train_stage2(args, model, processor, data_dir, also_train=also_train)
        scores = recipe.evaluate(model, processor, recipe.video_items(records, data_dir), args.eval_batch_size)
    image_scores = recipe.evaluate(model, processor, images, args.eval_batch_size)
    counts = image_scores["counts"]
    scores["image"] = sum(image_scores[kind] * n for kind, n in counts.items()) / sum(counts.values())
    return {
        "variant": variant,
        "seed": seed,
        "scores": scores,
        "image_scores": image_scores,
        "chance": recipe.chance(records),
        "stage2_steps": args.stage2_steps,
        "threads": threads,
        "recipe": settings,
        "definition": asdict(spec),
        "wall_s": round(time.perf_counter() - started, 1),
    }


def image_llm_fingerprint(output_dir: str) -> str:
    """SHA-256 over the shared image-LLM's weight files: rows merge only when every variant started from it."""
    digest = hashlib.sha256()
    for file in sorted((Path(output_dir) / "image_llm").glob("*.safetensors")):
        digest.update(file.read_bytes())
    return digest.hexdigest()


def row_path(output_dir: str, variant: str, seed: int) -> Path:
    """Where the row of one finished (variant, seed) run is kept: runs made at different times merge from there."""
    return Path(output_dir) / "rows" / f"{variant}-{seed}.json"


def run_all(options: argparse.Namespace) -> list[dict]:
    """Every (variant, seed) without a saved row in a child process, `options.jobs` at a time, seed by seed (so an
    interrupted run leaves whole seeds for the paired comparison); returns the rows of all of them."""
    prepare(options.output_dir, options.smoke, options.recipe)
    fingerprint = image_llm_fingerprint(options.output_dir)
    wanted = [(v, s) for s in options.seeds for v in options.variants]
    pending = [(v, s) for v, s in wanted if not row_path(options.output_dir, v, s).exists()]
    if len(pending) < len(wanted):
        print(f"{len(wanted) - len(pending)} runs kept from {Path(options.output_dir) / 'rows'}", flush=True)
    running: list[tuple[subprocess.Popen, dict]] = []
    failed = []
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
            if child.returncode == 0 and lines:
                row = json.loads(lines[-1])
                path = row_path(options.output_dir, spec["variant"], spec["seed"])
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps({"machine": machine(), "image_llm_sha256": fingerprint, **row}, indent=1))
            else:
                row = {**spec, "error": f"exit {child.returncode}"}
                failed.append(row)
            print(json.dumps(row), flush=True)
    kept = [json.loads(row_path(options.output_dir, v, s).read_text()) for v, s in wanted
            if row_path(options.output_dir, v, s).exists()]
    return kept + failed


COLUMNS = ("time_only", "direction", "size", "visibility", "shots", "single_frame", "image")


def score_table(rows: list[dict]) -> list[str]:
    """Markdown tables: accuracy (%) as mean and standard deviation over seeds, per variant and question group."""
    chance = rows[0]["chance"]
    lines = []
    for title, variants in TABLES.items():
        if not any(r["variant"] in variants and r["variant"] != "full" for r in rows):
            continue  # nothing of this table's own run yet
        lines += [f"**{title}**", "", "| variant | seeds | " + " | ".join(c.replace("_", "-") for c in COLUMNS) + " |",
                  "|" + "---|" * (len(COLUMNS) + 2)]
        lines.append("| chance | | " + " | ".join(f"{100 * chance[c]:.0f}" if c in chance else "" for c in COLUMNS)
                     + " |")
        for variant in variants:
            runs = [r for r in rows if r["variant"] == variant]
            if not runs:
                continue
            cells = []
            for column in COLUMNS:
                values = [100 * r["scores"][column] for r in runs if column in r["scores"]]
                spread = f" ± {stdev(values):.1f}" if len(values) > 1 else ""
                cells.append(f"{mean(values):.1f}{spread}" if values else "")
            lines.append(f"| {variant} | {len(runs)} | " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def score_resolution(row: dict, score: str) -> float:
    """One question of `score` in `row`, in points (100 / the questions pooled into it); 0 where the row does not
    record how many questions it pooled."""
    if score == "image":
        count = sum(row.get("image_scores", {}).get("counts", {}).values())
    else:
        from linvt_hf.recipe.vocabulary import GROUPS

        counts = row["scores"].get("counts", {})
        count = sum(counts.get(kind, 0) for kind in dict(GROUPS).get(score, (score,)))
    return 100 / count if count else 0.0


def paired_comparison(rows: list[dict], lower: str, higher: str, score: str) -> dict[str, Any]:
    """`higher` against `lower` on `score`, paired over the seeds both ran: the mean difference (points), its
    standard deviation, how many seeds order them the paper's way, Student's t and the verdict at 5% (two-sided):
    "confirms", "contradicts" or "cannot tell" (also with fewer than 2 common seeds).

    Scores are counts of right answers, so the spread of the differences is taken as at least one question
    (`score_resolution`) in t: three seeds that each differ by the same two questions are not a difference measured
    without spread (their standard deviation is 0, up to rounding), and t would be unbounded."""
    by_seed = {v: {r["seed"]: r["scores"][score] for r in rows if r["variant"] == v and score in r["scores"]}
               for v in (lower, higher)}
    seeds = sorted(set(by_seed[lower]) & set(by_seed[higher]))
    diffs = [100 * (by_seed[higher][s] - by_seed[lower][s]) for s in seeds]
    result: dict[str, Any] = {"seeds": len(seeds), "mean_diff": mean(diffs) if diffs else None,
                              "sd": stdev(diffs) if len(diffs) > 1 else None,
                              "agree": sum(d > 0 for d in diffs), "t": None, "verdict": "cannot tell"}
    if len(diffs) < 2:
        return result
    paired = [r for r in rows if r["variant"] in (lower, higher) and r["seed"] in seeds]
    spread = max(result["sd"], *(score_resolution(r, score) for r in paired))
    if spread == 0:
        result["t"] = 0.0 if result["mean_diff"] == 0 else float("inf") * (1 if result["mean_diff"] > 0 else -1)
    else:
        result["t"] = result["mean_diff"] / (spread / len(diffs) ** 0.5)
    critical = T_CRITICAL[min(len(diffs) - 1, len(T_CRITICAL)) - 1]
    if result["t"] > critical:
        result["verdict"] = "confirms"
    elif result["t"] < -critical:
        result["verdict"] = "contradicts"
    return result


def verdict_table(rows: list[dict]) -> list[str]:
    """One line per paper ordering: the paired difference over the seeds both variants ran and the verdict, or
    "not run" where no seed has both."""
    lines = ["**The paper's orderings, paired over seeds** (difference in points, higher minus lower; t-test at 5%)",
             "", "| table | ordering | score | seeds | difference | seeds agreeing | t | verdict |",
             "|---|---|---|---|---|---|---|---|"]
    for table, lower, higher, score in ORDERINGS:
        c = paired_comparison(rows, lower, higher, score)
        if c["seeds"] == 0:
            lines.append(f"| {table} | {lower} < {higher} | {score.replace('_', '-')} | 0 | | | | not run |")
            continue
        spread = f" ± {c['sd']:.1f}" if c["sd"] is not None else ""
        t = f"{c['t']:.2f}" if c["t"] is not None else ""
        lines.append(f"| {table} | {lower} < {higher} | {score.replace('_', '-')} | {c['seeds']} | "
                     f"{c['mean_diff']:+.1f}{spread} | {c['agree']}/{c['seeds']} | {t} | {c['verdict']} |")
    return lines


def summarise(rows: list[dict]) -> str:
    """The score tables and the paired verdicts, in Markdown."""
    good = [r for r in rows if "error" not in r]
    if not good:
        return "no successful runs"
    lines = score_table(good) + verdict_table(good)
    failed = [r for r in rows if "error" in r]
    if failed:
        lines += ["", "Failed runs: " + ", ".join(f"{r['variant']} seed {r['seed']} ({r['error']})" for r in failed)]
    return "\n".join(lines)


def load_rows(paths: list[str]) -> list[dict]:
    """Rows from --json-out files (`{"rows": [...]}`), single row files, and folders of row files."""
    rows = []
    for name in paths:
        path = Path(name)
        for file in sorted(path.glob("*.json")) if path.is_dir() else [path]:
            saved = json.loads(file.read_text())
            rows += saved["rows"] if "rows" in saved else [saved]
    # Rows saved before the fingerprint was recorded count as one image-LLM of their own ("unrecorded"): a
    # re-prepared image-LLM is not bit-identical (benchmarks/RESULTS.md), so they cannot be paired with newer rows.
    fingerprints = {r.get("image_llm_sha256", "unrecorded") for r in rows}
    if len(fingerprints) > 1:
        raise ValueError(f"rows in {paths} come from {len(fingerprints)} different image-LLMs "
                         f"(image_llm_sha256 {sorted(f[:12] for f in fingerprints)}); variants are compared only "
                         "from the same prepared image-LLM")
    return rows


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
    parser.add_argument("--load-json", nargs="+",
                        help="print the tables from saved rows instead of running: --json-out files, row files or "
                        "folders of them (an --output-dir's rows/)")
    parser.add_argument("--smoke", action="store_true", help="the recipe's smoke sizes, two variants, one seed")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        print(json.dumps(run_variant(**json.loads(options.child))))
        return
    if options.load_json:
        print(summarise(load_rows(options.load_json)))
        return
    if options.jobs < 1:
        parser.error(f"--jobs must be >= 1, got {options.jobs}")
    if options.threads is None:
        options.threads = max(1, 2 // options.jobs)
    if options.smoke:
        options.variants, options.seeds = ["avg", "no_alignment"], [0]  # a config override; LinVT + the projector
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
