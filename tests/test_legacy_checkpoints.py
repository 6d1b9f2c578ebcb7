"""Checkpoints saved by linvt-hf 0.1 (the release before the redesign) load with today's classes and answer exactly as
they did: the fixtures in tests/data/legacy_checkpoints were written by 0.1 (see make_fixtures.py there), with the
0.1 model's logits and greedy answer on a fixed video."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import AutoModelForImageTextToText, AutoProcessor

import linvt_hf
from linvt_hf import FAMILIES, LinVTForConditionalGeneration, LinVTProcessor

ROOT = Path(__file__).parent / "data" / "legacy_checkpoints"
FAMILY_NAMES = ("qwen2_vl", "qwen2_5_vl", "internvl", "llava_onevision")




def fixed_inputs(processor):
    frames = torch.full((8, 56, 56, 3), 30, dtype=torch.uint8).numpy()
    for t in range(8):
        frames[t, 20:36, 4 + 5 * t : 20 + 5 * t] = (220, 180, 40)
    messages = [{"role": "user", "content": [{"type": "video", "video": frames}, {"type": "text", "text": "what is the man doing"}]}]
    return processor.apply_chat_template(
        messages, tokenize=True, add_generation_prompt=True, return_dict=True, return_tensors="pt"
    )


def check_against_reference(model, processor, reference):
    inputs = fixed_inputs(processor)
    assert torch.equal(inputs["input_ids"], reference["input_ids"])
    assert torch.equal(inputs["pixel_values_videos"], reference["pixel_values_videos"])
    with torch.no_grad():
        logits = model(**inputs).logits
        answer = model.generate(**inputs, max_new_tokens=4, do_sample=False)[:, inputs["input_ids"].shape[1] :]
    torch.testing.assert_close(logits, reference["logits"], rtol=0, atol=1e-5)
    assert torch.equal(answer, reference["answer"])


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_a_whole_legacy_checkpoint_loads_through_the_auto_classes(family, tmp_path):
    folder = ROOT / family / "full"
    reference = torch.load(ROOT / family / "reference.pt", weights_only=True)
    model = AutoModelForImageTextToText.from_pretrained(folder).eval()
    processor = AutoProcessor.from_pretrained(folder)
    assert type(model) is FAMILIES[family].for_generation_class
    assert type(processor) is FAMILIES[family].processor_class
    assert model.config.num_video_tokens == processor.num_video_tokens
    check_against_reference(model, processor, reference)
    # Saved again, it loads again, the same.
    model.save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    again = AutoModelForImageTextToText.from_pretrained(tmp_path).eval()
    check_against_reference(again, AutoProcessor.from_pretrained(tmp_path), reference)


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_a_legacy_linvt_only_checkpoint_loads_onto_its_image_llm(family):
    reference = torch.load(ROOT / family / "reference.pt", weights_only=True)
    model = LinVTForConditionalGeneration.from_video_tokenizer(
        ROOT / family / "linvt_only", image_llm_name_or_path=str(ROOT / family / "image_llm")
    ).eval()
    assert type(model) is FAMILIES[family].for_generation_class
    processor = LinVTProcessor.from_pretrained(ROOT / family / "full")
    check_against_reference(model, processor, reference)


def test_the_shipped_demo_model_is_a_legacy_checkpoint_that_loads():
    model = AutoModelForImageTextToText.from_pretrained(linvt_hf.demo_model_path())
    assert type(model) is FAMILIES["internvl"].for_generation_class
    assert model.config.video_tokenizer_config.num_queries == [16, 8, 4]
