"""The video question answering pipeline of LinVT models ("video-question-answering", "video-text-to-text").

A question about a video goes in, the model's answer comes out. With `return_selection=True` the pipeline also says
what LinVT looked at in each video: the frames it sampled (indices and timestamps), how the tokens kept by SVR's
top-k selection are spread over those frames, the highest significance scores with their (frame, row, col) place,
and every selected token's place (for drawing, see `linvt_hf.visualization.draw_selection`). All of it is plain
Python (lists, ints, floats, strings), so it can be written as JSON as is.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from transformers import AutoProcessor
from transformers.generation import GenerationConfig
from transformers.pipelines.base import Pipeline, PipelineDataset, PipelineIterator, no_collate_fn
from transformers.utils.chat_template_utils import Chat
from torch.utils.data import DataLoader

from ..modeling.modeling_linvt import VIDEO_INPUT_NAMES, LinVTForConditionalGeneration


DEFAULT_TOP_SCORES = 10

# Options that go to the video processor rather than to `generate`.
VIDEO_SAMPLING_OPTIONS = ("num_frames", "fps", "min_frames", "max_frames", "shot_detector", "max_side")


class VideoQuestionAnsweringPipeline(Pipeline):
    r"""
    Answers questions about videos with a LinVT video-LLM (`LinVTForConditionalGeneration`) and its
    `LinVTProcessor`.

    Inputs, as transformers' question answering pipelines take them:

    - `pipe(video=..., question="...")` or `pipe({"video": ..., "question": "..."})`: one question about one video;
    - `pipe([{"video": ..., "question": ...}, ...])`, or `pipe(video=[v1, v2], question=["q1", "q2"])`, or several
      videos and one question (`pipe(video=["a.mp4", "b.mp4"], question="...")`): a batch;
    - chat messages in the `apply_chat_template` format, with `{"type": "video", "path" | "url" | "video": ...}`
      content items: `pipe(messages)` or `pipe([messages_1, messages_2])`.

    A video is anything `LinVTProcessor` takes: a path, a URL, bytes, a binary file object, frames as a numpy array
    or torch tensor `[T, H, W, 3]`, a list of PIL images, or a spec dict `{"video": source, "num_frames": 8, ...}`.

    Returns:
        For one input, a list of dicts (one per generated sequence, so one unless `num_return_sequences` is set);
        for a list (or batch) of inputs, a list of such lists, in input order. Each dict holds

        - **answer** (`str`) -- the generated answer, without the prompt and special tokens, stripped.
        - **selection** (`list[dict]`, with `return_selection=True`) -- one dict per video of the input, see
          `summarize_selection`.

    Call options: `num_frames`, `fps` (and `min_frames`, `max_frames`, `shot_detector`, `max_side`) override the
    processor's sampling; `processor_kwargs` go to `apply_chat_template`; `max_new_tokens`, `generate_kwargs` and any
    generation parameter (`do_sample`, `num_beams`, ...) go to `generate`; `return_selection`, `top_scores` (how many
    of the highest significance scores to report, default 10); `batch_size` as for every pipeline (results do not
    depend on it).

    Example:

    ```python
    >>> import linvt_hf
    >>> from transformers import pipeline
    >>> qa = pipeline("video-question-answering", model="path/to/linvt-model")
    >>> qa(video="clip.mp4", question="What is the rabbit doing?", num_frames=16, max_new_tokens=32)
    [{'answer': '...'}]
    ```
    """

    _load_processor = None  # loaded when the model's folder has one; see `__init__` for a model object
    _load_image_processor = False
    _load_feature_extractor = False
    _load_tokenizer = False
    _pipeline_calls_generate = True
    _default_generation_config = GenerationConfig(max_new_tokens=256)
    _non_generation_params = ("num_frames", "fps", "min_frames", "max_frames", "max_side")

    # Set on the class registered for a task that transformers implements itself (see `register_pipelines`): models
    # that are not LinVT models get that native pipeline instead.
    native_impl: ClassVar[str | type | None] = None

    def __new__(cls, model: Any = None, *args: Any, **kwargs: Any):
        if cls.native_impl is not None and not isinstance(model, LinVTForConditionalGeneration):
            return _resolve_impl(cls.native_impl)(model, *args, **kwargs)
        return super().__new__(cls)

    def __init__(self, model: LinVTForConditionalGeneration, *args: Any, **kwargs: Any) -> None:
        if not isinstance(model, LinVTForConditionalGeneration):
            raise TypeError(
                f"{type(self).__name__} needs a LinVT model (LinVTForConditionalGeneration), got "
                f"{type(model).__name__}; load it with AutoModelForImageTextToText after `import linvt_hf`"
            )
        if kwargs.get("processor") is None:
            kwargs["processor"] = _processor_of(model)
        super().__init__(model, *args, **kwargs)

    # ------------------------------------------------------------------------------------------------ parameters

    def _sanitize_parameters(
        self,
        num_frames: int | None = None,
        fps: float | None = None,
        processor_kwargs: dict[str, Any] | None = None,
        max_new_tokens: int | None = None,
        generate_kwargs: dict[str, Any] | None = None,
        return_selection: bool | None = None,
        top_scores: int | None = None,
        skip_special_tokens: bool | None = None,
        clean_up_tokenization_spaces: bool | None = None,
        **kwargs: Any,
    ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        sampling = {"num_frames": num_frames, "fps": fps}
        sampling.update({key: kwargs.pop(key) for key in VIDEO_SAMPLING_OPTIONS if key in kwargs})
        sampling = {key: value for key, value in sampling.items() if value is not None}
        preprocess_params: dict[str, Any] = {}
        if sampling or processor_kwargs:
            preprocess_params["processor_kwargs"] = {**(processor_kwargs or {}), **sampling}

        generate_kwargs = dict(generate_kwargs or {})
        if max_new_tokens is not None:
            if "max_new_tokens" in generate_kwargs:
                raise ValueError("max_new_tokens is given twice: as a parameter and in generate_kwargs")
            generate_kwargs["max_new_tokens"] = max_new_tokens
        generate_kwargs.update(kwargs)  # the rest are generation parameters, as for text-generation
        forward_params: dict[str, Any] = {}
        if generate_kwargs:
            forward_params["generate_kwargs"] = generate_kwargs
        if return_selection is not None:
            forward_params["return_selection"] = bool(return_selection)
        if top_scores is not None:
            if top_scores < 0:
                raise ValueError(f"top_scores must be >= 0, got {top_scores}")
            forward_params["top_scores"] = int(top_scores)

        postprocess_params = {}
        if skip_special_tokens is not None:
            postprocess_params["skip_special_tokens"] = skip_special_tokens
        if clean_up_tokenization_spaces is not None:
            postprocess_params["clean_up_tokenization_spaces"] = clean_up_tokenization_spaces
        return preprocess_params, forward_params, postprocess_params

    # ------------------------------------------------------------------------------------------------ inputs

    def __call__(
        self,
        video: Any = None,
        question: str | Sequence[str] | None = None,
        **kwargs: Any,
    ) -> list[dict[str, Any]] | list[list[dict[str, Any]]]:
        """Answer `question` about `video`; see the class docstring for the input forms and the output."""
        inputs = self._normalize_inputs(video, question)
        return super().__call__(inputs, **kwargs)

    def _normalize_inputs(self, video: Any, question: Any) -> Any:
        """One request (a dict or a `Chat`) or a list of them."""
        if question is None:
            if _is_chat(video) or _all(video, _is_chat):
                return video  # the base class turns messages into `Chat`s
            if isinstance(video, dict) or _all(video, lambda item: isinstance(item, dict)):
                return video  # request dicts
            if video is None:
                raise ValueError("give a video and a question: pipe(video=..., question=...), a dict or chat messages")
            raise ValueError("a question is needed: pipe(video=..., question='...')")
        if isinstance(question, str):
            if isinstance(video, (list, tuple)) and video and not _is_frame_list(video):
                return [{"video": v, "question": question} for v in video]
            return {"video": video, "question": question}
        questions = list(question)
        if not isinstance(video, (list, tuple)) or len(video) != len(questions):
            raise ValueError(
                f"{len(questions)} questions need a list of as many videos, got {type(video).__name__}"
                + (f" of length {len(video)}" if isinstance(video, (list, tuple)) else "")
            )
        return [{"video": v, "question": q} for v, q in zip(video, questions)]

    def preprocess(
        self,
        inputs: dict[str, Any] | Chat,
        processor_kwargs: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Chat template, video decoding and sampling for one request: a batch of one."""
        messages = inputs.messages if isinstance(inputs, Chat) else _question_messages(inputs)
        model_inputs = self.processor.apply_chat_template(
            messages,
            tokenize=True,
            add_generation_prompt=messages[-1]["role"] != "assistant",
            continue_final_message=messages[-1]["role"] == "assistant",
            return_dict=True,
            return_tensors="pt",
            processor_kwargs=dict(processor_kwargs or {}),
        )
        if self.processor.video_token_id not in model_inputs["input_ids"]:
            raise ValueError("the input holds no video: give one with video=... or a {'type': 'video', ...} item")
        model_inputs = {key: value for key, value in model_inputs.items()}
        model_inputs["meta"] = [{}]
        return model_inputs

    def get_iterator(
        self, inputs, num_workers: int, batch_size: int, preprocess_params, forward_params, postprocess_params
    ):
        # As the base class, with a collate function that knows video inputs (concatenated, padded per video) and
        # pads prompts on the left for generation.
        if hasattr(inputs, "__len__"):
            dataset = PipelineDataset(inputs, self.preprocess, preprocess_params)
        else:
            dataset = PipelineIterator(inputs, self.preprocess, preprocess_params)
        collate_fn = no_collate_fn if batch_size == 1 else self._collate
        loader = DataLoader(dataset, num_workers=num_workers, batch_size=batch_size, collate_fn=collate_fn)
        model_iterator = PipelineIterator(loader, self.forward, forward_params, loader_batch_size=batch_size)
        return PipelineIterator(model_iterator, self.postprocess, postprocess_params)

    def _collate(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        return collate_video_inputs(items, pad_token_id=self.processor.tokenizer.pad_token_id)

    # ------------------------------------------------------------------------------------------------ model

    def _forward(
        self,
        model_inputs: dict[str, Any],
        generate_kwargs: dict[str, Any] | None = None,
        return_selection: bool = False,
        top_scores: int = DEFAULT_TOP_SCORES,
    ) -> dict[str, Any]:
        meta = model_inputs.pop("meta")
        # Pixels in the model's dtype; timestamps stay float32 (bf16 would round them to a few digits).
        model_inputs = {
            key: value.to(self.dtype) if key.startswith("pixel_values") else value for key, value in model_inputs.items()
        }
        input_ids = model_inputs["input_ids"]
        generate_kwargs = self._prepare_generate_kwargs(dict(generate_kwargs or {}), return_dict_in_generate=False)
        sequences = self.model.generate(**model_inputs, **generate_kwargs)
        new_tokens = sequences[:, input_ids.shape[1] :]
        new_tokens = new_tokens.reshape(input_ids.shape[0], -1, new_tokens.shape[-1])  # [B, num_sequences, new]
        if return_selection:
            per_sample = selection_by_sample(self.model, model_inputs, top_scores)
            meta = [{**m, "selection": s} for m, s in zip(meta, per_sample)]
        return {"generated_ids": new_tokens, "meta": meta}

    def postprocess(
        self,
        model_outputs: dict[str, Any],
        skip_special_tokens: bool = True,
        clean_up_tokenization_spaces: bool | None = None,
    ) -> list[dict[str, Any]]:
        meta = model_outputs["meta"]
        meta = meta[0] if isinstance(meta, list) else meta  # a batch of one, or one item unrolled from a batch
        sequences = model_outputs["generated_ids"][0]
        texts = self.processor.tokenizer.batch_decode(
            sequences,
            skip_special_tokens=skip_special_tokens,
            clean_up_tokenization_spaces=clean_up_tokenization_spaces,
        )
        records = []
        for text in texts:
            record = {"answer": text.strip()}
            if "selection" in meta:
                record["selection"] = meta["selection"]
            records.append(record)
        return records


# ---------------------------------------------------------------------------------------------------------------------
# Inputs


def _is_chat(value: Any) -> bool:
    return (
        isinstance(value, (list, tuple))
        and len(value) > 0
        and all(isinstance(m, dict) and "role" in m and "content" in m for m in value)
    )


def _all(value: Any, predicate: Any) -> bool:
    """A non-empty list whose items all satisfy `predicate`."""
    return isinstance(value, list) and len(value) > 0 and all(predicate(item) for item in value)


def _is_frame_list(value: Sequence[Any]) -> bool:
    """A list of frames (PIL images or `[H, W(, C)]` arrays) is one video, not a list of videos."""
    return all(hasattr(item, "getpixel") or getattr(item, "ndim", None) in (2, 3) for item in value)


def _question_messages(request: dict[str, Any]) -> list[dict[str, Any]]:
    """`{"video": ..., "question": ...}` -> one user turn holding the video, then the question."""
    unknown = sorted(set(request) - {"video", "question"})
    if unknown or "video" not in request or not isinstance(request.get("question"), str):
        raise ValueError(
            f"an input dict needs 'video' and a 'question' string (and nothing else), got keys {sorted(request)}"
        )
    video = request["video"]
    item = {"type": "video", **video} if isinstance(video, dict) else {"type": "video", "video": video}
    content = [item, {"type": "text", "text": request["question"]}]
    return [{"role": "user", "content": content}]


def _processor_of(model: LinVTForConditionalGeneration) -> Any:
    """The processor saved next to a model object loaded from a folder (the pipeline needs one)."""
    source = getattr(model, "name_or_path", "") or ""
    try:
        return AutoProcessor.from_pretrained(source) if source else None
    except (OSError, ValueError) as error:
        raise ValueError(
            f"no processor given and none could be loaded from {source!r} ({error}); pass processor=LinVTProcessor"
        ) from None


def collate_video_inputs(items: list[dict[str, Any]], pad_token_id: int) -> dict[str, Any]:
    """Merge per-sample processor outputs (batches of one) into one batch.

    Token-aligned tensors (`input_ids`, `attention_mask`, `question_mask`, `mm_token_type_ids`, ...) are padded on
    the left, as generation needs. Visual tensors are concatenated over samples in order (videos and images are in
    placeholder order across the batch, as the processor itself lays them out); per-video time-step tensors
    (`video_frame_mask`, `video_timestamps`, ...) are padded to the longest video first, with False / 0 (-1 for frame
    indices), as `LinVTVideoProcessor` pads them. Lists (`meta`) are concatenated.
    """
    batch: dict[str, Any] = {}
    length = max(item["input_ids"].shape[1] for item in items)
    for key in items[0]:
        values = [item[key] for item in items if key in item]
        if isinstance(values[0], list):
            batch[key] = [entry for value in values for entry in value]
        elif _is_token_aligned(key, items[0]):
            fill = pad_token_id if key == "input_ids" else 0
            batch[key] = torch.cat([_pad_dim1(value, length, fill, left=True) for value in values])
        elif values[0].ndim >= 2:
            fill = -1 if key.endswith("frame_indices") else 0
            width = max(value.shape[1] for value in values)
            batch[key] = torch.cat([_pad_dim1(value, width, fill, left=False) for value in values])
        else:
            batch[key] = torch.cat(values)
    return batch


def _is_token_aligned(key: str, item: dict[str, Any]) -> bool:
    if key.startswith(("pixel_values", "video_", "image_")):
        return False
    value = item[key]
    return torch.is_tensor(value) and tuple(value.shape[:2]) == tuple(item["input_ids"].shape)


def _pad_dim1(value: torch.Tensor, size: int, fill: int, left: bool) -> torch.Tensor:
    missing = size - value.shape[1]
    if missing == 0:
        return value
    pad = value.new_full((value.shape[0], missing, *value.shape[2:]), fill)
    return torch.cat([pad, value] if left else [value, pad], dim=1)


# ---------------------------------------------------------------------------------------------------------------------
# What LinVT selected


@torch.no_grad()
def selection_by_sample(
    model: LinVTForConditionalGeneration, model_inputs: dict[str, Any], top_scores: int = DEFAULT_TOP_SCORES
) -> list[list[dict[str, Any]]]:
    """For each sample of a batch, `summarize_selection` of each of its videos (in prompt order).

    LinVT is run again on the videos (vision encoder, projector, LinVT; not the LLM), exactly as in the forward pass.
    """
    input_ids = model_inputs["input_ids"]
    video_inputs = {key: model_inputs.get(key) for key in VIDEO_INPUT_NAMES}
    _, outputs, groups = model.encode_videos(input_ids, video_inputs, output_video_tokenizer=True)
    try:
        grids = model.frame_token_grids(video_inputs)
    except NotImplementedError:
        grids = None
    located = {video: (out, row) for out, members in zip(outputs, groups) for row, video in enumerate(members)}
    per_sample: list[list[dict[str, Any]]] = [[] for _ in range(input_ids.shape[0])]
    for video, sample in enumerate(model.video_owners(input_ids)):
        out, row = located[video]
        steps = _step_metadata(model_inputs, video)
        grid = grids[video] if grids is not None else None
        per_sample[sample].append(summarize_selection(out, row, steps, grid, top_scores))
    return per_sample


def _step_metadata(model_inputs: dict[str, Any], video: int) -> dict[str, list]:
    """Frame indices and timestamps of one video's LinVT time steps (without padding)."""
    mask = model_inputs["video_frame_mask"][video].bool()
    steps = {
        "frame_indices": model_inputs["video_frame_indices"][video][mask].tolist(),
        "timestamps": [round(float(t), 3) for t in model_inputs["video_timestamps"][video][mask]],
    }
    pairs = model_inputs.get("video_temporal_patch_frame_indices")
    if pairs is not None:
        steps["step_frame_indices"] = pairs[video][mask].tolist()
    return steps


def summarize_selection(
    output: Any,
    row: int,
    steps: dict[str, list],
    grid: tuple[int, int] | None,
    top_scores: int = DEFAULT_TOP_SCORES,
) -> dict[str, Any]:
    """What LinVT selected in one video, as plain Python.

    Args:
        output (`LinearVideoTokenizerOutput`): LinVT's output for the group of videos this one was run with.
        row (`int`): the video's row in `output`.
        steps (`dict`): `frame_indices` and `timestamps` of the video's time steps (and `step_frame_indices`).
        grid (`tuple[int, int]`, *optional*): `(rows, cols)` of the per-frame tokens over the frame.
        top_scores (`int`): how many of the highest significance scores to list.

    Returns:
        `dict` with

        - **frame_indices** (`list[int]`) -- source frame index of each LinVT frame (time step); for Qwen2-VL, whose
          time steps are pairs of frames, the first of the pair (**step_frame_indices** lists both).
        - **timestamps** (`list[float]`) -- seconds, one per time step.
        - **grid** (`[rows, cols]` or None) -- layout of the tokens of one frame; token `n` sits at `divmod(n, cols)`.
        - **tokens_per_frame** (`int`), **num_selected** (`int`) -- tokens kept by SVR's top-k.
        - **frame_share** (`list[float]`) -- the share of the selected tokens that lies in each frame (sums to 1).
        - **top_tokens** (`list[dict]`) -- the `top_scores` highest significance scores, best first, each with
          `frame` (time step), `token`, `row`, `col`, `timestamp` and `score`.
        - **selected** (`list[[frame, row, col]]`) -- every selected token (`[frame, token]` when `grid` is None).
    """
    num_steps = len(steps["frame_indices"])
    n = output.tokens_per_frame
    cols = grid[1] if grid is not None else None
    frames, tokens = output.selected_positions()
    keep = output.selected_mask[row]
    frames, tokens = frames[row][keep].tolist(), tokens[row][keep].tolist()
    counts = np.bincount(np.asarray(frames, dtype=np.int64), minlength=num_steps)[:num_steps]
    summary = {
        **steps,
        "grid": list(grid) if grid is not None else None,
        "tokens_per_frame": int(n),
        "num_selected": len(frames),
        "frame_share": [round(float(c) / max(len(frames), 1), 4) for c in counts],
        "top_tokens": _top_tokens(output, row, num_steps, cols, steps["timestamps"], top_scores),
        "selected": [_place(t, token, cols) for t, token in zip(frames, tokens)],
    }
    return summary


def _top_tokens(
    output: Any, row: int, num_steps: int, cols: int | None, timestamps: list[float], count: int
) -> list[dict[str, Any]]:
    if output.significance_scores is None or count == 0:
        return []  # the "avg" and "llama_vid" baselines have no scores
    scores = output.significance_scores[row, :num_steps].float().flatten()
    best = scores.topk(min(count, scores.numel()))
    records = []
    for value, index in zip(best.values.tolist(), best.indices.tolist()):
        frame, token = divmod(index, output.tokens_per_frame)
        place = _place(frame, token, cols)
        record = {"frame": frame, "token": token, "timestamp": timestamps[frame], "score": round(value, 4)}
        if cols is not None:
            record.update(row=place[1], col=place[2])
        records.append(record)
    return records


def _place(frame: int, token: int, cols: int | None) -> list[int]:
    return [frame, token] if cols is None else [frame, *divmod(token, cols)]


# ---------------------------------------------------------------------------------------------------------------------
# Registration


PIPELINE_TASKS = ("video-question-answering", "video-text-to-text")


def _resolve_impl(impl: str | type) -> type:
    """A registry entry's pipeline class: transformers stores its own as dotted paths, resolved lazily."""
    if isinstance(impl, str):
        module, _, name = impl.rpartition(".")
        return getattr(importlib.import_module(module), name)
    return impl


def register_pipelines() -> None:
    """Register `VideoQuestionAnsweringPipeline` for `PIPELINE_TASKS` with transformers' `pipeline()`.

    transformers 5.x has neither task, so they are plain registrations. Should a later transformers implement one of
    them, its own pipeline stays in charge of every other model: the task is registered with a subclass whose
    `native_impl` is the native pipeline, which `__new__` builds for any model that is not a LinVT model, and the
    native model classes are kept ahead of `AutoModelForImageTextToText` for loading by path. Safe to call more than
    once.
    """
    from transformers import AutoModelForImageTextToText
    from transformers.pipelines import PIPELINE_REGISTRY

    for task in PIPELINE_TASKS:
        entry = PIPELINE_REGISTRY.supported_tasks.get(task)
        impl = entry["impl"] if entry is not None else None
        if isinstance(impl, type) and issubclass(impl, VideoQuestionAnsweringPipeline):
            continue
        pipeline_class, model_classes = VideoQuestionAnsweringPipeline, (AutoModelForImageTextToText,)
        default = None
        if entry is not None:
            name = "".join(part.title() for part in task.split("-")) + "OrLinVTPipeline"
            pipeline_class = type(name, (VideoQuestionAnsweringPipeline,), {"native_impl": impl})
            model_classes = tuple(dict.fromkeys((*entry.get("pt", ()), AutoModelForImageTextToText)))
            default = entry.get("default")
        PIPELINE_REGISTRY.register_pipeline(
            task, pipeline_class=pipeline_class, pt_model=model_classes, default=default, type="multimodal"
        )


__all__ = [
    "PIPELINE_TASKS",
    "VideoQuestionAnsweringPipeline",
    "collate_video_inputs",
    "register_pipelines",
    "selection_by_sample",
    "summarize_selection",
]
