"""`linvt-hf visualize VIDEO --out F.png`: draw what LinVT selected in a video (the paper's Fig. 4).

The sampled frames are drawn in a grid, each with the frame tokens kept by LinVT's top-k selection (SVR) shaded red
over the image patches they come from, and its timestamp and source frame index under it. The question (--question)
is asked too: it conditions LinVT's token aggregation (TTA) and the model's answer, both written above the frames.
The selection itself is made before the question is read (SVR scores the frame tokens alone).

Frames shown are those the model sampled (for Qwen2-VL, whose LinVT frames are pairs of frames, the first of each
pair), decoded again at display size. An existing --out file is never replaced unless --overwrite is given.

The model is --model (a folder saved with save_pretrained, holding the model in safetensors and its processor,
or a Hub id), or the LINVT_DEFAULT_MODEL environment variable, else the tiny demo model shipped with the package
(trained on the synthetic shapes set by examples/mini_recipe.py, see its model card in linvt_hf/assets/demo_model).
"""

from __future__ import annotations

import argparse
import os

from PIL import Image

from .common import add_model_arguments, answer_question, positive_int

DEFAULT_QUESTION = "What happens in this video?"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "visualize",
        help="draw the frame patches LinVT selected in a video into an image",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("video", metavar="VIDEO", help="path or URL of a video file")
    parser.add_argument("--out", required=True, metavar="F.png", help="image file to write (PNG, JPEG, ...)")
    add_model_arguments(parser)
    parser.add_argument("--question", default=DEFAULT_QUESTION, help=f"question asked ({DEFAULT_QUESTION!r})")
    parser.add_argument(
        "--max-frames-shown", type=positive_int, default=16, metavar="K", help="frames drawn, spread evenly (16)"
    )
    parser.add_argument("--columns", type=positive_int, default=4, help="frames per row of the figure (4)")
    parser.add_argument("--cell-width", type=positive_int, default=256, help="width of each frame in pixels (256)")
    parser.add_argument(
        "--max-new-tokens", type=positive_int, default=64, metavar="K", help="longest answer in tokens (64)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..visualization import draw_selection, frames_for_selection

    check_output(args.out, args.overwrite)
    result, progress = answer_question(args, "reading the video, selecting and answering", return_selection=True)
    selection = result["selection"][0]
    progress(f"decoding {len(selection['frame_indices'])} frames for display")
    frames = frames_for_selection(args.video, selection, max_side=max(args.cell_width * 2, 256))
    total = len(selection["frame_indices"]) * selection["tokens_per_frame"]
    title = [
        f"Q: {args.question}",
        f"A: {_one_line(result['answer'])}",
        f"LinVT kept {selection['num_selected']} of {total} frame tokens (red)",
    ]
    figure = draw_selection(
        frames,
        selection,
        max_frames=args.max_frames_shown,
        columns=args.columns,
        cell_width=args.cell_width,
        title=title,
    )
    figure.save(args.out)
    progress(f"wrote {args.out}")
    print(args.out)
    return 0


def check_output(path: str, overwrite: bool) -> None:
    """Refuse to replace a file unless asked to; check the folder and format before any work is done."""
    if os.path.isdir(path):
        raise ValueError(f"--out {path!r} is a folder; give an image file name such as selection.png")
    if os.path.exists(path) and not overwrite:
        raise ValueError(f"{path!r} exists; pass --overwrite to replace it")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"folder of --out does not exist: {folder!r}")
    extension = os.path.splitext(path)[1].lower()
    if extension not in Image.registered_extensions():
        raise ValueError(f"--out {path!r}: unknown image format {extension or '(no extension)'!r}; use .png")


def _one_line(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    printable = "".join(c for c in text if c.isprintable())
    return printable if len(printable) <= limit else printable[: limit - 3] + "..."
