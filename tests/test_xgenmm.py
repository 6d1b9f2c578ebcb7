"""xGen-MM (BLIP-3) with LinVT (tiny random models, offline): linvt-hf's own port of the image-LLM (config, model
and processor in transformers' Auto classes), frames through its image path (SigLIP, then the Perceiver resampler),
text and image logits equal to the port's own, both training stages. (Family-wide checks: test_model_contracts.py,
test_model_regressions.py, test_transformers_common.py; the port against Salesforce's original code:
test_conversions.py.)
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from transformers import AutoModelForImageTextToText, AutoProcessor

from family_checks import check_both_training_stages_step
from fake_hub import native_image_llm
from linvt_hf import (
    LinVTProcessor,
    LinVTXGenMMForConditionalGeneration,
    XGenMMConfig,
    XGenMMForConditionalGeneration,
    XGenMMProcessor,
)
from linvt_hf.testing import make_tiny_processor, make_tiny_tokenizer
from linvt_hf.testing.tiny_models import make_tiny, tiny_linvt_config

TOL = 1e-5
SYSTEM = (
    "<|system|>\nA chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, "
    "detailed, and polite answers to the user's questions.<|end|>\n"
)


def _chat(processor, content: list) -> dict:
    return processor.apply_chat_template(
        [[{"role": "user", "content": content}]], add_generation_prompt=True, tokenize=True, return_dict=True,
        return_tensors="pt",
    )


def _frames(num_frames: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(num_frames, 48, 64, 3), dtype=np.uint8)


def _image(seed: int = 0) -> Image.Image:
    return Image.fromarray(np.random.default_rng(100 + seed).integers(0, 256, size=(40, 70, 3), dtype=np.uint8))


@pytest.fixture(scope="module")
def tiny():
    return make_tiny("xgenmm")


def test_the_port_loads_through_the_auto_classes_and_linvt_keeps_its_logits(tiny, tmp_path):
    """A saved xGen-MM (the port's own classes) loads with AutoModelForImageTextToText / AutoProcessor; LinVT built
    from that folder gives its text and image logits exactly."""
    model, _ = tiny
    native_image_llm(model).save_pretrained(tmp_path)
    make_tiny_processor("xgenmm").save_pretrained(tmp_path)
    native = AutoModelForImageTextToText.from_pretrained(tmp_path).eval()
    assert type(native) is XGenMMForConditionalGeneration
    assert type(AutoProcessor.from_pretrained(tmp_path)) is XGenMMProcessor
    linvt = LinVTXGenMMForConditionalGeneration.from_backbone(tmp_path, video_tokenizer_config=tiny_linvt_config())
    linvt.eval()
    processor = LinVTProcessor.from_backbone(tmp_path, num_video_tokens=linvt.config.num_video_tokens)
    image = {"type": "image", "image": _image()}
    for content in ([{"type": "text", "text": "what is it"}], [image, {"type": "text", "text": "what"}]):
        inputs = _chat(processor, content)
        inputs.pop("question_mask")
        with torch.no_grad():
            torch.testing.assert_close(linvt(**inputs).logits, native(**inputs).logits, rtol=0, atol=TOL)


def test_prompts_are_xgenmm_instructs_and_frames_go_through_its_image_path(tiny):
    """Phi-3's conversation with xGen-MM's system prompt; an image is `num_vision_tokens` `<image>` tokens; a frame is
    resized as an image is, and its tokens are the port's image features of that frame (SigLIP + resampler)."""
    model, processor = tiny
    inputs = _chat(processor, [{"type": "image", "image": _image()}, {"type": "text", "text": "what is it"}])
    text = processor.tokenizer.decode(inputs["input_ids"][0])
    assert text == SYSTEM + "<|user|>\n" + "<image>" * 6 + "\nwhat is it<|end|>\n<|assistant|>\n"
    frames = _frames(3)
    inputs = _chat(processor, [{"type": "video", "video": frames}, {"type": "text", "text": "what is it"}])
    question = processor.tokenizer.decode(inputs["input_ids"][0][inputs["question_mask"][0].bool()])
    assert question.strip() == "what is it"
    views = processor.image_processor([Image.fromarray(frame) for frame in frames], return_tensors="pt")["pixel_values"]
    torch.testing.assert_close(inputs["pixel_values_videos"], views, rtol=0, atol=TOL)
    with torch.no_grad():
        (tokens,) = model.model.frame_features(inputs["pixel_values_videos"], None, [3])
        native = native_image_llm(model).model.get_image_features(views, return_dict=True).pooler_output
    assert tokens.shape == (3, model.config.num_vision_tokens, model.config.text_config.hidden_size)
    torch.testing.assert_close(tokens, torch.stack(native), rtol=0, atol=TOL)


def test_bad_inputs_and_settings_are_refused(tiny):
    model, processor = tiny
    inputs = _chat(processor, [{"type": "image", "image": _image()}, {"type": "text", "text": "what"}])
    native = native_image_llm(model)
    with pytest.raises(ValueError, match=r"1 image\(s\) make 6 image tokens but the prompts hold 12 <image>"):
        native(input_ids=torch.cat([inputs["input_ids"]] * 2, 1), pixel_values=inputs["pixel_values"])
    with pytest.raises(ValueError, match=r"pixel_values_videos must be frames of shape \[num_frames, 3, 28, 28\]"):
        video = _chat(processor, [{"type": "video", "video": _frames(2)}, {"type": "text", "text": "what"}])
        model(**{**video, "pixel_values_videos": torch.zeros(2, 3, 32, 32)})
    with pytest.raises(ValueError, match="resampler_depth must be a positive int, got 0"):
        XGenMMConfig(resampler_depth=0)
    with pytest.raises(ValueError, match="the tokenizer has no image token '<image>'"):
        XGenMMProcessor(processor.image_processor, make_tiny_tokenizer("qwen2_vl"))


def test_both_training_stages_step():
    """Stage 1 trains LinVT alone; stage 2 LoRA on the Phi-3 LLM (`model.language_model`) and LinVT; SigLIP and the
    resampler stay frozen."""
    model, processor = make_tiny("xgenmm")
    inputs = _chat(processor, [{"type": "video", "video": _frames(4)}, {"type": "text", "text": "what is it"}])
    check_both_training_stages_step(model, inputs, llm="language_model")