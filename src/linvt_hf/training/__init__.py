"""Training LinVT (paper Sec. 3.3): instruction data, the collator, stage 1/2 model preparation, the contrastive
loss and `LinVTTrainer`. Needs the `train` extra (peft, datasets, accelerate)."""

from .collator import CAPTION_MASK_KEY, EMPTY_BATCH_KEY, IGNORE_INDEX, NUM_SKIPPED_KEY, VideoInstructionCollator
from .data import CAPTION_PROMPT, load_video_instruction_data
from ..modeling.contrastive import gather_rows, pool_token_embeddings, pool_video_tokens, video_text_contrastive_loss
from .stages import language_model_linear_names, lora_target_modules, merge_stage2, prepare_stage1, prepare_stage2
from .trainer import LinVTTrainer, is_empty_batch, unwrap_linvt

__all__ = [
    "CAPTION_MASK_KEY",
    "CAPTION_PROMPT",
    "EMPTY_BATCH_KEY",
    "IGNORE_INDEX",
    "NUM_SKIPPED_KEY",
    "LinVTTrainer",
    "VideoInstructionCollator",
    "gather_rows",
    "is_empty_batch",
    "language_model_linear_names",
    "load_video_instruction_data",
    "lora_target_modules",
    "merge_stage2",
    "pool_token_embeddings",
    "pool_video_tokens",
    "prepare_stage1",
    "prepare_stage2",
    "unwrap_linvt",
    "video_text_contrastive_loss",
]
