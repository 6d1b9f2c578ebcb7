"""The LinVT recipe in miniature, on CPU: an image-LLM is trained, converted with LinVT, then trained in two stages.

1. Generate the synthetic video QA set (`linvt_hf.data.generate_synthetic_video_qa`): one coloured shape per video
   over 2-4 hard-cut shots; single-frame questions (colour, shape) and time-only questions (direction, size, shots,
   visibility), one-word answers.
2. Build a tiny image-LLM (transformers' own `Qwen2VLForConditionalGeneration`, or with `--backbone internvl`
   `InternVLForConditionalGeneration`) and pre-train it with the stock `Trainer` on single frames (image QA) and on
   the training captions as text (with `--text-qa true`, also questions answered from a caption): the image-LLM
   LinVT converts.
3. Evaluate it: single-frame questions with the frame as an image; time-only questions with several frames as
   images (the only way an image-LLM sees a video).
4. Convert it with `from_backbone`; stage 1 (LinVT alone, video captions, cross-entropy + contrastive); stage 2
   (LoRA on the LLM + LinVT, video QA; `--multi-turn-qa true` asks all of a video's questions in one sample).
   Evaluate after each stage on video questions and on image questions.
5. Write `results.json`, print a Markdown table and save the merged LinVT model with its processor.

    python examples/mini_recipe.py --output-dir runs/mini --seed 0          # the full run (about 10 min, 2 cores)
    python examples/mini_recipe.py --output-dir /tmp/smoke --smoke          # seconds: the same code on a toy set

Accuracy is exact match of the greedy answer's first word with the reference answer.
"""

from __future__ import annotations

import os

# Idle OpenMP threads sleep instead of spinning: with 2 threads on 2 shared cores, spinning makes tiny ops up to 50x
# slower as soon as anything else runs. Read when torch loads, so it must precede the import.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import json
import shutil
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from peft import LoraConfig
from tokenizers import Tokenizer, models, pre_tokenizers, trainers
from transformers import (
    GotOcr2ImageProcessorPil,
    HfArgumentParser,
    InternVLForConditionalGeneration,
    InternVLProcessor,
    PreTrainedModel,
    Qwen2Tokenizer,
    Qwen2VLForConditionalGeneration,
    Qwen2VLImageProcessorPil,
    Qwen2VLProcessor,
    Trainer,
    TrainingArguments,
    set_seed,
)

from linvt_hf import LinVTConfig, LinVTForConditionalGeneration, LinVTProcessor
from linvt_hf.modeling.auto import LINVT_MODEL_CLASSES
from linvt_hf.data import SINGLE_FRAME_TYPES, TIME_ONLY_TYPES, generate_synthetic_video_qa
from linvt_hf.data.synthetic import COLORS, DIRECTIONS, QUESTIONS, SHAPES, SHOT_WORDS, SIZE_TRENDS
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
}
QUESTION_TYPES = SINGLE_FRAME_TYPES + TIME_ONLY_TYPES
# The image-LLM's own forward inputs (the collator also returns LinVT's masks, which it does not take).
IMAGE_LLM_INPUTS = ("input_ids", "attention_mask", "pixel_values", "image_grid_thw", "mm_token_type_ids", "labels")
LANGUAGE_PROMPT = "Write one sentence about a video."
BACKBONES = ("internvl", "qwen2_vl")


@dataclass
class RecipeArguments:
    """Settings of the miniature recipe; the defaults are the documented full run."""

    output_dir: str = field(default="mini_recipe_output", metadata={"help": "where data, results and models go"})
    backbone: str = field(
        default="qwen2_vl",
        metadata={"help": "image-LLM family: internvl (InternViT, absolute position embeddings) or qwen2_vl"},
    )
    seed: int = field(default=0, metadata={"help": "seeds the data, the initialisation and the data order"})
    smoke: bool = field(default=False, metadata={"help": "a seconds-long run on a toy set (for CI)"})
    num_threads: int = field(default=2, metadata={"help": "torch CPU threads"})
    save_model_to: str | None = field(default=None, metadata={"help": "also copy the final model + processor here"})
    num_train_videos: int = 600
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
    num_queries: str = field(default="8,4,4", metadata={"help": "LinVT queries per scale (windows 1, 2, 4)"})
    top_k_tokens: int = 96
    temporal_prior: float = field(default=0.0, metadata={"help": "LinVTConfig.temporal_prior (0: off, as in the paper)"})
    batch_size: int = 16
    image_llm_steps: int = 1500
    image_llm_lr: float = 1e-3
    language_data: bool = field(default=True, metadata={"help": "also train the image-LLM on the captions as text"})
    text_qa: bool = field(
        default=False, metadata={"help": "and on reading comprehension: a caption, then a time-only question on it"}
    )
    stage1_steps: int = 60
    stage1_lr: float = 1e-3
    contrastive_weight: float = 0.5
    stage2_steps: int = 600
    multi_turn_qa: bool = field(
        default=False, metadata={"help": "stage 2 samples hold all questions of a video as one multi-turn chat"}
    )
    stage2_lr: float = 3e-3
    lora_rank: int = 16
    eval_batch_size: int = 32

    def __post_init__(self) -> None:
        if self.backbone not in BACKBONES:
            raise ValueError(f"backbone must be one of {BACKBONES}, got {self.backbone!r}")
        if self.smoke:
            self.num_train_videos, self.num_validation_videos = 6, 3
            self.image_llm_steps, self.stage1_steps, self.stage2_steps = 2, 1, 2
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


def build_processor(args: RecipeArguments) -> LinVTProcessor:
    """The backbone's real processor (`InternVLProcessor` or `Qwen2VLProcessor`; synthetic-vocabulary tokenizer,
    `frame_size` images) wrapped in `LinVTProcessor`."""
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
        num_queries=args.queries,
        pooling_windows=[1, 2, 4][: len(args.queries)],
        temporal_prior=args.temporal_prior,
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


def pretrain_image_llm(args, model, processor, data_dir: Path) -> None:
    """The image-LLM's own training, with the stock `Trainer`: single frames and their questions (+ language)."""
    files = [str(data_dir / "train_image_qa.jsonl")]
    if args.language_data:
        files.append(str(write_language_data(data_dir, args.text_qa)))
    dataset = load_video_instruction_data(files)
    collator = VideoInstructionCollator(processor, video_root=data_dir)
    trainer = Trainer(
        model=model,
        args=training_arguments(args, "image_llm", args.image_llm_steps, args.image_llm_lr),
        train_dataset=dataset,
        data_collator=image_llm_collator(collator),
    )
    trainer.train()


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


def write_multi_turn_qa(data_dir: Path, seed: int, output: Path) -> Path:
    """The training QA regrouped per video: one chat whose turns ask all of the video's questions, in a seeded random
    order (the first turn holds the video and the question that conditions TTA). One decoded video then teaches
    every answer about it. Written to `output` (the run's own folder: runs may share `data_dir`), video paths stay
    relative to `data_dir`."""
    path = Path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    by_video: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in read_jsonl(data_dir / "train_qa.jsonl"):
        by_video[record["video"]].append(record)
    rng = np.random.default_rng(seed)
    with open(path, "w") as handle:
        for video, records in by_video.items():
            turns = []
            for i in rng.permutation(len(records)):
                question = question_text(records[i])
                turns.append({"from": "human", "value": f"<video>\n{question}" if not turns else question})
                turns.append(records[i]["conversations"][1])
            handle.write(json.dumps({"id": f"{video}-all", "video": video, "conversations": turns}) + "\n")
    return path


def train_stage2(args, model, processor, data_dir: Path) -> LinVTForConditionalGeneration:
    """Stage 2: LoRA on the LLM + LinVT, on video QA; returns the merged model."""
    lora = LoraConfig(r=args.lora_rank, lora_alpha=2 * args.lora_rank, lora_dropout=0.0)
    peft_model = prepare_stage2(model, lora)
    qa = data_dir / "train_qa.jsonl"
    if args.multi_turn_qa:
        qa = write_multi_turn_qa(data_dir, args.seed, Path(args.output_dir) / "train_qa_multi_turn.jsonl")
    trainer = LinVTTrainer(
        model=peft_model,
        args=training_arguments(args, "stage2", args.stage2_steps, args.stage2_lr),
        train_dataset=load_video_instruction_data(str(qa)),
        data_collator=video_collator(args, processor, data_dir),
    )
    trainer.train()
    return merge_stage2(peft_model)


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
    return [
        EvalItem(r["question_type"], question_text(r), r["conversations"][1]["value"], images=[np.load(data_dir / r["image"])])
        for r in records
    ]


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
    """Accuracy per question type, plus `single_frame` and `time_only` over their types."""
    model.eval()
    correct: dict[str, list[bool]] = defaultdict(list)
    for start in range(0, len(items), batch_size):
        batch = items[start : start + batch_size]
        for item, prediction in zip(batch, answer(model, processor, batch, image_llm_only)):
            correct[item.question_type].append(prediction == item.answer)
    scores: dict[str, Any] = {kind: float(np.mean(v)) for kind, v in correct.items()}
    for group, kinds in (("single_frame", SINGLE_FRAME_TYPES), ("time_only", TIME_ONLY_TYPES)):
        pooled = [c for kind in kinds for c in correct.get(kind, [])]
        if pooled:
            scores[group] = float(np.mean(pooled))
    scores["counts"] = {kind: len(v) for kind, v in correct.items()}
    return scores


def chance(records: list[dict[str, Any]]) -> dict[str, float]:
    """Chance accuracy per type (one over its choices) and over each group (averaged over its questions)."""
    levels: dict[str, float] = {kind: 1 / len(choices) for kind, choices in ANSWER_CHOICES.items()}
    for group, kinds in (("single_frame", SINGLE_FRAME_TYPES), ("time_only", TIME_ONLY_TYPES)):
        pooled = [levels[r["question_type"]] for r in records if r["question_type"] in kinds]
        levels[group] = float(np.mean(pooled)) if pooled else 0.0
    return levels


# ---------------------------------------------------------------------------------------------------- report
COLUMNS = ("time_only", *TIME_ONLY_TYPES, "single_frame", *SINGLE_FRAME_TYPES)


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
    image_llm = build_image_llm(args, processor)
    pretrain_image_llm(args, image_llm, processor, data_dir)
    clock.lap("image_llm_training")

    val_qa = read_jsonl(data_dir / "validation_qa.jsonl")
    time_records = [r for r in val_qa if r["question_type"] in TIME_ONLY_TYPES]
    videos = video_items(val_qa, data_dir)
    images = image_items(read_jsonl(data_dir / "validation_image_qa.jsonl"), data_dir)
    frames = frames_as_images_items(time_records, data_dir, processor, args.image_frames)
    evaluations = []

    def record(model_name: str, input_name: str, scores: dict[str, Any]) -> None:
        evaluations.append({"model": model_name, "input": input_name, "scores": scores})
        print(f"{model_name:12s} {input_name:32s} " + json.dumps({k: round(v, 3) for k, v in scores.items() if k != "counts"}))

    bs = args.eval_batch_size
    record("image-LLM", "frame as image", evaluate(image_llm, processor, images, bs, image_llm_only=True))
    record("image-LLM", f"{args.image_frames} frames as images", evaluate(image_llm, processor, frames, bs // 4, True))
    clock.lap("image_llm_eval")

    set_seed(args.seed)
    model = LINVT_MODEL_CLASSES[args.backbone].from_backbone(
        image_llm, linvt_config=linvt_config(args), video_token_id=processor.video_token_id
    )
    train_stage1(args, model, processor, data_dir)
    clock.lap("stage1_training")
    record("LinVT stage 1", f"video ({args.num_frames} frames)", evaluate(model, processor, videos, bs))
    clock.lap("stage1_eval")

    model = train_stage2(args, model, processor, data_dir)
    clock.lap("stage2_training")
    record("LinVT stage 2", f"video ({args.num_frames} frames)", evaluate(model, processor, videos, bs))
    record("LinVT stage 2", "frame as image", evaluate(model, processor, images, bs))
    clock.lap("stage2_eval")

    final = out / "final_model"
    model.save_pretrained(final)
    processor.save_pretrained(final)
    clock.lap("save")

    results = {
        "command": "python examples/mini_recipe.py " + " ".join(sys.argv[1:]),
        "arguments": {f.name: getattr(args, f.name) for f in fields(args)},
        "chance": chance(val_qa + read_jsonl(data_dir / "validation_image_qa.jsonl")),
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
