"""The recipe's settings (`RecipeArguments`, its command-line options) and the `TrainingArguments` each of its
`Trainer` runs gets."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from transformers import TrainingArguments

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
    patch_size: int = field(
        default=7, metadata={"help": "vision patch size (frames give (frame_size / 2 / patch)^2 tokens)"}
    )
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
        """LinVT's queries per scale, from `num_queries` ("16,8,4" -> [16, 8, 4])."""
        return [int(n) for n in self.num_queries.split(",")]

    @property
    def tokens_per_frame(self) -> int:
        """Vision tokens per frame: patches of `patch_size`, merged 2x2 (Qwen2-VL) or pixel-shuffled 0.5 (InternVL)."""
        return (self.frame_size // self.patch_size // 2) ** 2


def training_arguments(args: RecipeArguments, name: str, steps: int, lr: float) -> TrainingArguments:
    """The `TrainingArguments` of the recipe's `Trainer` run `name`: `steps` steps at peak learning rate `lr`, cosine
    schedule, on CPU, seeded by `args.seed`, no checkpoints (they would go under `output_dir/checkpoints/name`)."""
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
