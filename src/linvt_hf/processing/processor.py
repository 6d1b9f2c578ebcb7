"""The LinVT processor: the backbone's own text and image processing plus LinVT's video processing.

Images and text go through the backbone's processor code unchanged (same tokenizer, same image processor, same
placeholder expansion), so a LinVT model given an image sees exactly what the original image-LLM sees. Each video
becomes `num_video_tokens` placeholder tokens (112 by default) wrapped in the backbone's vision markers, whatever the
video's length; `LinVTVideoProcessor` prepares its frames.

What is backbone-specific about prompts lives in `PROMPT_FORMATS`, one `PromptFormat` per family; what is
backbone-specific about frames lives in `video_processor.FRAME_LAYOUTS`.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import transformers
from transformers import AutoImageProcessor, AutoProcessor, AutoTokenizer
from transformers.image_processing_base import BatchFeature
from transformers.image_utils import make_flat_list_of_images
from transformers.models.auto.processing_auto import PROCESSOR_MAPPING_NAMES, processor_class_from_name
# The class itself: the top-level `transformers.AutoVideoProcessor` is a placeholder that raises without torchvision.
from transformers.models.auto.video_processing_auto import AutoVideoProcessor
from transformers.processing_utils import ProcessorMixin

from ..upstream import (
    check_video_processor_argument,
    merge_processor_kwargs,
    video_processor_check,
)
from .chat import extract_visuals
from .video_processor import LinVTVideoProcessor, make_video_list


DEFAULT_NUM_VIDEO_TOKENS = 112
# The backends AutoVideoProcessor may be asked for; LinVTVideoProcessor (numpy + PIL) is the class for each.
VIDEO_PROCESSOR_BACKENDS = ("torchvision", "pil")

# Video kwargs that reach `LinVTVideoProcessor.preprocess`; the rest of `videos_kwargs` (backbone defaults such as
# `return_metadata`) does not apply to it.
_VIDEO_CALL_KWARGS = ("num_frames", "fps", "min_frames", "max_frames", "shot_detector", "max_side", "return_tensors")


@dataclass(frozen=True)
class PromptFormat:
    """What is backbone-specific about LinVT prompts, for one backbone family.

    Attributes:
        processor_class (`str`): the backbone's processor class in transformers.
        video_replacement (`Callable[[ProcessorMixin, int], str]`): the text that replaces one video placeholder,
            given the backbone processor and the number of video tokens. It holds exactly that many video tokens,
            plus the vision start/end markers when the chat template does not already write them.
        turn_start, user_role, turn_end (`str`): chat turn markers, used to find the user turns that hold a video
            (see `LinVTProcessor.question_spans`). `turn_start=None`: no turn structure, the whole prompt is the turn.
        dropped_image_outputs (`tuple[str, ...]`): image processor outputs the backbone processor removes from its
            output (they only serve to count placeholder tokens).
    """

    processor_class: str
    video_replacement: Callable[[ProcessorMixin, int], str]
    turn_start: str | None = "<|im_start|>"
    user_role: str = "user"
    turn_end: str | None = "<|im_end|>"
    dropped_image_outputs: tuple[str, ...] = ()


def _repeat_video_token(backbone: ProcessorMixin, num_tokens: int) -> str:
    return backbone.video_token * num_tokens


def _internvl_video(backbone: ProcessorMixin, num_tokens: int) -> str:
    # InternVL's template writes a bare "<video>"; its own processor expands it to "<img>...</img>" per frame. LinVT
    # keeps the <img> ... </img> markers the LLM knows around its video tokens, and uses InternVL's <video> token as
    # the placeholder so video positions are distinct from image (<IMG_CONTEXT>) positions.
    return f"{backbone.start_image_token}{backbone.video_token * num_tokens}{backbone.end_image_token}"


_QWEN_FORMAT_KW = {"video_replacement": _repeat_video_token}  # the template writes <|vision_start|>..<|vision_end|>

PROMPT_FORMATS: dict[str, PromptFormat] = {
    "qwen2_vl": PromptFormat(processor_class="Qwen2VLProcessor", **_QWEN_FORMAT_KW),
    "qwen2_5_vl": PromptFormat(processor_class="Qwen2_5_VLProcessor", **_QWEN_FORMAT_KW),
    "internvl": PromptFormat(
        processor_class="InternVLProcessor",
        video_replacement=_internvl_video,
        dropped_image_outputs=("num_patches",),
    ),
    "llava_onevision": PromptFormat(processor_class="LlavaOnevisionProcessor", video_replacement=_repeat_video_token),
}


def family_of_processor_class(class_name: str) -> str:
    """The backbone family of a transformers processor class name, e.g. "Qwen2VLProcessor" -> "qwen2_vl"."""
    for family, prompt_format in PROMPT_FORMATS.items():
        if prompt_format.processor_class == class_name:
            return family
    known = sorted(f.processor_class for f in PROMPT_FORMATS.values())
    raise ValueError(f"unsupported backbone processor {class_name!r}; LinVT supports {known}")


def instantiate_processor(processor_class: type[ProcessorMixin], *args: Any, **kwargs: Any) -> ProcessorMixin:
    """`processor_class(*args, **kwargs)`, which also works when torchvision is not installed (see
    `linvt_hf.upstream.video_processor_check`)."""
    with video_processor_check(processor_class):
        return processor_class(*args, **kwargs)


def load_backbone_processor(name_or_path: str, **kwargs: Any) -> ProcessorMixin:
    """The backbone's processor, as `AutoProcessor.from_pretrained(name_or_path, **kwargs)` would load it, with a
    `LinVTVideoProcessor` in the video processor's seat.

    LinVT never uses the backbone's own video processor, and transformers can only build those with torchvision; so
    the processor is always assembled from its class (named by processor_config.json or the model type), its
    tokenizer, its (PIL) image processor and its processor config, the same way with or without torchvision.
    """
    processor_dict, _ = ProcessorMixin.get_processor_dict(name_or_path, **kwargs)
    class_name = processor_dict.get("processor_class")
    if class_name is None:
        config = transformers.AutoConfig.from_pretrained(name_or_path, **kwargs)
        class_name = PROCESSOR_MAPPING_NAMES.get(config.model_type)
    processor_class = processor_class_from_name(class_name) if class_name else None
    if processor_class is None:
        raise ValueError(f"cannot tell which processor class {name_or_path!r} uses")
    family = family_of_processor_class(processor_class.__name__)
    tokenizer = AutoTokenizer.from_pretrained(name_or_path, **kwargs)
    image_processor = AutoImageProcessor.from_pretrained(name_or_path, **kwargs)
    video_processor = LinVTVideoProcessor.from_image_processor(image_processor, family)
    with video_processor_check(processor_class):
        return processor_class.from_args_and_dict([image_processor, tokenizer, video_processor], processor_dict)


def _backbone_init_kwargs(backbone: ProcessorMixin) -> dict[str, Any]:
    """The backbone processor's own `__init__` settings (e.g. InternVL's `image_seq_length`), JSON-serialisable."""
    skip = set(type(backbone).get_attributes()) | {"self", "chat_template", "audio_tokenizer"}
    kwargs = {}
    for name, param in inspect.signature(type(backbone).__init__).parameters.items():
        if name in skip or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if hasattr(backbone, name):
            kwargs[name] = getattr(backbone, name)
    return kwargs


# ---------------------------------------------------------------------------------------------------------------------


class LinVTProcessor(ProcessorMixin):
    r"""
    Processor of a LinVT video-LLM: the backbone's tokenizer and image processor, plus a `LinVTVideoProcessor`.

    - Text and images are processed by the backbone's own processor code, so `input_ids` and image tensors are
      identical to the backbone processor's output.
    - Each video placeholder in the text (the backbone's video token, e.g. `<|video_pad|>`, `<video>`) becomes exactly
      `num_video_tokens` video tokens inside the backbone's vision markers, independent of the video length.
    - Videos are decoded, sampled (shot-aware) and converted to the pixel values the backbone's vision encoder expects,
      with per-time-step metadata (mask, clip ids, timestamps, frame indices), see `LinVTVideoProcessor.preprocess`.
    - `question_mask` marks the question tokens that condition LinVT's text-conditioned aggregation (TTA), see
      `question_spans`.

    Args:
        image_processor: the backbone's image processor.
        tokenizer: the backbone's tokenizer.
        video_processor (`LinVTVideoProcessor`, *optional*): built from the image processor when omitted.
        chat_template (`str`, *optional*): the backbone's chat template.
        num_video_tokens (`int`, defaults to 112): video tokens per video (LinVT's output size).
        video_tokens_per_frame (`int`, *optional*): for the baseline tokenizers whose output grows with the video
            (`tokenizer_type="avg"`: 1, `"llama_vid"`: 1 + content tokens): each video then takes this many tokens per
            sampled time step instead of `num_video_tokens`.
        backbone_processor_class (`str`): the backbone's processor class, e.g. `"Qwen2VLProcessor"`.
        backbone_processor_kwargs (`dict`, *optional*): the backbone processor's other `__init__` arguments (e.g.
            InternVL's `image_seq_length`, LLaVA-OneVision's `num_image_tokens`).
    """

    def __init__(
        self,
        image_processor: Any = None,
        tokenizer: Any = None,
        video_processor: LinVTVideoProcessor | None = None,
        chat_template: str | None = None,
        num_video_tokens: int = DEFAULT_NUM_VIDEO_TOKENS,
        backbone_processor_class: str | None = None,
        backbone_processor_kwargs: dict[str, Any] | None = None,
        video_tokens_per_frame: int | None = None,
        **kwargs: Any,
    ) -> None:
        if backbone_processor_class is None:
            raise ValueError(
                "backbone_processor_class is required (e.g. 'Qwen2VLProcessor'); "
                "use LinVTProcessor.from_backbone(...) to wrap a backbone's processor"
            )
        if not isinstance(num_video_tokens, int) or num_video_tokens < 1:
            raise ValueError(f"num_video_tokens must be a positive int, got {num_video_tokens!r}")
        if video_tokens_per_frame is not None and (
            not isinstance(video_tokens_per_frame, int) or isinstance(video_tokens_per_frame, bool) or video_tokens_per_frame < 1
        ):
            raise ValueError(f"video_tokens_per_frame must be None or a positive int, got {video_tokens_per_frame!r}")
        self.family = family_of_processor_class(backbone_processor_class)
        if video_processor is None:
            video_processor = LinVTVideoProcessor.from_image_processor(image_processor, self.family)
        super().__init__(image_processor, tokenizer, video_processor, chat_template=chat_template, **kwargs)
        self.num_video_tokens = num_video_tokens
        self.video_tokens_per_frame = video_tokens_per_frame
        self.backbone_processor_class = backbone_processor_class
        self.backbone_processor_kwargs = dict(backbone_processor_kwargs or {})

        backbone_class = processor_class_from_name(backbone_processor_class)
        self._backbone = instantiate_processor(
            backbone_class,
            image_processor,
            tokenizer,
            video_processor,
            chat_template=chat_template,
            **self.backbone_processor_kwargs,
        )
        self.image_token = self._backbone.image_token
        self.video_token = self._backbone.video_token
        self.image_token_id = tokenizer.convert_tokens_to_ids(self.image_token)
        self.video_token_id = tokenizer.convert_tokens_to_ids(self.video_token)
        self._special_ids = set(tokenizer.all_special_ids) | {
            token_id for token_id, token in tokenizer.added_tokens_decoder.items() if token.special
        }

    check_argument_for_proper_class = check_video_processor_argument

    @property
    def prompt_format(self) -> PromptFormat:
        return PROMPT_FORMATS[self.family]

    @property
    def backbone_processor(self) -> ProcessorMixin:
        """The backbone's processor (sharing this processor's tokenizer and image processor)."""
        return self._backbone

    @property
    def video_replacement(self) -> str:
        """The text one video placeholder expands to: `num_video_tokens` video tokens in the backbone's markers."""
        return self.prompt_format.video_replacement(self._backbone, self.num_video_tokens)

    def video_token_counts(self, video_frame_mask: Any) -> list[int]:
        """Video tokens each video takes in the prompt, from `video_frame_mask` `[V, T]` (True for real time steps):
        `num_video_tokens` each, or `video_tokens_per_frame` per real time step when that is set."""
        mask = np.asarray(video_frame_mask, dtype=bool)
        if self.video_tokens_per_frame is None:
            return [self.num_video_tokens] * len(mask)
        return [self.video_tokens_per_frame * int(row.sum()) for row in mask]

    # -------------------------------------------------------------------------------------------- construction

    @classmethod
    def from_backbone(
        cls,
        name_or_path: str,
        num_video_tokens: int = DEFAULT_NUM_VIDEO_TOKENS,
        video_processor_kwargs: dict[str, Any] | None = None,
        video_tokens_per_frame: int | None = None,
        **kwargs: Any,
    ) -> LinVTProcessor:
        """Load a backbone's processor (Hub name or local folder) and wrap it.

        Args:
            name_or_path (`str`): e.g. `"Qwen/Qwen2-VL-7B-Instruct"`, `"OpenGVLab/InternVL3-1B-hf"`,
                `"BAAI/Aquila-VL-2B-llava-qwen"`-style LLaVA-OneVision checkpoints, or a saved folder.
            num_video_tokens (`int`, defaults to 112): video tokens per video.
            video_processor_kwargs (`dict`, *optional*): `LinVTVideoProcessor` options (sampling, shot detector).
            video_tokens_per_frame (`int`, *optional*): tokens per time step for the baseline tokenizers (see the
                class docstring); None for LinVT.
            kwargs: passed to `AutoProcessor.from_pretrained` (revision, cache_dir, ...).
        """
        backbone = load_backbone_processor(name_or_path, **kwargs)
        return cls.from_backbone_processor(
            backbone, num_video_tokens, video_tokens_per_frame=video_tokens_per_frame, **(video_processor_kwargs or {})
        )

    @classmethod
    def from_backbone_processor(
        cls,
        backbone: ProcessorMixin,
        num_video_tokens: int = DEFAULT_NUM_VIDEO_TOKENS,
        video_tokens_per_frame: int | None = None,
        **video_processor_kwargs: Any,
    ) -> LinVTProcessor:
        """Wrap an already loaded backbone processor (`Qwen2VLProcessor`, `InternVLProcessor`, ...); keyword
        arguments other than `video_tokens_per_frame` are `LinVTVideoProcessor` options."""
        family = family_of_processor_class(type(backbone).__name__)
        video_processor = LinVTVideoProcessor.from_image_processor(
            backbone.image_processor, family, **video_processor_kwargs
        )
        return cls(
            image_processor=backbone.image_processor,
            tokenizer=backbone.tokenizer,
            video_processor=video_processor,
            chat_template=backbone.chat_template,
            num_video_tokens=num_video_tokens,
            video_tokens_per_frame=video_tokens_per_frame,
            backbone_processor_class=type(backbone).__name__,
            backbone_processor_kwargs=_backbone_init_kwargs(backbone),
        )

    def to_dict(self) -> dict[str, Any]:
        # Keep the internal backbone processor (which holds the tokenizer) out of the deep copy made by to_dict.
        backbone = self.__dict__.pop("_backbone")
        try:
            return super().to_dict()
        finally:
            self._backbone = backbone

    # -------------------------------------------------------------------------------------------- processing

    def __call__(
        self,
        images: Any = None,
        text: str | list[str] | None = None,
        videos: Any = None,
        **kwargs: Any,
    ) -> BatchFeature:
        """Tokenize text, process images as the backbone does, and process videos for LinVT.

        Args:
            images: images, as the backbone processor takes them.
            text (`str` or `list[str]`): prompts; each video needs one video placeholder (the backbone's video token,
                e.g. `"<|vision_start|><|video_pad|><|vision_end|>"` for Qwen2-VL, `"<video>"` for InternVL and
                LLaVA-OneVision), which `apply_chat_template` writes for `{"type": "video"}` content items.
            videos: one video or a (nested) list of videos, in placeholder order across the batch; see
                `make_video_list` for the accepted forms.
            kwargs: text/image kwargs as for the backbone processor (`padding`, `return_tensors`, ...) and video
                kwargs (`num_frames`, `fps`, `min_frames`, `max_frames`, `shot_detector`, `max_side`).

        Returns:
            `BatchFeature` with the backbone's text and image outputs (`input_ids` [B, L], `attention_mask` [B, L],
            `pixel_values`, `image_grid_thw`, `mm_token_type_ids`, ... as the backbone processor returns them), the
            video outputs of `LinVTVideoProcessor.preprocess`, and `question_mask` [B, L] bool (see `question_spans`).

        Raises:
            ValueError: the number of videos (or images) differs from the number of placeholders in the text.
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

        backbone = self._backbone
        merged = merge_processor_kwargs(backbone, **kwargs)
        return_tensors = merged["text_kwargs"].pop("return_tensors", None)

        data: dict[str, Any] = {}
        image_replacements: list[str] = []
        if images is not None:
            image_outputs, image_replacements = self._process_backbone_images(images, merged["images_kwargs"])
            for key in self.prompt_format.dropped_image_outputs:
                image_outputs.pop(key, None)
            data.update(image_outputs)
        video_replacements: list[str] = []
        if video_list:
            video_kwargs = {k: v for k, v in merged["videos_kwargs"].items() if k in _VIDEO_CALL_KWARGS}
            video_kwargs["return_tensors"] = None
            data.update(self.video_processor(video_list, **video_kwargs))
            video_replacements = [
                self.prompt_format.video_replacement(backbone, count)
                for count in self.video_token_counts(data["video_frame_mask"])
            ]
        if texts is not None:
            data.update(self._tokenize(texts, image_replacements, video_replacements, merged))

        data = {key: value for key, value in data.items() if key not in backbone.unused_input_names}
        return BatchFeature(data=data, tensor_type=return_tensors)

    def _tokenize(
        self, texts: list[str], image_replacements: list[str], video_replacements: list[str], merged: dict[str, Any]
    ) -> dict[str, Any]:
        """Expand placeholders, tokenize, and add `question_mask` (and `mm_token_type_ids` when the backbone does)."""
        backbone = self._backbone
        text_kwargs = dict(merged["text_kwargs"])
        return_mm_token_type_ids = text_kwargs.pop("return_mm_token_type_ids", merged["return_mm_token_type_ids"])
        text_kwargs.pop("return_text_replacement_offsets", None)
        keep_offsets = bool(text_kwargs.pop("return_offsets_mapping", False))

        texts, _ = backbone.get_text_with_replacements(texts, image_replacements, video_replacements)
        text_inputs = self.tokenizer(texts, return_offsets_mapping=True, **text_kwargs)
        self._check_placeholders_tokenized(texts, text_inputs["input_ids"])
        offsets = text_inputs["offset_mapping"] if keep_offsets else text_inputs.pop("offset_mapping")

        outputs = dict(text_inputs)
        outputs["question_mask"] = self._question_mask(texts, text_inputs["input_ids"], offsets)
        if return_mm_token_type_ids:
            outputs["mm_token_type_ids"] = backbone.create_mm_token_type_ids(text_inputs["input_ids"])
        return outputs

    def _process_backbone_images(self, images: Any, images_kwargs: dict[str, Any]) -> tuple[Any, list[str]]:
        """The backbone's image processor outputs and, per image, the text its placeholder expands to (the backbone
        processor's own `replace_image_token`)."""
        backbone = self._backbone
        outputs = backbone.image_processor(images, **images_kwargs)
        count = len(make_flat_list_of_images(images))
        return outputs, [backbone.replace_image_token(outputs, image_idx=i, **images_kwargs) for i in range(count)]

    def _check_placeholders_tokenized(self, texts: list[str], input_ids: Any) -> None:
        """Raise unless every image and video token of the expanded prompts became one token id (truncation, e.g.
        `truncation=True` with a small `max_length`, would cut some and leave the model misplacing the rest)."""
        for kind, token, token_id in (
            ("image", self.image_token, self.image_token_id),
            ("video", self.video_token, self.video_token_id),
        ):
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

    # -------------------------------------------------------------------------------------------- question mask

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
        fmt = self.prompt_format
        header = None if fmt.turn_start is None else f"{fmt.turn_start}{fmt.user_role}"
        if header is None or header not in text:
            return [(0, len(text))]
        stops = [re.escape(fmt.turn_start)] + ([re.escape(fmt.turn_end)] if fmt.turn_end else [])
        pattern = re.compile(rf"{re.escape(header)}[ \n]?(?P<body>.*?)(?={'|'.join(stops)}|\Z)", re.DOTALL)
        return [m.span("body") for m in pattern.finditer(text) if self.video_token in m.group("body")]

    def _question_mask(self, texts: list[str], input_ids: Any, offsets: Any) -> list[list[bool]]:
        """Token-level `question_mask` [B, L] from `question_spans` and the tokenizer's offsets."""
        masks = []
        for text, ids, row_offsets in zip(texts, input_ids, offsets):
            spans = self.question_spans(text)
            row = []
            for token_id, (start, end) in zip(np.asarray(ids).tolist(), np.asarray(row_offsets).tolist()):
                keep = (
                    end > start
                    and token_id not in self._special_ids
                    and any(lo <= start < hi for lo, hi in spans)
                    and text[start:end].strip() != ""
                )
                row.append(keep)
            masks.append(row)
        return masks

    # -------------------------------------------------------------------------------------------- chat

    def _multimodal_inputs_from_conversations(
        self, conversations: list[list[dict[str, Any]]], audio_loading_params: dict, load_audio_from_video: bool = False
    ) -> tuple[list[list[Any]], list[list[Any]], list[Any], dict[str, Any]]:
        """Images and videos of each conversation, in order; video items keep their sampling options."""
        batch_images, batch_videos = [], []
        for conversation in conversations:
            images, videos = extract_visuals(conversation)
            batch_images.append(images)
            batch_videos.append(videos)
        return batch_images, batch_videos, [], {}

    @property
    def model_input_names(self) -> list[str]:
        names = list(self._backbone.model_input_names)
        for name in [*self.video_processor.model_input_names, "question_mask"]:
            if name not in names:
                names.append(name)
        return names


def register_processor_auto_classes(config_class: type | str = "linvt", exist_ok: bool = True) -> None:
    """Make `AutoProcessor.from_pretrained(folder)` return a `LinVTProcessor` for a folder saved by it.

    `AutoProcessor` reads `"processor_class": "LinVTProcessor"` from the folder's processor_config.json and resolves
    the name through `PROCESSOR_MAPPING`'s registered ("extra") classes, so the class only has to be registered once,
    against any key: the `LinVTConfig` class (model_type "linvt") when the caller has it, or the model type string.
    `ProcessorMixin.from_pretrained` then loads the video processor with `AutoVideoProcessor`, which finds
    `"video_processor_type": "LinVTVideoProcessor"` among the classes registered here for every backend it may ask
    for ("torchvision" by default, "pil"): `LinVTVideoProcessor` runs on numpy and PIL only, so one class serves both
    and no torchvision is needed. No model config needs to be in the folder and no `trust_remote_code` is involved.
    """
    AutoProcessor.register(config_class, LinVTProcessor, exist_ok=exist_ok)
    AutoVideoProcessor.register(
        config_class,
        video_processor_classes={backend: LinVTVideoProcessor for backend in VIDEO_PROCESSOR_BACKENDS},
        exist_ok=exist_ok,
    )


__all__ = [
    "DEFAULT_NUM_VIDEO_TOKENS",
    "PROMPT_FORMATS",
    "LinVTProcessor",
    "PromptFormat",
    "instantiate_processor",
    "load_backbone_processor",
    "register_processor_auto_classes",
]
