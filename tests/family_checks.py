"""Checks the family test files share (tests/test_<family>.py)."""

from __future__ import annotations

import torch

from linvt_hf.training import prepare_stage1, prepare_stage2


def check_both_training_stages_step(model: torch.nn.Module, inputs: dict, llm: str) -> None:
    """Stage 1 trains LinVT alone; stage 2 LoRA on the LLM (parameter names containing `llm`) and LinVT: one SGD step
    of each, on `inputs` (a prompt with a video; its video tokens out of the loss), changes exactly those weights."""
    labels = inputs["input_ids"].masked_fill(inputs["input_ids"] == model.config.video_token_id, -100)
    for stage in (prepare_stage1, prepare_stage2):
        trained = stage(model).train()
        before = {n: p.detach().clone() for n, p in trained.named_parameters()}
        optimizer = torch.optim.SGD([p for p in trained.parameters() if p.requires_grad], lr=1.0)
        trained(**inputs, labels=labels).loss.backward()
        optimizer.step()
        changed = {n for n, p in trained.named_parameters() if not torch.equal(p, before[n])}
        if stage is prepare_stage1:
            assert changed and all(n.startswith("model.video_tokenizer.") for n in changed), sorted(changed)[:5]
        else:
            assert any(llm in n and "lora_" in n for n in changed)
            assert all("lora_" in n or "video_tokenizer" in n for n in changed), sorted(changed)[:5]
