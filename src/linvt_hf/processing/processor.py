"""The LinVT processors: each family's processor IS its image-LLM's processor, plus LinVT's video processing.

`class LinVT<Family>Processor(LinVTProcessorMixin, <ImageLLM>Processor)`: images and text go through the image-LLM's
own processor code (same tokenizer, same image processor, same placeholder expansion through its
`replace_image_token` and `get_text_with_replacements`), so a LinVT model given an image sees exactly what the
original image-LLM sees. Each video becomes `num_video_tokens` placeholder tokens (112 by default) in the image-LLM's
vision markers whatever the video's length (`replace_video_token`), and `LinVTVideoProcessor` prepares its frames.
The family file says what is its own: the frame layout, the placeholder text, the chat turn markers.

`LinVTProcessor` builds the right family's processor: `LinVTProcessor.from_backbone("Qwen/Qwen2-VL-7B-Instruct")`;
`AutoProcessor.from_pretrained(folder)` loads a saved one (and those linvt-hf 0.1 saved).
"""

from __future__ import annotations

import copy
import os
import re
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from tokenizers import AddedToken
from transformers import AutoConfig, AutoImageProcessor, AutoProcessor, AutoTokenizer
from transformers.image_processing_base import BatchFeature
from transformers.image_utils import make_flat_list_of_images
from transformers.processing_utils import ProcessorMixin

from ..upstream import check_video_processor_argument, merge_processor_kwargs
from .chat import extract_visuals
from .video_processor import VIDEO_OPTIONS, FrameLayout, LinVTVideoProcessor, check_video_options, make_video_list

DEFAULT_NUM_VIDEO_TOKENS = 112



def with_video_token(tokenizer: Any, video_token: str) -> Any:
    """`tokenizer` if it has `video_token` (or is None), else a copy of it with `video_token` added as a special
    token (the tokenizer given is left as it is): for image-LLMs whose tokenizers have no video token (LLaVA,
    SmolVLM); the model's `from_backbone` gives the video token the same id."""
    if tokenizer is None or video_token in tokenizer.get_vocab():
        return tokenizer
    tokenizer = copy.deepcopy(tokenizer)
    tokenizer.add_tokens([AddedToken(video_token, special=True, normalized=False)], special_tokens=True)
    return tokenizer

@dataclass(frozen=True)
class ChatTurns:
    """How the image-LLM's chat template marks user turns (to find the question that conditions TTA).

    `turn_start=None`: no turn structure, the whole prompt is the turn.
    """

    turn_start: str | None = "<|im_start|>"
    user_role: str = "user"
    turn_end: str | None = "<|im_end|>"


class LinVTProcessorMixin:
    r"""
    LinVT's part of a family's processor (see the module docstring). A family sets `frame_layout` and `chat_turns`,
    implements `video_replacement(count)`, and writes an `__init__` that lists its image-LLM processor's own
    arguments (so `save_pretrained` keeps them) and calls `linvt_init`.

    Outputs of a call: the image-LLM processor's text and image outputs (`input_ids`, `attention_mask`,
    `pixel_values`, ...), the video processor's (`pixel_values_videos`, `video_frame_mask`, `video_clip_ids`, Qwen's
    `video_grid_thw`), `video_sample_index` `[V]` (the prompt each video belongs to) and `question_mask` `[B, L]`
    (the question tokens that condition TTA, see `question_spans`). `return_metadata=True` adds each step's
    `video_timestamps` and `video_frame_indices` (for people, not the model).
    """

    frame_layout: ClassVar[FrameLayout]
    chat_turns: ClassVar[ChatTurns] = ChatTurns()
    # Image processor outputs the image-LLM's processor drops from its output (they only count placeholder tokens).
    dropped_image_outputs: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        image_processor: Any = None,
        tokenizer: Any = None,
        video_processor: LinVTVideoProcessor | None = None,
        chat_template: str | None = None,
        num_video_tokens: int = DEFAULT_NUM_VIDEO_TOKENS,
        video_tokens_per_frame: int | None = None,
        **kwargs: Any,
    ) -> None:
        """LinVT's arguments, then the image-LLM processor's (`kwargs`). A family whose image-LLM processor takes more
        than the usual arguments (InternVL's `image_seq_length`, ...) writes an `__init__` that lists them (so that
        `save_pretrained` keeps them) and passes them on to this one."""
        video_processor = self.linvt_init(image_processor, video_processor, num_video_tokens, video_tokens_per_frame)
        super().__init__(image_processor, tokenizer, video_processor, chat_template=chat_template, **kwargs)

    def linvt_init(
        self,
        image_processor: Any,
        video_processor: LinVTVideoProcessor | None,
        num_video_tokens: int,
        video_tokens_per_frame: int | None,
    ) -> LinVTVideoProcessor:
        """Check LinVT's settings and set them; returns the video processor (built from the image processor when
        None)."""
        if isinstance(num_video_tokens, bool) or not isinstance(num_video_tokens, int) or num_video_tokens < 1:
            raise ValueError(f"num_video_tokens must be a positive int, got {num_video_tokens!r}")
        if video_tokens_per_frame is not None and (
            isinstance(video_tokens_per_frame, bool) or not isinstance(video_tokens_per_frame, int) or video_tokens_per_frame < 1
        ):
            raise ValueError(f"video_tokens_per_frame must be None or a positive int, got {video_tokens_per_frame!r}")
        self.num_video_tokens = num_video_tokens
        self.video_tokens_per_frame = video_tokens_per_frame
        if video_processor is None:
            video_processor = LinVTVideoProcessor.from_image_processor(image_processor, self.frame_layout)
        return video_processor

    # transformers checks a video processor against a class it only exports with torchvision (see upstream.py).
    check_argument_for_proper_class = check_video_processor_argument

    @property
    def video_token_id(self) -> int:
        """The id of the video placeholder token (some image-LLM processors set it, InternVL's does not)."""
        token_id = self.__dict__.get("_linvt_video_token_id")
        return token_id if token_id is not None else self.tokenizer.convert_tokens_to_ids(self.video_token)

    @video_token_id.setter
    def video_token_id(self, value: int) -> None:
        self.__dict__["_linvt_video_token_id"] = value

    # ---------------------------------------------------------------------------------------- what families say
    def video_replacement(self, count: int) -> str:
        """The text one video placeholder expands to: `count` video tokens, in the image-LLM's markers where its
        chat template does not write them."""
        return self.video_token * count

    def replace_video_token(self, video_inputs: dict, video_idx: int, **kwargs: Any) -> str:
        """`ProcessorMixin`'s hook: the text of video `video_idx`'s placeholder (LinVT's fixed token count)."""
        return self.video_replacement(self.video_token_counts(video_inputs["video_frame_mask"])[video_idx])

    def video_token_counts(self, video_frame_mask: Any) -> list[int]:
        """Video tokens each video takes in the prompt, from `video_frame_mask` `[V, T]`: `num_video_tokens` each, or
        `video_tokens_per_frame` per real step for the baseline tokenizers whose output grows with the video."""
        mask = np.asarray(video_frame_mask, dtype=bool)
        if self.video_tokens_per_frame is None:
            return [self.num_video_tokens] * len(mask)
        return [self.video_tokens_per_frame * int(row.sum()) for row in mask]

    # ---------------------------------------------------------------------------------------- construction
    @classmethod
    def image_llm_processor_class(cls) -> type[ProcessorMixin]:
        """The image-LLM's own processor class this family's processor extends."""
        return next(
            base for base in cls.__mro__[1:] if issubclass(base, ProcessorMixin) and not issubclass(base, LinVTProcessorMixin)
        )

    @classmethod
    def backbone_image_processor_class(cls) -> Any:
        """What reads an image-LLM checkpoint's image processor in `from_backbone`: `AutoImageProcessor`; a family
        whose image-LLM only has a torchvision image processor gives its own."""
        return AutoImageProcessor

    @classmethod
    def from_backbone(
        cls,
        backbone: str | os.PathLike | ProcessorMixin,
        num_video_tokens: int = DEFAULT_NUM_VIDEO_TOKENS,
        video_tokens_per_frame: int | None = None,
        video_processor_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> LinVTProcessorMixin:
        """This family's processor for an image-LLM: from its checkpoint (Hub id or folder: its tokenizer, image
        processor, chat template and processor settings) or from its processor already loaded.

        Args:
            backbone: e.g. `"Qwen/Qwen2-VL-7B-Instruct"`, a folder, or a `Qwen2VLProcessor`.
            num_video_tokens (`int`, defaults to 112): video tokens per video (the LinVT model's
                `config.num_video_tokens`).
            video_tokens_per_frame (`int`, *optional*): for the baseline tokenizers (`avg`, `llama_vid`): tokens per
                time step instead of a fixed count.
            video_processor_kwargs (`dict`, *optional*): `LinVTVideoProcessor` options (sampling, shot detector).
            kwargs: `from_pretrained` arguments (revision, cache_dir, token, ...).
        """
        base = cls.image_llm_processor_class()
        if isinstance(backbone, ProcessorMixin):
            if not isinstance(backbone, base):
                raise TypeError(f"{cls.__name__} extends {base.__name__}, got a {type(backbone).__name__}")
            tokenizer, image_processor = backbone.tokenizer, backbone.image_processor
            chat_template = backbone.chat_template
            settings = {name: getattr(backbone, name) for name in cls.image_llm_init_arguments() if hasattr(backbone, name)}
        else:
            name = os.fspath(backbone)
            tokenizer = AutoTokenizer.from_pretrained(name, **kwargs)
            image_processor = cls.backbone_image_processor_class().from_pretrained(name, **kwargs)
            processor_dict, _ = ProcessorMixin.get_processor_dict(name, **kwargs)
            chat_template = processor_dict.get("chat_template", getattr(tokenizer, "chat_template", None))
            settings = {key: processor_dict[key] for key in cls.image_llm_init_arguments() if key in processor_dict}
        video_processor = LinVTVideoProcessor.from_image_processor(
            image_processor, cls.frame_layout, **(video_processor_kwargs or {})
        )
        return cls(
            image_processor=image_processor,
            tokenizer=tokenizer,
            video_processor=video_processor,
            chat_template=chat_template,
            num_video_tokens=num_video_tokens,
            video_tokens_per_frame=video_tokens_per_frame,
            **settings,
        )

    @classmethod
    def image_llm_init_arguments(cls) -> list[str]:
        """The image-LLM processor's own `__init__` settings that this family's `__init__` takes too (e.g. InternVL's
        `image_seq_length`)."""
        import inspect

        skip = {"self", "image_processor", "tokenizer", "video_processor", "chat_template", "num_video_tokens",
                "video_tokens_per_frame", "kwargs"}
        return [name for name in inspect.signature(cls.__init__).parameters if name not in skip]

    # ---------------------------------------------------------------------------------------- processing
    def __call__(
        self, images: Any = None, text: str | list[str] | None = None, videos: Any = None, **kwargs: Any
    ) -> BatchFeature:
        """Tokenize text, process images as the image-LLM does, and process videos for LinVT.

        Args:
            images: images, as the image-LLM's processor takes them.
            text (`str` or `list[str]`): prompts; each video needs one video placeholder (the image-LLM's video
                token, e.g. `"<|vision_start|><|video_pad|><|vision_end|>"` for Qwen2-VL, `"<video>"` for InternVL and
                LLaVA-OneVision), which `apply_chat_template` writes for `{"type": "video"}` content items.
            videos: one video or a (nested) list of videos, in placeholder order across the batch (see
                `make_video_list` for the accepted forms).
            kwargs: text/image kwargs as for the image-LLM's processor (`padding`, `return_tensors`, ...), video
                options (`LinVTVideoOptions`) and `return_metadata`.

        Raises:
            ValueError: the number of videos (or images) differs from the number of placeholders in the text.
            TypeError, ValueError: a video option of the wrong type or out of range (named).
        """
        if images is None and text is None and videos is None:
            raise ValueError(f"{type(self).__name__} needs at least one of text, images or videos")
        texts = None if text is None else ([text] if isinstance(text, str) else list(text))
        if texts is not None and not all(isinstance(sample, str) for sample in texts):
            raise ValueError("text must be a string or a list of strings")
        video_list = make_video_list(videos)
        if images is not None:
            images = self.image_processor.fetch_images(images)
        self._check_placeholder_counts(texts, images, video_list)

        return_metadata = bool(kwargs.pop("return_metadata", False))
        # Checked here, before transformers' kwargs validation, for a TypeError / ValueError that names the option.
        check_video_options({key: value for key, value in kwargs.items() if key in VIDEO_OPTIONS})
        merged = merge_processor_kwargs(self, **kwargs)
        return_tensors = merged["text_kwargs"].pop("return_tensors", None)
        data: dict[str, Any] = {}
        image_replacements: list[str] = []
        if images is not None:
            image_outputs, image_replacements = self._image_llm_images(images, merged["images_kwargs"])
            data.update(image_outputs)
        video_replacements: list[str] = []
        if video_list:
            options = {k: v for k, v in merged["videos_kwargs"].items() if k in VIDEO_OPTIONS}
            video_outputs = self.video_processor(video_list, return_metadata=return_metadata, **options)
            data.update(video_outputs)
            video_replacements = [self.replace_video_token(video_outputs, i) for i in range(len(video_list))]
        if texts is not None:
            if video_list:  # counted on the prompts as given, before their placeholders are expanded
                data["video_sample_index"] = np.repeat(
                    np.arange(len(texts)), [sample.count(self.video_token) for sample in texts]
                )
            data.update(self._tokenize(texts, image_replacements, video_replacements, merged))
        data = {key: value for key, value in data.items() if key not in self.unused_input_names}
        return BatchFeature(data=data, tensor_type=return_tensors)

    def encoded_video_prompts(
        self, text: str | list[str], video_token_counts: list[int], **kwargs: Any
    ) -> BatchFeature:
        """Tokenized prompts for videos encoded before (a model's `LinVTVideoContext`): no video is read; each video
        placeholder expands to its video's `video_token_counts` entry (`video_token_counts(video_frame_mask)` of the
        processed videos), as `__call__` would expand it.

        Returns:
            `BatchFeature` with `input_ids`, `attention_mask`, `question_mask`, `video_sample_index` (and what the
            image-LLM's tokenizer call adds); `kwargs` as the text kwargs of `__call__` (`return_tensors`, `padding`).

        Raises:
            ValueError: the prompts hold another number of video placeholders than counts given, or hold images.
        """
        texts = [text] if isinstance(text, str) else list(text)
        if not all(isinstance(sample, str) for sample in texts):
            raise ValueError("text must be a string or a list of strings")
        self._check_placeholder_counts(texts, None, list(video_token_counts))
        merged = merge_processor_kwargs(self, **kwargs)
        return_tensors = merged["text_kwargs"].pop("return_tensors", None)
        data: dict[str, Any] = {
            "video_sample_index": np.repeat(np.arange(len(texts)), [sample.count(self.video_token) for sample in texts])
        }
        replacements = [self.video_replacement(int(count)) for count in video_token_counts]
        data.update(self._tokenize(texts, [], replacements, merged))
        data = {key: value for key, value in data.items() if key not in self.unused_input_names}
        return BatchFeature(data=data, tensor_type=return_tensors)

    def _image_llm_images(self, images: Any, images_kwargs: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """The image processor's outputs and, per image, the text its placeholder expands to (the image-LLM's own
        `replace_image_token`)."""
        outputs = self.image_processor(images, **images_kwargs)
        count = len(make_flat_list_of_images(images))
        replacements = [self.replace_image_token(outputs, image_idx=i, **images_kwargs) for i in range(count)]
        return {k: v for k, v in outputs.items() if k not in self.dropped_image_outputs}, replacements

    def prompts_as_tokenized(self, texts: list[str]) -> list[str]:
        """The prompts as the image-LLM's processor gives them to its tokenizer (a family whose processor adds
        something to every prompt, e.g. Molmo2's BOS, says so here): as given."""
        return texts

    def _tokenize(
        self, texts: list[str], image_replacements: list[str], video_replacements: list[str], merged: dict[str, Any]
    ) -> dict[str, Any]:
        """Expand placeholders, tokenize, and add `question_mask` (and `mm_token_type_ids` when the image-LLM does)."""
        text_kwargs = dict(merged["text_kwargs"])
        return_mm_token_type_ids = text_kwargs.pop("return_mm_token_type_ids", merged.get("return_mm_token_type_ids"))
        text_kwargs.pop("return_text_replacement_offsets", None)
        keep_offsets = bool(text_kwargs.pop("return_offsets_mapping", False))

        # (`get_text_with_replacements` expands the list it is given in place: the caller's prompts stay as given.)
        texts = self.prompts_as_tokenized(list(texts))
        texts, _ = self.get_text_with_replacements(texts, image_replacements, video_replacements)
        text_inputs = self.tokenizer(texts, return_offsets_mapping=True, **text_kwargs)
        self._check_placeholders_tokenized(texts, text_inputs["input_ids"])
        offsets = text_inputs["offset_mapping"] if keep_offsets else text_inputs.pop("offset_mapping")

        outputs = dict(text_inputs)
        outputs["question_mask"] = self._question_mask(texts, text_inputs["input_ids"], offsets)
        if return_mm_token_type_ids:
            outputs["mm_token_type_ids"] = self.create_mm_token_type_ids(text_inputs["input_ids"])
        return outputs

    def _check_placeholders_tokenized(self, texts: list[str], input_ids: Any) -> None:
        """Raise unless every image and video token of the expanded prompts became one token id (truncation, e.g.
        `truncation=True` with a small `max_length`, would cut some and leave the model misplacing the rest)."""
        for kind, token in (("image", self.image_token), ("video", self.video_token)):
            token_id = self.tokenizer.convert_tokens_to_ids(token)
            in_ids = [np.asarray(ids).tolist().count(token_id) for ids in input_ids]
            in_text = [text.count(token) for text in texts]
            if in_ids != in_text:
                raise ValueError(
                    f"the prompts hold {in_text} {kind} tokens {token!r} per prompt but input_ids hold {in_ids}: "
                    "truncation cut some of them; disable truncation or raise max_length"
                )

    def _check_placeholder_counts(self, texts: list[str] | None, images: Any, videos: list[Any]) -> None:
        if texts is None:
            return
        checks = (
            ("video", self.video_token, len(videos)),
            ("image", self.image_token, 0 if images is None else len(make_flat_list_of_images(images))),
        )
        for kind, token, given in checks:
            found = [sample.count(token) for sample in texts]
            if sum(found) != given:
                raise ValueError(
                    f"{given} {kind}(s) given but the text has {sum(found)} {kind} placeholder(s) {token!r} "
                    f"(per prompt: {found}); each {kind} needs exactly one placeholder"
                )

    # ---------------------------------------------------------------------------------------- question mask
    def question_spans(self, text: str) -> list[tuple[int, int]]:
        """Character spans of the question that conditions TTA, in an (expanded or raw) prompt.

        The rule: the question is the body of every user turn that contains a video placeholder, i.e. the text
        between the user turn header (`turn_start` + `user_role` + one space or newline) and the end of the turn
        (`turn_end`, the next `turn_start`, or the end of the prompt). Within those spans, `question_mask` keeps
        only tokens that are not special/control tokens (which excludes the video and image placeholders and the
        vision markers) and not whitespace-only (template newlines). A prompt without turn markers is one user turn;
        a prompt without a video has no question.

        Returns:
            `list[tuple[int, int]]`: half-open character spans, in order.
        """
        if self.video_token not in text:
            return []
        turns = self.chat_turns
        header = None if turns.turn_start is None else f"{turns.turn_start}{turns.user_role}"
        if header is None or header not in text:
            return [(0, len(text))]
        stops = [re.escape(turns.turn_start)] + ([re.escape(turns.turn_end)] if turns.turn_end else [])
        pattern = re.compile(rf"{re.escape(header)}[ \n]?(?P<body>.*?)(?={'|'.join(stops)}|\Z)", re.DOTALL)
        return [m.span("body") for m in pattern.finditer(text) if self.video_token in m.group("body")]

    def _question_mask(self, texts: list[str], input_ids: Any, offsets: Any) -> list[list[bool]]:
        """Token-level `question_mask` [B, L] from `question_spans` and the tokenizer's offsets."""
        special_ids = set(self.tokenizer.all_special_ids) | {
            token_id for token_id, token in self.tokenizer.added_tokens_decoder.items() if token.special
        }
        masks = []
        for text, ids, row_offsets in zip(texts, input_ids, offsets):
            spans = self.question_spans(text)
            row = []
            for token_id, (start, end) in zip(np.asarray(ids).tolist(), np.asarray(row_offsets).tolist()):
                keep = (
                    end > start
                    and token_id not in special_ids
                    and any(lo <= start < hi for lo, hi in spans)
                    and text[start:end].strip() != ""
                )
                row.append(keep)
            masks.append(row)
        return masks

    # ---------------------------------------------------------------------------------------- chat
    def _multimodal_inputs_from_conversations(
        self, conversations: list[list[dict[str, Any]]], audio_loading_params: dict, load_audio_from_video: bool = False
    ) -> tuple[list[list[Any]], list[list[Any]], list[Any], dict[str, Any]]:
        """Images and videos of each conversation, in order; video items keep their sampling options (see
        `linvt_hf.upstream.OVERRIDDEN_PRIVATE_HOOKS`)."""
        batch_images, batch_videos = [], []
        for conversation in conversations:
            images, videos = extract_visuals(conversation)
            batch_images.append(images)
            batch_videos.append(videos)
        return batch_images, batch_videos, [], {}

    @property
    def model_input_names(self) -> list[str]:
        names = list(super().model_input_names)
        for name in [*self.video_processor.model_input_names, "video_sample_index", "question_mask"]:
            if name not in names:
                names.append(name)
        return names


# ------------------------------------------------------------------------------------------------- LinVTProcessor
_PROCESSOR_CLASSES: dict[str, type] = {}  # image-LLM model type -> LinVT processor class (filled by register_family)


def register_linvt_processor(image_llm_model_type: str, processor_class: type, exist_ok: bool = True) -> None:
    """Let `LinVTProcessor` build `processor_class` for image-LLMs of this model type, and `AutoProcessor` /
    `AutoVideoProcessor` load saved ones (no torchvision needed: see `register_processor_auto_classes`)."""
    if not exist_ok and image_llm_model_type in _PROCESSOR_CLASSES:
        raise ValueError(f"a LinVT processor for {image_llm_model_type!r} is registered already")
    _PROCESSOR_CLASSES[image_llm_model_type] = processor_class


def linvt_processor_class_for(image_llm_model_type: str) -> type:
    try:
        return _PROCESSOR_CLASSES[image_llm_model_type]
    except KeyError:
        raise ValueError(
            f"no LinVT processor for image-LLMs of model type {image_llm_model_type!r}; registered: "
            f"{sorted(_PROCESSOR_CLASSES)}"
        ) from None


def family_class_by_image_llm_processor(class_name: str | None) -> type | None:
    """The LinVT processor class extending the image-LLM processor class named `class_name`, if one is registered."""
    return next((c for c in _PROCESSOR_CLASSES.values() if c.image_llm_processor_class().__name__ == class_name), None)


class LinVTProcessor:
    """Builds the LinVT processor of an image-LLM's family; not instantiated itself (as `AutoProcessor`).

    - `LinVTProcessor.from_backbone("Qwen/Qwen2-VL-7B-Instruct")` (or a folder, or a loaded `Qwen2VLProcessor`):
      that family's processor (`LinVTQwen2VLProcessor`).
    - `LinVTProcessor.from_pretrained(folder)`: a saved LinVT processor, including those linvt-hf 0.1 saved
      (`"processor_class": "LinVTProcessor"`); `AutoProcessor.from_pretrained(folder)` reads both too.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError(
            "LinVTProcessor is not instantiated: use LinVTProcessor.from_backbone(image_llm) or "
            "LinVTProcessor.from_pretrained(folder), or a family's class (LinVTQwen2VLProcessor, ...)"
        )

    @classmethod
    def from_backbone(cls, backbone: str | os.PathLike | ProcessorMixin, *args: Any, **kwargs: Any) -> Any:
        """`LinVT<Family>Processor.from_backbone(backbone, ...)` for the backbone's family (see there)."""
        return cls.family_class_of(backbone, kwargs).from_backbone(backbone, *args, **kwargs)

    @classmethod
    def family_class_of(cls, backbone: Any, kwargs: dict[str, Any]) -> type:
        """The LinVT processor class for a backbone processor object, checkpoint or folder."""
        if isinstance(backbone, ProcessorMixin):
            # The nearest image-LLM processor class it is (a LinVT processor is one too).
            for base in type(backbone).__mro__:
                family = family_class_by_image_llm_processor(base.__name__)
                if family is not None and base is family.image_llm_processor_class():
                    return family
            raise ValueError(
                f"no LinVT processor extends {type(backbone).__name__}; registered: "
                f"{sorted(c.__name__ for c in _PROCESSOR_CLASSES.values())}"
            )
        hub = {k: v for k, v in kwargs.items() if k in ("cache_dir", "revision", "token", "local_files_only")}
        return cls.family_class_of_checkpoint(os.fspath(backbone), hub)

    @classmethod
    def family_class_of_checkpoint(cls, name: str, hub: dict[str, Any]) -> type:
        """The LinVT processor class for an image-LLM checkpoint (Hub id or folder): by the model type of its config,
        or, for a folder holding only the image-LLM's processor, by that processor's class.

        Raises:
            ValueError: neither names a registered family.
        """
        try:
            return linvt_processor_class_for(AutoConfig.from_pretrained(name, **hub).model_type)
        except (OSError, ValueError) as error:  # no model config, or not a registered family's
            processor_class = ProcessorMixin.get_processor_dict(name, **hub)[0].get("processor_class")
            family = family_class_by_image_llm_processor(processor_class)
            if family is None:
                raise ValueError(
                    f"{name}: no LinVT processor for it: {error}; and its processor class {processor_class!r} is none "
                    f"of {sorted(c.image_llm_processor_class().__name__ for c in _PROCESSOR_CLASSES.values())}"
                ) from None
            return family

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike, **kwargs: Any) -> Any:
        """A saved LinVT processor; a linvt-hf 0.1 folder (one `LinVTProcessor` class for every family, the
        image-LLM's processor named in `backbone_processor_class`) is read into its family's class."""
        name = os.fspath(pretrained_model_name_or_path)
        processor_dict, _ = ProcessorMixin.get_processor_dict(name, **kwargs)
        legacy_class = processor_dict.get("backbone_processor_class")
        if legacy_class is None:
            return AutoProcessor.from_pretrained(name, **kwargs)
        family = family_class_by_image_llm_processor(legacy_class)
        if family is None:
            raise ValueError(f"{name}: no LinVT processor extends {legacy_class!r}, the processor it was saved with")
        video = dict(processor_dict["video_processor"])
        video.pop("family", None)
        video.update(frame_resize=family.frame_layout.resize, frame_output=family.frame_layout.output)
        return family(
            image_processor=AutoImageProcessor.from_pretrained(name, **kwargs),
            tokenizer=AutoTokenizer.from_pretrained(name, **kwargs),
            video_processor=LinVTVideoProcessor.from_dict(video),
            chat_template=processor_dict.get("chat_template"),
            num_video_tokens=processor_dict.get("num_video_tokens", DEFAULT_NUM_VIDEO_TOKENS),
            video_tokens_per_frame=processor_dict.get("video_tokens_per_frame"),
            **processor_dict.get("backbone_processor_kwargs", {}),
        )


__all__ = [
    "ChatTurns",
    "DEFAULT_NUM_VIDEO_TOKENS",
    "LinVTProcessor",
    "LinVTProcessorMixin",
    "linvt_processor_class_for",
    "register_linvt_processor",
]
