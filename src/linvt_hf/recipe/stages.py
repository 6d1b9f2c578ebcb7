"""LinVT's part of the recipe: the image-LLM converted with `from_backbone`, then the paper's two stages (stage 1:
LinVT alone on video captions; stage 2: LoRA on the LLM + LinVT on video QA), with `LinVTTrainer`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from peft import LoraConfig
from transformers import PreTrainedModel, TrainerCallback, set_seed

from ..family import FAMILIES
from ..modeling import LinVTConfig, LinVTForConditionalGeneration
from ..processing import LinVTProcessorMixin
from ..training import (
    LinVTTrainer,
    VideoInstructionCollator,
    load_video_instruction_data,
    merge_stage2,
    prepare_stage1,
    prepare_stage2,
)
from .arguments import RecipeArguments, training_arguments
from .data import read_jsonl, write_image_replay, write_multi_turn_qa


def linvt_config(args: RecipeArguments) -> LinVTConfig:
    """LinVT's config from the recipe's settings: one pooling window per scale (1, 2, 4), 4 attention heads."""
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


def convert_image_llm(
    args: RecipeArguments, image_llm: PreTrainedModel, processor: LinVTProcessorMixin
) -> LinVTForConditionalGeneration:
    """`image_llm` converted with `from_backbone` into its family's LinVT model (`linvt_config(args)`, LinVT's
    weights drawn after seeding with `args.seed`). The LinVT model is made of `image_llm`'s own modules."""
    set_seed(args.seed)
    return FAMILIES[args.backbone].for_generation_class.from_backbone(
        image_llm, video_tokenizer_config=linvt_config(args), video_token_id=processor.video_token_id
    )


def video_collator(args: RecipeArguments, processor: LinVTProcessorMixin, data_dir: Path) -> VideoInstructionCollator:
    """The instruction collator of stage 1 and 2: `num_frames` frames per video (shot-aware), videos under
    `data_dir`, batches padded on the left. (The recipe's evaluation used to leave the tokenizer padding on the left,
    so every recipe run trained its stages on left-padded batches; the side is now explicit, and evaluating changes
    nothing that training uses.)"""
    return VideoInstructionCollator(
        processor,
        video_root=data_dir,
        num_frames=args.num_frames,
        shot_detector=args.shot_detector,
        padding_side="left",
    )


def train_stage1(
    args: RecipeArguments,
    model: LinVTForConditionalGeneration,
    processor: LinVTProcessorMixin,
    data_dir: Path,
    also_train: Sequence[str] = (),
) -> None:
    """Stage 1: LinVT alone learns, on video captions (cross-entropy + video-caption contrastive). `also_train`:
    module paths of the image-LLM that learn with it (the ablation of paper Tab. 3 re-initialises the projector and
    trains it on video alone)."""
    prepare_stage1(model)
    for path in also_train:
        model.get_submodule(path).requires_grad_(True)
    trainer = LinVTTrainer(
        model=model,
        args=training_arguments(args, "stage1", args.stage1_steps, args.stage1_lr),
        train_dataset=load_video_instruction_data(str(data_dir / "train_captions.jsonl")),
        data_collator=video_collator(args, processor, data_dir),
        contrastive_weight=args.contrastive_weight,
    )
    trainer.train()


def train_stage2(
    args: RecipeArguments,
    model: LinVTForConditionalGeneration,
    processor: LinVTProcessorMixin,
    data_dir: Path,
    callbacks: list[TrainerCallback] | None = None,
    also_train: Sequence[str] = (),
) -> LinVTForConditionalGeneration:
    """Stage 2: LoRA on the LLM + LinVT, on video QA (with `stage2_image_share` of image QA); returns the merged
    model. `callbacks` go to its `Trainer` (e.g. an `AccuracyProbe`); `also_train`: module paths of the image-LLM
    trained in full too (PEFT's `modules_to_save`), as in `train_stage1`."""
    lora = LoraConfig(
        r=args.lora_rank, lora_alpha=2 * args.lora_rank, lora_dropout=0.0, modules_to_save=list(also_train) or None
    )
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
