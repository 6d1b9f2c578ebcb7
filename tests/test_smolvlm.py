"""SmolVLM / SmolVLM2 with LinVT (tiny random models, offline): frames through SmolVLM's own image path, the video
placeholder token, both training stages. (The family-wide checks, text and image logits equal to SmolVLM's own
included, are in test_families.py, test_model_contracts.py and test_transformers_common.py.)
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from family_checks import check_both_training_stages_step
from fake_hub import native_image_llm
from linvt_hf import LinVTSmolVLMForConditionalGeneration, LinVTSmolVLMProcessor
from linvt_hf.processing.smolvlm import tiny_processor_parts
from linvt_hf.testing import make_tiny_tokenizer
from linvt_hf.testing.tiny_models import make_tiny

TOL = 1e-5


def _chat(processor, content: list) -> dict:
    return processor.apply_chat_template(
        [[{"role": "user", "content": content}]], add_generation_prompt=True, tokenize=True, return_dict=True,
        return_tensors="pt",
    )


def _frames(num_frames: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(num_frames, 48, 64, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def tiny():
    return make_tiny("smolvlm")


def test_frames_are_smolvlm_global_image_views_through_its_image_path(tiny):
    """A frame is prepared as SmolVLM prepares an image's global view (unsplit, `max_image_size` square), and its
    tokens are what SmolVLM's own image path (vision encoder, pixel shuffle, projection) gives that view."""
    model, processor = tiny
    frames = _frames(3)
    inputs = _chat(processor, [{"type": "video", "video": frames}, {"type": "text", "text": "what is it"}])
    views = processor.image_processor(
        [[Image.fromarray(frame) for frame in frames]], do_image_splitting=False, return_tensors="pt"
    )["pixel_values"][0]
    torch.testing.assert_close(inputs["pixel_values_videos"], views, rtol=0, atol=TOL)
    with torch.no_grad():
        (tokens,) = model.model.frame_features(inputs["pixel_values_videos"], None, [3])
        native = native_image_llm(model).model.get_image_features(views[None], return_dict=True).pooler_output[0]
    assert tokens.shape == (3, processor.image_seq_len, model.config.text_config.hidden_size)
    torch.testing.assert_close(tokens.flatten(0, 1), native, rtol=0, atol=TOL)


def test_video_prompt_is_one_global_view_of_video_tokens(tiny):
    model, processor = tiny
    inputs = _chat(processor, [{"type": "video", "video": _frames(5)}, {"type": "text", "text": "what is it"}])
    text = processor.tokenizer.decode(inputs["input_ids"][0])
    block = "<fake_token_around_image><global-img>" + "<video>" * model.config.num_video_tokens
    assert block + "<fake_token_around_image>what is it<end_of_utterance>" in text
    assert "<image>" not in text and "Frame from" not in text  # not SmolVLM's frame-by-frame video prompt


def test_a_tokenizer_without_a_video_token_gets_one():
    """SmolVLM tokenizers may lack `<video>`: the processor adds it to a copy, and `from_backbone` reads the same id."""
    tokenizer = make_tiny_tokenizer("qwen2_vl")  # a tokenizer with no `<video>`
    tokenizer.add_tokens(["<fake_token_around_image>", "<image>", "<global-img>", "<end_of_utterance>"], True)
    parts = tiny_processor_parts()
    processor = LinVTSmolVLMProcessor(
        parts["image_processor"], tokenizer, image_seq_len=4, chat_template=parts["chat_template"]
    )
    assert "<video>" not in tokenizer.get_vocab() and processor.tokenizer is not tokenizer
    assert processor.video_token_id == len(tokenizer) == len(processor.tokenizer) - 1
    with pytest.raises(ValueError, match="LinVT-SmolVLM: video_token_id .* is the image token's id"):
        make_tiny("smolvlm")[0].config.__class__(image_token_id=5, video_token_id=5)


def test_video_token_id_of_a_checkpoint_without_one(tmp_path):
    tokenizer = make_tiny_tokenizer("qwen2_vl")
    tokenizer.save_pretrained(tmp_path)
    assert LinVTSmolVLMForConditionalGeneration.video_token_id_of(tmp_path) == len(tokenizer)
    with pytest.raises(ValueError, match="LinVT-SmolVLM: the image-LLM's config has no video token"):
        LinVTSmolVLMForConditionalGeneration.video_token_id_of(None)


def test_video_inputs_of_another_layout_are_refused(tiny):
    model, processor = tiny
    inputs = _chat(processor, [{"type": "video", "video": _frames(2)}, {"type": "text", "text": "what"}])
    for wrong in (torch.zeros(2, 3, 48, 48), torch.zeros(8, 1536)):  # another size; Qwen's patch rows
        expected = r"LinVT-SmolVLM: pixel_values_videos must be frames of shape \[num_frames, 3, 32, 32\]"
        with pytest.raises(ValueError, match=expected):
            model(**{**inputs, "pixel_values_videos": wrong})


def test_both_training_stages_step():
    """Stage 1 trains LinVT alone; stage 2 LoRA on SmolVLM's LLM (`model.text_model`) and LinVT: a step of each
    changes exactly those weights."""
    model, processor = make_tiny("smolvlm")
    inputs = _chat(processor, [{"type": "video", "video": _frames(4)}, {"type": "text", "text": "what is it"}])
    check_both_training_stages_step(model, inputs, llm="text_model")


def test_another_familys_checkpoint_or_processor_is_refused(tmp_path):
    other, other_processor = make_tiny("qwen3_vl")
    other.save_pretrained(tmp_path / "linvt")
    native_image_llm(other).save_pretrained(tmp_path / "image_llm")
    with pytest.raises(ValueError, match="LinVTSmolVLMConfig .* cannot load a 'linvt_qwen3_vl' checkpoint"):
        LinVTSmolVLMForConditionalGeneration.from_pretrained(tmp_path / "linvt")
    with pytest.raises(TypeError, match="LinVTSmolVLMConfig extends a SmolVLMConfig, got a Qwen3VLConfig"):
        LinVTSmolVLMForConditionalGeneration.from_backbone(str(tmp_path / "image_llm"), video_token_id=1)
    with pytest.raises(TypeError, match="LinVTSmolVLMProcessor extends SmolVLMProcessor, got a LinVTQwen3VLProcessor"):
        LinVTSmolVLMProcessor.from_backbone(other_processor)
