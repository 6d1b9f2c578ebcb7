"""benchmarks/bench_ablation.py's bookkeeping: the paper's orderings as paired comparisons over seeds, saved rows
merged from several runs, and finished runs never run again (its smoke run, in test_benchmarks_smoke.py, trains)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import bench_ablation as ablation  # noqa: E402


def rows(variant: str, accuracies: dict[int, float], score: str = "time_only") -> list[dict]:
    return [{"variant": variant, "seed": seed, "scores": {score: a}, "chance": {score: 0.4}}
            for seed, a in accuracies.items()]


def test_paired_comparison_confirms_contradicts_or_cannot_tell():
    low = rows("avg", {0: 0.50, 1: 0.55, 2: 0.60})
    steady = rows("full", {0: 0.70, 1: 0.76, 2: 0.79})  # +20, +21, +19 points
    result = ablation.paired_comparison(low + steady, "avg", "full", "time_only")
    assert result["seeds"] == 3 and result["agree"] == 3 and result["verdict"] == "confirms"
    assert result["mean_diff"] == pytest.approx(20.0) and result["sd"] == pytest.approx(1.0)
    assert result["t"] == pytest.approx(20.0 / (1.0 / 3**0.5))
    assert ablation.paired_comparison(low + steady, "full", "avg", "time_only")["verdict"] == "contradicts"
    noisy = rows("full", {0: 0.70, 1: 0.45, 2: 0.62})  # +20, -10, +2: the seeds disagree
    assert ablation.paired_comparison(low + noisy, "avg", "full", "time_only")["verdict"] == "cannot tell"
    # Only seeds both variants ran are paired; one common seed cannot tell, however large the difference.
    one = ablation.paired_comparison(low + rows("full", {2: 0.99, 7: 0.10}), "avg", "full", "time_only")
    assert one["seeds"] == 1 and one["verdict"] == "cannot tell" and one["t"] is None
    assert ablation.paired_comparison(low, "avg", "full", "time_only")["seeds"] == 0


def test_equal_differences_of_a_few_questions_are_not_a_measurement_without_spread():
    # 346 time-only questions: every seed differs by the same 2 questions (0.58 points); the differences' standard
    # deviation is 0 up to rounding, which made t ~1e14 and the verdict "confirms".
    counts = {"direction": 100, "size": 100, "shots": 100, "visibility": 46}
    lower = [{**row, "scores": {**row["scores"], "counts": counts}}
             for row in rows("single", {0: 0.74, 1: 0.72, 2: 0.73})]
    higher = [{**row, "scores": {"time_only": row["scores"]["time_only"] + 2 / 346, "counts": counts}}
              for row in lower]
    for row in higher:
        row["variant"] = "multi_b"
    result = ablation.paired_comparison(lower + higher, "single", "multi_b", "time_only")
    assert result["agree"] == 3 and result["sd"] < 1e-9
    one_question = 100 / 346
    assert ablation.score_resolution(lower[0], "time_only") == pytest.approx(one_question)
    assert result["t"] == pytest.approx((200 / 346) / (one_question / 3**0.5))  # 3.46 < 4.30
    assert result["verdict"] == "cannot tell"
    # A difference of many questions on every seed still confirms.
    far = [{**row, "variant": "multi_b", "scores": {"time_only": row["scores"]["time_only"] + 0.1, "counts": counts}}
           for row in lower]
    assert ablation.paired_comparison(lower + far, "single", "multi_b", "time_only")["verdict"] == "confirms"
    # The image score's questions are the image evaluation's.
    image_row = {"scores": {"image": 0.9}, "image_scores": {"counts": {"color": 150, "presence": 250}}}
    assert ablation.score_resolution(image_row, "image") == pytest.approx(0.25)
    assert ablation.score_resolution(rows("full", {0: 0.5})[0], "time_only") == 0.0  # no counts recorded


def test_the_summary_names_every_ordering_and_which_are_not_run():
    table = ablation.summarise(rows("avg", {0: 0.5, 1: 0.5}) + rows("tta_only", {0: 0.6, 1: 0.7}))
    assert "| Tab. 2 | avg < tta_only | time-only | 2 | +15.0 ± 7.1 | 2/2 | 3.00 | cannot tell |" in table
    assert "| Tab. 2 | svr_only < full | time-only | 0 | | | | not run |" in table
    assert table.count("| Tab. ") == len(ablation.ORDERINGS)


def test_rows_from_several_runs_merge_and_finished_runs_are_not_run_again(tmp_path, monkeypatch):
    for variant, seed in (("avg", 0), ("full", 0)):
        path = ablation.row_path(str(tmp_path), variant, seed)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(rows(variant, {seed: 0.5})[0]))
    saved = tmp_path / "older.json"
    saved.write_text(json.dumps({"machine": "m", "rows": rows("full", {1: 0.6})}))
    merged = ablation.load_rows([str(tmp_path / "rows"), str(saved)])
    assert sorted((r["variant"], r["seed"]) for r in merged) == [("avg", 0), ("full", 0), ("full", 1)]

    def no_child(*args, **kwargs):
        raise AssertionError("a finished run was started again")

    monkeypatch.setattr(ablation, "prepare", lambda *args: None)
    monkeypatch.setattr(subprocess, "Popen", no_child)
    options = argparse.Namespace(output_dir=str(tmp_path), smoke=False, recipe={}, seeds=[0], variants=["avg", "full"],
                                 jobs=2, stage2_steps=None, threads=1)
    assert [(r["variant"], r["seed"]) for r in ablation.run_all(options)] == [("avg", 0), ("full", 0)]


def test_rows_of_different_image_llms_are_not_merged(tmp_path):
    (tmp_path / "llm").mkdir()
    (tmp_path / "llm" / "image_llm").mkdir()
    (tmp_path / "llm" / "image_llm" / "model.safetensors").write_bytes(b"weights")
    fingerprint = ablation.image_llm_fingerprint(str(tmp_path / "llm"))
    assert len(fingerprint) == 64
    recorded = [{**row, "image_llm_sha256": fingerprint} for row in rows("avg", {0: 0.5, 1: 0.6})]
    other = [{**row, "image_llm_sha256": "0" * 64} for row in rows("full", {0: 0.7})]
    unrecorded = rows("full", {1: 0.7})
    for name, saved in (("a", recorded), ("b", other), ("c", unrecorded)):
        (tmp_path / f"{name}.json").write_text(json.dumps({"rows": saved}))
    assert len(ablation.load_rows([str(tmp_path / "a.json")])) == 2
    for mixed in ("b", "c"):
        with pytest.raises(ValueError, match="2 different image-LLMs"):
            ablation.load_rows([str(tmp_path / "a.json"), str(tmp_path / f"{mixed}.json")])


def test_every_variant_and_ordering_is_defined():
    assert {v for variants in ablation.TABLES.values() for v in variants} == set(ablation.VARIANTS)
    assert all({low, high} <= set(ablation.VARIANTS) for _, low, high, _ in ablation.ORDERINGS)
    from linvt_hf.recipe import BACKBONES

    assert set(ablation.PROJECTORS) == set(BACKBONES)
