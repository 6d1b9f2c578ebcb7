"""`linvt-hf ask VIDEO QUESTION`: answer a question about a video with a LinVT model and print the answer.

With --selection, also print what LinVT looked at: the frames it sampled (timestamps), the share of the tokens kept by
its top-k selection that lies in each frame, and the tokens with the highest significance scores (frame, row and
column of the patch). With --json, print one JSON object (answer, and the full selection with --selection).

The model is --model (a folder saved with save_pretrained, holding the model in safetensors and its processor,
or a Hub id), or the LINVT_DEFAULT_MODEL environment variable, else the tiny demo model shipped with the package
(trained on the synthetic shapes set by examples/mini_recipe.py, see its model card in linvt_hf/assets/demo_model).
Progress goes to stderr, the answer to stdout.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from .common import add_model_arguments, answer_question, positive_int

BAR_WIDTH = 30


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "ask",
        help="answer a question about a video with a LinVT model",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("video", metavar="VIDEO", help="path or URL of a video file")
    parser.add_argument("question", metavar="QUESTION", help="the question, in quotes")
    add_model_arguments(parser)
    parser.add_argument(
        "--max-new-tokens", type=positive_int, default=256, metavar="K", help="longest answer in tokens (256)"
    )
    parser.add_argument("--selection", action="store_true", help="also print what LinVT selected in the video")
    parser.add_argument("--top", type=int, default=5, help="with --selection: how many top-scored tokens to list (5)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    result, progress = answer_question(
        args, "reading the video and answering", return_selection=args.selection, top_scores=max(args.top, 0)
    )
    progress("done")
    if args.json:
        print(json.dumps({"video": args.video, "question": args.question, **result}, indent=2))
        return 0
    print(result["answer"])
    for index, selection in enumerate(result.get("selection", [])):
        print()
        print("\n".join(describe_selection(selection, title=f"what LinVT looked at (video {index + 1})")))
    return 0


def describe_selection(selection: dict[str, Any], title: str = "what LinVT looked at") -> list[str]:
    """Text lines summarising one video's selection (see `summarize_selection`)."""
    grid = selection.get("grid")
    total = len(selection["frame_indices"]) * selection["tokens_per_frame"]
    lines = [f"== {title} =="]
    lines.append(
        f"frames   {len(selection['frame_indices'])} sampled; "
        f"selected {selection['num_selected']} of {total} frame tokens"
        + (f" ({grid[0]}x{grid[1]} per frame)" if grid else "")
    )
    lines.append("share of selected tokens per frame:")
    for step, (timestamp, share) in enumerate(zip(selection["timestamps"], selection["frame_share"])):
        bar = "#" * round(share * BAR_WIDTH)
        lines.append(
            f"  frame {step:3d}  t={timestamp:8.2f} s  (source frame {selection['frame_indices'][step]:6d})  "
            f"{100 * share:5.1f}%  {bar}"
        )
    if selection["top_tokens"]:
        lines.append("highest significance scores:")
        for rank, token in enumerate(selection["top_tokens"], start=1):
            where = f"row {token['row']}, col {token['col']}" if "row" in token else f"token {token['token']}"
            lines.append(
                f"  {rank:2d}. frame {token['frame']} (t={token['timestamp']:.2f} s), {where}: {token['score']:.4f}"
            )
    return lines
