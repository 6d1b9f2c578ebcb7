"""lmms-eval's own CLI against the project's own evaluation, on the same synthetic videos and the same model.

Needs lmms-eval (`pip install 'linvt-hf[eval]'`; not in the test environment, see docs/evaluation.md). It
generates the synthetic set (by default the recipe's seed-0 set, whose validation videos the demo model was held out
on), writes the local lmms-eval tasks `linvt_synthetic` (one document per question) and `linvt_synthetic_rounds`
(one per video, one round per question) with `linvt_hf.evaluation.write_lmms_eval_task`, and
`linvt_synthetic_unreadable` (the questions plus a document whose video is missing and one whose file is no video),
scores the model with the recipe's evaluation (`linvt_hf.recipe.answer`, what `recipe.evaluate` scores, in batches of
32), then runs

    python -m lmms_eval eval --model linvt --model_args pretrained=MODEL
        --tasks linvt_synthetic,linvt_synthetic_rounds,linvt_synthetic_unreadable
        --include_path TASKS --batch_size B --device cpu --log_samples --output_path OUT

offline, and compares the accuracies and every question's answer, and checks that the two unreadable documents are
reported and counted while the run goes on. Exit code 1 when anything differs.

    python benchmarks/lmms_eval_synthetic.py                  # the demo model on its 100 validation videos
    python benchmarks/lmms_eval_synthetic.py --smoke          # 3 validation videos: about a minute (lmms-eval's start)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from transformers import AutoModelForImageTextToText, AutoProcessor

from linvt_hf import recipe
from linvt_hf.assets import demo_model_path
from linvt_hf.data import SINGLE_FRAME_TYPES, TIME_ONLY_TYPES, generate_synthetic_video_qa
from linvt_hf.evaluation import write_lmms_eval_task
from linvt_hf.evaluation.synthetic_task import ROUNDS_TASK, TASK, first_word, question_docs

GROUPS = (("accuracy", None), ("time_only", TIME_ONLY_TYPES), ("single_frame", SINGLE_FRAME_TYPES))
# The same questions with two unreadable documents put in at these places: a missing file and a file that is no video.
UNREADABLE = "linvt_synthetic_unreadable"
UNREADABLE_AT = (1, 3)


def add_unreadable_documents(folder: Path, work: Path) -> list[str]:
    """Put a document whose video is missing and one whose video cannot be decoded into the `UNREADABLE` task (at
    `UNREADABLE_AT`); returns their videos."""
    broken = work / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42 this is not a video")
    path = folder / f"{UNREADABLE}_questions.jsonl"
    docs = [json.loads(line) for line in path.read_text().splitlines()]
    bad = [str(work / "missing.mp4"), str(broken)]
    for at, video in zip(UNREADABLE_AT, bad):
        docs.insert(at, {**docs[0], "id": f"unreadable-{at}", "video": video})
    path.write_text("".join(json.dumps(doc) + "\n" for doc in docs))
    return bad


def own_answers(model_path: Path, data_dir: Path, batch_size: int) -> list[str]:
    """The recipe's evaluation of the validation questions: each question's answer (its first word), from
    `recipe.answer` in batches, as `recipe.evaluate` computes them."""
    model = AutoModelForImageTextToText.from_pretrained(model_path).eval()
    processor = AutoProcessor.from_pretrained(model_path)
    items = recipe.video_items(recipe.read_jsonl(data_dir / "validation_qa.jsonl"), data_dir)
    answers: list[str] = []
    with torch.inference_mode():
        for start in range(0, len(items), batch_size):
            answers += recipe.answer(model, processor, items[start : start + batch_size])
    return answers


def scores(types: list[str], golds: list[str], answers: list[str]) -> dict[str, float]:
    """Accuracy over all questions and over the time-only and single-frame ones."""
    out = {}
    for name, kinds in GROUPS:
        hits = [a == g for t, g, a in zip(types, golds, answers) if kinds is None or t in kinds]
        out[name] = sum(hits) / len(hits) if hits else float("nan")
    return out


def run_lmms_eval(model_path: Path, tasks: Path, output: Path, batch_size: int) -> tuple[dict, dict, float, str]:
    """lmms-eval's CLI on the three tasks; returns its results and logged samples (per task), its wall time and its
    log (stdout and stderr)."""
    command = [
        sys.executable, "-m", "lmms_eval", "eval", "--model", "linvt", "--model_args", f"pretrained={model_path}",
        "--tasks", f"{TASK},{ROUNDS_TASK},{UNREADABLE}", "--include_path", str(tasks), "--batch_size", str(batch_size),
        "--device", "cpu", "--log_samples", "--output_path", str(output),
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    print("$ " + " ".join(command), flush=True)
    start = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    found = sorted(output.rglob("*results.json"))
    if result.returncode != 0 or not found:  # lmms-eval 0.7.3 exits 0 after an error, writing no results
        sys.stderr.write(result.stdout[-3000:] + result.stderr[-5000:])
        raise SystemExit(f"lmms-eval failed (exit {result.returncode}, results written: {bool(found)})")
    results_file = found[-1]
    results = json.loads(results_file.read_text())["results"]
    samples = {}
    for task in (TASK, ROUNDS_TASK, UNREADABLE):
        path = sorted(output.rglob(f"*samples_{task}.jsonl"))[-1]
        samples[task] = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return results, samples, wall, result.stdout + result.stderr


def responses(rows: list[dict]) -> dict[int, object]:
    """Each logged sample's response by doc_id (a string, or a list of rounds)."""
    out = {}
    for row in rows:
        response = row["filtered_resps"] if "filtered_resps" in row else row["resps"]
        while isinstance(response, list) and len(response) == 1 and isinstance(response[0], list):
            response = response[0]
        out[int(row["doc_id"])] = response[0] if isinstance(response, list) and len(response) == 1 else response
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=None, help="a saved LinVT model + processor (default: the demo)")
    parser.add_argument("--work-dir", type=Path, default=None, help="keep the data, tasks and logs here (default: temp)")
    parser.add_argument("--batch-size", type=int, default=8, help="lmms-eval's --batch_size (8)")
    parser.add_argument("--smoke", action="store_true", help="3 validation videos and no training videos")
    options = parser.parse_args(argv)
    if options.batch_size < 1:
        parser.error(f"--batch-size must be >= 1, got {options.batch_size}")
    model_path = (options.model or demo_model_path()).resolve()
    defaults = recipe.RecipeArguments()
    sizes = (0, 3) if options.smoke else (defaults.num_train_videos, defaults.num_validation_videos)
    with tempfile.TemporaryDirectory(prefix="lmms_eval_synthetic_") as scratch:
        work = options.work_dir or Path(scratch)
        data_dir = work / "data"
        if not (data_dir / "specs.jsonl").is_file():
            print(f"generating the synthetic set ({sizes[0]} train, {sizes[1]} validation videos, seed "
                  f"{defaults.seed}) in {data_dir}", flush=True)
            generate_synthetic_video_qa(data_dir, *sizes, seed=defaults.seed)
        tasks = write_lmms_eval_task(data_dir, work / "tasks", overwrite=True)
        write_lmms_eval_task(data_dir, tasks, overwrite=True, name=UNREADABLE)
        bad_videos = add_unreadable_documents(tasks, work)
        docs = question_docs(data_dir)
        types, golds = [d["question_type"] for d in docs], [d["answer"] for d in docs]

        start = time.perf_counter()
        own = own_answers(model_path, data_dir, 32)
        own_wall = time.perf_counter() - start
        output = work / "lmms_eval_out" / time.strftime("%Y%m%d-%H%M%S")  # a fresh folder: only this run's files
        results, samples, lmms_wall, log = run_lmms_eval(model_path, tasks, output, options.batch_size)

    per_question = responses(samples[TASK])
    lmms_answers = [first_word(str(per_question.get(i, ""))) for i in range(len(docs))]
    per_video = responses(samples[ROUNDS_TASK])
    video_ids = {d["video"]: None for d in docs}  # videos in document order, as videos.jsonl lists them
    rounds: list[str] = []
    for v, _ in enumerate(video_ids):
        rounds += [first_word(str(answer)) for answer in per_video.get(v, [])]
    rows = [
        ("recipe evaluation (linvt_hf.recipe.answer, batches of 32)", scores(types, golds, own), len(own), own_wall),
        (f"lmms-eval CLI, task {TASK}", {k: results[TASK][f"{k},none"] for k, _ in GROUPS}, len(per_question), None),
        (f"lmms-eval CLI, task {ROUNDS_TASK}", {k: results[ROUNDS_TASK][f"{k},none"] for k, _ in GROUPS},
         len(rounds), None),
    ]
    print(f"\nmodel: {model_path}; {len(docs)} questions on {len(video_ids)} validation videos; "
          f"lmms-eval run (three tasks, model load included): {lmms_wall:.0f} s; recipe evaluation: {own_wall:.0f} s\n")
    print("| evaluation | questions | accuracy | time-only | single-frame |")
    print("|---|---:|---:|---:|---:|")
    for name, score, count, _ in rows:
        print(f"| {name} | {count} | " + " | ".join(f"{100 * score[k]:.1f}" for k, _ in GROUPS) + " |")
    same_question = sum(a == b for a, b in zip(own, lmms_answers))
    same_round = sum(a == b for a, b in zip(own, rounds))
    print(f"\nsame answer as the recipe's evaluation: {same_question}/{len(docs)} questions ({TASK}), "
          f"{same_round}/{len(docs)} rounds ({ROUNDS_TASK})")
    unreadable = responses(samples[UNREADABLE])
    kept = [first_word(str(unreadable[i])) for i in sorted(unreadable) if i not in UNREADABLE_AT]
    reported = [f"{UNREADABLE}/validation/{at}" for at in UNREADABLE_AT]
    bad_ok = (
        kept == own
        and all(unreadable[at] == "" for at in UNREADABLE_AT)
        and re.search(r"^linvt: \d+ answered, 2 failed$", log, re.MULTILINE) is not None
        and all(f"{name} not answered" in log and video in log for name, video in zip(reported, bad_videos))
    )
    print(f"task {UNREADABLE} (the same questions and 2 unreadable videos: a missing file, a file that is no video): "
          + ("the run went on, both reported and counted, every other answer the same" if bad_ok else "WRONG"))
    for line in log.splitlines():
        if line.startswith(("linvt: ", "  linvt_")):
            print("    " + line[:200])
    agree = bad_ok and same_question == len(docs) == len(rounds) == same_round and all(
        abs(score[k] - rows[0][1][k]) < 1e-9 for _, score, _, _ in rows[1:] for k, _ in GROUPS
    )
    print("lmms-eval and the recipe's evaluation agree" if agree else "lmms-eval and the recipe's evaluation DIFFER")
    return 0 if agree else 1


if __name__ == "__main__":
    raise SystemExit(main())
