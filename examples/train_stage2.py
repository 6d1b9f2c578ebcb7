"""LinVT stage 2, video instruction tuning (paper Sec. 3.3): LoRA on the LLM's linear layers plus LinVT, with the
vision encoder and projector frozen, on video QA with next-token cross-entropy.

    python examples/train_stage2.py --model_name_or_path runs/stage1 \
        --train_files data/videochat2.jsonl data/activitynet_qa.jsonl --video_root data \
        --output_dir runs/stage2 --per_device_train_batch_size 4 --learning_rate 2e-5 --bf16

Checkpoints hold the LoRA adapter and LinVT's weights (`modules_to_save`); `--resume_from_checkpoint` continues
from one. At the end the adapter is saved to --output_dir and, with `--merge_adapter` (default), merged into a plain
LinVT checkpoint in `--output_dir/merged` that `from_pretrained` loads without PEFT. With FSDP the parameters are
sharded, so merging is skipped: load the saved adapter in one process and call `linvt_hf.training.merge_stage2`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from peft import LoraConfig
from transformers import HfArgumentParser, TrainingArguments

from linvt_hf.training import LinVTTrainer, merge_stage2, prepare_stage2
from training_common import DataArguments, ModelArguments, build_data, load_model_and_processor


@dataclass
class Stage2Arguments:
    lora_r: int = field(default=16, metadata={"help": "LoRA rank."})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA alpha."})
    lora_dropout: float = field(default=0.05, metadata={"help": "LoRA dropout."})
    merge_adapter: bool = field(default=True, metadata={"help": "Merge LoRA into a plain checkpoint at the end."})


def main() -> None:
    parser = HfArgumentParser((ModelArguments, DataArguments, Stage2Arguments, TrainingArguments))
    model_args, data_args, stage_args, training_args = parser.parse_args_into_dataclasses()
    model, processor = load_model_and_processor(model_args)
    if training_args.gradient_checkpointing:
        model.enable_input_require_grads()  # frozen embeddings: checkpointed blocks still need an input with grad
    lora = LoraConfig(r=stage_args.lora_r, lora_alpha=stage_args.lora_alpha, lora_dropout=stage_args.lora_dropout)
    model = prepare_stage2(model, lora)
    train, evaluation, collator = build_data(data_args, processor)
    trainer = LinVTTrainer(
        model=model,
        args=training_args,
        train_dataset=train,
        eval_dataset=evaluation,
        data_collator=collator,
        processing_class=processor,
    )
    resume = training_args.resume_from_checkpoint
    trainer.train(resume_from_checkpoint=True if resume == "true" else resume)
    trainer.save_model(training_args.output_dir)
    if trainer.is_world_process_zero():
        processor.save_pretrained(training_args.output_dir)
        if stage_args.merge_adapter and trainer.is_fsdp_enabled:
            print("FSDP: skipping the merge (parameters are sharded); merge the saved adapter in one process")
        elif stage_args.merge_adapter:
            merged_dir = os.path.join(training_args.output_dir, "merged")
            merge_stage2(trainer.accelerator.unwrap_model(trainer.model)).save_pretrained(merged_dir)
            processor.save_pretrained(merged_dir)
            print(f"merged model saved to {merged_dir}")
    # Every process ends its process group: left to interpreter exit, gloo's threads can abort it (SIGABRT).
    trainer.accelerator.end_training()


if __name__ == "__main__":
    main()
