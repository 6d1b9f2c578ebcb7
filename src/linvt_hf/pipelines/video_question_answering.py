"""The video question answering pipeline of LinVT models ("video-question-answering", "video-text-to-text").

A question about a video goes in, the model's answer comes out. With `return_selection=True` the pipeline also says
what LinVT looked at in each video: the frames it sampled (indices and timestamps), how the tokens kept by SVR's
top-k selection are spread over those frames, the highest significance scores with their (frame, row, col) place,
and every selected token's place (for drawing, see `linvt_hf.visualization.draw_selection`). All of it is plain
Python (lists, ints, floats, strings), so it can be written as JSON as is.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable, Iterator, Sequence, Sized
from typing import Any, ClassVar, NamedTuple

import numpy as np
import torch
from transformers import AutoProcessor
from transformers.generation import GenerationConfig
from transformers.pipelines.base import Pipeline, PipelineDataset, PipelineIterator, no_collate_fn
from transformers.utils.chat_template_utils import Chat
from torch.utils.data import DataLoader, Dataset

from ..modeling.modeling_linvt import LinVTForConditionalGeneration, LinVTVideoFeatures
from ..modeling.video_context import LinVTVideoContext
from ..processing.errors import describe_source
from ..processing.inputs import is_frame_list
from ..processing.video_processor import VIDEO_OPTIONS, LinVTVideoProcessor
from ..upstream import pipeline_generate_kwargs
from .video_cache import CachedVideo, VideoContextCache, has_images, item_options, item_source, video_items


DEFAULT_TOP_SCORES = 10
# The processor's per-video metadata (for the selection), which the model does not take.
METADATA_NAMES = tuple(LinVTVideoProcessor.metadata_names)
# What `get_video_features` reads and `generate` no longer needs once it has the features (`video_sample_index` stays:
# with several sequences per prompt, `generate` lays the features out for the repeated prompts with it).
VIDEO_ENCODER_INPUTS = ("pixel_values_videos", "video_grid_thw", "video_frame_mask", "video_clip_ids", "question_mask")
# The processor's per-video outputs other than the pixels: what a cached video keeps (`VideoContextCache`).
PER_VIDEO_INPUTS = ("video_grid_thw", "video_frame_mask", "video_clip_ids", *METADATA_NAMES)
_DEFAULT_CACHE = object()


# What to do when one input of several cannot be prepared (its video cannot be read, its prompt is too long, ...).
ON_ERROR_CHOICES = ("raise", "skip")


class VideoQuestionAnsweringPipeline(Pipeline):
    r"""
    Answers questions about videos with a LinVT video-LLM (`LinVTForConditionalGeneration`) and its
    `LinVTProcessor`.

    Inputs, as transformers' question answering pipelines take them:

    - `pipe(video=..., question="...")` or `pipe({"video": ..., "question": "..."})`: one question about one video;
    - `pipe([{"video": ..., "question": ...}, ...])`, or `pipe(video=[v1, v2], question=["q1", "q2"])`, or several
      videos and one question (`pipe(video=["a.mp4", "b.mp4"], question="...")`): a batch;
    - chat messages in the `apply_chat_template` format, with `{"type": "video", "path" | "url" | "video": ...}`
      content items: `pipe(messages)` or `pipe([messages_1, messages_2])`;
    - a stream, read lazily: a generator (or any iterator) or a dataset (`KeyDataset(dataset, "column")`, a torch
      `Dataset`, a `datasets.Dataset`) of request dicts or chats, or of videos with `question=` (one string, or as
      many questions). The result is then an iterator that yields each input's answers in input order as they
      are ready.

    A video is anything `LinVTProcessor` takes: a path, a URL, bytes, a binary file object, frames as a numpy array
    or torch tensor `[T, H, W, 3]` (an `[H, W, 3]` or `[H, W]` array is one frame), a list of PIL images or of image
    file paths (`["f0.jpg", "f1.jpg"]`: the frames of one video; a list of video paths is a batch), or a spec dict
    `{"video": source, "num_frames": 8, ...}`.

    Returns:
        For one input, a list of dicts (one per generated sequence, so one unless `num_return_sequences` is set);
        for a list (or batch) of inputs, a list of such lists, in input order (an iterator of them for a stream).
        Each dict holds

        - **answer** (`str`) -- the generated answer, without the prompt and special tokens, stripped.
        - **selection** (`list[dict]`, with `return_selection=True`) -- one dict per video of the input, see
          `summarize_selection`.

    Call options: the video options (`LinVTVideoOptions`: `num_frames`, `fps`, `min_frames`, `max_frames`,
    `shot_detector`, `max_side`, `start`, `end`, `shots`, `fps_hint`) override the processor's for every video of the
    call (a video's own spec dict or chat item wins over them); `processor_kwargs` go to `apply_chat_template`;
    `max_new_tokens`, `generate_kwargs` and any generation parameter (`do_sample`, `num_beams`,
    `num_return_sequences`, ...) go to `generate`; `return_selection`, `top_scores` (how many
    of the highest significance scores to report, default 10); `batch_size` as for every pipeline (results do not
    depend on it); `on_error`: `"raise"` (the default) stops at the first input that cannot be prepared (its video
    cannot be read, its prompt is longer than the LLM's positions, ...) with an error that names it (`input 3 (video
    'clip.mp4')`), `"skip"` answers the others and puts `{"error": "..."}` (the same message) in place of its
    answers.

    Asked again about a video it has encoded (same content, same sampling settings, same model), the pipeline neither
    decodes nor encodes it: `video_cache` (a `VideoContextCache`, bounded LRU; one per pipeline by default, or shared,
    or None) keeps each video's `LinVTVideoContext`, and only TTA and the LLM run for the new question.

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
    _non_generation_params = VIDEO_OPTIONS

    # Set on the class registered for a task that transformers implements itself (see `register_pipelines`): models
    # that are not LinVT models get that native pipeline instead.
    native_impl: ClassVar[str | type | None] = None

    def __new__(cls, model: Any = None, *args: Any, **kwargs: Any):
        if cls.native_impl is not None and not isinstance(model, LinVTForConditionalGeneration):
            return _resolve_impl(cls.native_impl)(model, *args, **kwargs)
        return super().__new__(cls)

    def __init__(
        self, model: LinVTForConditionalGeneration, *args: Any, video_cache: Any = _DEFAULT_CACHE, **kwargs: Any
    ) -> None:
        if video_cache not in (_DEFAULT_CACHE, None) and not isinstance(video_cache, VideoContextCache):
            raise TypeError(f"video_cache must be a VideoContextCache or None, got {type(video_cache).__name__}")
        # Videos encoded up to TTA, for the next question about them (None: no cache).
        self.video_cache = VideoContextCache() if video_cache is _DEFAULT_CACHE else video_cache
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
        on_error: str | None = None,
        **kwargs: Any,
    ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        # Video options (`LinVTVideoOptions`) go to the video processor, the rest to `generate`.
        sampling = {"num_frames": num_frames, "fps": fps}
        sampling.update({key: kwargs.pop(key) for key in VIDEO_OPTIONS if key in kwargs})
        sampling = {key: value for key, value in sampling.items() if value is not None}
        preprocess_params: dict[str, Any] = {}
        if sampling or processor_kwargs:
            preprocess_params["processor_kwargs"] = {**(processor_kwargs or {}), **sampling}
        if on_error is not None:
            if on_error not in ON_ERROR_CHOICES:
                raise ValueError(f"on_error must be one of {ON_ERROR_CHOICES}, got {on_error!r}")
            preprocess_params["on_error"] = on_error

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
    ) -> list[dict[str, Any]] | list[list[dict[str, Any]]] | Iterator[list[dict[str, Any]]]:
        """Answer `question` about `video`; see the class docstring for the input forms and the output."""
        inputs = self._normalize_inputs(video, question)
        results = super().__call__(inputs, **kwargs)
        if isinstance(results, PipelineIterator):  # a stream: one pass, which `next` can start
            return _one_pass(results)
        return results

    def _normalize_inputs(self, video: Any, question: Any) -> Any:
        """One request (a dict or a `Chat`) or a list of them, or a stream of them (see `_stream_requests`)."""
        if _is_stream(video):
            return _stream_requests(video, question)
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
        inputs: dict[str, Any] | Chat | NumberedRequest,
        processor_kwargs: dict[str, Any] | None = None,
        on_error: str = "raise",
    ) -> dict[str, Any]:
        """Chat template, video decoding and sampling for one request: a batch of one.

        A request numbered by `get_iterator` (one input of several) that fails is named in the error (`input 3
        (video 'clip.mp4'): ...`); with `on_error="skip"` it becomes `{"meta": [{"error": message}]}` instead.
        """
        index, request = (inputs.index, inputs.request) if isinstance(inputs, NumberedRequest) else (None, inputs)
        try:
            return self._prepare(request, processor_kwargs)
        except MemoryError:
            raise
        except Exception as error:
            if index is None and on_error == "raise":
                raise
            where = describe_request(index, request)
            if on_error == "raise":
                _prefix_message(error, where)
                raise
            return {"meta": [{"error": f"{where}: {type(error).__name__}: {error}"}]}

    def _prepare(self, inputs: dict[str, Any] | Chat, processor_kwargs: dict[str, Any] | None) -> dict[str, Any]:
        """`preprocess` of one request, which raises on bad input. Videos the cache holds are not read again."""
        messages = inputs.messages if isinstance(inputs, Chat) else _question_messages(inputs)
        keys = self._cache_keys(messages, processor_kwargs)
        cached = self._prepare_cached(messages, keys)
        if cached is not None:
            return cached
        model_inputs = self.processor.apply_chat_template(
            messages,
            tokenize=True,
            add_generation_prompt=messages[-1]["role"] != "assistant",
            continue_final_message=messages[-1]["role"] == "assistant",
            return_dict=True,
            return_tensors="pt",
            processor_kwargs={**(processor_kwargs or {}), "return_metadata": True},
        )
        if self.processor.video_token_id not in model_inputs["input_ids"]:
            raise ValueError("the input holds no video: give one with video=... or a {'type': 'video', ...} item")
        self._check_prompt_length(model_inputs["input_ids"], messages)
        model_inputs = {key: value for key, value in model_inputs.items()}
        model_inputs["meta"] = [{"cache_keys": keys, "video_contexts": [None] * len(keys)}]
        return model_inputs

    def _cache_keys(self, messages: list[dict[str, Any]], processor_kwargs: dict[str, Any] | None) -> list[Any]:
        """The cache key of each video of the request (None where it cannot be cached, or without a cache): the
        model, the video's content and every setting that shapes its frames."""
        items = video_items(messages)
        if self.video_cache is None:
            return [None] * len(items)
        defaults = self.processor.video_processor.to_json_string()
        call = dict(processor_kwargs or {})
        return [
            self.video_cache.key(
                self.model, item_source(item), {"processor": defaults, "call": call, "video": item_options(item)}
            )
            for item in items
        ]

    def _prepare_cached(self, messages: list[dict[str, Any]], keys: list[Any]) -> dict[str, Any] | None:
        """The request's model inputs when the cache holds all its videos (no video is read), else None."""
        if not keys or any(key is None for key in keys) or has_images(messages):
            return None
        entries = [self.video_cache.get(key) for key in keys]
        if any(entry is None for entry in entries):
            return None
        text = self.processor.apply_chat_template(
            messages,
            tokenize=False,
            add_generation_prompt=messages[-1]["role"] != "assistant",
            continue_final_message=messages[-1]["role"] == "assistant",
        )
        counts = [self.processor.video_token_counts(entry.video_inputs["video_frame_mask"])[0] for entry in entries]
        model_inputs = dict(self.processor.encoded_video_prompts(text, counts, return_tensors="pt"))
        self._check_prompt_length(model_inputs["input_ids"], messages)
        for name in entries[0].video_inputs:
            values = [entry.video_inputs[name] for entry in entries]
            fill = -1 if name.endswith("frame_indices") else 0
            width = max(value.shape[1] for value in values) if values[0].ndim >= 2 else None
            padded = [_pad_dim1(value, width, fill, left=False) if width else value for value in values]
            model_inputs[name] = torch.cat(padded)
        model_inputs["meta"] = [{"cache_keys": keys, "video_contexts": [entry.context for entry in entries]}]
        return model_inputs

    def _check_prompt_length(self, input_ids: torch.Tensor, messages: list[dict[str, Any]]) -> None:
        """Refuse a prompt longer than the LLM's positions (`max_position_embeddings` of its text config): the
        tokenizer would only warn, and the model would answer from positions it never learned."""
        limit = getattr(self.model.config.get_text_config(decoder=True), "max_position_embeddings", None)
        length = input_ids.shape[-1]
        if limit is not None and length > limit:
            raise ValueError(
                f"the prompt of question {_short(_question_text(messages))!r} is {length} tokens long (chat template, "
                f"question and video tokens), longer than the model's {limit} positions "
                "(text_config.max_position_embeddings); shorten the question"
            )

    def get_iterator(
        self, inputs, num_workers: int, batch_size: int, preprocess_params, forward_params, postprocess_params
    ):
        # As the base class, with each input numbered (errors name it), and a collate function that knows video
        # inputs (concatenated, padded per video), pads prompts on the left for generation and passes failed inputs.
        inputs = number_requests(inputs)
        if isinstance(inputs, Sized):
            dataset = PipelineDataset(inputs, self.preprocess, preprocess_params)
        else:
            num_workers = min(num_workers, 1)  # more workers would each read the whole stream, as in the base class
            dataset = PipelineIterator(inputs, self.preprocess, preprocess_params)
        collate_fn = no_collate_fn if batch_size == 1 else self._collate
        loader = DataLoader(dataset, num_workers=num_workers, batch_size=batch_size, collate_fn=collate_fn)
        model_iterator = PipelineIterator(loader, self.forward, forward_params, loader_batch_size=batch_size)
        return PipelineIterator(model_iterator, self.postprocess, postprocess_params)

    def _collate(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        """The prepared items as one batch; `meta` keeps one entry per item, failed ones (no tensors) included."""
        prepared = [item for item in items if "input_ids" in item]
        batch = collate_video_inputs(prepared, pad_token_id=self.processor.tokenizer.pad_token_id) if prepared else {}
        batch["meta"] = [entry for item in items for entry in item["meta"]]
        return batch

    # ------------------------------------------------------------------------------------------------ model

    def _forward(
        self,
        model_inputs: dict[str, Any],
        generate_kwargs: dict[str, Any] | None = None,
        return_selection: bool = False,
        top_scores: int = DEFAULT_TOP_SCORES,
    ) -> dict[str, Any]:
        meta = model_inputs.pop("meta")
        rows = [row for row, entry in enumerate(meta) if "error" not in entry]  # the inputs that were prepared
        if not rows:
            return {"generated_ids": torch.zeros((len(meta), 1, 0), dtype=torch.long), "meta": meta}
        # Pixels in the model's dtype; timestamps stay float32 (bf16 would round them to a few digits).
        model_inputs = {
            key: value.to(self.dtype) if key.startswith("pixel_values") else value for key, value in model_inputs.items()
        }
        batch_size = model_inputs["input_ids"].shape[0]
        metadata = {key: model_inputs.pop(key) for key in METADATA_NAMES if key in model_inputs}
        prepared = [meta[row] for row in rows]
        features, new_tokens = self._encode_and_generate(model_inputs, generate_kwargs, prepared, metadata)
        sample_index = model_inputs["video_sample_index"].tolist()
        if return_selection:
            per_sample = selection_by_sample(features, sample_index, metadata, batch_size, top_scores)
            meta = list(meta)
            for row, selection in zip(rows, per_sample):
                meta[row] = {**meta[row], "selection": selection}
        if len(rows) < len(meta):  # failed inputs get rows of padding, which postprocess does not read
            pad_token_id = self.processor.tokenizer.pad_token_id or 0
            full = new_tokens.new_full((len(meta), *new_tokens.shape[1:]), pad_token_id)
            full[rows] = new_tokens
            new_tokens = full
        return {"generated_ids": new_tokens, "meta": meta}  # generated_ids: [B, num_sequences, new]

    def _encode_and_generate(
        self,
        model_inputs: dict[str, Any],
        generate_kwargs: dict[str, Any] | None,
        meta: list[dict[str, Any]],
        metadata: dict[str, Any],
    ) -> tuple[LinVTVideoFeatures, torch.Tensor]:
        """Encode the batch's videos once (up to TTA: `encode_video_context`, or the cache's contexts; then TTA for
        each prompt) and generate from those features.

        Returns:
            The features (for the selection) and the new tokens, `[B, num_sequences, new]`.
        """
        input_ids = model_inputs["input_ids"]
        context = self._video_context(model_inputs, meta, metadata)
        features = self.model.video_features_from_context(
            context,
            input_ids=input_ids,
            question_mask=model_inputs.get("question_mask"),
            video_sample_index=model_inputs["video_sample_index"],
        )
        prompt_inputs = {key: value for key, value in model_inputs.items() if key not in VIDEO_ENCODER_INPUTS}
        generate_kwargs = pipeline_generate_kwargs(self, dict(generate_kwargs or {}), return_dict_in_generate=False)
        sequences = self.model.generate(**prompt_inputs, video_features=features, **generate_kwargs)
        new_tokens = sequences[:, input_ids.shape[1] :]
        return features, new_tokens.reshape(input_ids.shape[0], -1, new_tokens.shape[-1])

    def _video_context(
        self, model_inputs: dict[str, Any], meta: list[dict[str, Any]], metadata: dict[str, Any]
    ) -> LinVTVideoContext:
        """The batch's videos encoded up to TTA: the cached ones as they are, the others encoded now (and cached
        with their processor outputs, `model_inputs` and `metadata`, other than the pixels)."""
        slots = [context for entry in meta for context in entry["video_contexts"]]
        keys = [key for entry in meta for key in entry["cache_keys"]]
        missing = [video for video, context in enumerate(slots) if context is None]
        if not missing:
            return LinVTVideoContext.concat(slots)
        index = torch.tensor(missing, dtype=torch.long)
        encoder_inputs = {
            name: model_inputs[name][index.to(model_inputs[name].device)]
            for name in ("video_frame_mask", "video_grid_thw", "video_clip_ids")
            if model_inputs.get(name) is not None
        }
        fresh = self.model.encode_video_context(model_inputs["pixel_values_videos"], **encoder_inputs)
        per_video = {**model_inputs, **metadata}
        for row, video in enumerate(missing):
            if self.video_cache is not None and keys[video] is not None:
                kept = {
                    name: per_video[name][video : video + 1]
                    for name in PER_VIDEO_INPUTS
                    if per_video.get(name) is not None
                }
                self.video_cache.put(keys[video], CachedVideo(fresh.select([row]), kept))
        if len(missing) == len(slots):
            return fresh
        for row, video in enumerate(missing):
            slots[video] = fresh.select([row])
        return LinVTVideoContext.concat(slots)

    def postprocess(
        self,
        model_outputs: dict[str, Any],
        skip_special_tokens: bool = True,
        clean_up_tokenization_spaces: bool | None = None,
    ) -> list[dict[str, Any]] | dict[str, str]:
        meta = model_outputs["meta"]
        meta = meta[0] if isinstance(meta, list) else meta  # a batch of one, or one item unrolled from a batch
        if "error" in meta:  # an input that failed with on_error="skip"
            return {"error": meta["error"]}
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
    """A list of frames (PIL images, `[H, W(, C)]` arrays, image file paths such as `["f0.jpg", "f1.jpg"]`) is one
    video, not a list of videos: the processor's rule, `linvt_hf.processing.inputs.is_frame_list` (which refuses a
    list mixing image paths with videos)."""
    return is_frame_list(value)


def _question_messages(request: dict[str, Any]) -> list[dict[str, Any]]:
    """`{"video": ..., "question": ...}` -> one user turn holding the video, then the question."""
    if not isinstance(request, dict):
        raise TypeError(
            f"an input must be a {{'video': ..., 'question': ...}} dict or chat messages, got {type(request).__name__}"
            " (a stream or dataset of videos needs question=...)"
        )
    unknown = sorted(set(request) - {"video", "question"})
    if unknown or "video" not in request or not isinstance(request.get("question"), str):
        raise ValueError(
            f"an input dict needs 'video' and a 'question' string (and nothing else), got keys {sorted(request)}"
        )
    video = request["video"]
    item = {"type": "video", **video} if isinstance(video, dict) else {"type": "video", "video": video}
    content = [item, {"type": "text", "text": request["question"]}]
    return [{"role": "user", "content": content}]


# ---------------------------------------------------------------------------------------------------------------------
# Streams (generators, iterators, datasets) and numbered inputs


def _is_stream(value: Any) -> bool:
    """A generator, iterator or dataset of inputs (not a file object, which is one video)."""
    if isinstance(value, Dataset) or _is_hf_dataset(value):
        return True
    return isinstance(value, Iterator) and not hasattr(value, "read")


def _is_hf_dataset(value: Any) -> bool:
    """A `datasets.Dataset` or `datasets.IterableDataset` (only possible once its caller imported `datasets`)."""
    module = sys.modules.get("datasets")
    return module is not None and isinstance(value, (module.Dataset, module.IterableDataset))


def _stream_requests(videos: Any, question: Any) -> Any:
    """What the base class streams lazily for a stream input: a torch `Dataset` or a generator of requests.

    Without `question`, the items are requests (dicts or chats); with it, videos, paired with `question` (one
    string) or with each of as many questions.
    """
    if question is None:
        if isinstance(videos, Dataset):
            return videos
        if isinstance(videos, Sized) and hasattr(videos, "__getitem__"):  # a `datasets.Dataset`
            return RequestDataset(videos)
        return (item for item in videos)  # the base class streams generators, not other iterators
    if isinstance(videos, Sized) and hasattr(videos, "__getitem__"):
        if not isinstance(question, str) and not (isinstance(question, Sized) and hasattr(question, "__getitem__")):
            raise TypeError(
                f"a dataset of {len(videos)} videos needs question= as a string or a sequence of as many questions, "
                f"got {type(question).__name__}"
            )
        return RequestDataset(videos, question)
    return _paired_requests(videos, question)


class RequestDataset(Dataset):
    """A dataset read lazily as requests: its items as they are, or each paired with `question` (a string, or the
    item of a sequence of as many questions)."""

    def __init__(self, items: Any, question: str | Sequence[str] | None = None) -> None:
        if question is not None and not isinstance(question, str) and len(question) != len(items):
            raise ValueError(f"{len(question)} questions need as many videos, got a dataset of {len(items)}")
        self.items = items
        self.question = question

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> Any:
        item = self.items[index]
        if self.question is None:
            return item
        question = self.question if isinstance(self.question, str) else self.question[index]
        return {"video": item, "question": question}


def _paired_requests(videos: Iterable[Any], question: str | Iterable[str]) -> Iterator[dict[str, Any]]:
    """`{"video", "question"}` for each video of a stream, with one question or the next of a stream of them."""
    if isinstance(question, str):
        for video in videos:
            yield {"video": video, "question": question}
        return
    questions = iter(question)
    count = 0
    for video in videos:
        text = next(questions, None)
        if text is None:
            raise ValueError(f"the questions ran out at video {count}: give one question per video")
        yield {"video": video, "question": text}
        count += 1
    if next(questions, None) is not None:
        raise ValueError(f"more questions than videos: the videos ran out after {count}")


def _one_pass(results: PipelineIterator) -> Iterator[Any]:
    """The results of a stream as a plain iterator (a `PipelineIterator` needs `iter()` before `next()`, and a
    second `iter()` would restart a dataset from its first item)."""
    yield from results


class NumberedRequest(NamedTuple):
    """One input of several, with its position in the input (0-based)."""

    index: int
    request: Any


def number_requests(inputs: Any) -> Any:
    """`inputs` (a list, dataset or iterable of requests) as `NumberedRequest`s, lazily, keeping its kind: a sized
    sequence stays indexable."""
    if isinstance(inputs, Sized) and hasattr(inputs, "__getitem__"):
        return _NumberedSequence(inputs)
    return (NumberedRequest(index, request) for index, request in enumerate(inputs))


class _NumberedSequence(Dataset):
    def __init__(self, items: Any) -> None:
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> NumberedRequest:
        return NumberedRequest(index, self.items[index])


def describe_request(index: int | None, request: Any) -> str:
    """`input 3 (video 'clip.mp4')`: an input of the pipeline by position and video source(s), for messages."""
    sources = _video_sources(request)
    what = ", ".join(describe_source(source) for source in sources) if sources else describe_source(request)
    label = "video" if len(sources) <= 1 else "videos"
    return f"input {index} ({label} {what})" if index is not None else f"the input ({label} {what})"


def _video_sources(request: Any) -> list[Any]:
    """The video sources of a request dict or chat (empty when none can be found)."""
    if isinstance(request, Chat):
        items = [
            item
            for message in request.messages
            if isinstance(message.get("content"), list)
            for item in message["content"]
            if isinstance(item, dict) and item.get("type") == "video"
        ]
    elif isinstance(request, dict) and "video" in request:
        items = [request["video"] if isinstance(request["video"], dict) else {"video": request["video"]}]
    else:
        return []
    return [next((item[key] for key in ("video", "path", "url") if key in item), "?") for item in items]


def _prefix_message(error: BaseException, prefix: str) -> None:
    """Put `prefix: ` in front of `error`'s message, keeping its type and attributes (it is re-raised as is)."""
    if isinstance(error, OSError) and error.strerror is not None:
        error.strerror = f"{prefix}: {error.strerror}"
    else:
        error.args = (f"{prefix}: {error}",)


def _question_text(messages: list[dict[str, Any]]) -> str:
    """The text of the last user turn (the question), for messages."""
    for message in reversed(messages):
        content = message.get("content")
        if message.get("role") == "user":
            if isinstance(content, str):
                return content
            return " ".join(item.get("text", "") for item in content if isinstance(item, dict) and "text" in item)
    return ""


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


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
    indices), as `LinVTVideoProcessor` pads them. `video_sample_index` (the prompt of each video) is shifted to the
    rows of the batch. Lists (`meta`) are concatenated. A key only some items have (images) keeps their values.
    """
    batch: dict[str, Any] = {}
    length = max(item["input_ids"].shape[1] for item in items)
    keys = dict.fromkeys(key for item in items for key in item)
    for key in keys:
        values = [item[key] for item in items if key in item]
        if key == "video_sample_index":
            firsts = np.cumsum([0] + [item["input_ids"].shape[0] for item in items])[:-1].tolist()
            batch[key] = torch.cat([item[key] + first for item, first in zip(items, firsts) if key in item])
        elif isinstance(values[0], list):
            batch[key] = [entry for value in values for entry in value]
        elif _is_token_aligned(key, next(item for item in items if key in item)):
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


def selection_by_sample(
    features: LinVTVideoFeatures,
    video_sample_index: list[int],
    metadata: dict[str, Any],
    batch_size: int,
    top_scores: int = DEFAULT_TOP_SCORES,
) -> list[list[dict[str, Any]]]:
    """For each sample of a batch, `summarize_selection` of each of its videos (in prompt order), read off the
    features the answer was generated from (`get_video_features`) and the processor's metadata."""
    per_sample: list[list[dict[str, Any]]] = [[] for _ in range(batch_size)]
    for video, sample in enumerate(video_sample_index):
        output, row = features.tokenizer_output_of(video)
        steps = _step_metadata(metadata, video)
        per_sample[sample].append(summarize_selection(output, row, steps, features.frame_token_grids[video], top_scores))
    return per_sample


def _step_metadata(metadata: dict[str, Any], video: int) -> dict[str, list]:
    """Frame indices and timestamps of one video's LinVT time steps (without padding: frame index -1)."""
    mask = metadata["video_frame_indices"][video] >= 0
    steps = {
        "frame_indices": metadata["video_frame_indices"][video][mask].tolist(),
        "timestamps": [round(float(t), 3) for t in metadata["video_timestamps"][video][mask]],
    }
    pairs = metadata.get("video_temporal_patch_frame_indices")
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
    # Only the video's own steps: in a batch, a shorter video's rows are padded to the longest one's.
    keep = output.selected_mask[row] & (frames[row] < num_steps)
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
    "ON_ERROR_CHOICES",
    "PIPELINE_TASKS",
    "VideoQuestionAnsweringPipeline",
    "collate_video_inputs",
    "register_pipelines",
    "selection_by_sample",
    "summarize_selection",
]
