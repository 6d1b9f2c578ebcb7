"""Molmo (v1, allenai's Molmo-7B-D) with LinVT (tiny random models, offline): linvt-hf's own port of the image-LLM
(config, model and processors in transformers' Auto classes), Molmo's multi-crop image prompts, frames through its
image path (the CLIP ViT, attention pooling, the projector), text and image logits equal to the port's own, Molmo's
added tokens never predicted, both training stages. (Family-wide checks: test_model_contracts.py,
test_model_regressions.py, test_transformers_common.py; the port against allenai's original code:
test_conversions.py.)
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from transformers import AutoConfig, AutoModelForImageTextToText, AutoProcessor

from family_checks import check_both_training_stages_step
from fake_hub import native_image_llm
from linvt_hf import (
    LinVTMolmoForConditionalGeneration,
    LinVTProcessor,
    MolmoConfig,
    MolmoForConditionalGeneration,
    MolmoImageProcessor,
    MolmoProcessor,
)
from linvt_hf.testing import make_tiny_processor, make_tiny_tokenizer, tiny_image_llm_config
from linvt_hf.testing.tiny_models import make_tiny, tiny_linvt_config

TOL = 1e-5
GLOBAL_VIEW = "<im_start><im_patch><im_col><im_end>"  # 28x28 crops of 2x2 patches, 2x2 pooling: one token


def _chat(processor, content: list) -> dict:
    return processor.apply_chat_template(
        [[{"role": "user", "content": content}]], add_generation_prompt=True, tokenize=True, return_dict=True,
        return_tensors="pt",
    )


def _frames(num_frames: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(num_frames, 48, 64, 3), dtype=np.uint8)


def _image(seed: int = 0, size: tuple[int, int] = (40, 70)) -> Image.Image:
    return Image.fromarray(np.random.default_rng(100 + seed).integers(0, 256, size=(*size, 3), dtype=np.uint8))


@pytest.fixture(scope="module")
def tiny():
    return make_tiny("molmo")


def test_the_port_loads_through_the_auto_classes_and_linvt_keeps_its_logits(tiny, tmp_path):
    """A saved Molmo (the port's own classes) loads with AutoModelForImageTextToText / AutoProcessor; LinVT built
    from that folder gives its text and image logits exactly."""
    model, _ = tiny
    native_image_llm(model).save_pretrained(tmp_path)
    make_tiny_processor("molmo").save_pretrained(tmp_path)
    native = AutoModelForImageTextToText.from_pretrained(tmp_path).eval()
    assert type(native) is MolmoForConditionalGeneration
    loaded = AutoProcessor.from_pretrained(tmp_path)
    assert type(loaded) is MolmoProcessor and type(loaded.image_processor) is MolmoImageProcessor
    linvt = LinVTMolmoForConditionalGeneration.from_backbone(tmp_path, video_tokenizer_config=tiny_linvt_config())
    linvt.eval()
    processor = LinVTProcessor.from_backbone(tmp_path, num_video_tokens=linvt.config.num_video_tokens)
    image = {"type": "image", "image": _image()}
    for content in ([{"type": "text", "text": "what is it"}], [image, {"type": "text", "text": "what"}]):
        inputs = _chat(processor, content)
        inputs.pop("question_mask")
        with torch.no_grad():
            torch.testing.assert_close(linvt(**inputs).logits, native(**inputs).logits, rtol=0, atol=TOL)


def test_prompts_are_molmos_and_frames_go_through_its_image_path(tiny):
    """Molmo's " User: ... Assistant:" after its BOS; a 40x70 image is its global view and a 1x2 tiling (28-pixel
    crops, at most 2): two crop blocks of `<im_patch>` rows closed by `<im_col>`; a frame is one crop whose tokens are
    the port's image features of that frame (CLIP, pooling, projector)."""
    model, processor = tiny
    inputs = _chat(processor, [{"type": "image", "image": _image()}, {"type": "text", "text": "what is it"}])
    text = processor.tokenizer.decode(inputs["input_ids"][0])
    tiles = "<im_start><im_patch><im_patch><im_col><im_end>"
    assert text == "<|endoftext|>" + GLOBAL_VIEW + tiles + " User: what is it Assistant:"
    assert inputs["pixel_values"].shape == (3, 3, 28, 28) and inputs["image_num_crops"].tolist() == [3]
    assert inputs["image_patch_order"].flatten().tolist() == [0, 1, 2]
    frames = _frames(3)
    inputs = _chat(processor, [{"type": "video", "video": frames}, {"type": "text", "text": "what is it"}])
    question = processor.tokenizer.decode(inputs["input_ids"][0][inputs["question_mask"][0].bool()])
    assert question.strip() == "what is it"
    views = inputs["pixel_values_videos"]
    assert views.shape == (3, 3, 28, 28)
    with torch.no_grad():
        (tokens,) = model.model.frame_features(views, None, [3])
        native = native_image_llm(model).model.get_image_features(views, return_dict=True).pooler_output
    assert tokens.shape == (3, 1, model.config.text_config.hidden_size)
    torch.testing.assert_close(tokens, torch.stack(native), rtol=0, atol=TOL)


def test_the_released_crop_settings_number_every_kept_token_once():
    """At Molmo-7B-D's settings (336-pixel crops, 4-patch overlap margins, up to 12 tiles) a 400x900 image is a 2x4
    tiling: the prompt's `<im_patch>` tokens are exactly the kept crop tokens, numbered once each. A call may lower
    `max_crops`, not change the crop geometry."""
    processor = MolmoImageProcessor()
    image = Image.fromarray(np.zeros((400, 900, 3), dtype=np.uint8))
    assert processor(image, max_crops=4)["image_num_crops"].tolist() == [4]
    with pytest.raises(TypeError, match=r"\['size'\] are the crop geometry"):
        processor(image, size={"height": 224, "width": 224})
    out = processor(image, return_tensors="pt")
    assert out["image_grids"].tolist() == [[20, 36]] and out["image_num_crops"].tolist() == [9]
    assert out["pixel_values"].shape == (9, 3, 336, 336) and out["image_masks"].shape == (9, 576)
    order = out["image_patch_order"]
    kept = order[order >= 0]
    assert kept.sort().values.tolist() == list(range(144 + 20 * 36))
    prompt = processor.image_tokens(tuple(out["image_grids"][0].tolist()))
    assert prompt.count("<im_patch>") == kept.numel() and prompt.count("<im_col>") == 12 + 20


def test_molmos_added_tokens_are_never_predicted(tiny):
    """The original LM head has no rows for Molmo's added tokens: their logits are the dtype's minimum."""
    _, processor = tiny
    values = tiny_image_llm_config("molmo", processor).to_dict()
    values.update(additional_vocab_start=values["text_config"]["vocab_size"] - 4, additional_vocab_size=4)
    torch.manual_seed(0)
    model = MolmoForConditionalGeneration(MolmoConfig(**values)).eval()
    ids = processor.tokenizer("what is it", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        logits = model(input_ids=ids).logits
        expected = model.lm_head(model.model(input_ids=ids).last_hidden_state)
    assert (logits[..., -4:] == torch.finfo(logits.dtype).min).all()
    torch.testing.assert_close(logits[..., :-4], expected[..., :-4], rtol=0, atol=0)


def test_bad_inputs_and_settings_are_refused(tiny, tmp_path):
    model, processor = tiny
    inputs = _chat(processor, [{"type": "image", "image": _image()}, {"type": "text", "text": "what"}])
    native = native_image_llm(model)
    images = {key: inputs[key] for key in ("pixel_values", "image_masks", "image_patch_order", "image_num_crops")}
    with pytest.raises(ValueError, match=r"the images make 3 image tokens but the prompts hold 6 <im_patch>"):
        native(input_ids=torch.cat([inputs["input_ids"]] * 2, 1), **images)
    with pytest.raises(ValueError, match=r"image_num_crops \[2\] does not sum to the 3 crops"):
        native(input_ids=inputs["input_ids"], **{**images, "image_num_crops": torch.tensor([2])})
    with pytest.raises(ValueError, match="must number its kept tokens 0 .. n-1"):
        native(input_ids=inputs["input_ids"], **{**images, "image_patch_order": torch.tensor([[0], [0], [2]])})
    with pytest.raises(ValueError, match="images with num_beams=2 / num_return_sequences=1 are not supported"):
        model.generate(**inputs, num_beams=2, max_new_tokens=1)
    with pytest.raises(ValueError, match=r"pixel_values_videos must be frames of shape \[num_frames, 3, 28, 28\]"):
        video = _chat(processor, [{"type": "video", "video": _frames(2)}, {"type": "text", "text": "what"}])
        model(**{**video, "pixel_values_videos": torch.zeros(2, 3, 32, 32)})
    with pytest.raises(ValueError, match="vit_layers must be layer indices of the 23-layer ViT"):
        MolmoConfig(vit_layers=[-24])
    with pytest.raises(ValueError, match="pooling_size must be two positive ints"):
        MolmoConfig(pooling_size=[2, 0])
    with pytest.raises(ValueError, match="overlap_margins .* must be multiples of pooling_size"):
        MolmoImageProcessor(overlap_margins=[3, 3])
    with pytest.raises(ValueError, match="images must be 8-bit RGB"):
        processor.image_processor(np.zeros((30, 30, 3), dtype=np.float32))
    with pytest.raises(ValueError, match=r"the tokenizer has no \[.*'<im_patch>', '<im_col>'\]"):
        MolmoProcessor(processor.image_processor, make_tiny_tokenizer("qwen2_vl"))
    # allenai's remote-code checkpoint says model_type "molmo" too: its config is refused, naming the conversion.
    remote = {"model_type": "molmo", "embedding_size": 152064, "qkv_bias": True}
    (tmp_path / "config.json").write_text(json.dumps(remote))
    with pytest.raises(ValueError, match="linvt-hf convert --from molmo"):
        AutoConfig.from_pretrained(tmp_path)


def test_both_training_stages_step():
    """Stage 1 trains LinVT alone; stage 2 LoRA on the Qwen2 LLM (`model.language_model`) and LinVT; the ViT and
    the connector stay frozen."""
    model, processor = make_tiny("molmo")
    inputs = _chat(processor, [{"type": "video", "video": _frames(4)}, {"type": "text", "text": "what is it"}])
    check_both_training_stages_step(model, inputs, llm="language_model")
