"""`linvt-hf ask` and `linvt-hf visualize` on a tiny random LinVT model saved to disk, and the drawing function."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from linvt_hf.cli import main
from linvt_hf.commands.common import MODEL_ENV
from linvt_hf.testing.tiny_models import make_tiny
from linvt_hf.visualization import draw_selection, select_shown_frames

BUNNY = str(Path(__file__).parent / "data" / "videos" / "bigbuckbunny.mp4")
QUESTION = "What is the rabbit doing?"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    model, processor = make_tiny("qwen2_vl", top_k_tokens=12)
    folder = tmp_path_factory.mktemp("linvt-cli")
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return str(folder)


@pytest.fixture(autouse=True)
def no_default_model(monkeypatch):
    monkeypatch.delenv(MODEL_ENV, raising=False)


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_ask_prints_the_pipeline_answer(model_dir, capsys):
    from transformers import pipeline

    expected = pipeline("video-question-answering", model=model_dir)(
        video=BUNNY, question=QUESTION, num_frames=8, max_new_tokens=5
    )[0]["answer"]
    code, out, err = _run(
        capsys, "ask", BUNNY, QUESTION, "--model", model_dir, "--num-frames", "8", "--max-new-tokens", "5"
    )
    assert code == 0
    assert out == expected + "\n"
    assert "loading model" in err  # progress goes to stderr


def test_ask_selection_and_json(model_dir, capsys, monkeypatch):
    monkeypatch.setenv(MODEL_ENV, model_dir)  # the model may come from the environment
    code, out, _ = _run(capsys, "ask", BUNNY, QUESTION, "--num-frames", "8", "--max-new-tokens", "3", "--selection")
    assert code == 0
    assert "what LinVT looked at" in out and "selected 12 of 32 frame tokens (2x4 per frame)" in out
    assert out.count("t=") >= 4 and "highest significance scores:" in out

    code, out, _ = _run(
        capsys, "ask", BUNNY, QUESTION, "--num-frames", "8", "--max-new-tokens", "3", "--selection", "--json"
    )
    record = json.loads(out)
    assert record["question"] == QUESTION and isinstance(record["answer"], str)
    assert record["selection"][0]["num_selected"] == 12


def test_ask_without_model_uses_the_shipped_demo_model(capsys):
    code, out, err = _run(capsys, "ask", BUNNY, "How many shots does the video have?")
    assert code == 0, err
    assert out.strip() in {"two", "three", "four"}  # the demo model answers with the synthetic set's words


@pytest.mark.parametrize("command", ["ask", "visualize"])
def test_missing_video_is_one_line_error(model_dir, capsys, tmp_path, command):
    out_file = tmp_path / "f.png"
    argv = [command, "missing.mp4"] + (["Q?"] if command == "ask" else ["--out", str(out_file)])
    code, out, err = _run(capsys, *argv, "--model", model_dir)
    assert code == 2 and out == ""
    assert err.strip() == f"linvt-hf {command}: error: video file not found: 'missing.mp4'"
    assert not out_file.exists()


def test_missing_model_folder(capsys, tmp_path):
    code, _, err = _run(capsys, "ask", BUNNY, QUESTION, "--model", str(tmp_path / "nope"))
    assert code == 2 and "model folder not found" in err and len(err.strip().splitlines()) == 1


def test_visualize_writes_the_figure(model_dir, capsys, tmp_path):
    out_file = tmp_path / "selection.png"
    code, out, err = _run(
        capsys, "visualize", BUNNY, "--out", str(out_file), "--model", model_dir, "--num-frames", "8",
        "--max-new-tokens", "3", "--cell-width", "128", "--max-frames-shown", "3",
    )
    assert code == 0 and out.strip() == str(out_file) and "wrote" in err
    with Image.open(out_file) as image:
        assert image.format == "PNG" and image.mode == "RGB"
        width, height = image.size
        pixels = np.asarray(image).astype(int)
    assert width == 3 * 128 + 4 * 6  # three frames shown side by side, 6-pixel gaps
    assert 128 * 9 / 16 < height < 400  # one row of 16:9 frames, captions and a title
    red = (pixels[..., 0] > 180) & (pixels[..., 1] < 120) & (pixels[..., 2] < 120)
    assert red.sum() > 100  # selected patches are shaded


def test_visualize_refuses_to_overwrite(model_dir, capsys, tmp_path):
    out_file = tmp_path / "existing.png"
    out_file.write_bytes(b"user data")
    code, _, err = _run(capsys, "visualize", BUNNY, "--out", str(out_file), "--model", model_dir)
    assert code == 2 and "--overwrite" in err and len(err.strip().splitlines()) == 1
    assert out_file.read_bytes() == b"user data"
    code, _, _ = _run(
        capsys, "visualize", BUNNY, "--out", str(out_file), "--model", model_dir, "--num-frames", "4",
        "--max-new-tokens", "2", "--overwrite",
    )
    assert code == 0
    with Image.open(out_file) as image:
        assert image.format == "PNG"


def test_visualize_rejects_unknown_format(model_dir, capsys, tmp_path):
    code, _, err = _run(capsys, "visualize", BUNNY, "--out", str(tmp_path / "f.xyz"), "--model", model_dir)
    assert code == 2 and "unknown image format" in err


@pytest.mark.parametrize("command", ["ask", "visualize"])
def test_help(capsys, command):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert "--model" in text and MODEL_ENV in text and "--num-frames" in text
    if command == "visualize":
        assert "--overwrite" in text and "--max-frames-shown" in text


def test_draw_selection_marks_the_selected_patches():
    frames = [np.full((90, 160, 3), 200, dtype=np.uint8) for _ in range(3)]
    selection = {
        "frame_indices": [0, 10, 20],
        "timestamps": [0.0, 0.4, 0.8],
        "grid": [2, 4],
        "selected": [[0, 0, 0], [2, 1, 3]],
    }
    figure = draw_selection(frames, selection, cell_width=160, title="title")
    assert figure.width == 3 * 160 + 4 * 6
    pixels = np.asarray(figure).astype(int)
    # The frames start under the title, at the first row that shows frame 0's grey.
    cells_top = next(y for y in range(pixels.shape[0]) if (pixels[y, 6:166] == 200).all(axis=-1).any())
    first = pixels[cells_top + 10, 6 + 10]  # inside frame 0, patch (0, 0): red
    untouched = pixels[cells_top + 10, 6 + 160 - 10]  # frame 0, patch (0, 3): grey
    last = pixels[cells_top + 80, 2 * (160 + 6) + 6 + 150]  # frame 2, patch (1, 3): red
    assert first[0] > first[1] + 50 and last[0] > last[1] + 50
    assert (untouched == 200).all()
    with pytest.raises(ValueError, match="2 frames given"):
        draw_selection(frames[:2], selection)


def test_select_shown_frames():
    assert select_shown_frames(5, None) == [0, 1, 2, 3, 4]
    assert select_shown_frames(10, 3) == [0, 4, 9]
    assert select_shown_frames(3, 8) == [0, 1, 2]
    assert select_shown_frames(10, 1) == [0]
