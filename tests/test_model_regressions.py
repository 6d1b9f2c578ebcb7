"""Regressions of the LinVT model classes, on every family where they apply (tiny random models, offline).

dtype of checkpoints made with `from_backbone` and of `from_video_tokenizer`; generation without a KV cache and with
prompt lookup; tuple outputs; SigLIP's init on `from_pretrained`'s missing-weights path; `push_video_tokenizer_to_hub`
refusing what nobody could load before anything is created; raw uint8 frames refused.
"""

from __future__ import annotations

import json
import re
import math

import numpy as np
import pytest
import torch
from huggingface_hub import HfApi
from PIL import Image
from safetensors.torch import load_file, save_file
from transformers import AutoModelForImageTextToText, LlavaOnevisionForConditionalGeneration

from fake_hub import native_image_llm
from linvt_hf import FAMILIES
from linvt_hf.testing.tiny_models import make_tiny, tiny_linvt_config

FAMILIES = sorted(FAMILIES)
QUESTION = "what is the man doing what is"


@pytest.fixture(params=FAMILIES)
def family(request) -> str:
    return request.param


def _video_inputs(processor, num_prompts: int = 1, padding_side: str = "left") -> dict:
    """`num_prompts` video prompts (8 random frames each, different lengths of question), padded into one batch."""
    processor.tokenizer.padding_side = padding_side
    conversations = []
    for index in range(num_prompts):
        video = np.random.default_rng(index).integers(0, 256, size=(8, 48, 64, 3), dtype=np.uint8)
        text = " ".join([QUESTION] * (index + 1))
        content = [{"type": "video", "video": video}, {"type": "text", "text": text}]
        conversations.append([{"role": "user", "content": content}])
    return processor.apply_chat_template(
        conversations, add_generation_prompt=True, tokenize=True, return_dict=True, return_tensors="pt",
        processor_kwargs={"padding": True},
    )


def _text_inputs(processor) -> dict:
    conversation = [{"role": "user", "content": [{"type": "text", "text": QUESTION}]}]
    return processor.apply_chat_template(
        conversation, add_generation_prompt=True, tokenize=True, return_dict=True, return_tensors="pt"
    )


def _param_dtypes(model: torch.nn.Module) -> dict[torch.dtype, list[str]]:
    found: dict[torch.dtype, list[str]] = {}
    for name, parameter in model.named_parameters():
        found.setdefault(parameter.dtype, []).append(name)
    return found


def _assert_all(model: torch.nn.Module, dtype: torch.dtype) -> None:
    dtypes = _param_dtypes(model)
    assert set(dtypes) == {dtype}, {str(d): names[:4] for d, names in dtypes.items()}


def _assert_runs(model, processor) -> None:
    """A text forward and a video forward run and give finite logits in the model's dtype."""
    with torch.no_grad():
        for inputs in (_text_inputs(processor), _video_inputs(processor)):
            logits = model(**inputs).logits
            assert logits.dtype == model.dtype and torch.isfinite(logits).all()


# ------------------------------------------------------------------------------------------------ 1. dtype
def test_from_backbone_in_bfloat16_saves_and_loads_as_one_dtype(family, tmp_path):
    tiny, processor = make_tiny(family)
    native_image_llm(tiny).save_pretrained(tmp_path / "image_llm")
    model = type(tiny).from_backbone(
        str(tmp_path / "image_llm"),
        video_tokenizer_config=tiny_linvt_config(),
        video_token_id=tiny.config.video_token_id,
        dtype=torch.bfloat16,
    )
    _assert_all(model, torch.bfloat16)  # LinVT's own parameters (the logit scale too) follow the image-LLM
    model.save_pretrained(tmp_path / "ckpt")
    assert json.loads((tmp_path / "ckpt" / "config.json").read_text())["dtype"] == "bfloat16"

    # The model card's own snippet: dtype="auto" through the Auto class.
    loaded = AutoModelForImageTextToText.from_pretrained(tmp_path / "ckpt", dtype="auto", device_map="auto")
    _assert_all(loaded, torch.bfloat16)
    _assert_runs(loaded, processor)
    for dtype in (torch.float32, torch.bfloat16):
        loaded = type(model).from_pretrained(tmp_path / "ckpt", dtype=dtype)
        _assert_all(loaded, dtype)
        _assert_runs(loaded, processor)
    _assert_all(type(model).from_pretrained(tmp_path / "ckpt"), torch.bfloat16)  # no dtype: "auto" in transformers 5


def test_from_video_tokenizer_loads_as_one_dtype(family, tmp_path):
    tiny, processor = make_tiny(family)
    native_image_llm(tiny).save_pretrained(tmp_path / "image_llm")
    tiny.config.image_llm_name_or_path = str(tmp_path / "image_llm")
    tiny.save_video_tokenizer(tmp_path / "ckpt")
    loaded = type(tiny).from_video_tokenizer(
        tmp_path / "ckpt", video_token_id=tiny.config.video_token_id, dtype=torch.bfloat16
    )
    _assert_all(loaded, torch.bfloat16)
    _assert_runs(loaded, processor)


# ------------------------------------------------------------------------------------------------ 2. generation
# Decoding that runs the video again after the prompt: every step without a KV cache; prompt lookup's first step.
RECOMPUTING = pytest.mark.parametrize(
    "options", [{"use_cache": False}, {"prompt_lookup_num_tokens": 3}], ids=["no_cache", "lookup"]
)


@RECOMPUTING
def test_generate_without_cache_and_with_prompt_lookup_equal_cached(family, options):
    model, processor = make_tiny(family)
    inputs = _video_inputs(processor)
    cached = model.generate(**inputs, max_new_tokens=8, do_sample=False)
    assert torch.equal(model.generate(**inputs, max_new_tokens=8, do_sample=False, **options), cached)


def test_generate_without_cache_in_a_padded_batch_equals_cached(family):
    model, processor = make_tiny(family)
    inputs = _video_inputs(processor, num_prompts=2)
    cached = model.generate(**inputs, max_new_tokens=5, do_sample=False)
    assert torch.equal(model.generate(**inputs, max_new_tokens=5, do_sample=False, use_cache=False), cached)


@RECOMPUTING
def test_a_generated_video_token_is_an_ordinary_token(family, options):
    """Decoding with a cache embeds a generated video token as a token; a step that runs the video again must too."""
    model, processor = make_tiny(family)
    inputs = _video_inputs(processor)
    settings = {"max_new_tokens": 4, "do_sample": False, "sequence_bias": {(model.config.video_token_id,): 100.0}}
    cached = model.generate(**inputs, **settings)
    assert (cached[:, inputs["input_ids"].shape[1] :] == model.config.video_token_id).all()
    assert torch.equal(model.generate(**inputs, **settings, **options), cached)


def test_placeholder_and_question_masks_must_match_input_ids():
    model, processor = make_tiny("internvl")
    inputs = _video_inputs(processor)
    question_mask = inputs["question_mask"]
    with pytest.raises(ValueError, match="question_mask has shape"):
        model(**{**inputs, "question_mask": torch.cat([question_mask, question_mask[:, :1]], 1)})
    with pytest.raises(ValueError, match="question_mask has shape"):
        model(**{**inputs, "question_mask": question_mask[:1].expand(2, -1)})
    # A mask over the first positions (the prompt, as in generation) marks no question token after them.
    assert not question_mask[:, -2:].any()
    with torch.no_grad():
        expected = model(**inputs).logits
        assert torch.equal(model(**{**inputs, "question_mask": question_mask[:, :-2]}).logits, expected)
    with pytest.raises(ValueError, match="video_placeholder_mask has shape"):
        model(**inputs, video_placeholder_mask=torch.ones(1, inputs["input_ids"].shape[1] + 1, dtype=torch.bool))
    with pytest.raises(ValueError, match="do not hold the video token"):
        model(**inputs, video_placeholder_mask=torch.ones_like(inputs["input_ids"], dtype=torch.bool))


# ------------------------------------------------------------------------------------------------ 3. tuples
@pytest.mark.parametrize("with_video", [True, False], ids=["video", "text"])
def test_return_dict_false_gives_tuples(family, with_video):
    model, processor = make_tiny(family)
    inputs = _video_inputs(processor) if with_video else dict(_text_inputs(processor))
    labels = inputs["input_ids"].masked_fill(inputs["input_ids"] == model.config.video_token_id, -100)
    with torch.no_grad():
        expected = model(**inputs, labels=labels)
        output = model(**inputs, labels=labels, return_dict=False)
        assert isinstance(output, tuple) and len(output) == len(expected.to_tuple())
        assert torch.equal(output[0], expected.loss) and torch.equal(output[1], expected.logits)
        model.config.return_dict = False
        # Without a video the forward is the image-LLM's own, which (transformers 5.23 to 5.25) fails with
        # config.return_dict=False: its head reads its base model's output by attribute. LinVT's own paths do not.
        if with_video:
            output = model(**inputs)
            assert isinstance(output, tuple) and torch.equal(output[0], expected.logits)
            base_output = model.model(**inputs)
            assert isinstance(base_output, tuple) and base_output[0].shape[:2] == inputs["input_ids"].shape


# ------------------------------------------------------------------------------------------------ 4. init
def _drop(path, keep) -> None:
    weights = load_file(path)
    save_file({k: v for k, v in weights.items() if keep(k)}, path, metadata={"format": "pt"})


def _siglip_block(name: str) -> bool:
    return "vision_tower" in name and (".self_attn." in name or ".mlp." in name)


def test_missing_siglip_weights_get_transformers_own_init(tmp_path):
    model, _ = make_tiny("llava_onevision")
    model.save_pretrained(tmp_path / "linvt")
    native_image_llm(model).save_pretrained(tmp_path / "image_llm")
    _drop(tmp_path / "linvt" / "model.safetensors", lambda k: not _siglip_block(k))
    _drop(tmp_path / "image_llm" / "model.safetensors", lambda k: not _siglip_block(k))
    torch.manual_seed(0)
    native = LlavaOnevisionForConditionalGeneration.from_pretrained(tmp_path / "image_llm")
    torch.manual_seed(0)
    loaded, info = type(model).from_pretrained(tmp_path / "linvt", output_loading_info=True)
    assert info["missing_keys"] and all(_siglip_block(k) for k in info["missing_keys"])
    expected, got = native.state_dict(), loaded.state_dict()
    assert expected.keys() <= got.keys()
    assert not [k for k in expected if not torch.equal(expected[k], got[k])]
    # SigLIP's own init: xavier-uniform weights (not the generic one of their Linear layers), tiny non-zero MLP biases.
    fc1 = loaded.model.vision_tower.encoder.layers[0].mlp.fc1
    assert fc1.weight.abs().max() <= math.sqrt(6 / sum(fc1.weight.shape)) and 0 < fc1.bias.abs().max() < 1e-4


def test_missing_linvt_weights_get_linvt_init_and_loaded_ones_stay(family, tmp_path):
    model, _ = make_tiny(family)
    with torch.no_grad():
        for parameter in [*model.video_tokenizer.parameters(), model.video_text_logit_scale]:
            parameter.add_(1.0)  # nothing like an init
    model.save_pretrained(tmp_path)

    def dropped(key: str) -> bool:
        return key.startswith("model.video_tokenizer.svr.") or key == "video_text_logit_scale"

    _drop(tmp_path / "model.safetensors", lambda key: not dropped(key))
    loaded, info = type(model).from_pretrained(tmp_path, output_loading_info=True)
    assert info["missing_keys"] == {key for key in model.state_dict() if dropped(key)}
    state, saved = loaded.state_dict(), model.state_dict()
    assert not [key for key in saved if not dropped(key) and not torch.equal(state[key], saved[key])]
    assert loaded.video_text_logit_scale.item() == pytest.approx(math.log(1 / 0.07))
    std = model.config.video_tokenizer_config.initializer_range
    for name, module in loaded.video_tokenizer.svr.named_modules():
        if isinstance(module, torch.nn.LayerNorm):
            assert torch.equal(module.weight, torch.ones_like(module.weight)), name
        elif isinstance(module, torch.nn.Linear):  # truncated normal within 2 std, zero bias
            assert 0 < module.weight.abs().max() <= 2 * std, name
            assert module.bias is None or not module.bias.any(), name


# ------------------------------------------------------------------------------------ 5. push_video_tokenizer_to_hub
@pytest.fixture
def hub_calls(monkeypatch) -> list[str]:
    """Every Hub API call that would create or upload something, recorded instead of made."""
    calls: list[str] = []
    for name in ("create_repo", "create_commit", "upload_folder", "upload_file", "preupload_lfs_files"):
        monkeypatch.setattr(HfApi, name, lambda self, *args, _name=name, **kwargs: calls.append(_name))
    return calls


@pytest.mark.parametrize("where", ["folder", "path", "unset"])
def test_video_tokenizer_push_is_refused_before_anything_is_created(family, where, hub_calls, tmp_path):
    model, _ = make_tiny(family)
    if where == "folder":
        native_image_llm(model).save_pretrained(tmp_path / "image_llm")
    model.config.image_llm_name_or_path = {
        "folder": str(tmp_path / "image_llm"), "path": "models/nowhere/image_llm", "unset": None
    }[where]
    with pytest.raises(ValueError, match="image_llm_name_or_path"):
        model.push_video_tokenizer_to_hub("user/video-tokenizer")
    assert hub_calls == []
    if where == "unset":  # saved locally, it must still name its image-LLM
        with pytest.raises(ValueError, match="image_llm_name_or_path"):
            model.save_video_tokenizer(tmp_path / "out")
        assert not (tmp_path / "out").exists()
    else:
        model.save_video_tokenizer(tmp_path / "out")
        assert json.loads((tmp_path / "out" / "config.json").read_text())["image_llm_name_or_path"] == (
            model.config.image_llm_name_or_path
        )
    assert hub_calls == []


# ------------------------------------------------------------------------------------------------ 6. uint8 frames
def test_raw_uint8_frames_are_refused(family):
    model, processor = make_tiny(family)
    inputs = _video_inputs(processor)
    pixels = inputs["pixel_values_videos"]
    raw = torch.randint(0, 256, pixels.shape, dtype=torch.uint8)
    with pytest.raises(TypeError, match=r"pixel_values_videos.*torch\.uint8"):
        model(**{**inputs, "pixel_values_videos": raw})


def test_images_of_the_wrong_shape_are_refused_naming_the_family(family):
    """Images go to the image-LLM's own path unchanged, but a wrong shape is refused first, naming the family and the
    shape expected (the image-LLMs' own errors are cryptic, and Qwen's flattening view even took an extra leading
    dimension silently); the processor's own shape passes."""
    model, processor = make_tiny(family)
    image = Image.fromarray(np.random.default_rng(0).integers(0, 256, size=(40, 70, 3), dtype=np.uint8))
    messages = [[{"role": "user", "content": [{"type": "image", "image": image}, {"type": "text", "text": "what"}]}]]
    inputs = processor.apply_chat_template(
        messages, add_generation_prompt=True, tokenize=True, return_dict=True, return_tensors="pt"
    )
    inputs.pop("question_mask", None)
    pixels = inputs["pixel_values"]
    name = type(model.model).__name__
    for bad in (pixels.unsqueeze(0), pixels[..., :-1]):
        expected = rf"^{name}: pixel_values \(images\) must be \[.*\], got {re.escape(str(list(bad.shape)))}"
        with pytest.raises(ValueError, match=expected):
            model(**{**inputs, "pixel_values": bad})
    assert any(len(shape) == pixels.ndim for shape in model.model.image_input_shapes())
    model.model.check_image_inputs(pixels)
