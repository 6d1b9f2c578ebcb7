"""Tiny, offline processors of the registered backbone families, for tests.

`make_tiny_processor(backbone)` returns the backbone's own processor class (`Qwen2VLProcessor`, `InternVLProcessor`,
...) built without any download: a byte-level BPE tokenizer trained on a few hundred words, wrapped in the backbone's
tokenizer class with the backbone's special tokens; the chat template, image processor at toy sizes and processor
settings its family declares (`LinVTFamily.tiny_processor_parts`). `make_tiny_linvt_processor(backbone)` is the
family's LinVT processor around it.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from tokenizers import Tokenizer, models, pre_tokenizers, trainers
from transformers import Qwen2Tokenizer

from ..family import FAMILIES
from ..processing.video_processor import LinVTVideoProcessor
from ..upstream import video_processor_check

BACKBONES = tuple(FAMILIES)  # the registered families (`import linvt_hf` registers the shipped ones)

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
    parts = tiny_processor_parts(backbone)
    named, extra = parts["named_tokens"], tuple(parts["special_tokens"])
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


def tiny_processor_parts(backbone: str) -> dict[str, Any]:
    """What `backbone`'s family declares for its processor at toy sizes (see `LinVTFamily.tiny_processor_parts`)."""
    if backbone not in FAMILIES:
        raise ValueError(f"unknown backbone {backbone!r}; known: {sorted(FAMILIES)}")
    return FAMILIES[backbone].tiny_processor_parts()


def make_tiny_image_processor(backbone: str) -> Any:
    """The backbone's PIL image processor with small sizes (a frame or an image gives a few vision tokens)."""
    return tiny_processor_parts(backbone)["image_processor"]


def make_tiny_processor(backbone: str) -> Any:
    """The backbone's own processor (`Qwen2VLProcessor`, `Qwen2_5_VLProcessor`, `InternVLProcessor`,
    `LlavaOnevisionProcessor`, ...), built offline with a tiny tokenizer and small image sizes. Its video processor,
    where it has one, is a `LinVTVideoProcessor` (the backbones' own need torchvision, and LinVT never uses them)."""
    parts = tiny_processor_parts(backbone)
    family = FAMILIES[backbone]
    processor_class = family.processor_class.image_llm_processor_class()
    video_processor = LinVTVideoProcessor.from_image_processor(parts["image_processor"], family.processor_class.frame_layout)
    # (An image-LLM processor without a video processor, LLaVA's, takes none.)
    has_videos = "video_processor" in processor_class.get_attributes()
    videos = {"video_processor": video_processor} if has_videos else {}
    with video_processor_check(processor_class):
        return processor_class(
            image_processor=parts["image_processor"],
            tokenizer=make_tiny_tokenizer(backbone),
            chat_template=parts["chat_template"],
            **videos,
            **parts["init_kwargs"],
        )


def make_tiny_linvt_processor(backbone: str, num_video_tokens: int = 8, **video_processor_kwargs: Any) -> Any:
    """The family's LinVT processor around `make_tiny_processor(backbone)`.

    Defaults suit fast tests: 8 video tokens, 8 frames sampled uniformly, no shot detection; `video_processor_kwargs`
    override them (e.g. `shot_detector="histogram"`).
    """
    options = {"num_frames": 8, "fps": None, "min_frames": 1, "shot_detector": "none", **video_processor_kwargs}
    processor_class = FAMILIES[backbone].processor_class
    return processor_class.from_backbone(
        make_tiny_processor(backbone), num_video_tokens=num_video_tokens, video_processor_kwargs=options
    )


__all__ = [
    "BACKBONES",
    "make_tiny_image_processor",
    "make_tiny_linvt_processor",
    "make_tiny_processor",
    "make_tiny_tokenizer",
    "qwen2_tokenizer_for",
    "tiny_processor_parts",
]
