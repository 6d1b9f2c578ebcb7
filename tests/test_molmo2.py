"""Molmo2 with LinVT (tiny random models, offline): frames through Molmo2's own image path (its low-resolution crop),
the video prompt and its attention types, the config's own video token, the torchvision-free image processor, a
Molmo2 checkpoint folder, a mixed batch, both training stages. (The family-wide checks, text and image logits equal
to Molmo2's own included, are in test_model_contracts.py, test_model_regressions.py and test_transformers_common.py.)
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from transformers.image_utils import SizeDict
from transformers.models.molmo2.image_processing_molmo2 import batch_pixels_to_patches

from family_checks import check_both_training_stages_step
from fake_hub import native_image_llm
from linvt_hf import (
    LinVTForConditionalGeneration,
    LinVTMolmo2ForConditionalGeneration,
    LinVTMolmo2ImageProcessor,
    LinVTMolmo2Processor,
    LinVTProcessor,
)
from linvt_hf.testing import make_tiny_processor
from linvt_hf.testing.tiny_models import make_tiny, tiny_linvt_config

TOL = 1e-5


def _chat(processor, conversations: list, **kwargs) -> dict:
    return processor.apply_chat_template(
        conversations, add_generation_prompt=True, tokenize=True, return_dict=True, return_tensors="pt",
        processor_kwargs={"padding": True}, **kwargs,
    )


def _turn(*items: dict, text: str = "what is it") -> list[dict]:
    return [{"role": "user", "content": [*items, {"type": "text", "text": text}]}]


def _frames(num_frames: int, size: tuple[int, int] = (48, 64), seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(num_frames, *size, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def tiny():
    model, processor = make_tiny("molmo2")
    processor.tokenizer.padding_side = "left"
    return model, processor


def test_frames_are_molmo2_low_resolution_crops_through_its_image_path(tiny):
    """A frame at Molmo2's crop size is prepared as Molmo2 prepares an image's low-resolution view (its first crop),
    and its tokens are what Molmo2's own image path (ViT, adapter pooling, projector) gives that view."""
    model, processor = tiny
    frames = _frames(3, size=(28, 28))
    inputs = _chat(processor, [_turn({"type": "video", "video": frames})])
    native = native_image_llm(model).eval()
    with torch.no_grad():
        (tokens,) = model.model.frame_features(inputs["pixel_values_videos"], None, [3])
    assert tokens.shape == (3, 1, model.config.text_config.hidden_size)  # 2x2 patches pooled 2x2: one token
    for frame, frame_tokens, pixels in zip(frames, tokens, inputs["pixel_values_videos"]):
        image = processor.image_processor(Image.fromarray(frame), return_tensors="pt")
        low_res = batch_pixels_to_patches(pixels.permute(1, 2, 0)[None], 14)[0]
        torch.testing.assert_close(low_res, image["pixel_values"][0], rtol=0, atol=TOL)
        rows, cols = image["image_grids"][0, :2].tolist()
        with torch.no_grad():
            features = native.model.get_image_features(
                image["pixel_values"], image["image_token_pooling"], image["image_grids"], return_dict=True
            ).pooler_output[0]
        torch.testing.assert_close(frame_tokens, features[: rows * cols], rtol=0, atol=TOL)


def test_video_prompt_is_a_frame_block_of_video_tokens(tiny):
    """`<|video|>` expands to `<frame_start>`, num_video_tokens `<|video|>`, `<frame_end>` (not Molmo2's frame-by-frame
    prompt); prompts start with BOS as Molmo2's do; Molmo2's markers are image-type tokens, LinVT's video tokens
    video-type (attended causally)."""
    model, processor = tiny
    inputs = _chat(processor, [_turn({"type": "video", "video": _frames(5)})])
    ids = inputs["input_ids"][0]
    text = processor.tokenizer.decode(ids)
    count = model.config.num_video_tokens
    assert "<frame_start>" + "<|video|>" * count + "<frame_end>what is it" in text
    bos = processor.tokenizer.bos_token or processor.tokenizer.eos_token  # the tiny tokenizer has no BOS of its own
    assert "<im_patch>" not in text and ids[0] == processor.tokenizer.convert_tokens_to_ids(bos)
    types = inputs["mm_token_type_ids"][0]
    assert types[ids == model.config.video_token_id].eq(2).all() and int((types == 2).sum()) == count
    assert types[ids == processor.tokenizer.convert_tokens_to_ids("<frame_start>")].eq(1).all()


def test_the_config_has_a_video_token_of_its_own(tiny):
    """Molmo2's config aliases `video_token_id` to its image patch token; LinVT's holds the `<|video|>` id."""
    model, processor = tiny
    config = model.config
    assert config.video_token_id == processor.video_token_id != config.image_token_id == config.image_patch_id
    assert type(config).from_dict(config.to_dict()).video_token_id == config.video_token_id
    values = {k: v for k, v in config.to_dict().items() if k not in ("model_type", "video_token_id")}
    with pytest.raises(ValueError, match="LinVT-Molmo2: video_token_id .* is the image patch token's id"):
        type(config)(**values, video_token_id=config.image_patch_id)
    with pytest.raises(ValueError, match="outside the LLM's embedding table"):
        type(config)(**values, video_token_id=10**6)
    with pytest.raises(ValueError, match="frame_pooling_size must be two positive ints"):
        type(config)(**{**values, "frame_pooling_size": [2, 0]})


def test_image_processor_needs_no_torchvision():
    """Molmo2's image processor (a torchvision backend) with torch's resize and normalize: grayscale arrays become
    RGB, uint8 images are resized in float then rounded (as Molmo2 does), unknown resampling is refused."""
    processor = make_tiny_processor("molmo2").image_processor
    assert isinstance(processor, LinVTMolmo2ImageProcessor)
    gray = np.random.default_rng(0).integers(0, 256, size=(40, 50), dtype=np.uint8)
    rgb = np.repeat(gray[..., None], 3, axis=-1)
    torch.testing.assert_close(processor(gray[..., None])["pixel_values"], processor(rgb)["pixel_values"])
    image = torch.from_numpy(rgb).permute(2, 0, 1)
    resized = processor.resize(image, SizeDict(height=28, width=28), antialias=False)
    floats = processor.resize(image.float(), SizeDict(height=28, width=28), antialias=False)
    assert resized.dtype == torch.uint8 and torch.equal(resized, floats.round().clamp(0, 255).to(torch.uint8))
    with pytest.raises(ValueError, match="resample .* is not one of"):
        processor.resize(image, SizeDict(height=28, width=28), resample=1)  # LANCZOS


def test_video_inputs_of_another_layout_are_refused(tiny):
    model, processor = tiny
    inputs = _chat(processor, [_turn({"type": "video", "video": _frames(2)})])
    for wrong in (torch.zeros(2, 3, 42, 42), torch.zeros(8, 588)):
        expected = r"LinVT-Molmo2: pixel_values_videos must be frames of shape \[num_frames, 3, 28, 28\]"
        with pytest.raises(ValueError, match=expected):
            model(**{**inputs, "pixel_values_videos": wrong})


def test_from_a_molmo2_checkpoint_folder(tiny, tmp_path):
    """A Molmo2 checkpoint (transformers' original layout, Molmo2's torchvision image processor named): the model's
    video token is the tokenizer's `<|video|>`, the processor reads the image processor without torchvision, and
    images give Molmo2's own logits."""
    model, _ = tiny
    native = native_image_llm(model).eval()
    native.save_pretrained(tmp_path)
    make_tiny_processor("molmo2").save_pretrained(tmp_path)
    config_file = tmp_path / "processor_config.json"  # (as transformers 5 saves it: the image processor inside)
    saved = json.loads(config_file.read_text())
    saved["image_processor"]["image_processor_type"] = "Molmo2ImageProcessor"
    config_file.write_text(json.dumps(saved))

    loaded = LinVTForConditionalGeneration.from_backbone(str(tmp_path), video_tokenizer_config=tiny_linvt_config())
    loaded.eval()
    processor = LinVTProcessor.from_backbone(str(tmp_path), num_video_tokens=loaded.config.num_video_tokens)
    assert type(loaded) is LinVTMolmo2ForConditionalGeneration and type(processor) is LinVTMolmo2Processor
    assert isinstance(processor.image_processor, LinVTMolmo2ImageProcessor)
    assert loaded.config.video_token_id == processor.video_token_id
    image = Image.fromarray(_frames(1, size=(40, 70))[0])
    inputs = _chat(processor, [_turn({"type": "image", "image": image})])
    with torch.no_grad():
        expected = native(**{k: v for k, v in inputs.items() if k != "question_mask"}).logits
        assert (loaded(**inputs).logits - expected).abs().max() <= TOL


def test_mixed_batch_generates_what_each_prompt_generates_alone(tiny):
    model, processor = tiny
    conversations = [
        _turn(text="describe a dog"),
        _turn({"type": "image", "image": Image.fromarray(_frames(1, size=(40, 70))[0])}),
        _turn({"type": "video", "video": _frames(4)}, text="what happens"),
    ]
    greedy = dict(max_new_tokens=4, do_sample=False, suppress_tokens=[model.config.image_token_id])
    batch = _chat(processor, conversations)
    generated = model.generate(**batch, **greedy)[:, batch["input_ids"].shape[1]:]
    for row, conversation in enumerate(conversations):
        alone = _chat(processor, [conversation])
        expected = model.generate(**alone, **greedy)[:, alone["input_ids"].shape[1]:]
        assert torch.equal(generated[row], expected[0])


def test_both_training_stages_step():
    """Stage 1 trains LinVT alone; stage 2 LoRA on Molmo2's LLM (`model.language_model`) and LinVT."""
    model, processor = make_tiny("molmo2")
    inputs = _chat(processor, [_turn({"type": "video", "video": _frames(4)})])
    check_both_training_stages_step(model, inputs, llm="language_model")