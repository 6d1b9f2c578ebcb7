"""What the model-running subcommands (`ask`, `visualize`) share: finding the model, loading the pipeline, progress."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from typing import Any

MODEL_ENV = "LINVT_DEFAULT_MODEL"
MODEL_HELP = (
    "folder or Hub id of a LinVT model saved with save_pretrained (config, safetensors weights and processor; a "
    "pickle pytorch_model.bin is refused); default: the "
    f"{MODEL_ENV} environment variable, else the tiny demo model shipped with the package (trained on the synthetic "
    "shapes set by examples/mini_recipe.py; it answers that set's questions only)"
)
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.\-]*://")

# What a model folder must hold for the CLI (see `check_model_folder`).
SAFETENSORS_INDEX = "model.safetensors.index.json"
SAFETENSORS_WEIGHTS = ("model.safetensors", "linvt.safetensors")  # a whole model; a LinVT-only checkpoint
PICKLE_WEIGHTS = ("pytorch_model.bin", "pytorch_model.bin.index.json")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "vocab.txt")
MAX_SAFETENSORS_HEADER = 100 * 1024 * 1024  # the safetensors format's own limit


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
    """`pipeline("video-question-answering", model=model)`, with load errors as one-line ValueErrors (a local
    folder is checked first, see `check_model_folder`)."""
    from safetensors import SafetensorError
    from transformers import pipeline

    from .. import registration  # noqa: F401  (registers the LinVT classes and the pipeline task)

    if _looks_like_path(model) and not os.path.exists(model):
        raise FileNotFoundError(f"model folder not found: {model!r}")
    if os.path.exists(model):
        check_model_folder(model)
    progress(f"loading model {model}")
    try:
        qa = pipeline("video-question-answering", model=model, device=device)
    except (OSError, ValueError, TypeError, KeyError, SafetensorError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(f"cannot load a LinVT model from {model!r}: {reason}") from None
    progress(f"loaded {type(qa.model).__name__} on {qa.device}")
    return qa


def check_model_folder(folder: str) -> None:
    """Fail with one line naming the file and the reason, before transformers loads anything, when a local model
    folder lacks its config, its tokenizer or safetensors weights, or a weights file is empty or truncated.

    Pickle checkpoints (`pytorch_model.bin`) are refused: loading a pickle can run code, and the CLI reads
    safetensors weights only.
    """
    if not os.path.isdir(folder):
        raise ValueError(f"--model {folder!r} is a file; give the folder a model was saved to with save_pretrained")
    if not os.path.isfile(os.path.join(folder, "config.json")):
        raise FileNotFoundError(
            f"{os.path.join(folder, 'config.json')}: missing; --model needs a folder saved with save_pretrained"
        )
    for path in _safetensors_files(folder):
        check_safetensors_file(path)
    if not any(os.path.isfile(os.path.join(folder, name)) for name in TOKENIZER_FILES):
        raise FileNotFoundError(
            f"{os.path.join(folder, TOKENIZER_FILES[0])}: missing (and no other tokenizer file: "
            f"{', '.join(TOKENIZER_FILES[1:])}); the processor cannot read text without it: save the processor "
            "to the folder too (processor.save_pretrained(folder))"
        )


def _safetensors_files(folder: str) -> list[str]:
    """The safetensors weight files of a model folder: the shards its index lists, or its single weights file."""
    index = os.path.join(folder, SAFETENSORS_INDEX)
    if os.path.isfile(index):
        try:
            with open(index, encoding="utf-8") as file:
                shards = sorted(set(json.load(file)["weight_map"].values()))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, AttributeError) as error:
            raise ValueError(f"{index}: not a safetensors index (a JSON object with a 'weight_map'): {error}") from None
        paths = [os.path.join(folder, shard) for shard in shards]
        for path in paths:
            if not os.path.isfile(path):
                raise FileNotFoundError(f"{path}: missing, but {SAFETENSORS_INDEX} lists weights in it")
        return paths
    for name in SAFETENSORS_WEIGHTS:
        if os.path.isfile(os.path.join(folder, name)):
            return [os.path.join(folder, name)]
    pickles = [name for name in PICKLE_WEIGHTS if os.path.isfile(os.path.join(folder, name))]
    if pickles:
        raise ValueError(
            f"{os.path.join(folder, pickles[0])}: a pickle checkpoint, and linvt-hf reads safetensors weights only "
            "(loading a pickle can run code); convert it where you trust it: load the model in Python and "
            "save_pretrained it (safetensors is the default)"
        )
    raise FileNotFoundError(
        f"{os.path.join(folder, SAFETENSORS_WEIGHTS[0])}: missing; the folder holds no model weights "
        f"({', '.join(SAFETENSORS_WEIGHTS)} or {SAFETENSORS_INDEX})"
    )


def check_safetensors_file(path: str) -> None:
    """Check a safetensors file's framing without reading its tensors: an 8-byte header length, a JSON header, and
    exactly as many bytes of tensor data as the header's offsets describe (so an empty or cut file is caught)."""
    size = os.path.getsize(path)
    if size == 0:
        raise ValueError(f"{path}: the file is empty (an interrupted download or copy?)")
    with open(path, "rb") as file:
        prefix = file.read(8)
        length = int.from_bytes(prefix, "little") if len(prefix) == 8 else None
        if length is None or length > MAX_SAFETENSORS_HEADER or 8 + length > size:
            raise ValueError(
                f"{path}: truncated or not a safetensors file: {size} bytes, too short for the header it announces"
            )
        try:
            header = json.loads(file.read(length))
            end = max(
                (int(entry["data_offsets"][1]) for key, entry in header.items() if key != "__metadata__"), default=0
            )
        except (UnicodeDecodeError, ValueError, KeyError, TypeError, IndexError, AttributeError) as error:
            raise ValueError(f"{path}: not a safetensors file: its header cannot be read ({error})") from None
    expected = 8 + length + end
    if size < expected:
        raise ValueError(
            f"{path}: truncated: {size} bytes of the {expected} its header describes (an interrupted download or copy?)"
        )
    if size > expected:
        raise ValueError(f"{path}: not a safetensors file: {size - expected} bytes more than its header describes")


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
