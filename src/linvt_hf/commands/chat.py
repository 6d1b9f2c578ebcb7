"""`linvt-hf chat VIDEO`: an interactive conversation about one video, one question per line.

The video is decoded and encoded once, up to TTA (the vision encoder, SVR's scores, top-k and MTP: what no question
changes); each question then costs only TTA and the LLM. The conversation is kept (the processor's chat template,
multi-turn): a question may refer to an earlier answer. An empty line is ignored (with a note), end of input (Ctrl-D)
ends the session; answers go to stdout, everything else to stderr.

The model is --model (a folder saved with save_pretrained, or a Hub id), else $LINVT_DEFAULT_MODEL, else the tiny
demo model shipped with the package.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

import torch

from ..processing.errors import VideoDecodeError, describe_source
from .common import (
    Progress,
    add_model_arguments,
    check_video,
    load_pipeline,
    positive_int,
    resolve_model,
    sampling_options,
)

PROMPT = "question> "


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "chat",
        help="a conversation about a video: each question after the video is read costs only TTA and the LLM",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("video", metavar="VIDEO", help="path or URL of a video file")
    add_model_arguments(parser)
    parser.add_argument(
        "--max-new-tokens", type=positive_int, default=256, metavar="K", help="longest answer in tokens (256)"
    )
    parser.set_defaults(func=run)


class VideoChat:
    """A conversation about one video: the video encoded once (`encode_video_context`), then `ask(question)` per
    turn, with the turns so far in the prompt (the processor's chat template) as text and the video in the turn
    being asked, so that TTA reads the current question.

    Args:
        model (`LinVTForConditionalGeneration`), processor (`LinVTProcessor`): the LinVT model and its processor.
        video: anything the processor takes as a video (path, URL, frames, ...).
        sampling (`dict`): video options (`num_frames`, `fps`, ...) for the processor.

    Raises:
        ValueError: the video cannot be read (the message names it and says why).
    """

    def __init__(self, model: Any, processor: Any, video: Any, sampling: dict[str, Any] | None = None) -> None:
        self.model, self.processor, self.video = model, processor, video
        try:
            inputs = processor(videos=[video], return_tensors="pt", **(sampling or {}))
        except VideoDecodeError:
            raise  # its message names the video and the reason
        except (OSError, ValueError, RuntimeError) as error:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise ValueError(f"cannot read the video {describe_source(video)}: {reason}") from None
        inputs = {
            key: value.to(model.device, model.dtype) if key.startswith("pixel_values") else value.to(model.device)
            for key, value in inputs.items()
            if isinstance(value, torch.Tensor)
        }
        self.video_token_count = processor.video_token_counts(inputs["video_frame_mask"].cpu())[0]
        with torch.no_grad():
            self.context = model.encode_video_context(**inputs)
        self.messages: list[dict[str, Any]] = []

    def ask(self, question: str, **generate_kwargs: Any) -> str:
        """The model's answer to `question`, given the conversation so far (which then holds both)."""
        # The video sits in the turn being asked, the earlier turns stay as text: TTA reads the question of the turn
        # that holds the video (`LinVTProcessor.question_spans`), so each follow-up conditions the video tokens.
        video = self.video if isinstance(self.video, str) else "video"
        content = [{"type": "video", "path": video}, {"type": "text", "text": question}]
        messages = [*self.messages, {"role": "user", "content": content}]
        text = self.processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        inputs = self.processor.encoded_video_prompts(text, [self.video_token_count], return_tensors="pt")
        inputs = {key: value.to(self.model.device) for key, value in inputs.items()}
        with torch.no_grad():
            sequences = self.model.generate(**inputs, video_context=self.context, **generate_kwargs)
        answer = self.processor.tokenizer.decode(
            sequences[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True
        ).strip()
        self.messages = [
            *self.messages,
            {"role": "user", "content": [{"type": "text", "text": question}]},
            {"role": "assistant", "content": [{"type": "text", "text": answer}]},
        ]
        return answer


def run(args: argparse.Namespace, stdin: TextIO | None = None) -> int:
    stdin = stdin if stdin is not None else sys.stdin
    model = resolve_model(args.model)
    check_video(args.video)
    progress = Progress()
    qa = load_pipeline(model, args.device, progress)
    progress(f"reading and encoding {args.video}")
    chat = VideoChat(qa.model, qa.processor, args.video, sampling_options(args))
    progress("ready: one question per line; Ctrl-D (end of input) ends the chat")
    interactive = stdin.isatty()
    while True:
        if interactive:
            print(PROMPT, end="", file=sys.stderr, flush=True)
        line = stdin.readline()
        if line == "":
            print("end of input: chat closed", file=sys.stderr)
            return 0
        question = line.strip()
        if not question:
            print("empty line ignored: type a question, or Ctrl-D to end the chat", file=sys.stderr)
            continue
        print(chat.ask(question, max_new_tokens=args.max_new_tokens), flush=True)
