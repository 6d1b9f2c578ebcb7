"""The lmms-eval chat model's logic, without lmms-eval: chat messages in, one answer per request out.

lmms-eval hands a chat model each document as chat messages (`doc_to_messages`): `{"role", "content": [items]}` with
`{"type": "text", "text"}`, `{"type": "image", "url"}` and `{"type": "video", "url", "start_time", "end_time"}`
items (times in seconds; `url` a path, a URL, or a dict with `video_start` / `video_end`). `LinVTChatEvaluator`
turns them into LinVT chats (`to_linvt_messages`), answers them in batches through the "video-question-answering"
pipeline (one video encoded once per request; a batch's answers do not depend on its size), and maps lmms-eval's
generation settings onto `generate` (`generation_options`). A request whose video is missing or cannot be decoded
(or whose messages cannot be read) is answered with an empty string and recorded in `failures`; the others go on.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger("linvt_hf.evaluation")

# Video options a run may set for every video (`LinVTVideoOptions`); `start` / `end` come per video from the task.
RUN_VIDEO_OPTIONS = ("num_frames", "fps", "min_frames", "max_frames", "shot_detector", "max_side")
# lmms-eval's generation settings that `generation_options` reads; any other key is reported as ignored.
GENERATION_KEYS = ("until", "max_new_tokens", "temperature", "do_sample", "top_p", "top_k", "num_beams")
_INPUT_PREFIX = re.compile(r"^input \d+:?\s*")  # the pipeline's "input 3 (video 'x.mp4'): ..." within one batch


@dataclass(frozen=True)
class EvalRequest:
    """One document to answer: its chat messages (lmms-eval's format), generation settings, a name for errors
    (lmms-eval's `task/split/doc_id`) and, for a document the task could not build, why (it then fails)."""

    messages: Sequence[Any]
    gen_kwargs: dict[str, Any] = field(default_factory=dict)
    name: str = "request"
    error: str | None = None


@dataclass(frozen=True)
class EvalFailure:
    """A request that could not be answered (it got an empty answer): its name, round (0 unless multi-round) and
    why."""

    name: str
    reason: str
    round: int = 0


def _plain(value: Any) -> Any:
    """A pydantic object (lmms-eval's `ChatMessage` and content items) as a dict; anything else as it is."""
    return value.model_dump() if hasattr(value, "model_dump") else value


def _video_item(item: dict[str, Any], where: str) -> dict[str, Any]:
    """lmms-eval's video item -> LinVT's `{"type": "video", "video": source, "start", "end"}` (seconds)."""
    source, start, end = item.get("url"), item.get("start_time"), item.get("end_time")
    if isinstance(source, dict):  # a task's visual dict carrying its own clip bounds
        spec = source
        keys = [key for key in ("video", "url", "path") if spec.get(key) is not None]
        if not keys:
            raise ValueError(f"{where}: a video dict needs 'video', 'url' or 'path', got keys {sorted(spec)}")
        source = spec[keys[0]]
        start = spec.get("video_start", start)
        end = spec.get("video_end", end)
    if source is None:
        raise ValueError(f"{where}: a video item needs 'url', got keys {sorted(item)}")
    video = {"type": "video", "video": source}
    if start is not None:
        video["start"] = float(start)
    if end is not None:
        video["end"] = float(end)
    return video


def to_linvt_messages(messages: Sequence[Any]) -> list[dict[str, Any]]:
    """lmms-eval chat messages (dicts or its pydantic `ChatMessage`s) as LinVT chat messages.

    Text stays text, an image item becomes `{"type": "image", "image": url}`, a video item
    `{"type": "video", "video": source, "start": s, "end": e}` (`start_time` / `end_time`, or a visual dict's
    `video_start` / `video_end`, in seconds). A string content is one text item.

    Raises:
        ValueError: an item of another type (audio), or a video or image item without a source, naming the message
            and the item.
    """
    converted = []
    for m, message in enumerate(messages):
        message = _plain(message)
        if not isinstance(message, dict) or "role" not in message or "content" not in message:
            raise ValueError(f"message {m}: a chat message needs 'role' and 'content', got {message!r:.80}")
        content = message["content"]
        items = [{"type": "text", "text": content}] if isinstance(content, str) else [_plain(c) for c in content]
        out = []
        for i, item in enumerate(items):
            where, kind = f"message {m}, content item {i}", item.get("type") if isinstance(item, dict) else None
            if kind == "text":
                out.append({"type": "text", "text": item["text"]})
            elif kind == "video":
                out.append(_video_item(item, where))
            elif kind == "image":
                if item.get("url") is None:
                    raise ValueError(f"{where}: an image item needs 'url', got keys {sorted(item)}")
                out.append({"type": "image", "image": item["url"]})
            else:
                raise ValueError(f"{where}: LinVT models read text, images and videos, got an item of type {kind!r}")
        converted.append({"role": message["role"], "content": out})
    return converted


def generation_options(
    gen_kwargs: dict[str, Any] | None, max_new_tokens: int
) -> tuple[dict[str, Any], list[str], list[str]]:
    """lmms-eval's generation settings as `generate` arguments.

    Greedy unless `temperature` > 0 (and `do_sample` is not False); `top_p` / `top_k` only when sampling;
    `num_beams`; `max_new_tokens` (else the run's default); `until`: stop strings, cut off the answer after
    generation (the first one found ends it).

    Returns:
        (generate keyword arguments, stop strings, the keys that were given but are not generation settings here).

    Raises:
        ValueError: `max_new_tokens` or `num_beams` not a positive integer, `until` not strings.
    """
    options = dict(gen_kwargs or {})
    until = options.pop("until", None)
    stops = [until] if isinstance(until, str) else list(until or [])
    if not all(isinstance(stop, str) for stop in stops):
        raise ValueError(f"until must be a string or a list of strings, got {until!r}")
    limit = options.pop("max_new_tokens", None)
    limit = max_new_tokens if limit is None else limit
    beams = options.pop("num_beams", None)
    beams = 1 if beams is None else beams
    for name, value in (("max_new_tokens", limit), ("num_beams", beams)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    temperature = options.pop("temperature", None) or 0.0
    do_sample = options.pop("do_sample", None)
    top_p, top_k = options.pop("top_p", None), options.pop("top_k", None)
    sample = float(temperature) > 0 and do_sample is not False
    generate: dict[str, Any] = {"max_new_tokens": limit, "num_beams": beams, "do_sample": sample}
    if sample:
        generate["temperature"] = float(temperature)
        if top_p is not None:
            generate["top_p"] = float(top_p)
        if top_k is not None:
            generate["top_k"] = int(top_k)
    return generate, [stop for stop in stops if stop], sorted(options)


def cut_at_stops(text: str, stops: Sequence[str]) -> str:
    """`text` up to the first of `stops` it contains (all of it when none)."""
    ends = [text.find(stop) for stop in stops if stop in text]
    return text[: min(ends)] if ends else text


class LinVTChatEvaluator:
    """Answers lmms-eval documents with a LinVT model (any linvt_hf checkpoint: a saved folder or a Hub id).

    Args:
        pretrained: the model, as `pipeline("video-question-answering", model=...)` takes it.
        batch_size: requests answered together (left-padded; answers do not depend on it).
        device, dtype: as for `pipeline` (`dtype="auto"`: the checkpoint's).
        max_new_tokens: the answer length when a task sets none.
        multi_round_history: in multi-round requests, keep the conversation (each round after the first is asked
            after the earlier rounds and their answers, so a round without a video asks about the first round's);
            False (lmms-eval's protocol): each round is asked on its own messages.
        pipeline: a video-question-answering pipeline already built (then `pretrained`, `device` and `dtype` are
            not read).
        **video_options: sampling for every video (`num_frames`, `fps`, `min_frames`, `max_frames`,
            `shot_detector`, `max_side`); the model's processor defaults otherwise.

    Raises:
        ValueError: an unknown option or a batch size that is not a positive integer.
    """

    def __init__(
        self,
        pretrained: str,
        batch_size: int = 1,
        device: str | None = None,
        dtype: str | None = "auto",
        max_new_tokens: int = 256,
        multi_round_history: bool = False,
        pipeline: Any = None,
        **video_options: Any,
    ) -> None:
        unknown = sorted(set(video_options) - set(RUN_VIDEO_OPTIONS))
        if unknown:
            raise ValueError(f"unknown model argument(s) {unknown}; video options: {RUN_VIDEO_OPTIONS}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if pipeline is None:
            from transformers import pipeline as make_pipeline

            from .. import registration  # noqa: F401  (the LinVT classes and the pipeline task)

            pipeline = make_pipeline("video-question-answering", model=pretrained, device=device, dtype=dtype)
        self.pipeline = pipeline
        self.batch_size, self.max_new_tokens, self.multi_round_history = batch_size, max_new_tokens, multi_round_history
        self.video_options = {key: value for key, value in video_options.items() if value is not None}
        self.failures: list[EvalFailure] = []
        self.answered = 0
        self._warned_keys: set[str] = set()

    # ------------------------------------------------------------------------------------------------ generate_until

    def generate(self, requests: Sequence[EvalRequest]) -> list[str]:
        """One answer per request, in order. Requests with the same generation settings are batched together; a
        request that fails gets `""` and an entry in `failures`."""
        answers: list[str] = [""] * len(requests)
        groups: dict[str, list[int]] = {}
        for index, request in enumerate(requests):
            groups.setdefault(json.dumps(request.gen_kwargs or {}, sort_keys=True, default=str), []).append(index)
        for indices in groups.values():
            for start in range(0, len(indices), self.batch_size):
                chunk = indices[start : start + self.batch_size]
                chats = [self._chat(requests[i]) for i in chunk]
                found = self._answer([requests[i] for i in chunk], chats, requests[chunk[0]].gen_kwargs)
                for i, answer in zip(chunk, found, strict=True):
                    answers[i] = answer
        return answers

    # ------------------------------------------------------------------------------------------------ multi-round

    def generate_rounds(
        self, request: EvalRequest, next_round: Callable[[int, list[str]], Sequence[Any] | None]
    ) -> list[str]:
        """A multi-round request: `request.messages` is round 0; `next_round(round_idx, answers_so_far)` gives the
        next round's messages, or None when the task is done. Returns one answer per round (a failed round: `""`,
        recorded in `failures` with its round)."""
        answers: list[str] = []
        history: list[dict[str, Any]] = []
        round_request: EvalRequest | None = request
        while round_request is not None:
            chat = self._chat(round_request, round_idx=len(answers))
            if chat is not None and self.multi_round_history:
                chat = history + chat
            answer = self._answer([round_request], [chat], request.gen_kwargs, round_idx=len(answers))[0]
            answers.append(answer)
            if chat is not None:
                history = chat + [{"role": "assistant", "content": [{"type": "text", "text": answer}]}]
            try:
                messages = next_round(len(answers), list(answers))
            except Exception as error:  # the task cannot build the next round: the document stops there
                self._fail(request.name, f"{type(error).__name__}: {error}", len(answers))
                messages = None
            round_request = None if messages is None else EvalRequest(messages, request.gen_kwargs, request.name)
        return answers

    # ------------------------------------------------------------------------------------------------ internals

    def _chat(self, request: EvalRequest, round_idx: int = 0) -> list[dict[str, Any]] | None:
        """The request's LinVT chat, or None (recorded as a failure) when its messages cannot be read."""
        if request.error is not None:
            self._fail(request.name, request.error, round_idx)
            return None
        try:
            return to_linvt_messages(request.messages)
        except (TypeError, ValueError, KeyError) as error:
            self._fail(request.name, f"{type(error).__name__}: {error}", round_idx)
            return None

    def _answer(
        self,
        requests: Sequence[EvalRequest],
        chats: Sequence[list[dict[str, Any]] | None],
        gen_kwargs: dict[str, Any],
        round_idx: int = 0,
    ) -> list[str]:
        """Answers of a batch of chats with the same generation settings (None chats: already failed, `""`)."""
        generate, stops, ignored = generation_options(gen_kwargs, self.max_new_tokens)
        new = [key for key in ignored if key not in self._warned_keys]
        if new:
            self._warned_keys.update(new)
            logger.warning("linvt: generation setting(s) %s are not used by LinVT models and are ignored", new)
        rows = [i for i, chat in enumerate(chats) if chat is not None]
        answers = [""] * len(chats)
        if not rows:
            return answers
        results = self.pipeline(
            [chats[i] for i in rows],
            batch_size=self.batch_size,
            on_error="skip",
            **self.video_options,
            **generate,
        )
        for row, result in zip(rows, results, strict=True):
            if isinstance(result, dict) and "error" in result:
                self._fail(requests[row].name, _INPUT_PREFIX.sub("", result["error"]), round_idx)
            else:
                answers[row] = cut_at_stops(result[0]["answer"], stops)
                self.answered += 1
        return answers

    def _fail(self, name: str, reason: str, round_idx: int) -> None:
        self.failures.append(EvalFailure(name, reason, round_idx))
        where = f"{name}, round {round_idx}" if round_idx else name
        logger.warning("linvt: %s not answered (empty answer): %s", where, reason)

    def summary(self, answered_before: int = 0, failed_before: int = 0) -> str:
        """How many requests (rounds) were answered and which failed since the counts were `answered_before` and
        `failed_before`: a first line, then one line per failure."""
        failures = self.failures[failed_before:]
        lines = [f"linvt: {self.answered - answered_before} answered, {len(failures)} failed"]
        lines += [f"  {f.name}" + (f" round {f.round}" if f.round else "") + f": {f.reason}" for f in failures]
        return "\n".join(lines)
