"""Tiny, offline processors of the supported backbones, for tests.

`make_tiny_processor(backbone)` returns the backbone's own processor class (`Qwen2VLProcessor`, `InternVLProcessor`,
...) built without any download: a byte-level BPE tokenizer trained on a few hundred words, wrapped in the backbone's
tokenizer class with the backbone's special tokens; a chat template in the backbone's format; and the backbone's PIL
image processor with small sizes, so an image or a frame gives a handful of vision tokens. The tokenizer pads on the
left, for batched generation. `make_tiny_linvt_processor(backbone)` wraps it in a `LinVTProcessor`.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from tokenizers import Tokenizer, models, pre_tokenizers, trainers
from transformers import (
    GotOcr2ImageProcessorPil,
    LlavaOnevisionImageProcessorPil,
    Qwen2Tokenizer,
    Qwen2VLImageProcessorPil,
)
from transformers.image_utils import IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD
from transformers.models.auto.processing_auto import processor_class_from_name
from transformers.utils import is_torchvision_available

from ..processing.processor import PROMPT_FORMATS, LinVTProcessor, instantiate_processor
from ..processing.video_processor import LinVTVideoProcessor


BACKBONES = ("qwen2_vl", "qwen2_5_vl", "internvl", "llava_onevision")

_CORPUS = """
what is the man doing in the video describe the scene in detail please answer the question briefly
who where when why how many people are there a woman a child a dog a cat a car a bird a ball a tree
the rabbit walks across the grass near the river and looks at the butterfly under the bright sun
a person talks on the phone while driving a car through the city at night with lights and rain
first then next after that finally at the end of the clip the camera moves to the left and right
color red green blue yellow white black small large tall short fast slow happy sad old young
is it raining does the animal eat what happens before the door opens which object is on the table
summarize the video in one sentence count the objects what sound would you expect in this place
the quick brown fox jumps over the lazy dog again and again while the children watch and laugh
image picture frame shot scene video clip movie action event time second minute start stop begin
"""

# Qwen2 / ChatML special tokens shared by every backbone here (all four use a Qwen2-family LLM tokenizer).
_CHATML_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")

_QWEN2_VL_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}"
    "{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}"
    "{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}"
    "{% endif %}{% endfor %}<|im_end|>\n"
    "{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

_INTERNVL_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' }}"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' %}{{ '<IMG_CONTEXT>\n' }}"
    "{% elif content['type'] == 'video' %}{{ '<video>\n' }}"
    "{% elif content['type'] == 'text' %}{{ content['text'] }}"
    "{% endif %}{% endfor %}{% endif %}"
    "{{ '<|im_end|>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

_LLAVA_ONEVISION_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + ' ' }}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}{{ '<image>' }}{% endfor %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'video') %}{{ '<video>' }}{% endfor %}"
    "{% if message['role'] != 'assistant' %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{{ '\n' + content['text'] }}"
    "{% endfor %}"
    "{% else %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}"
    "{% generation %}{{ '\n' + content['text'] }}{% endgeneration %}{% endfor %}"
    "{% endif %}"
    "{{ '<|im_end|>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

_QWEN_VISION_TOKENS = ("<|vision_start|>", "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>")


@functools.lru_cache(maxsize=1)
def _bpe_vocab_and_merges() -> tuple[dict[str, int], tuple[tuple[str, str], ...]]:
    """A byte-level BPE (Qwen2-style) trained on `_CORPUS`: every byte is in the vocabulary, common words merge."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=600, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    tokenizer.train_from_iterator([line for line in _CORPUS.splitlines() if line] * 4, trainer)
    model = json.loads(tokenizer.to_str())["model"]
    merges = tuple(tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"])
    return dict(model["vocab"]), merges


def make_tiny_tokenizer(backbone: str) -> Qwen2Tokenizer:
    """A small Qwen2 tokenizer with the special tokens (and named multimodal tokens) of `backbone`'s tokenizer.

    It pads on the left, as the chat checkpoints of these backbones do for generation: a batch of prompts of
    different lengths then generates what each prompt generates alone.
    """
    vocab, merges = _bpe_vocab_and_merges()
    return qwen2_tokenizer_for(backbone, dict(vocab), list(merges), padding_side="left")


def qwen2_tokenizer_for(
    backbone: str, vocab: dict[str, int], merges: list[tuple[str, str]], padding_side: str | None = None
) -> Qwen2Tokenizer:
    """A `Qwen2Tokenizer` over a byte-level BPE (`vocab`, `merges`) with the ChatML tokens and `backbone`'s own
    multimodal tokens (named as its processor reads them, e.g. InternVL's `context_image_token`), padding on
    `padding_side` when given (saved with the tokenizer), else on transformers' default side (the right)."""
    named: dict[str, str]
    if backbone in ("qwen2_vl", "qwen2_5_vl"):
        extra = _QWEN_VISION_TOKENS
        named = {}
    elif backbone == "internvl":
        named = {
            "start_image_token": "<img>",
            "end_image_token": "</img>",
            "context_image_token": "<IMG_CONTEXT>",
            "video_token": "<video>",
        }
        extra = tuple(named.values())
    elif backbone == "llava_onevision":
        named = {"image_token": "<image>", "video_token": "<video>"}
        extra = tuple(named.values())
    else:
        raise ValueError(f"unknown backbone {backbone!r}; known: {BACKBONES}")
    tokenizer = Qwen2Tokenizer(
        vocab=vocab,
        merges=merges,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token=None,
        extra_special_tokens=named or list(extra),
        model_max_length=4096,
        **({"padding_side": padding_side} if padding_side is not None else {}),
    )
    tokenizer.add_tokens(list(_CHATML_TOKENS + extra), special_tokens=True)
    return tokenizer


def make_tiny_image_processor(backbone: str) -> Any:
    """The backbone's PIL image processor with small sizes (a frame or an image gives a few vision tokens)."""
    if backbone in ("qwen2_vl", "qwen2_5_vl"):
        # 14-pixel patches merged 2x2: at most 3x3 merged tokens per image (or per temporal patch of a video).
        return Qwen2VLImageProcessorPil(min_pixels=28 * 28, max_pixels=84 * 84, patch_size=14, merge_size=2)
    if backbone == "internvl":
        # 56x56 tiles: 4x4 patches of 14, pixel shuffle 0.5 -> 4 tokens per tile (image_seq_length=4).
        return GotOcr2ImageProcessorPil(
            size={"height": 56, "width": 56},
            crop_to_patches=False,
            min_patches=1,
            max_patches=4,
            image_mean=[0.485, 0.456, 0.406],
            image_std=[0.229, 0.224, 0.225],
        )
    if backbone == "llava_onevision":
        # 28x28 base resolution: 2x2 patches of 14 -> 4 tokens per image patch (num_image_tokens=4).
        return LlavaOnevisionImageProcessorPil(
            size={"height": 28, "width": 28},
            image_grid_pinpoints=[[28, 28], [28, 56], [56, 28], [56, 56]],
            image_mean=IMAGENET_STANDARD_MEAN,
            image_std=IMAGENET_STANDARD_STD,
        )
    raise ValueError(f"unknown backbone {backbone!r}; known: {BACKBONES}")


_CHAT_TEMPLATES = {
    "qwen2_vl": _QWEN2_VL_TEMPLATE,
    "qwen2_5_vl": _QWEN2_VL_TEMPLATE,
    "internvl": _INTERNVL_TEMPLATE,
    "llava_onevision": _LLAVA_ONEVISION_TEMPLATE,
}

_PROCESSOR_KWARGS: dict[str, dict[str, Any]] = {
    "qwen2_vl": {},
    "qwen2_5_vl": {},
    "internvl": {"image_seq_length": 4},
    "llava_onevision": {"num_image_tokens": 4, "vision_feature_select_strategy": "full"},
}

_VIDEO_PROCESSOR_CLASSES = {
    "qwen2_vl": "Qwen2VLVideoProcessor",
    "qwen2_5_vl": "Qwen2VLVideoProcessor",
    "internvl": "InternVLVideoProcessor",
    "llava_onevision": "LlavaOnevisionVideoProcessor",
}


def _tiny_video_processor(backbone: str, image_processor: Any) -> Any:
    """The backbone's own video processor when torchvision is there; otherwise a `LinVTVideoProcessor` stand-in (the
    backbone's video processors need torchvision, and LinVT never uses them)."""
    if is_torchvision_available():
        import transformers

        return getattr(transformers, _VIDEO_PROCESSOR_CLASSES[backbone])()
    return LinVTVideoProcessor.from_image_processor(image_processor, backbone)


def make_tiny_processor(backbone: str) -> Any:
    """The backbone's own processor (`Qwen2VLProcessor`, `Qwen2_5_VLProcessor`, `InternVLProcessor`,
    `LlavaOnevisionProcessor`), built offline with a tiny tokenizer and small image sizes."""
    if backbone not in BACKBONES:
        raise ValueError(f"unknown backbone {backbone!r}; known: {BACKBONES}")
    processor_class = processor_class_from_name(PROMPT_FORMATS[backbone].processor_class)
    image_processor = make_tiny_image_processor(backbone)
    return instantiate_processor(
        processor_class,
        image_processor,
        make_tiny_tokenizer(backbone),
        _tiny_video_processor(backbone, image_processor),
        chat_template=_CHAT_TEMPLATES[backbone],
        **_PROCESSOR_KWARGS[backbone],
    )


def make_tiny_linvt_processor(
    backbone: str, num_video_tokens: int = 8, **video_processor_kwargs: Any
) -> LinVTProcessor:
    """`LinVTProcessor` around `make_tiny_processor(backbone)`.

    Defaults suit fast tests: 8 video tokens, 8 frames sampled uniformly, no shot detection; `video_processor_kwargs`
    override them (e.g. `shot_detector="histogram"`).
    """
    options = {"num_frames": 8, "fps": None, "min_frames": 1, "shot_detector": "none", **video_processor_kwargs}
    return LinVTProcessor.from_backbone_processor(make_tiny_processor(backbone), num_video_tokens, **options)


__all__ = [
    "BACKBONES",
    "make_tiny_image_processor",
    "make_tiny_linvt_processor",
    "make_tiny_processor",
    "make_tiny_tokenizer",
    "qwen2_tokenizer_for",
]
