"""The LinVT recipe in miniature, on CPU: an image-LLM is trained, converted with LinVT, then trained in two stages.

1. Generate the synthetic video QA set (`linvt_hf.data.generate_synthetic_video_qa`): one coloured shape per video
   over 2-4 hard-cut shots; single-frame questions (colour, shape) and time-only questions (direction, size, shots,
   visibility), one-word answers; still frames with what each shows (colour, shape, whether the object is there,
   where, how big, the background).
2. Build a tiny image-LLM (transformers' own `InternVLForConditionalGeneration`, or with `--backbone qwen2_vl`
   `Qwen2VLForConditionalGeneration`). Pre-train its vision encoder on the still frames (a linear head on the mean
   of its tokens classifies what each frame shows, as real encoders are pre-trained before an LLM reads them), then,
   with the encoder frozen as LLaVA does, train projector + LLM with the stock `Trainer` on the frames' questions
   and on the training captions as text and questions answered from a caption (`--text-qa`); optionally (both off
   by default) with picture sets (how many different backgrounds 3-8 frames show) as a share of those samples
   (`--picture-set-share`) or, as LLaVA-OneVision adds multi-image data after its single-image stage, in a phase of
   their own half and half with that data (`--picture-set-steps`): the image-LLM LinVT converts.
3. Evaluate it: single-frame questions with the frame as an image; time-only questions with several frames as
   images (the only way an image-LLM sees a video).
4. Convert it with `from_backbone`; stage 1 (LinVT alone, video captions, cross-entropy + contrastive); stage 2
   (LoRA on the LLM + LinVT, video QA; each sample asks all of a video's questions, `--multi-turn-qa`).
   Evaluate after each stage on video questions and on image questions.
5. Write `results.json`, print a Markdown table and save the merged LinVT model with its processor.

    python examples/mini_recipe.py --output-dir runs/mini --seed 0          # the full run (about 12 min, 2 cores)
    python examples/mini_recipe.py --output-dir /tmp/smoke --smoke          # seconds: the same code on a toy set

Accuracy is exact match of the greedy answer's first word with the reference answer.
"""

from __future__ import annotations

import os

# Idle OpenMP threads sleep instead of spinning: with 2 threads on 2 shared cores, spinning makes tiny ops up to 50x
# slower as soon as anything else runs. Read when torch loads, so it must precede the import.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import hashlib
import json
import shutil
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from peft import LoraConfig
from tokenizers import Tokenizer, models, pre_tokenizers, trainers
from transformers import (
    AutoTokenizer,
    GotOcr2ImageProcessorPil,
    HfArgumentParser,
    InternVLForConditionalGeneration,
    InternVLProcessor,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    Qwen2Tokenizer,
    Qwen2VLForConditionalGeneration,
    Qwen2VLImageProcessorPil,
    Qwen2VLProcessor,
    Trainer,
    TrainerCallback,
    TrainingArguments,
    set_seed,
)

from linvt_hf import LinVTConfig, LinVTForConditionalGeneration, LinVTProcessor
from linvt_hf.modeling.auto import LINVT_MODEL_CLASSES
from linvt_hf.data import (
    FRAME_QUESTIONS,
    IMAGE_TYPES,
    SINGLE_FRAME_TYPES,
    TIME_ONLY_TYPES,
    generate_synthetic_video_qa,
)
from linvt_hf.data.synthetic import (
    BACKGROUND_NAMES,
    COLORS,
    COLUMN_WORDS,
    DIRECTIONS,
    PICTURE_SET_QUESTION,
    PICTURE_SET_TYPE,
    QUESTIONS,
    ROW_WORDS,
    SHAPES,
    SHOT_WORDS,
    SIZE_TRENDS,
)
from linvt_hf.processing.processor import instantiate_processor
from linvt_hf.processing.video_processor import LinVTVideoProcessor
from linvt_hf.testing.tiny_processors import _INTERNVL_TEMPLATE, _QWEN2_VL_TEMPLATE, qwen2_tokenizer_for
from linvt_hf.training import (
    CAPTION_PROMPT,
    LinVTTrainer,
    VideoInstructionCollator,
    load_video_instruction_data,
    merge_stage2,
    prepare_stage1,
    prepare_stage2,
)

# What each question type's answer can be: chance is one over the number of choices.
ANSWER_CHOICES: dict[str, tuple[str, ...]] = {
    "color": tuple(COLORS),
    "shape": SHAPES,
    "direction": tuple(DIRECTIONS),
    "size": SIZE_TRENDS,
    "shots": tuple(SHOT_WORDS.values()),
    "visibility": ("appears", "disappears"),
    "presence": ("yes", "no"),
    "background": BACKGROUND_NAMES,
    "column": COLUMN_WORDS,
    "row": ROW_WORDS,
    "scale": ("big", "small"),
    PICTURE_SET_TYPE: tuple(SHOT_WORDS.values()),
}
QUESTION_TYPES = SINGLE_FRAME_TYPES + TIME_ONLY_TYPES
GROUPS = (("single_frame", SINGLE_FRAME_TYPES), ("time_only", TIME_ONLY_TYPES), ("frame", tuple(FRAME_QUESTIONS)))
# The image-LLM's own forward inputs (the collator also returns LinVT's masks, which it does not take).
IMAGE_LLM_INPUTS = ("input_ids", "attention_mask", "pixel_values", "image_grid_thw", "mm_token_type_ids", "labels")
LANGUAGE_PROMPT = "Write one sentence about a video."
BACKBONES = ("internvl", "qwen2_vl")


@dataclass
class RecipeArguments:
    """Settings of the miniature recipe; the defaults are the documented full run."""

    output_dir: str = field(default="mini_recipe_output", metadata={"help": "where data, results and models go"})
    backbone: str = field(
        default="internvl",
        metadata={"help": "image-LLM family: internvl (InternViT, absolute position embeddings) or qwen2_vl"},
    )
    seed: int = field(default=0, metadata={"help": "seeds the data, the initialisation and the data order"})
    smoke: bool = field(default=False, metadata={"help": "a seconds-long run on a toy set (for CI)"})
    num_threads: int = field(default=2, metadata={"help": "torch CPU threads"})
    save_model_to: str | None = field(default=None, metadata={"help": "also copy the final model + processor here"})
    num_train_videos: int = 2000
    num_validation_videos: int = 100
    frame_size: int = field(default=56, metadata={"help": "frames and images are resized to this square (x28)"})
    num_frames: int = field(default=16, metadata={"help": "frames sampled per video (shot-aware)"})
    image_frames: int = field(default=4, metadata={"help": "frames given as images to the image-LLM for a video"})
    shot_detector: str = "histogram"
    hidden_size: int = field(default=128, metadata={"help": "LLM width (the vision tower projects to it)"})
    num_llm_layers: int = 2
    vision_width: int = 64
    vision_depth: int = 2
    patch_size: int = field(default=7, metadata={"help": "vision patch size (frames give (frame_size / 2 / patch)^2 tokens)"})
    linvt_width: int = 64
    linvt_layers: int = 1
    num_queries: str = field(default="16,8,4", metadata={"help": "LinVT queries per scale (windows 1, 2, 4)"})
    top_k_tokens: int = 96
    min_tokens_per_frame: int = field(
        default=4, metadata={"help": "LinVTConfig.min_tokens_per_frame (0: the paper's top-k over the whole video)"}
    )
    temporal_prior: float = field(
        default=2.0, metadata={"help": "LinVTConfig.temporal_prior (0: off, as in the paper)"}
    )
    temporal_prior_clock: str = field(
        default="frames",
        metadata={
            "help": "LinVTConfig.temporal_prior_clock: frames, shots (an equal share per shot), or one per scale "
            "(comma-separated, e.g. frames,frames,shots)"
        },
    )
    batch_size: int = 16
    vision_steps: int = field(
        default=1500,
        metadata={"help": "vision encoder pre-training steps (what each still frame shows); 0 skips it"},
    )
    vision_lr: float = 2e-3
    vision_batch_size: int = 64
    freeze_vision: bool = field(
        default=True,
        metadata={"help": "keep the pre-trained vision encoder frozen while the image-LLM learns (as LLaVA does)"},
    )
    image_llm_steps: int = 1500
    image_llm_lr: float = 1e-3
    picture_set_steps: int = field(
        default=0,
        metadata={
            "help": "then a multi-image phase of this many steps (0: none): picture sets (how many different "
            "backgrounds 3-8 still frames show) half and half with the first phase's data"
        },
    )
    picture_set_share: float = field(
        default=0.0,
        metadata={
            "help": "share of the image-LLM's single-image phase that is picture sets instead (0: none); unlike "
            "--picture-set-steps it adds no steps"
        },
    )
    language_data: bool = field(default=True, metadata={"help": "also train the image-LLM on the captions as text"})
    text_qa: bool = field(
        default=True, metadata={"help": "and on reading comprehension: a caption, then a time-only question on it"}
    )
    stage1_steps: int = 60
    stage1_lr: float = 1e-3
    contrastive_weight: float = 0.5
    stage2_steps: int = 1500
    multi_turn_qa: bool = field(
        default=True, metadata={"help": "stage 2 samples hold all questions of a video as one multi-turn chat"}
    )
    stage2_image_share: float = field(
        default=0.2, metadata={"help": "share of stage-2 samples that are still-image QA (0: video only, as the paper)"}
    )
    stage2_lr: float = 3e-3
    lora_rank: int = 16
    eval_batch_size: int = 32

    def __post_init__(self) -> None:
        if self.backbone not in BACKBONES:
            raise ValueError(f"backbone must be one of {BACKBONES}, got {self.backbone!r}")
        if not 0.0 <= self.stage2_image_share < 1.0:
            raise ValueError(f"stage2_image_share must be in [0, 1), got {self.stage2_image_share}")
        if not 0.0 <= self.picture_set_share < 1.0:
            raise ValueError(f"picture_set_share must be in [0, 1), got {self.picture_set_share}")
        if self.smoke:
            self.num_train_videos, self.num_validation_videos = 6, 3
            self.vision_steps, self.image_llm_steps, self.stage1_steps, self.stage2_steps = 2, 2, 1, 2
            self.picture_set_steps = min(self.picture_set_steps, 2)
            self.batch_size, self.num_frames, self.hidden_size, self.vision_depth = 4, 8, 64, 1

    @property
    def queries(self) -> list[int]:
        return [int(n) for n in self.num_queries.split(",")]

    @property
    def tokens_per_frame(self) -> int:
        """Vision tokens per frame: patches of `patch_size`, merged 2x2 (Qwen2-VL) or pixel-shuffled 0.5 (InternVL)."""
        return (self.frame_size // self.patch_size // 2) ** 2


# ---------------------------------------------------------------------------------------------------- model + data
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
    trainer = trainers.BpeTrainer(vocab_size=1000, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    bpe.train_from_iterator(corpus * 8, trainer)
    model = json.loads(bpe.to_str())["model"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    return qwen2_tokenizer_for(backbone, model["vocab"], merges)


def build_processor(args: RecipeArguments, tokenizer: PreTrainedTokenizerBase | None = None) -> LinVTProcessor:
    """The backbone's real processor (`InternVLProcessor` or `Qwen2VLProcessor`; `frame_size` images) wrapped in
    `LinVTProcessor`. Its tokenizer is `tokenizer` or, when None, a new one on the synthetic vocabulary: a model
    trained earlier must get the tokenizer it was trained with (token ids follow the vocabulary, which grows with
    the synthetic set)."""
    if tokenizer is None:
        tokenizer = build_tokenizer(synthetic_vocabulary(), args.backbone)
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
        processor_class, template = InternVLProcessor, _INTERNVL_TEMPLATE
    else:
        pixels = args.frame_size * args.frame_size
        # max_pixels a little above the target: with min == max, smart_resize's floor can round 2 down to 1.
        image_processor = Qwen2VLImageProcessorPil(
            min_pixels=pixels, max_pixels=int(pixels * 1.2), patch_size=args.patch_size, merge_size=2
        )
        extra = {}
        processor_class, template = Qwen2VLProcessor, _QWEN2_VL_TEMPLATE
    video_processor = LinVTVideoProcessor.from_image_processor(image_processor, args.backbone)
    backbone = instantiate_processor(
        processor_class, image_processor, tokenizer, video_processor, chat_template=template, **extra
    )
    return LinVTProcessor.from_backbone_processor(
        backbone,
        sum(args.queries),
        num_frames=args.num_frames,
        fps=None,
        min_frames=1,
        shot_detector=args.shot_detector,
    )


def save_image_llm(model: PreTrainedModel, processor: LinVTProcessor, path: Path) -> None:
    """Save a trained image-LLM with the tokenizer it was trained with, for runs that convert it later
    (`image_llm_tokenizer`). The tokenizer goes first: the model's `config.json` marks a complete save."""
    processor.tokenizer.save_pretrained(path)
    model.save_pretrained(path)


def image_llm_tokenizer(path: Path) -> PreTrainedTokenizerBase:
    """The tokenizer saved with an image-LLM by `save_image_llm`. One built anew from the synthetic vocabulary of
    the code at hand may number the words differently (the vocabulary grows with the synthetic set), and the
    image-LLM would then silently read other tokens than it learned."""
    if not (Path(path) / "tokenizer_config.json").exists():
        raise FileNotFoundError(
            f"{path} holds an image-LLM without its tokenizer (saved by an older version): its token ids follow the "
            "vocabulary it was trained with, so train and save it again (a new work dir)"
        )
    return AutoTokenizer.from_pretrained(path)


def build_image_llm(args: RecipeArguments, processor: LinVTProcessor) -> PreTrainedModel:
    """A randomly initialised image-LLM of `args.backbone` at toy sizes, matching `processor`'s tokenizer."""
    tokenizer = processor.tokenizer
    token = tokenizer.convert_tokens_to_ids
    rope: dict[str, Any] = {"rope_type": "default"}
    if args.backbone == "qwen2_vl":
        # M-RoPE splits head_dim / 2 rotary frequencies over (time, height, width) as Qwen2-VL does (16/24/24 of 64).
        head_dim = args.hidden_size // 4
        spatial = 3 * head_dim // 16
        rope["mrope_section"] = [head_dim // 2 - 2 * spatial, spatial, spatial]
    text = dict(
        vocab_size=len(tokenizer),
        hidden_size=args.hidden_size,
        intermediate_size=2 * args.hidden_size,
        num_hidden_layers=args.num_llm_layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        bos_token_id=token("<|endoftext|>"),
        eos_token_id=token("<|im_end|>"),
        pad_token_id=tokenizer.pad_token_id,
        rope_parameters={**rope, "rope_theta": 10000.0},
    )
    if args.backbone == "internvl":
        # InternViT (learned absolute position embeddings), pixel shuffle 0.5, MLP projector, Qwen2 LLM.
        config = InternVLForConditionalGeneration.config_class(
            vision_config=dict(
                hidden_size=args.vision_width,
                intermediate_size=2 * args.vision_width,
                num_hidden_layers=args.vision_depth,
                num_attention_heads=4,
                image_size=[args.frame_size, args.frame_size],
                patch_size=[args.patch_size, args.patch_size],
            ),
            text_config=dict(model_type="qwen2", **text),
            image_token_id=token("<IMG_CONTEXT>"),
            image_seq_length=args.tokens_per_frame,
            downsample_ratio=0.5,
        )
        model: PreTrainedModel = InternVLForConditionalGeneration(config)
        model.generation_config.pad_token_id = tokenizer.pad_token_id
        model.generation_config.eos_token_id = token("<|im_end|>")
        return model
    vision = dict(
        depth=args.vision_depth,
        embed_dim=args.vision_width,
        hidden_size=args.hidden_size,
        num_heads=4,
        mlp_ratio=2,
        patch_size=args.patch_size,
        spatial_merge_size=2,
    )
    config = Qwen2VLForConditionalGeneration.config_class(
        vision_config=vision,
        text_config=text,
        image_token_id=token("<|image_pad|>"),
        video_token_id=token("<|video_pad|>"),
        vision_start_token_id=token("<|vision_start|>"),
        vision_end_token_id=token("<|vision_end|>"),
    )
    model = Qwen2VLForConditionalGeneration(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = token("<|im_end|>")
    return model


def linvt_config(args: RecipeArguments) -> LinVTConfig:
    return LinVTConfig(
        hidden_size=args.linvt_width,
        num_attention_heads=4,
        num_layers=args.linvt_layers,
        top_k_tokens=args.top_k_tokens,
        min_tokens_per_frame=args.min_tokens_per_frame,
        num_queries=args.queries,
        pooling_windows=[1, 2, 4][: len(args.queries)],
        temporal_prior=args.temporal_prior,
        temporal_prior_clock=args.temporal_prior_clock.split(",") if "," in args.temporal_prior_clock
        else args.temporal_prior_clock,
    )


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path) as handle:
        return [json.loads(line) for line in handle]


# ---------------------------------------------------------------------------------------------------- training
def training_arguments(args: RecipeArguments, name: str, steps: int, lr: float) -> TrainingArguments:
    return TrainingArguments(
        output_dir=str(Path(args.output_dir) / "checkpoints" / name),
        max_steps=steps,
        per_device_train_batch_size=args.batch_size,
        learning_rate=lr,
        weight_decay=0.0,
        lr_scheduler_type="cosine",
        warmup_steps=0.1,
        max_grad_norm=1.0,
        logging_steps=max(steps // 5, 1),
        save_strategy="no",
        report_to="none",
        seed=args.seed,
        data_seed=args.seed,
        use_cpu=True,
        dataloader_num_workers=0,
        disable_tqdm=True,
        remove_unused_columns=False,
    )


def image_llm_collator(collator: VideoInstructionCollator) -> Callable[[list[dict[str, Any]]], dict[str, Any]]:
    """The instruction collator, keeping only what the image-LLM's forward takes."""

    def collate(features: list[dict[str, Any]]) -> dict[str, Any]:
        return {k: v for k, v in collator(features).items() if k in IMAGE_LLM_INPUTS}

    return collate


def write_language_data(data_dir: Path, text_qa: bool = False) -> Path:
    """The image-LLM's text-only data, so that its LLM knows the language of the domain as a real image-LLM's LLM
    does before it ever sees a video: each training caption as text and, with `text_qa`, reading comprehension on
    it (the caption, then each of its video's time-only questions, answered in one word). The LLM then knows how
    to answer these questions from a description (without it, the answer words of time-only questions are never
    an output before stage 2); it never sees their videos, so turning what a video shows into that description is
    left to LinVT and stage 2."""
    path = data_dir / "train_language.jsonl"
    captions = {record["video"]: record["caption"] for record in read_jsonl(data_dir / "train_captions.jsonl")}
    with open(path, "w") as handle:
        for video, caption in captions.items():
            turns = [{"from": "human", "value": LANGUAGE_PROMPT}, {"from": "gpt", "value": caption}]
            handle.write(json.dumps({"id": f"{video}-text", "conversations": turns}) + "\n")
        for record in read_jsonl(data_dir / "train_qa.jsonl") if text_qa else []:
            if record["question_type"] in TIME_ONLY_TYPES:
                question = f"{captions[record['video']]}\n{question_text(record)}"
                turns = [{"from": "human", "value": question}, record["conversations"][1]]
                handle.write(json.dumps({"id": record["id"] + "-text", "conversations": turns}) + "\n")
    return path


def frame_attribute_labels(records: Iterable[dict[str, Any]]) -> tuple[list[str], torch.Tensor]:
    """The still images of `records` (image QA) and, per image, the index of each `IMAGE_TYPES` answer in
    `ANSWER_CHOICES`: `(images, labels [N, len(IMAGE_TYPES)])`, -100 where the image has no such question."""
    answers: dict[str, dict[str, str]] = defaultdict(dict)
    for record in records:
        answers[record["image"]][record["question_type"]] = record["conversations"][1]["value"]
    images = sorted(answers)
    labels = torch.full((len(images), len(IMAGE_TYPES)), -100, dtype=torch.long)
    for row, image in enumerate(images):
        for column, kind in enumerate(IMAGE_TYPES):
            if kind in answers[image]:
                labels[row, column] = ANSWER_CHOICES[kind].index(answers[image][kind])
    return images, labels


class FramePixels:
    """Still frames preprocessed once by the image-LLM's image processor, indexable by frame."""

    def __init__(self, processor, arrays: list[np.ndarray]) -> None:
        self.inputs = dict(processor.image_processor(arrays, return_tensors="pt"))
        self.count = len(arrays)

    def __getitem__(self, index: list[int]) -> dict[str, torch.Tensor]:
        pixel_values = self.inputs["pixel_values"]
        if "image_grid_thw" not in self.inputs:  # InternVL: one [3, H, W] tile per frame
            return {"pixel_values": pixel_values[index]}
        # Qwen2-VL: all frames' patches in one sequence; every frame has the same grid.
        per_frame = pixel_values.reshape(self.count, -1, pixel_values.shape[-1])
        return {"pixel_values": per_frame[index].flatten(0, 1), "image_grid_thw": self.inputs["image_grid_thw"][index]}


def pooled_image_features(model: PreTrainedModel, pixels: dict[str, torch.Tensor]) -> torch.Tensor:
    """The mean of each image's LLM-facing tokens (vision encoder + projector): `[N, hidden_size]`."""
    if "image_grid_thw" in pixels:  # Qwen2-VL returns one tensor per image
        features = model.model.get_image_features(pixels["pixel_values"], pixels["image_grid_thw"]).pooler_output
        return torch.stack([f.mean(0) for f in features])
    return model.model.get_image_features(pixel_values=pixels["pixel_values"]).pooler_output.mean(1)


def pretrain_vision_encoder(args, model: PreTrainedModel, processor, data_dir: Path) -> dict[str, float]:
    """Teach the image-LLM's vision encoder (and projector) to see, before its LLM learns to talk about images.

    Real image-LLMs start from a pre-trained encoder (CLIP, SigLIP, InternViT) whose tokens already say what is
    where and how big. A randomly initialised toy encoder trained only through the LLM learns colours and
    backgrounds but not where the object is or how big: the LLM reads an image token's place from its rotary
    position, which LinVT's pooled tokens do not keep. So, as encoders are pre-trained, a linear head on the mean
    of the LLM-facing tokens classifies everything the training frames show (`IMAGE_TYPES`); the mean makes every
    token carry it. Plain PyTorch: the head is thrown away afterwards. Returns held-out accuracy per attribute."""
    names, labels = frame_attribute_labels(read_jsonl(data_dir / "train_image_qa.jsonl"))
    held_out_names, held_out_labels = frame_attribute_labels(read_jsonl(data_dir / "validation_image_qa.jsonl"))
    frames = FramePixels(processor, [np.load(data_dir / name) for name in names])
    held_out = FramePixels(processor, [np.load(data_dir / name) for name in held_out_names])
    classes = [len(ANSWER_CHOICES[kind]) for kind in IMAGE_TYPES]
    head = torch.nn.Linear(model.config.text_config.hidden_size, sum(classes))
    projector = getattr(model.model, "multi_modal_projector", None) or model.model.visual.merger
    parameters = [*vision_encoder(model).parameters(), *projector.parameters(), *head.parameters()]
    optimizer = torch.optim.AdamW(parameters, lr=args.vision_lr)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, args.vision_lr, total_steps=max(args.vision_steps, 1))
    generator = torch.Generator().manual_seed(args.seed)

    def logits(pixels: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
        return head(pooled_image_features(model, pixels)).split(classes, -1)

    model.train()
    for _ in range(args.vision_steps):
        batch = torch.randint(frames.count, (args.vision_batch_size,), generator=generator).tolist()
        targets = labels[batch]
        loss = sum(
            torch.nn.functional.cross_entropy(scores, targets[:, i], ignore_index=-100)
            for i, scores in enumerate(logits(frames[batch]))
        )
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(parameters, 1.0)
        optimizer.step()
        schedule.step()
    with torch.no_grad():
        predictions = [scores.argmax(-1) for scores in logits(held_out[list(range(held_out.count))])]
    accuracy = {}
    for i, kind in enumerate(IMAGE_TYPES):
        known = held_out_labels[:, i] >= 0
        if known.any():
            accuracy[kind] = float((predictions[i] == held_out_labels[:, i])[known].float().mean())
    return accuracy


def train_image_llm(args, processor, data_dir: Path, clock: Clock | None = None) -> tuple[PreTrainedModel, dict]:
    """The image-LLM LinVT converts: built, its vision encoder pre-trained, then trained on still frames and text.
    Returns it with the vision encoder's held-out accuracy per frame attribute."""
    model = build_image_llm(args, processor)
    vision_accuracy = pretrain_vision_encoder(args, model, processor, data_dir)
    print("vision encoder, held-out frames:", json.dumps({k: round(v, 3) for k, v in vision_accuracy.items()}))
    if clock is not None:
        clock.lap("vision_pretraining")
    first_phase_files = pretrain_image_llm(args, model, processor, data_dir)
    if clock is not None:
        clock.lap("image_llm_training")
    if args.picture_set_steps > 0:
        train_image_llm_on_picture_sets(args, model, processor, data_dir, first_phase_files)
        if clock is not None:
            clock.lap("picture_set_training")
    return model, vision_accuracy


def vision_encoder(model: PreTrainedModel) -> torch.nn.Module:
    """The image-LLM's vision encoder without its projector (InternVL's `vision_tower`; Qwen2-VL's `visual` minus
    its `merger`)."""
    if hasattr(model.model, "vision_tower"):
        return model.model.vision_tower
    visual = model.model.visual
    return torch.nn.ModuleList([module for name, module in visual.named_children() if name != "merger"])


def pretrain_image_llm(args, model, processor, data_dir: Path) -> list[str]:
    """The image-LLM's own training, with the stock `Trainer`: single frames and their questions (+ language, + a
    share of picture sets with `picture_set_share`). Returns its single-image data files (what a later picture-set
    phase rehearses)."""
    files = [str(data_dir / "train_image_qa.jsonl")]
    if args.language_data:
        files.append(str(write_language_data(data_dir, args.text_qa)))
    mixed = list(files)
    if args.picture_set_share > 0:
        mixed.append(str(write_picture_set_share(args, data_dir, files)))
    train_image_llm_on(args, model, processor, data_dir, mixed, "image_llm", args.image_llm_steps)
    return files


def write_picture_set_share(args, data_dir: Path, files: list[str]) -> Path:
    """Picture sets drawn at random (seeded) to make `picture_set_share` of the samples of `files` + them."""
    sets = read_jsonl(data_dir / "train_multi_image_qa.jsonl")
    others = sum(len(read_jsonl(Path(path))) for path in files)
    count = round(others * args.picture_set_share / (1.0 - args.picture_set_share))
    if count > len(sets):
        raise ValueError(
            f"picture_set_share {args.picture_set_share} needs {count} picture sets, the data has {len(sets)}"
        )
    picks = np.random.default_rng(args.seed).choice(len(sets), size=count, replace=False)
    return write_image_llm_records([sets[i] for i in sorted(picks)], Path(args.output_dir) / "train_picture_set_share.jsonl")


def train_image_llm_on_picture_sets(
    args, model, processor, data_dir: Path, first_phase_files: list[str]
) -> None:
    """The image-LLM's multi-image phase (as LLaVA-OneVision follows its single-image stage with one that adds
    multi-image data): the picture sets, each asking how many different backgrounds its 3-8 frames show, mixed
    half and half with samples of the first phase's data (`first_phase_files`: still-frame QA and language, drawn
    at random, seeded), so that what the image-LLM learned there stays. Without that half, it forgets how to read
    a caption's direction."""
    sets = read_jsonl(data_dir / "train_multi_image_qa.jsonl")
    if not sets:
        return
    rehearsal = [record for path in first_phase_files for record in read_jsonl(Path(path))]
    rng = np.random.default_rng(args.seed)
    picks = rng.choice(len(rehearsal), size=min(len(sets), len(rehearsal)), replace=False)
    records = sets + [rehearsal[i] for i in sorted(picks)]
    mixed = write_image_llm_records(records, Path(args.output_dir) / "train_picture_sets_mixed.jsonl")
    train_image_llm_on(args, model, processor, data_dir, [str(mixed)], "picture_sets", args.picture_set_steps)


def write_image_llm_records(records: list[dict[str, Any]], output: Path) -> Path:
    """`records` with only the fields the instruction loader reads (`id`, `image`, `conversations`), written to
    `output`: one file can then mix picture sets, still-frame QA and language records."""
    keep = ("id", "image", "conversations")
    return write_jsonl(({k: r[k] for k in keep if k in r} for r in records), output)


def train_image_llm_on(args, model, processor, data_dir: Path, files: list[str], name: str, steps: int) -> None:
    """Projector + LLM train on `files` with the stock `Trainer` (the vision encoder frozen unless
    `--freeze-vision false`)."""
    dataset = load_video_instruction_data(files)
    collator = VideoInstructionCollator(processor, video_root=data_dir)
    vision = vision_encoder(model)
    vision.requires_grad_(not args.freeze_vision)
    trainer = Trainer(
        model=model,
        args=training_arguments(args, name, steps, args.image_llm_lr),
        train_dataset=dataset,
        data_collator=image_llm_collator(collator),
    )
    trainer.train()
    vision.requires_grad_(True)


def train_stage1(args, model, processor, data_dir: Path) -> None:
    """Stage 1: LinVT alone learns, on video captions (cross-entropy + video-caption contrastive)."""
    prepare_stage1(model)
    trainer = LinVTTrainer(
        model=model,
        args=training_arguments(args, "stage1", args.stage1_steps, args.stage1_lr),
        train_dataset=load_video_instruction_data(str(data_dir / "train_captions.jsonl")),
        data_collator=video_collator(args, processor, data_dir),
        contrastive_weight=args.contrastive_weight,
    )
    trainer.train()


def multi_turn_chats(records: list[dict[str, Any]], visual: str, rng: np.random.Generator) -> list[dict[str, Any]]:
    """QA records regrouped per video (`visual="video"`) or still image (`"image"`): one chat whose turns ask all of
    its questions in a random order, the first turn holding the `<video>` / `<image>` marker (for a video, the
    question that conditions TTA)."""
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        grouped[record[visual]].append(record)
    chats = []
    for source, questions in grouped.items():
        turns = []
        for i in rng.permutation(len(questions)):
            question = question_text(questions[i])
            turns.append({"from": "human", "value": f"<{visual}>\n{question}" if not turns else question})
            turns.append(questions[i]["conversations"][1])
        chats.append({"id": f"{source}-all", visual: source, "conversations": turns})
    return chats


def write_jsonl(records: Iterable[dict[str, Any]], output: Path) -> Path:
    path = Path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        handle.writelines(json.dumps(record) + "\n" for record in records)
    return path


def write_multi_turn_qa(data_dir: Path, seed: int, output: Path) -> Path:
    """The training video QA as one chat per video (`multi_turn_chats`): one decoded video then teaches every answer
    about it. Written to `output` (the run's own folder: runs may share `data_dir`); paths stay relative to
    `data_dir`."""
    records = read_jsonl(data_dir / "train_qa.jsonl")
    return write_jsonl(multi_turn_chats(records, "video", np.random.default_rng(seed)), output)


def write_image_replay(data_dir: Path, seed: int, share: float, num_video_samples: int, output: Path) -> Path:
    """Still-image QA mixed back into stage 2, so that the LoRA that stage 2 trains keeps the image-LLM's answers
    about images (video-only data pulls the shared LLM away from them): one chat per image, as many as make `share`
    of the stage-2 samples, drawn at random (seeded) from the image-LLM's training images."""
    rng = np.random.default_rng(seed)
    chats = multi_turn_chats(read_jsonl(data_dir / "train_image_qa.jsonl"), "image", rng)
    count = min(len(chats), round(num_video_samples * share / (1.0 - share)))
    return write_jsonl([chats[i] for i in sorted(rng.choice(len(chats), size=count, replace=False))], output)


def train_stage2(
    args, model, processor, data_dir: Path, callbacks: list[TrainerCallback] | None = None
) -> LinVTForConditionalGeneration:
    """Stage 2: LoRA on the LLM + LinVT, on video QA (with `stage2_image_share` of image QA); returns the merged
    model. `callbacks` go to its `Trainer` (e.g. an `AccuracyProbe`)."""
    lora = LoraConfig(r=args.lora_rank, lora_alpha=2 * args.lora_rank, lora_dropout=0.0)
    peft_model = prepare_stage2(model, lora)
    out = Path(args.output_dir)
    qa = data_dir / "train_qa.jsonl"
    if args.multi_turn_qa:
        qa = write_multi_turn_qa(data_dir, args.seed, out / "train_qa_multi_turn.jsonl")
    files = [str(qa)]
    if args.stage2_image_share > 0:
        replay = out / "train_image_replay.jsonl"
        files.append(str(write_image_replay(data_dir, args.seed, args.stage2_image_share, len(read_jsonl(qa)), replay)))
    trainer = LinVTTrainer(
        model=peft_model,
        args=training_arguments(args, "stage2", args.stage2_steps, args.stage2_lr),
        train_dataset=load_video_instruction_data(files),
        data_collator=video_collator(args, processor, data_dir),
        callbacks=callbacks,
    )
    trainer.train()
    return merge_stage2(peft_model)


class AccuracyProbe(TrainerCallback):
    """Accuracy per question type on `items` (greedy answers, as `evaluate`) every `every` optimizer steps of a
    training run, kept in `history` as `{"step", <type or group>: accuracy}` rows: when each skill is learned, and
    whether it is at all (a skill stuck at its majority answer's share is not). Answering changes no weight, no
    random state and no data order, so a probed run trains exactly as an unprobed one."""

    def __init__(self, processor, items: list[EvalItem], every: int, batch_size: int) -> None:
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.processor, self.items, self.every, self.batch_size = processor, items, every, batch_size
        self.history: list[dict[str, float]] = []

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if state.global_step % self.every == 0 or state.global_step == state.max_steps:
            was_training = model.training
            scores = evaluate(model, self.processor, self.items, self.batch_size)
            model.train(was_training)
            row = {"step": state.global_step, **{k: round(v, 3) for k, v in scores.items() if k != "counts"}}
            self.history.append(row)
            print("probe", json.dumps(row), flush=True)


@contextmanager
def sampled_videos_kept(processor: LinVTProcessor) -> Iterator[None]:
    """Within the block, each video file is decoded, cut into shots, sampled and normalised once:
    `processor.video_processor.sample` keeps its results by path and options, and `frames_to_pixels` its pixels by
    the kept frames. Stage 1 and 2 pass over the same files many times with the same options, and this work was
    about half of a stage-2 step; what is kept costs about 1 MB per video here. On exit the processor is as before
    (nothing of this is saved with it)."""
    video_processor = processor.video_processor
    sample, to_pixels = video_processor.sample, video_processor.frames_to_pixels
    kept: dict[tuple[str, str], Any] = {}
    # Pixels by id() of kept frames: `kept` holds those arrays alive, so their ids stay theirs.
    kept_frames: set[int] = set()
    pixels: dict[int, np.ndarray] = {}

    def sample_once(video: Any, **options: Any) -> Any:
        spec = video if isinstance(video, dict) else {"video": video}  # the processor passes `{"video": path}`
        if not isinstance(spec.get("video"), (str, Path)) or not all(
            isinstance(v, (str, Path, int, float, type(None))) for v in [*spec.values(), *options.values()]
        ):
            return sample(video, **options)
        key = (json.dumps(spec, sort_keys=True, default=str), json.dumps(options, sort_keys=True, default=str))
        if key not in kept:
            kept[key] = sample(video, **options)
            kept_frames.add(id(kept[key].frames))
        return kept[key]

    def frames_to_pixels_once(frames: np.ndarray) -> np.ndarray:
        if id(frames) not in kept_frames:
            return to_pixels(frames)
        if id(frames) not in pixels:
            pixels[id(frames)] = to_pixels(frames)
        return pixels[id(frames)]

    video_processor.sample, video_processor.frames_to_pixels = sample_once, frames_to_pixels_once
    try:
        yield
    finally:
        del video_processor.sample, video_processor.frames_to_pixels


@contextmanager
def frame_tokens_kept(model: LinVTForConditionalGeneration) -> Iterator[None]:
    """Within the block, each video's per-frame tokens (vision encoder + projector) are computed once while the
    vision path is frozen (stage 1, stage 2, evaluation): `model.frame_tokens` keeps them by the video's pixels.
    Stage 2 passes over each video about ten times, and the frozen vision forward was a third of a step. With the
    vision path trainable, or for input it cannot split per video, the model's own `frame_tokens` runs. On exit the
    model is as before."""
    own = vars(model).get("frame_tokens")  # an instance-level override, restored on exit
    frame_tokens = model.frame_tokens
    kept: dict[bytes, torch.Tensor] = {}

    def rows_per_video(video_inputs: dict[str, Any]) -> list[int] | None:
        """How many rows of `pixel_values_videos` each video takes (frames, or Qwen2-VL's patches)."""
        grids = video_inputs.get("video_grid_thw")
        if grids is not None:
            return [int(n) for n in grids.prod(-1).tolist()]
        counts = video_inputs.get("video_num_frames")
        return None if counts is None else [int(n) for n in counts.tolist()]

    def frame_tokens_once(video_inputs: dict[str, Any]) -> list[torch.Tensor]:
        pixels = video_inputs["pixel_values_videos"]
        rows = rows_per_video(video_inputs)
        if model._vision_grad_enabled() or rows is None or sum(rows) != pixels.shape[0]:
            return frame_tokens(video_inputs)
        pieces = pixels.split(rows)
        keys = [hashlib.blake2b(piece.detach().cpu().numpy().tobytes(), digest_size=16).digest() for piece in pieces]
        missing = [i for i, key in enumerate(keys) if key not in kept and keys.index(key) == i]  # once per video
        if missing:
            per_video = {
                name: value[missing] if isinstance(value, torch.Tensor) and value.shape[:1] == (len(rows),) else value
                for name, value in video_inputs.items()
            }
            per_video["pixel_values_videos"] = torch.cat([pieces[i] for i in missing])
            for i, tokens in zip(missing, frame_tokens(per_video)):
                kept[keys[i]] = tokens.detach()
        return [kept[key] for key in keys]

    model.frame_tokens = frame_tokens_once
    try:
        yield
    finally:
        if own is None:
            del model.frame_tokens
        else:
            model.frame_tokens = own


def video_collator(args, processor, data_dir: Path) -> VideoInstructionCollator:
    return VideoInstructionCollator(
        processor, video_root=data_dir, num_frames=args.num_frames, shot_detector=args.shot_detector
    )


# ---------------------------------------------------------------------------------------------------- evaluation
@dataclass
class EvalItem:
    """One question with its visual input: a video path, or images (one frame, or frames standing for a video)."""

    question_type: str
    question: str
    answer: str
    video: str | None = None
    images: list[np.ndarray] | None = None


def video_items(records: Iterable[dict[str, Any]], data_dir: Path) -> list[EvalItem]:
    return [
        EvalItem(r["question_type"], question_text(r), r["conversations"][1]["value"], video=str(data_dir / r["video"]))
        for r in records
    ]


def image_items(records: Iterable[dict[str, Any]], data_dir: Path) -> list[EvalItem]:
    """Image questions: one still frame, or a picture set (`"image"` a list of frames)."""
    items = []
    for r in records:
        paths = r["image"] if isinstance(r["image"], list) else [r["image"]]
        images = [np.load(data_dir / path) for path in paths]
        items.append(EvalItem(r["question_type"], question_text(r), r["conversations"][1]["value"], images=images))
    return items


def frames_as_images_items(records: Iterable[dict[str, Any]], data_dir: Path, processor, count: int) -> list[EvalItem]:
    """Video questions for an image-LLM: `count` frames of the video (sampled as LinVT's processor samples, shots
    included) given as images."""
    items = []
    for r in records:
        frames = processor.video_processor.sample(str(data_dir / r["video"]), num_frames=count).frames
        items.append(EvalItem(r["question_type"], question_text(r), r["conversations"][1]["value"], images=list(frames)))
    return items


def question_text(record: dict[str, Any]) -> str:
    return record["conversations"][0]["value"].replace("<video>", "").replace("<image>", "").strip()


def prompt(processor, item: EvalItem) -> str:
    visuals = [{"type": "video"}] if item.video is not None else [{"type": "image"} for _ in item.images]
    messages = [{"role": "user", "content": [*visuals, {"type": "text", "text": item.question}]}]
    return processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


@torch.inference_mode()
def answer(model, processor, items: list[EvalItem], image_llm_only: bool = False) -> list[str]:
    """Greedy answers (a few tokens) for a batch of items of the same kind."""
    processor.tokenizer.padding_side = "left"
    videos = [i.video for i in items if i.video is not None] or None
    images = [img for i in items for img in (i.images or [])] or None
    inputs = processor(text=[prompt(processor, i) for i in items], videos=videos, images=images, padding=True, return_tensors="pt")
    inputs = dict(inputs)
    if image_llm_only:
        inputs = {k: v for k, v in inputs.items() if k in IMAGE_LLM_INPUTS}
    else:
        inputs.pop("video_timestamps", None)
    output = model.generate(**inputs, max_new_tokens=4, do_sample=False)
    texts = processor.batch_decode(output[:, inputs["input_ids"].shape[1] :], skip_special_tokens=True)
    return [(t.strip().split() or [""])[0].strip(".,!?").lower() for t in texts]


def evaluate(model, processor, items: list[EvalItem], batch_size: int, image_llm_only: bool = False) -> dict[str, Any]:
    """Accuracy per question type, plus `single_frame`, `time_only` and `frame` (`FRAME_QUESTIONS`) over their types."""
    model.eval()
    correct: dict[str, list[bool]] = defaultdict(list)
    for start in range(0, len(items), batch_size):
        batch = items[start : start + batch_size]
        for item, prediction in zip(batch, answer(model, processor, batch, image_llm_only)):
            correct[item.question_type].append(prediction == item.answer)
    scores: dict[str, Any] = {kind: float(np.mean(v)) for kind, v in correct.items()}
    for group, kinds in GROUPS:
        pooled = [c for kind in kinds for c in correct.get(kind, [])]
        if pooled:
            scores[group] = float(np.mean(pooled))
    scores["counts"] = {kind: len(v) for kind, v in correct.items()}
    return scores


def chance(records: list[dict[str, Any]]) -> dict[str, float]:
    """Chance accuracy per type (one over its choices) and over each group (averaged over its questions)."""
    levels: dict[str, float] = {kind: 1 / len(choices) for kind, choices in ANSWER_CHOICES.items()}
    for group, kinds in GROUPS:
        pooled = [levels[r["question_type"]] for r in records if r["question_type"] in kinds]
        levels[group] = float(np.mean(pooled)) if pooled else 0.0
    return levels


# ---------------------------------------------------------------------------------------------------- report
COLUMNS = ("time_only", *TIME_ONLY_TYPES, "single_frame", *SINGLE_FRAME_TYPES, "frame", PICTURE_SET_TYPE)


def markdown_table(results: dict[str, Any]) -> str:
    """Validation accuracy (%) per model and input, with chance levels."""
    header = "| model | input | " + " | ".join(c.replace("_", "-") for c in COLUMNS) + " |"
    lines = [header, "|" + "---|" * (len(COLUMNS) + 2)]
    rows = [("chance", "", results["chance"])]
    rows += [(row["model"], row["input"], row["scores"]) for row in results["evaluations"]]
    for model, kind, scores in rows:
        cells = [f"{100 * scores[c]:.0f}" if c in scores else "" for c in COLUMNS]
        lines.append(f"| {model} | {kind} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def model_card(results: dict[str, Any]) -> str:
    """The model card of the recipe's final model: what it is, how to reproduce it, how well it does."""
    arguments = results["arguments"]
    final = next(row["scores"] for row in reversed(results["evaluations"]) if "time_only" in row["scores"])
    family = {"qwen2_vl": "Qwen2-VL", "internvl": "InternVL"}[arguments["backbone"]]
    return f"""---
license: apache-2.0
library_name: transformers
pipeline_tag: video-text-to-text
tags: [linvt, video-llm, {arguments["backbone"]}, synthetic, demo]
---

# LinVT demo model (tiny {family} + LinVT, synthetic shapes)

A toy video-LLM made by the LinVT recipe in miniature (`examples/mini_recipe.py` of linvt-hf): a tiny {family}
image-LLM ({results["num_parameters"] / 1e6:.2f}M parameters with LinVT, {results["model_size_bytes"] / 2**20:.1f} MB)
trained on single frames, then converted with LinVT and trained in the paper's two stages on the synthetic shapes set
(`linvt_hf.data.generate_synthetic_video_qa`). Asked about a video, it answers in one word: the object's colour or
shape, which way it moves (left/right/up/down), whether it grows or shrinks, how many shots the video has
(two/three/four), whether the object appears or disappears. How often it is right is in the table below
(time-only questions: {100 * final["time_only"]:.0f}% against {100 * results["chance"]["time_only"]:.0f}% by chance).
It knows nothing else: on real footage its answers only demonstrate the pipeline.

```python
import linvt_hf
from transformers import pipeline

qa = pipeline("video-question-answering", model=str(linvt_hf.assets.demo_model_path()))
qa(video="clip.mp4", question="How many shots does the video have?", max_new_tokens=4)
```

## Training

On CPU, offline; deterministic by seed on a given machine and software stack:

```bash
{results["command"]}
```

Seed {arguments["seed"]} (data, initialisation and data order). All settings:

```json
{json.dumps(arguments, indent=2)}
```

## Validation accuracy (%)

{markdown_table(results)}

Wall time per phase (s): {json.dumps(results["wall_time_s"])}
"""


class Clock:
    """Wall time of each phase."""

    def __init__(self) -> None:
        self.started = self.last = time.perf_counter()
        self.phases: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.phases[name] = round(now - self.last, 1)
        self.last = now
        print(f"[{now - self.started:7.1f} s] {name} done in {self.phases[name]:.1f} s", flush=True)


# ---------------------------------------------------------------------------------------------------- main
def run(args: RecipeArguments) -> dict[str, Any]:
    """The whole recipe; returns the results (also written to `output_dir/results.json`)."""
    torch.set_num_threads(args.num_threads)
    set_seed(args.seed)
    out = Path(args.output_dir)
    data_dir = out / "data"
    clock = Clock()
    if not (data_dir / "specs.jsonl").exists():
        generate_synthetic_video_qa(data_dir, args.num_train_videos, args.num_validation_videos, seed=args.seed)
    clock.lap("data")

    processor = build_processor(args)
    image_llm, vision_accuracy = train_image_llm(args, processor, data_dir, clock)

    val_qa = read_jsonl(data_dir / "validation_qa.jsonl")
    time_records = [r for r in val_qa if r["question_type"] in TIME_ONLY_TYPES]
    videos = video_items(val_qa, data_dir)
    images = image_items(read_jsonl(data_dir / "validation_image_qa.jsonl"), data_dir)
    pictures = image_items(read_jsonl(data_dir / "validation_multi_image_qa.jsonl"), data_dir)
    frames = frames_as_images_items(time_records, data_dir, processor, args.image_frames)
    evaluations = []

    def record(model_name: str, input_name: str, scores: dict[str, Any]) -> None:
        evaluations.append({"model": model_name, "input": input_name, "scores": scores})
        print(f"{model_name:12s} {input_name:32s} " + json.dumps({k: round(v, 3) for k, v in scores.items() if k != "counts"}))

    bs = args.eval_batch_size
    record("image-LLM", "frame as image", evaluate(image_llm, processor, images, bs, image_llm_only=True))
    if pictures:
        record("image-LLM", "3-8 frames as images", evaluate(image_llm, processor, pictures, bs // 4, True))
    record("image-LLM", f"{args.image_frames} frames as images", evaluate(image_llm, processor, frames, bs // 4, True))
    clock.lap("image_llm_eval")

    set_seed(args.seed)
    model = LINVT_MODEL_CLASSES[args.backbone].from_backbone(
        image_llm, linvt_config=linvt_config(args), video_token_id=processor.video_token_id
    )
    with sampled_videos_kept(processor), frame_tokens_kept(model):  # merge_stage2 gives back the same model
        train_stage1(args, model, processor, data_dir)
        clock.lap("stage1_training")
        record("LinVT stage 1", f"video ({args.num_frames} frames)", evaluate(model, processor, videos, bs))
        clock.lap("stage1_eval")

        model = train_stage2(args, model, processor, data_dir)
        clock.lap("stage2_training")
        record("LinVT stage 2", f"video ({args.num_frames} frames)", evaluate(model, processor, videos, bs))
        record("LinVT stage 2", "frame as image", evaluate(model, processor, images, bs))
        if pictures:
            record("LinVT stage 2", "3-8 frames as images", evaluate(model, processor, pictures, bs // 4))
        clock.lap("stage2_eval")

    final = out / "final_model"
    model.save_pretrained(final)
    processor.save_pretrained(final)
    clock.lap("save")

    results = {
        "command": "python examples/mini_recipe.py " + " ".join(sys.argv[1:]),
        "arguments": {f.name: getattr(args, f.name) for f in fields(args)},
        "chance": chance(
            val_qa
            + read_jsonl(data_dir / "validation_image_qa.jsonl")
            + read_jsonl(data_dir / "validation_multi_image_qa.jsonl")
        ),
        "vision_pretraining_accuracy": vision_accuracy,
        "evaluations": evaluations,
        "wall_time_s": {**clock.phases, "total": round(time.perf_counter() - clock.started, 1)},
        "model_size_bytes": sum(f.stat().st_size for f in final.iterdir() if f.is_file()),
        "num_parameters": sum(p.numel() for p in model.parameters()),
    }
    (out / "results.json").write_text(json.dumps(results, indent=2))
    (final / "README.md").write_text(model_card(results))
    if args.save_model_to:
        shutil.copytree(final, args.save_model_to, dirs_exist_ok=True)
    print(markdown_table(results))
    return results


def main(argv: list[str] | None = None) -> dict[str, Any]:
    (args,) = HfArgumentParser(RecipeArguments).parse_args_into_dataclasses(args=argv)
    return run(args)


if __name__ == "__main__":
    main()
