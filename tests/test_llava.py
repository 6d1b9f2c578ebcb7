"""What is the LLaVA family's own (the shared family tests run it too): a `<video>` token for tokenizers without one,
and bad input refused with errors naming LinVT-LLaVA. The tiny model is Mipha-shaped (SigLIP tower, Phi LLM)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tokenizers import AddedToken
from transformers import LlavaProcessor, PhiModel, SiglipVisionModel

from fake_hub import native_image_llm
from linvt_hf import LinVTLlavaConfig, LinVTLlavaForConditionalGeneration, LinVTLlavaProcessor, LinVTProcessor
from linvt_hf.processing.llava import LLAVA_CHAT_TEMPLATE
from linvt_hf.testing import make_tiny, make_tiny_image_processor, make_tiny_processor, make_tiny_tokenizer


@pytest.fixture(scope="module")
def tiny():
    model, processor = make_tiny("llava")
    return model, processor


def _video_prompt(processor, num_frames: int = 4, **extra) -> dict:
    video = np.random.default_rng(0).integers(0, 256, size=(num_frames, 40, 56, 3), dtype=np.uint8)
    content = [{"type": "video", "video": video}, *extra.get("items", []), {"type": "text", "text": "what is it"}]
    return processor.apply_chat_template(
        [{"role": "user", "content": content}], add_generation_prompt=True, tokenize=True, return_dict=True,
        return_tensors="pt",
    )


def test_the_tiny_model_is_mipha_shaped(tiny):
    model, processor = tiny
    assert isinstance(model.model.vision_tower, SiglipVisionModel) and isinstance(model.model.language_model, PhiModel)
    # SigLIP has no CLS token: every patch token is kept, for images and frames alike.
    assert model.config.vision_feature_select_strategy == "full"
    inputs = _video_prompt(processor)
    with torch.no_grad():
        features = model.get_video_features(**inputs)
    assert features.frame_token_grids == [(2, 2)]
    assert features.video_tokens.shape == (1, model.config.num_video_tokens, model.config.text_config.hidden_size)


def _tokenizer_without_video_token():
    tokenizer = make_tiny_tokenizer("qwen2_vl")  # Qwen2-VL's tokens: no "<image>" nor "<video>"
    tokenizer.add_tokens([AddedToken("<image>", special=True, normalized=False)], special_tokens=True)
    return tokenizer


def test_a_tokenizer_without_video_token_gets_one(tmp_path):
    tokenizer = _tokenizer_without_video_token()
    length = len(tokenizer)
    llava = LlavaProcessor(
        image_processor=make_tiny_image_processor("llava"), tokenizer=tokenizer, patch_size=14,
        vision_feature_select_strategy="full", chat_template=LLAVA_CHAT_TEMPLATE,
    )
    processor = LinVTProcessor.from_backbone(llava, num_video_tokens=8, video_processor_kwargs={"shot_detector": "none"})
    assert type(processor) is LinVTLlavaProcessor
    assert processor.video_token_id == length and len(processor.tokenizer) == length + 1
    assert len(tokenizer) == length and "<video>" not in tokenizer.get_vocab()  # the given tokenizer is left alone
    inputs = _video_prompt(processor)
    assert int((inputs["input_ids"] == processor.video_token_id).sum()) == 8
    assert inputs["question_mask"].sum() > 0
    # The model reads the same id off the image-LLM's tokenizer (which lacks the token).
    tokenizer.save_pretrained(tmp_path)
    assert LinVTLlavaForConditionalGeneration.video_token_id_of(tmp_path) == processor.video_token_id
    processor.save_pretrained(tmp_path / "saved")
    again = LinVTProcessor.from_pretrained(tmp_path / "saved")
    assert type(again) is LinVTLlavaProcessor and again.video_token_id == processor.video_token_id


def test_config_refuses_a_video_token_it_cannot_place(tiny):
    model, _ = tiny
    values = model.config.to_dict()
    with pytest.raises(ValueError, match="LinVT-LLaVA: video_token_id .* is the image token's id"):
        LinVTLlavaConfig(**{**values, "video_token_id": model.config.image_token_id})
    vocab_size = model.config.text_config.vocab_size
    with pytest.raises(ValueError, match=rf"LinVT-LLaVA: video_token_id {vocab_size} is outside .* resize"):
        LinVTLlavaConfig(**{**values, "video_token_id": vocab_size})
    with pytest.raises(ValueError, match="LinVT-LLaVA: the image-LLM's config has no video token: pass video_token_id="):
        LinVTLlavaForConditionalGeneration.from_backbone(native_image_llm(model))


def test_another_familys_checkpoints_are_refused(tmp_path):
    other, _ = make_tiny("internvl")
    other.save_pretrained(tmp_path / "linvt")
    with pytest.raises(ValueError, match="LinVTLlavaConfig .* cannot load a 'linvt_internvl' checkpoint"):
        LinVTLlavaForConditionalGeneration.from_pretrained(tmp_path / "linvt")
    native_image_llm(other).save_pretrained(tmp_path / "image_llm")
    with pytest.raises(TypeError, match="LinVTLlavaConfig extends a LlavaConfig, got a InternVLConfig"):
        LinVTLlavaForConditionalGeneration.from_backbone(str(tmp_path / "image_llm"), video_token_id=1)
    with pytest.raises(TypeError, match="LinVTLlavaForConditionalGeneration extends LlavaForConditionalGeneration"):
        LinVTLlavaForConditionalGeneration.from_backbone(native_image_llm(other), video_token_id=1)


def test_another_familys_processor_is_refused():
    with pytest.raises(TypeError, match="LinVTLlavaProcessor extends LlavaProcessor, got a InternVLProcessor"):
        LinVTLlavaProcessor.from_backbone(make_tiny_processor("internvl"))


def test_frames_of_the_wrong_shape_are_refused(tiny):
    model, processor = tiny
    inputs = _video_prompt(processor)
    frames = inputs["pixel_values_videos"]
    for wrong in (torch.nn.functional.interpolate(frames, size=(56, 56)), frames[:, :2], frames[None]):
        expected = r"LinVT-LLaVA: pixel_values_videos must be frames of shape \[num_frames, 3"
        with pytest.raises(ValueError, match=expected):
            model(**{**inputs, "pixel_values_videos": wrong})


def test_image_placeholders_must_be_unambiguous_with_video():
    # LLaVA places images by comparing embeddings with the image token's (LinVT hands it `inputs_embeds`): a prompt
    # token sharing that embedding is refused rather than taken for an image.
    model, processor = make_tiny("llava")
    image = np.random.default_rng(1).integers(0, 256, size=(40, 56, 3), dtype=np.uint8)
    inputs = _video_prompt(processor, items=[{"type": "image", "image": image}])
    embeddings = model.get_input_embeddings().weight
    with torch.no_grad():
        embeddings[inputs["input_ids"][0, 0]] = embeddings[processor.image_token_id]
    with pytest.raises(ValueError, match="shares its embedding"):
        model(**inputs)


def test_both_training_stages(tmp_path):
    """Stage 1 trains LinVT alone (both loss terms); stage 2 puts LoRA on Phi's linear layers only, trains it with
    LinVT, and merges back into a plain LinVT-LLaVA model that answers as the adapter did."""
    from linvt_hf.training import merge_stage2, prepare_stage1, prepare_stage2
    from linvt_hf.training.stages import language_model_linear_names

    model, processor = make_tiny("llava")
    processor.tokenizer.padding_side = "left"
    videos = np.random.default_rng(2).integers(0, 256, size=(2, 4, 40, 56, 3), dtype=np.uint8)
    conversations = [
        [{"role": "user", "content": [{"type": "video", "video": video}, {"type": "text", "text": text}]}]
        for video, text in zip(videos, ("what is it", "describe the scene"))
    ]
    inputs = processor.apply_chat_template(
        conversations, add_generation_prompt=True, tokenize=True, return_dict=True, return_tensors="pt",
        processor_kwargs={"padding": True},
    )
    labels = inputs["input_ids"].masked_fill(inputs["input_ids"] == model.config.video_token_id, -100)
    labels = labels.masked_fill(inputs["attention_mask"] == 0, -100)
    prepare_stage1(model)  # (a caption per video, two videos: the contrastive term has a negative)
    outputs = model(**inputs, labels=labels, caption_mask=inputs["question_mask"])
    (outputs.loss + outputs.contrastive_loss).backward()
    trained = {name for name, p in model.named_parameters() if p.grad is not None and p.grad.any()}
    assert "video_text_logit_scale" in trained and any(n.startswith("model.video_tokenizer.") for n in trained)
    assert all(n.startswith("model.video_tokenizer.") or n == "video_text_logit_scale" for n in trained)

    model, _ = make_tiny("llava")
    llm_linears = set(language_model_linear_names(model))
    assert {name.rsplit(".", 1)[-1] for name in llm_linears} == {"q_proj", "k_proj", "v_proj", "dense", "fc1", "fc2"}
    peft_model = prepare_stage2(model)
    base = peft_model.get_base_model()
    assert {name for name, module in base.named_modules() if hasattr(module, "lora_A")} == llm_linears
    optimizer = torch.optim.SGD([p for p in peft_model.parameters() if p.requires_grad], lr=0.05)
    for _ in range(2):
        optimizer.zero_grad()
        peft_model(**inputs, labels=labels).loss.backward()
        optimizer.step()
    assert all(not p.requires_grad for module in base.vision_modules() for p in module.parameters())
    peft_model.eval()
    with torch.no_grad():
        expected = peft_model(**inputs).logits
        merged = merge_stage2(peft_model).eval()
        assert type(merged) is LinVTLlavaForConditionalGeneration
        torch.testing.assert_close(merged(**inputs).logits, expected, rtol=1e-4, atol=1e-4)


def test_llava_1_5_shaped_clip_tower():
    """LLaVA-1.5's layout: a CLIP tower (a CLS token, which the "default" strategy drops; "full" keeps it, and a
    frame's tokens are then no grid but one row) and CLIP's image processor (shortest edge, then a centre crop: frames
    are resized to the crop size). Images are the image-LLM's own."""
    from transformers import AutoConfig, CLIPImageProcessorPil, LlavaForConditionalGeneration, LlavaProcessor

    from linvt_hf.testing import tiny_linvt_config, tiny_text_config

    image_processor = CLIPImageProcessorPil(size={"shortest_edge": 28}, crop_size={"height": 28, "width": 28})
    llava = LlavaProcessor(
        image_processor=image_processor, tokenizer=make_tiny_tokenizer("llava"), patch_size=14,
        vision_feature_select_strategy="default", num_additional_image_tokens=1, chat_template=LLAVA_CHAT_TEMPLATE,
    )
    processor = LinVTProcessor.from_backbone(llava, num_video_tokens=8, video_processor_kwargs={"shot_detector": "none"})
    assert dict(processor.video_processor.size) == {"height": 28, "width": 28}
    vision = dict(model_type="clip_vision_model", hidden_size=32, intermediate_size=48, num_hidden_layers=1,
                  num_attention_heads=2, image_size=28, patch_size=14)
    image_llm_config = AutoConfig.for_model(
        "llava", vision_config=vision, text_config=tiny_text_config(processor.tokenizer),
        image_token_index=processor.image_token_id, vision_feature_layer=-1, vision_feature_select_strategy="default",
    )
    torch.manual_seed(0)
    native = LlavaForConditionalGeneration(image_llm_config).eval()
    model = LinVTLlavaForConditionalGeneration.from_backbone(
        native, video_tokenizer_config=tiny_linvt_config(), video_token_id=processor.video_token_id
    )
    image = np.random.default_rng(1).integers(0, 256, size=(40, 56, 3), dtype=np.uint8)
    inputs = _video_prompt(processor, items=[{"type": "image", "image": image}])
    with torch.no_grad():
        features = model(**inputs).video_features
        assert features.frame_token_grids == [(2, 2)]
        assert features.tokenizer_outputs[0].significance_scores.shape[-1] == 4
        image_only = processor.apply_chat_template(
            [{"role": "user", "content": [{"type": "image", "image": image}, {"type": "text", "text": "what"}]}],
            add_generation_prompt=True, tokenize=True, return_dict=True, return_tensors="pt",
        )
        expected = native(**{k: v for k, v in image_only.items() if k != "question_mask"}).logits
        assert torch.equal(model(**image_only).logits, expected)
        model.config.vision_feature_select_strategy = "full"
        features = model.get_video_features(**inputs)
        assert features.frame_token_grids == [(1, 5)]
        assert features.tokenizer_outputs[0].significance_scores.shape[-1] == 5


def test_mipha_lm_head_bias(tmp_path):
    """Mipha's LLM is Phi with its own LM head, which has a bias (transformers' LLaVA head has none):
    `lm_head_bias=True` in the image-LLM's config gives the LinVT model that head, loaded from the checkpoint, and its
    text logits are then Phi's own (`PhiForCausalLM` on the same weights)."""
    import json

    from safetensors.torch import load_file, save_file
    from transformers import PhiForCausalLM

    from linvt_hf.testing import tiny_linvt_config

    model, processor = make_tiny("llava")
    native_image_llm(model).save_pretrained(tmp_path)
    processor.tokenizer.save_pretrained(tmp_path)
    weights = load_file(tmp_path / "model.safetensors")
    head = next(key for key in weights if key.endswith("lm_head.weight"))
    bias = torch.randn(weights[head].shape[0])
    save_file({**weights, head.replace("weight", "bias"): bias}, tmp_path / "model.safetensors", metadata={"format": "pt"})
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "lm_head_bias": True}))

    linvt, info = LinVTLlavaForConditionalGeneration.from_backbone(
        str(tmp_path), video_tokenizer_config=tiny_linvt_config(), output_loading_info=True
    )
    assert not info["unexpected_keys"] and not info["mismatched_keys"]
    assert linvt.config.lm_head_bias and torch.equal(linvt.lm_head.bias, bias)
    phi = PhiForCausalLM(linvt.config.text_config).eval()
    phi.model.load_state_dict(linvt.model.language_model.state_dict())
    phi.lm_head.load_state_dict(linvt.lm_head.state_dict())
    inputs = processor.tokenizer(["describe the scene"], return_tensors="pt")
    with torch.no_grad():
        assert torch.equal(linvt.eval()(**inputs).logits, phi(**inputs).logits)
        assert torch.isfinite(linvt(**_video_prompt(processor)).logits).all()
    linvt.save_pretrained(tmp_path / "linvt")
    loaded = LinVTLlavaForConditionalGeneration.from_pretrained(tmp_path / "linvt")
    assert torch.equal(loaded.lm_head.bias, bias)
