"""The image-LLM's processor: a byte-level BPE tokenizer trained on the synthetic set's texts, and the backbone's
real processor (`InternVLProcessor` or `Qwen2VLProcessor`) at the recipe's frame size; LinVT's processor extends it
(`LinVTInternVLProcessor`, `LinVTQwen2VLProcessor`)."""

from __future__ import annotations

import json

from tokenizers import Tokenizer, models, pre_tokenizers, trainers
from transformers import (
    GotOcr2ImageProcessorPil,
    InternVLProcessor,
    PreTrainedTokenizerBase,
    ProcessorMixin,
    Qwen2Tokenizer,
    Qwen2VLImageProcessorPil,
    Qwen2VLProcessor,
)

from ..data import FRAME_QUESTIONS
from ..data.synthetic import COLORS, PICTURE_SET_QUESTION, QUESTIONS, SHAPES
from ..family import FAMILIES
from ..processing import LinVTProcessorMixin, LinVTVideoProcessor
from ..processing.internvl import INTERNVL_CHAT_TEMPLATE
from ..processing.qwen2_vl import QWEN_CHAT_TEMPLATE
from ..testing.tiny_processors import qwen2_tokenizer_for
from ..training import CAPTION_PROMPT
from ..upstream import video_processor_check
from .arguments import RecipeArguments
from .vocabulary import ANSWER_CHOICES, LANGUAGE_PROMPT


def synthetic_vocabulary() -> list[str]:
    """Every text the synthetic set and the recipe use, for training the tokenizer."""
    words = [w for choices in ANSWER_CHOICES.values() for w in choices] + ["stays", "appearing", "gone", "moves"]
    questions = [q.format(color=c, shape=s) for q in QUESTIONS.values() for c in COLORS for s in SHAPES]
    questions += [*FRAME_QUESTIONS.values(), PICTURE_SET_QUESTION]
    return questions + [CAPTION_PROMPT, LANGUAGE_PROMPT, " ".join(words), *words]


def build_tokenizer(corpus: list[str], backbone: str) -> Qwen2Tokenizer:
    """A byte-level BPE (Qwen2-style) in which every answer word and question word is one token, with `backbone`'s
    special tokens."""
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=1000, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    bpe.train_from_iterator(corpus * 8, trainer)
    model = json.loads(bpe.to_str())["model"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    return qwen2_tokenizer_for(backbone, model["vocab"], merges)


def build_processor(args: RecipeArguments, tokenizer: PreTrainedTokenizerBase | None = None) -> LinVTProcessorMixin:
    """The backbone's LinVT processor (`LinVTInternVLProcessor` or `LinVTQwen2VLProcessor`, extending
    `backbone_processor`), `sum(args.queries)` video tokens per video, `num_frames` frames sampled shot-aware. Its
    tokenizer is `tokenizer` or, when None, a new one on the synthetic vocabulary: a model trained earlier must get
    the tokenizer it was trained with (token ids follow the vocabulary, which grows with the synthetic set)."""
    if tokenizer is None:
        tokenizer = build_tokenizer(synthetic_vocabulary(), args.backbone)
    options = {"num_frames": args.num_frames, "fps": None, "min_frames": 1, "shot_detector": args.shot_detector}
    return FAMILIES[args.backbone].processor_class.from_backbone(
        backbone_processor(args, tokenizer), num_video_tokens=sum(args.queries), video_processor_kwargs=options
    )


def backbone_processor(args: RecipeArguments, tokenizer: PreTrainedTokenizerBase) -> ProcessorMixin:
    """`InternVLProcessor` or `Qwen2VLProcessor` (`args.backbone`) with `tokenizer`, whose images are `frame_size`
    squares, and a `LinVTVideoProcessor` that preprocesses frames as its image processor does."""
    if args.backbone == "internvl":
        # One tile per image, as per frame: InternVLProcessor turns tiling on by default, max_patches=1 keeps the
        # image-LLM's images and LinVT's frames the same `frame_size` square, normalised as InternVL normalises.
        image_processor = GotOcr2ImageProcessorPil(
            size={"height": args.frame_size, "width": args.frame_size},
            crop_to_patches=False,
            min_patches=1,
            max_patches=1,
            image_mean=[0.485, 0.456, 0.406],
            image_std=[0.229, 0.224, 0.225],
        )
        extra = {"image_seq_length": args.tokens_per_frame}
        processor_class, template = InternVLProcessor, INTERNVL_CHAT_TEMPLATE
    else:
        pixels = args.frame_size * args.frame_size
        # max_pixels a little above the target: with min == max, smart_resize's floor can round 2 down to 1.
        image_processor = Qwen2VLImageProcessorPil(
            min_pixels=pixels, max_pixels=int(pixels * 1.2), patch_size=args.patch_size, merge_size=2
        )
        extra = {}
        processor_class, template = Qwen2VLProcessor, QWEN_CHAT_TEMPLATE
    layout = FAMILIES[args.backbone].processor_class.frame_layout
    video_processor = LinVTVideoProcessor.from_image_processor(image_processor, layout)
    with video_processor_check(processor_class):
        return processor_class(image_processor, tokenizer, video_processor, chat_template=template, **extra)
