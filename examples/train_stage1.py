"""LinVT stage 1, video-language alignment (paper Sec. 3.3): only LinVT learns, from video-caption pairs (and,
optionally, video QA), with next-token cross-entropy plus a video-caption contrastive term.

    python examples/train_stage1.py --model_name_or_path Qwen/Qwen2-VL-7B-Instruct \
        --train_files data/webvid_captions.jsonl --video_root data --output_dir runs/stage1 \
        --per_device_train_batch_size 8 --learning_rate 1e-4 --num_train_epochs 1 --bf16 \
        --contrastive_weight 1.0

Multi-GPU: `accelerate launch --config_file examples/configs/accelerate_ddp.yaml examples/train_stage1.py ...`
(or the FSDP config, or `--deepspeed examples/configs/deepspeed_zero2.json`). Resume with
`--resume_from_checkpoint runs/stage1/checkpoint-N` (or `true` for the latest). The final model (full LinVT
checkpoint, with the processor) is written to --output_dir.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from transformers import HfArgumentParser, TrainingArguments

from linvt_hf.training import LinVTTrainer, prepare_stage1
from training_common import DataArguments, ModelArguments, build_data, load_model_and_processor


@dataclass
class Stage1Arguments:
    contrastive_weight: float = field(default=1.0, metadata={"help": "Weight of the contrastive term (0: off)."})
    contrastive_gather: bool = field(
        default=True, metadata={"help": "Gather videos/captions across processes for the contrastive negatives."}
    )


def main() -> None:
    parser = HfArgumentParser((ModelArguments, DataArguments, Stage1Arguments, TrainingArguments))
    model_args, data_args, stage_args, training_args = parser.parse_args_into_dataclasses()
    model, processor = load_model_and_processor(model_args)
    prepare_stage1(model)
    train, evaluation, collator = build_data(data_args, processor)
    trainer = LinVTTrainer(
        model=model,
        args=training_args,
        train_dataset=train,
        eval_dataset=evaluation,
        data_collator=collator,
        processing_class=processor,
        contrastive_weight=stage_args.contrastive_weight,
        contrastive_gather=stage_args.contrastive_gather,
    )
    resume = training_args.resume_from_checkpoint
    trainer.train(resume_from_checkpoint=True if resume == "true" else resume)
    trainer.save_model(training_args.output_dir)
    if trainer.is_world_process_zero():
        processor.save_pretrained(training_args.output_dir)
    # Every process ends its process group: left to interpreter exit, gloo's threads can abort it (SIGABRT).
    trainer.accelerator.end_training()


if __name__ == "__main__":
    main()
