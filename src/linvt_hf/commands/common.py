"""What the model-running subcommands (`ask`, `visualize`) share: finding the model, loading the pipeline, progress."""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from typing import Any

MODEL_ENV = "LINVT_DEFAULT_MODEL"
MODEL_HELP = (
    "folder or Hub id of a LinVT model saved with save_pretrained (model and processor); default: the "
    f"{MODEL_ENV} environment variable, else the tiny demo model shipped with the package (trained on the synthetic "
    "shapes set by examples/mini_recipe.py; it answers that set's questions only)"
)
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.\-]*://")


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """--model, --num-frames, --device."""
    parser.add_argument("--model", metavar="M", default=None, help=MODEL_HELP)
    parser.add_argument(
        "--num-frames",
        type=positive_int,
        default=None,
        metavar="N",
        help="frames sampled from the video (default: the processor's setting)",
    )
    parser.add_argument("--device", default=None, help="torch device, e.g. cpu or cuda:0 (default: GPU 0 if any)")


class Progress:
    """One-line progress messages on stderr, with the time since the command started."""

    def __init__(self) -> None:
        self.started = time.perf_counter()

    def __call__(self, message: str) -> None:
        print(f"[{time.perf_counter() - self.started:5.1f} s] {message}", file=sys.stderr, flush=True)


def resolve_model(model: str | None) -> str:
    """The model to load: --model, else $LINVT_DEFAULT_MODEL, else the shipped demo model."""
    from ..assets import demo_model_path

    return model or os.environ.get(MODEL_ENV) or str(demo_model_path())


def check_video(video: str) -> None:
    """Fail early, before loading a model, when a local video file does not exist."""
    if not _URL.match(video) and not os.path.exists(video):
        raise FileNotFoundError(f"video file not found: {video!r}")


def load_pipeline(model: str, device: str | None, progress: Progress) -> Any:
    """`pipeline("video-question-answering", model=model)`, with load errors as one-line ValueErrors."""
    from transformers import pipeline

    from .. import registration  # noqa: F401  (registers the LinVT classes and the pipeline task)

    if _looks_like_path(model) and not os.path.exists(model):
        raise FileNotFoundError(f"model folder not found: {model!r}")
    progress(f"loading model {model}")
    try:
        qa = pipeline("video-question-answering", model=model, device=device)
    except (OSError, ValueError, TypeError, KeyError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(f"cannot load a LinVT model from {model!r}: {reason}") from None
    progress(f"loaded {type(qa.model).__name__} on {qa.device}")
    return qa


def _looks_like_path(model: str) -> bool:
    """A local path rather than a Hub id ("namespace/name")."""
    if os.path.isabs(model) or model.startswith((".", "~")) or model.count("/") > 1:
        return True
    return os.sep != "/" and os.sep in model


def sampling_options(args: argparse.Namespace) -> dict[str, Any]:
    return {} if args.num_frames is None else {"num_frames": args.num_frames}


def answer_question(args: argparse.Namespace, doing: str, **pipeline_options: Any) -> tuple[dict[str, Any], Progress]:
    """Find the model, check the video, load the pipeline and ask `args.question` about `args.video`.

    Returns the pipeline's result for the video (answer, and `selection` when asked for) and the progress printer.
    """
    model = resolve_model(args.model)
    check_video(args.video)
    progress = Progress()
    qa = load_pipeline(model, args.device, progress)
    progress(doing)
    result = qa(
        video=args.video,
        question=args.question,
        max_new_tokens=args.max_new_tokens,
        **pipeline_options,
        **sampling_options(args),
    )[0]
    return result, progress


def positive_int(text: str) -> int:
    """argparse type: an int >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value
