"""`LinVTTrainer`: transformers' `Trainer` with stage 1's contrastive term, skipped-sample accounting and empty
batches.

The loss is `CE + contrastive_weight * contrastive`. The next-token cross-entropy is the image-LLM's own (normalised
by the number of answer tokens of the whole accumulated, cross-process batch, as `Trainer` does). The contrastive
term comes out of the model's forward (`caption_mask`: each caption record's pooled video tokens against its pooled
caption embeddings, see `LinVTForConditionalGeneration.contrastive_loss`), so under DDP / FSDP / DeepSpeed the
temperature (`video_text_logit_scale`) is used inside the forward the engine tracks.

With several processes, the videos and captions of all processes are gathered (differentiably) inside that forward
and every process computes the same loss over the global batch, so in-batch negatives span the global batch and
training matches a single process on that batch (`contrastive_gather=False`: per-process negatives instead).
"""

from __future__ import annotations

from typing import Any

import torch
from peft import PeftModel
from torch import nn
from transformers import Trainer, TrainerCallback
from transformers.utils import logging

from ..modeling.modeling_linvt import LinVTForConditionalGeneration
from .collator import CAPTION_MASK_KEY, EMPTY_BATCH_KEY, NUM_SKIPPED_KEY

logger = logging.get_logger(__name__)

CONTRASTIVE_OUTPUT_KEY = "contrastive_loss"


def unwrap_linvt(model: nn.Module) -> LinVTForConditionalGeneration:
    """The `LinVTForConditionalGeneration` inside a (PEFT-wrapped) model."""
    base = model.get_base_model() if isinstance(model, PeftModel) else model
    if not isinstance(base, LinVTForConditionalGeneration):
        raise TypeError(f"expected a LinVT model (possibly PEFT-wrapped), got {type(base).__name__}")
    return base


class LinVTTrainer(Trainer):
    r"""
    `transformers.Trainer` for LinVT's two stages.

    Args:
        contrastive_weight (`float`, defaults to 0): weight of the video-caption contrastive term (stage 1); 0 turns it
            off (stage 2). The log then holds `ce_loss` and `contrastive_loss` next to `loss`. With 0, nothing uses
            the contrastive temperature `video_text_logit_scale`, so the trainer freezes it (with a warning) when it
            is trainable: DDP without unused-parameter detection (Trainer's choice under gradient checkpointing)
            fails on a trainable parameter that no forward uses.
        contrastive_gather (`bool`, defaults to `True`): with several processes, gather videos and captions across
            processes (global in-batch negatives); `False`: each process uses its own batch's negatives.
        *args, **kwargs: as for `Trainer` (use `VideoInstructionCollator` as `data_collator`).

    Every log also holds `num_skipped_samples`: samples dropped so far in this run (all processes) because their
    video or image could not be read. A batch where every sample was dropped is skipped: no update on a single
    process; with several processes the process replays its previous batch with zero weight, so that every process
    still runs the same collectives.

    `remove_unused_columns` is turned off (the collator needs the raw records) and `label_names` defaults to
    `["labels"]`.
    """

    def __init__(self, *args: Any, contrastive_weight: float = 0.0, contrastive_gather: bool = True, **kwargs: Any):
        training_args = kwargs.get("args", args[1] if len(args) > 1 else None)
        if training_args is not None and training_args.remove_unused_columns:
            logger.info("LinVTTrainer sets remove_unused_columns=False: the collator reads the raw records")
            training_args.remove_unused_columns = False
        if contrastive_weight < 0:
            raise ValueError(f"contrastive_weight must be >= 0, got {contrastive_weight}")
        super().__init__(*args, **kwargs)
        if self.args.label_names is None:
            self.label_names = ["labels"]
        self.contrastive_weight = float(contrastive_weight)
        self.contrastive_gather = bool(contrastive_gather)
        if self.contrastive_weight > 0:
            base = unwrap_linvt(self.model)
            if not base.video_text_logit_scale.requires_grad:
                logger.warning("contrastive_weight > 0 but video_text_logit_scale is frozen (see prepare_stage1)")
        else:
            self._freeze_unused_temperature()
        self._loss_weight = 1.0
        self._last_batch: dict[str, Any] | None = None
        self._num_skipped = 0
        self._aux_sums = {"ce_loss": 0.0, "contrastive_loss": 0.0}
        self._aux_last_step = 0
        self.add_callback(_AuxLogStart(self))

    def _freeze_unused_temperature(self) -> None:
        """Freeze `video_text_logit_scale` (the contrastive term is off: no forward uses it)."""
        base = self.model.get_base_model() if isinstance(self.model, PeftModel) else self.model
        if not isinstance(base, LinVTForConditionalGeneration):
            return
        scale = base.video_text_logit_scale
        if scale.requires_grad:
            logger.warning(
                "contrastive_weight is 0: freezing video_text_logit_scale (the contrastive temperature), which no "
                "forward uses then; a trainable unused parameter breaks DDP without find_unused_parameters"
            )
            scale.requires_grad_(False)

    # ------------------------------------------------------------------------------------------------ steps
    def training_step(
        self, model: nn.Module, inputs: dict[str, Any], num_items_in_batch: torch.Tensor | int | None = None
    ) -> torch.Tensor:
        skipped = inputs.get(NUM_SKIPPED_KEY)
        self._num_skipped += int(skipped) if skipped is not None else 0
        if not is_empty_batch(inputs):
            self._last_batch = inputs
            return super().training_step(model, inputs, num_items_in_batch)
        if self.args.world_size == 1:
            return torch.zeros((), device=self.args.device)
        if self._last_batch is None:
            raise RuntimeError(
                "the first batch of this process could not be read at all; with several processes every process must "
                "run a forward pass (check the data, or lower the share of unreadable videos)"
            )
        self._loss_weight = 0.0
        try:
            return super().training_step(model, self._last_batch, num_items_in_batch)
        finally:
            self._loss_weight = 1.0

    def prediction_step(self, model, inputs, prediction_loss_only, ignore_keys=None):
        if is_empty_batch(inputs):
            return None, None, None
        return super().prediction_step(model, inputs, prediction_loss_only, ignore_keys=ignore_keys)

    def compute_loss(
        self,
        model: nn.Module,
        inputs: dict[str, Any],
        return_outputs: bool = False,
        num_items_in_batch: torch.Tensor | int | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, Any]:
        inputs = dict(inputs)
        inputs.pop(NUM_SKIPPED_KEY, None)
        inputs.pop(EMPTY_BATCH_KEY, None)
        caption_mask = inputs.pop(CAPTION_MASK_KEY, None)
        if self.contrastive_weight > 0:
            # On every step, caption or not: the forward's gather is a collective all processes must join.
            if caption_mask is None:
                caption_mask = torch.zeros_like(inputs["input_ids"], dtype=torch.bool)
            inputs[CAPTION_MASK_KEY] = caption_mask
            inputs["gather_contrastive"] = self.contrastive_gather
        loss, outputs = super().compute_loss(model, inputs, return_outputs=True, num_items_in_batch=num_items_in_batch)
        loss = self._add_contrastive(loss, outputs, num_items_in_batch) * self._loss_weight
        return (loss, outputs) if return_outputs else loss

    def _add_contrastive(self, ce: torch.Tensor, outputs: Any, num_items_in_batch: Any) -> torch.Tensor:
        """`ce + w * contrastive`, with the contrastive term scaled for gradient accumulation as the CE is."""
        contrastive = outputs.get(CONTRASTIVE_OUTPUT_KEY) if self.contrastive_weight > 0 else None
        if contrastive is None:
            contrastive = ce.new_zeros(())
        if not self.model.training:
            return ce + self.contrastive_weight * contrastive
        steps = max(getattr(self, "current_gradient_accumulation_steps", 1), 1)
        # Trainer divides the returned loss by the accumulation steps unless the CE was already normalised over the
        # whole accumulated batch (num_items_in_batch): the contrastive term (a per-batch mean) is then divided here.
        ce_scaled = self.model_accepts_loss_kwargs and num_items_in_batch is not None
        if self.loss_is_scaled_for_ga is not None:
            ce_scaled = self.loss_is_scaled_for_ga
        contrastive_term = contrastive / steps if ce_scaled else contrastive
        self._aux_sums["ce_loss"] += float(ce.detach()) / (1 if ce_scaled else steps) * self._loss_weight
        self._aux_sums["contrastive_loss"] += float(contrastive.detach()) / steps * self._loss_weight
        return ce + self.contrastive_weight * contrastive_term

    # ------------------------------------------------------------------------------------------------ logging
    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        if "loss" in logs:  # a training log: every process is here (Trainer gathers the loss just before)
            logs.update(self._aux_logs())
        super().log(logs, start_time)

    def start_aux_logs(self, global_step: int) -> None:
        """Start the running `ce_loss` / `contrastive_loss` sums afresh at `global_step` (the start of `train()`, after
        a checkpoint's state is restored), so the first log's means cover only the steps trained since."""
        self._aux_sums = {key: 0.0 for key in self._aux_sums}
        self._aux_last_step = global_step

    def _aux_logs(self) -> dict[str, float]:
        steps = max(self.state.global_step - self._aux_last_step, 1)
        local = torch.tensor(
            [[self._aux_sums["ce_loss"], self._aux_sums["contrastive_loss"], float(self._num_skipped)]],
            device=self.args.device,
        )
        gathered = self.accelerator.gather(local) if self.args.world_size > 1 else local
        self._aux_sums = {key: 0.0 for key in self._aux_sums}
        self._aux_last_step = self.state.global_step
        logs = {"num_skipped_samples": int(gathered[:, 2].sum())}
        if self.contrastive_weight > 0:
            logs["ce_loss"] = float(gathered[:, 0].mean()) / steps
            logs["contrastive_loss"] = float(gathered[:, 1].mean()) / steps
        return logs


class _AuxLogStart(TrainerCallback):
    """Restarts the trainer's auxiliary loss sums when training begins: on resuming, `global_step` is the
    checkpoint's, not 0, and the first log's means must be over the steps since then."""

    def __init__(self, trainer: LinVTTrainer) -> None:
        self.trainer = trainer

    def on_train_begin(self, args, state, control, **kwargs):
        self.trainer.start_aux_logs(state.global_step)


def is_empty_batch(inputs: dict[str, Any]) -> bool:
    """Whether a collated batch is the flagged empty batch (every sample unreadable)."""
    flag = inputs.get(EMPTY_BATCH_KEY)
    return bool(flag) if flag is not None else False


__all__ = [
    "LinVTTrainer",
    "is_empty_batch",
    "unwrap_linvt",
]
