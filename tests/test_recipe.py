"""The miniature recipe (examples/mini_recipe.py) runs end to end, and the shipped demo model answers offline."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
import torch

import linvt_hf
from linvt_hf.assets import demo_model_path
from linvt_hf.data import generate_synthetic_video_qa

pytest.importorskip("peft")

RECIPE = Path(__file__).resolve().parents[1] / "examples" / "mini_recipe.py"


def load_recipe():
    spec = importlib.util.spec_from_file_location("mini_recipe", RECIPE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_smoke_run_end_to_end(tmp_path):
    recipe = load_recipe()
    results = recipe.main(["--output-dir", str(tmp_path), "--smoke", "--seed", "3"])

    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["arguments"]["seed"] == 3 and saved["arguments"]["smoke"] is True
    rows = [(row["model"], row["input"]) for row in results["evaluations"]]
    assert [model for model, _ in rows] == ["image-LLM", "image-LLM", "LinVT stage 1", "LinVT stage 2", "LinVT stage 2"]
    for row in results["evaluations"]:
        assert all(0.0 <= v <= 1.0 for k, v in row["scores"].items() if k != "counts")
    assert results["chance"]["direction"] == pytest.approx(0.25)
    assert "| chance |" in recipe.markdown_table(results)

    model = linvt_hf.LinVTQwen2VLForConditionalGeneration.from_pretrained(tmp_path / "final_model")
    processor = linvt_hf.LinVTProcessor.from_pretrained(tmp_path / "final_model")
    assert processor.num_video_tokens == model.config.num_video_tokens


def test_smoke_run_on_internvl_with_text_qa_and_the_temporal_prior(tmp_path):
    """The ablation's recipe settings: InternVL image-LLM, reading-comprehension text data, temporal prior."""
    recipe = load_recipe()
    argv = ["--output-dir", str(tmp_path), "--smoke", "--backbone", "internvl", "--text-qa", "true",
            "--temporal-prior", "2.0", "--multi-turn-qa", "true"]
    results = recipe.main(argv)
    assert results["arguments"]["backbone"] == "internvl"

    # Stage 2's multi-turn samples: every question of a video, once, in one chat; the video only in the first turn.
    qa = [json.loads(line) for line in open(tmp_path / "data" / "train_qa.jsonl")]
    chats = [json.loads(line) for line in open(tmp_path / "train_qa_multi_turn.jsonl")]
    assert len(chats) == len({r["video"] for r in qa})
    for chat in chats:
        asked = [t["value"].replace("<video>\n", "") for t in chat["conversations"][0::2]]
        expected = [r["conversations"][0]["value"].replace("<video>\n", "") for r in qa if r["video"] == chat["video"]]
        assert sorted(asked) == sorted(expected)
        assert [t["value"].startswith("<video>") for t in chat["conversations"][0::2]] == [True] + [False] * (len(asked) - 1)

    language = [json.loads(line) for line in open(tmp_path / "data" / "train_language.jsonl")]
    captions = {json.loads(line)["caption"] for line in open(tmp_path / "data" / "train_captions.jsonl")}
    reading = [r for r in language if "\n" in r["conversations"][0]["value"]]
    assert reading and all(r["conversations"][0]["value"].split("\n")[0] in captions for r in reading)

    model = linvt_hf.LinVTInternVLForConditionalGeneration.from_pretrained(tmp_path / "final_model")
    assert model.config.temporal_prior == 2.0
    assert all(a.temporal_prior is not None for a in model.linvt.aggregators)
    processor = linvt_hf.LinVTProcessor.from_pretrained(tmp_path / "final_model")
    assert processor.family == "internvl" and processor.num_video_tokens == model.config.num_video_tokens


def test_unknown_backbone_is_refused():
    recipe = load_recipe()
    with pytest.raises(ValueError, match="backbone must be one of"):
        recipe.RecipeArguments(backbone="llava")


@pytest.fixture(scope="module")
def demo_pipeline():
    from transformers import pipeline

    torch.manual_seed(0)
    return pipeline("video-question-answering", model=str(demo_model_path()), device="cpu")


def test_demo_model_is_small_and_documented():
    folder = demo_model_path()
    size = sum(f.stat().st_size for f in folder.iterdir() if f.is_file())
    assert size < 25 * 2**20
    card = (folder / "README.md").read_text()
    assert "examples/mini_recipe.py" in card and "--seed" in card


def test_demo_model_answers_synthetic_questions(demo_pipeline, tmp_path):
    """Fresh synthetic videos (a seed the model never saw): every answer is one word of its question's answer
    vocabulary, and the colour (a single-frame question) is right. The demo model's time-only accuracy is near chance
    (benchmarks/RESULTS.md), so time-only answers are checked for their vocabulary only."""
    recipe = load_recipe()
    files = generate_synthetic_video_qa(tmp_path, num_train=0, num_validation=3, seed=12345)
    records = [json.loads(line) for line in open(files["validation_qa"])]
    for record in records:
        question = record["conversations"][0]["value"].replace("<video>", "").strip()
        answer = demo_pipeline(video=str(tmp_path / record["video"]), question=question, max_new_tokens=4)[0]["answer"]
        assert answer in recipe.ANSWER_CHOICES[record["question_type"]], (question, answer)
        if record["question_type"] == "color":
            assert answer == record["conversations"][1]["value"], (question, answer)


def test_demo_model_answers_about_a_real_video(demo_pipeline):
    video = Path(__file__).resolve().parent / "data" / "videos" / "bigbuckbunny.mp4"
    answer = demo_pipeline(video=str(video), question="How many shots does the video have?", max_new_tokens=4)[0]
    assert answer["answer"] in ("two", "three", "four")
