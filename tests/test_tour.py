"""`linvt-hf tour` (what `scripts/run.sh` shows by default): synthetic clips with the right answers beside the demo
model's, then the pipeline on real footage."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from linvt_hf.cli import main
from linvt_hf.commands.tour import LEARNED_TYPES, synthetic_clip
from linvt_hf.data.synthetic import random_spec

VIDEO = Path(__file__).parent / "data" / "videos" / "bigbuckbunny.mp4"


def test_synthetic_clip_asks_the_learned_types_with_the_generators_answers(tmp_path):
    path, pairs, description = synthetic_clip(tmp_path, seed=0)
    spec = random_spec(np.random.default_rng(0), "tour-0")
    answers = spec.answers()
    assert path.is_file() and spec.caption() in description
    assert [truth for _, truth in pairs] == [answers[kind] for kind in LEARNED_TYPES if kind in answers]
    assert not any("shots" in question for question, _ in pairs)


def test_tour_prints_answers_beside_the_truth_then_the_real_video(capsys):
    assert main(["tour", "--clips", "2", "--seed", "1", "--real-video", str(VIDEO)]) == 0
    out = capsys.readouterr().out
    rows = re.findall(r"^   (.+\?)\s{2,}(\S+)\s+(\S+)\s+(ok|WRONG)$", out, re.M)
    truths = [a for s in (1, 2) for k, a in random_spec(np.random.default_rng(s), "x").answers().items()
              if k in LEARNED_TYPES]
    assert [truth for _, _, truth, _ in rows] == truths
    assert all((said == truth) == (mark == "ok") for _, said, truth, mark in rows)
    right = sum(mark == "ok" for *_, mark in rows)
    assert f"{right} of {len(rows)} right" in out
    assert "AutoShot finds 1 shot(s)" in out  # bigbuckbunny.mp4 is one shot
    assert "what LinVT looked at" in out


def test_run_sh_defaults_to_the_tour():
    script = (Path(__file__).parent.parent / "scripts" / "run.sh").read_text()
    assert 'tour --real-video "$ROOT/tests/data/videos/bigbuckbunny.mp4"' in script
