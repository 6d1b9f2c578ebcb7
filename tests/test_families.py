"""Every LinVT family (Qwen2-VL, Qwen2.5-VL, Qwen3-VL, Qwen3-VL-MoE, InternVL, LLaVA-OneVision, LLaVA, SmolVLM,
Molmo2, xGen-MM, Molmo) on tiny random models.

What every family must do: without a video, be its image-LLM (the paper's promise), bit for bit, whether built from a
checkpoint transformers wrote for the image-LLM or from the loaded image-LLM; with videos, turn each into
`num_video_tokens` tokens at its placeholders whatever its length; generate with a KV cache exactly as a full forward
pass would predict (positions in decode steps), in batches with left padding as alone, in multi-video and multi-turn
prompts; answer through transformers' pipeline as through generate.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file, save_file
from transformers import pipeline

from fake_hub import native_image_llm
from linvt_hf import FAMILIES as REGISTERED
from linvt_hf.family import family_of
from linvt_hf.modeling.checkpoints import image_llm_class_of
from linvt_hf.modeling.modeling_linvt import LINVT_VIDEO_INPUTS
from linvt_hf.testing.tiny_models import make_tiny, tiny_linvt_config

FAMILIES = tuple(sorted(REGISTERED))  # every shipped family
QUESTION = "what is the man doing"
MAX_NEW_TOKENS = 6
TOL = 1e-5


@pytest.fixture(params=FAMILIES)
def tiny(request):
    """(model, processor) of one family, tiny and random; left padding for batches."""
    model, processor = make_tiny(request.param)
    processor.tokenizer.padding_side = "left"
    return model, processor


def _frames(num_frames: int, seed: int = 0, size: tuple[int, int] = (48, 64)) -> np.ndarray:
    """A synthetic video: `num_frames` random uint8 RGB frames `[T, H, W, 3]`."""
    return np.random.default_rng(seed).integers(0, 256, size=(num_frames, *size, 3), dtype=np.uint8)


def _image(seed: int = 0) -> Image.Image:
    return Image.fromarray(np.random.default_rng(100 + seed).integers(0, 256, size=(40, 70, 3), dtype=np.uint8))


def _turn(*items: dict, text: str = QUESTION, role: str = "user") -> dict:
    return {"role": role, "content": [*items, {"type": "text", "text": text}]}


def _video(num_frames: int = 8, seed: int = 0, **kwargs) -> dict:
    return {"type": "video", "video": _frames(num_frames, seed, **kwargs)}


def _chat(processor, conversations: list, **processor_kwargs) -> dict:
    """Batch of prompts (one conversation each), left-padded, as tensors."""
    return processor.apply_chat_template(
        conversations,
        add_generation_prompt=True,
        tokenize=True,
        return_dict=True,
        return_tensors="pt",
        processor_kwargs={"padding": True, **processor_kwargs},
    )


def _image_llm_inputs(inputs: dict) -> dict:
    """What the image-LLM's own model takes of the processor's outputs (LinVT's own inputs left out)."""
    return {k: v for k, v in inputs.items() if k not in LINVT_VIDEO_INPUTS}


def _generate(model, inputs: dict) -> torch.Tensor:
    return model.generate(**inputs, **_greedy(model))


def _greedy(model) -> dict:
    # A random tiny model may generate the image token, which a full forward pass over prompt + generated tokens
    # (`_assert_teacher_forced`) would take for one more image placeholder, as the image-LLM itself does.
    return dict(max_new_tokens=MAX_NEW_TOKENS, do_sample=False, suppress_tokens=[model.config.image_token_id])


def _new_tokens(model, sequences: torch.Tensor, prompt_length: int) -> list[torch.Tensor]:
    """Generated tokens of each row, up to and including its first end-of-sequence token."""
    eos = model.generation_config.eos_token_id
    eos = set(eos if isinstance(eos, list) else [eos])
    rows = []
    for row in sequences[:, prompt_length:]:
        ends = [i for i, token in enumerate(row.tolist()) if token in eos]
        rows.append(row[: ends[0] + 1] if ends else row)
    return rows


def _assert_teacher_forced(model, inputs: dict, sequences: torch.Tensor) -> None:
    """Every generated token is the argmax of one full forward pass over prompt + generated tokens."""
    batch, prompt_length = inputs["input_ids"].shape
    extra = sequences.shape[1] - prompt_length
    full = dict(inputs, input_ids=sequences)
    full["attention_mask"] = torch.cat([inputs["attention_mask"], inputs["attention_mask"].new_ones(batch, extra)], 1)
    for name in ("mm_token_type_ids", "question_mask"):
        if name in inputs:
            full[name] = torch.cat([inputs[name], inputs[name].new_zeros(batch, extra)], 1)
    with torch.no_grad():
        logits = model(**full).logits[:, prompt_length - 1 : -1]
    logits[..., model.config.image_token_id] = float("-inf")  # never generated (see `_greedy`)
    for row, tokens in enumerate(_new_tokens(model, sequences, prompt_length)):
        step_logits = logits[row, : len(tokens)]
        chosen = step_logits.gather(-1, tokens[:, None])[:, 0]
        # Greedy picks the maximum; ties within float noise may go either way.
        assert torch.all(chosen >= step_logits.max(-1).values - 1e-4), (row, tokens, step_logits.argmax(-1))


def _logits(model, inputs: dict) -> torch.Tensor:
    with torch.no_grad():
        return model(**inputs).logits


# ------------------------------------------------------------------------------------- no video: the image-LLM


@pytest.mark.parametrize("with_image", [False, True], ids=["text", "image"])
def test_without_video_is_the_image_llm(tiny, with_image):
    model, processor = tiny
    items = [{"type": "image", "image": _image()}] if with_image else []
    inputs = _chat(processor, [[_turn(*items)]])
    expected = _logits(native_image_llm(model).eval(), _image_llm_inputs(inputs))
    assert torch.equal(_logits(model, inputs), expected)


def test_generate_without_video_is_the_image_llm(tiny):
    model, processor = tiny
    inputs = _chat(processor, [[_turn({"type": "image", "image": _image()})], [_turn(text="describe a dog")]])
    native = native_image_llm(model).eval()
    expected = native.generate(**_image_llm_inputs(inputs), **_greedy(native))
    assert torch.equal(_generate(model, inputs), expected)


def _assert_same_tensors(expected: torch.nn.Module, got: torch.nn.Module) -> None:
    """Every tensor of `expected` (an image-LLM) is in `got` under its name, equal."""
    want, have = expected.state_dict(), got.state_dict()
    assert not [k for k in want if k not in have], [k for k in want if k not in have][:5]
    assert not [k for k in want if not torch.equal(want[k], have[k])]


def test_from_backbone_folder_is_the_image_llm(tiny, tmp_path):
    """A checkpoint transformers wrote for the image-LLM (its original layout: Qwen's `visual.*` and `model.layers.*`,
    InternVL's and LLaVA-OneVision's `language_model.model.*`) loads into the LinVT model exactly."""
    model, processor = tiny
    native_image_llm(model).save_pretrained(tmp_path)
    processor.tokenizer.save_pretrained(tmp_path)  # InternVL's <video> id is read from it
    linvt, info = type(model).from_backbone(
        str(tmp_path), video_tokenizer_config=tiny_linvt_config(), output_loading_info=True
    )
    native = image_llm_class_of(type(model)).from_pretrained(tmp_path).eval()
    assert not info["unexpected_keys"] and not info["mismatched_keys"]
    fresh = [key for key in info["missing_keys"] if not key.startswith("model.video_tokenizer.")]
    assert fresh == ["video_text_logit_scale"]  # only LinVT's own weights start afresh
    _assert_same_tensors(native, linvt)
    assert linvt.config.video_token_id == processor.video_token_id
    assert linvt.config.image_llm_name_or_path == str(tmp_path)
    inputs = _chat(processor, [[_turn({"type": "image", "image": _image()})], [_turn(text="describe the scene")]])
    assert torch.equal(_logits(linvt.eval(), inputs), _logits(native, _image_llm_inputs(inputs)))


def test_from_backbone_reads_the_hub_layout_of_llava_onevision(tmp_path):
    """The llava-hf LLaVA-OneVision checkpoints on the Hub keep SigLIP under `vision_tower.vision_model.*` (the layout
    of transformers 4); transformers renames it for the image-LLM's own class, and for the LinVT class too."""
    model, _ = make_tiny("llava_onevision")
    native_image_llm(model).save_pretrained(tmp_path)
    weights = load_file(tmp_path / "model.safetensors")
    renamed = {re.sub(r"^vision_tower\.", "vision_tower.vision_model.", k): v for k, v in weights.items()}
    assert renamed.keys() != weights.keys()
    save_file(renamed, tmp_path / "model.safetensors", metadata={"format": "pt"})
    native = image_llm_class_of(type(model)).from_pretrained(tmp_path)
    linvt = type(model).from_backbone(str(tmp_path), video_tokenizer_config=tiny_linvt_config())
    _assert_same_tensors(native, linvt)
    _assert_same_tensors(native_image_llm(model), linvt)


def test_from_backbone_model_uses_its_modules(tiny):
    """A loaded image-LLM becomes the LinVT model's own modules (shared, not copied), LinVT's on its dtype."""
    model, processor = tiny
    native = native_image_llm(model).to(torch.bfloat16).eval()
    linvt = type(model).from_backbone(
        native, video_tokenizer_config=tiny_linvt_config(), video_token_id=model.config.video_token_id
    )
    llm = family_of(linvt).language_model  # the LLM's decoder stack
    assert linvt.lm_head is native.lm_head and linvt.get_submodule(llm) is native.get_submodule(llm)
    assert {p.dtype for p in linvt.parameters()} == {torch.bfloat16} and not linvt.training
    _assert_same_tensors(native, linvt)
    inputs = _chat(processor, [[_turn(text="describe the scene")]])
    assert torch.equal(_logits(linvt, inputs), _logits(native, _image_llm_inputs(inputs)))
    with pytest.raises(TypeError, match="image_llm must be .* got a Linear"):
        type(model).from_backbone(torch.nn.Linear(2, 2))
    other_family = "qwen2_vl" if model.config.model_type != "linvt_qwen2_vl" else "llava_onevision"
    with pytest.raises(TypeError, match=f"{type(model).__name__} extends"):
        type(model).from_backbone(native_image_llm(make_tiny(other_family)[0]))


def test_internvl_video_token_id_needs_a_tokenizer():
    model, processor = make_tiny("internvl")
    native = native_image_llm(model)
    with pytest.raises(ValueError, match="video_token_id="):
        type(model).from_backbone(native, video_tokenizer_config=tiny_linvt_config())
    given = type(model).from_backbone(
        native, video_tokenizer_config=tiny_linvt_config(), video_token_id=processor.video_token_id
    )
    assert given.config.video_token_id == processor.video_token_id


# ------------------------------------------------------------------------------------------------ video forward


def test_video_forward(tiny):
    model, processor = tiny
    inputs = _chat(processor, [[_turn(_video(8))]])
    with torch.no_grad():
        out = model(**inputs, output_aggregation_weights=True)
    placeholders = int((inputs["input_ids"] == model.config.video_token_id).sum())
    assert placeholders == model.config.num_video_tokens
    assert out.logits.shape == (*inputs["input_ids"].shape, model.config.get_text_config().vocab_size)
    assert torch.isfinite(out.logits).all()
    features = out.video_features
    assert features.video_tokens.shape == (1, placeholders, model.config.get_text_config().hidden_size)
    assert sum(int(o.video_tokens_mask.sum()) for o in features.tokenizer_outputs) == placeholders
    weights = features.tokenizer_outputs[0].aggregation_weights
    assert weights is not None and torch.allclose(weights.sum(-1), torch.ones(()), atol=1e-5)


def test_prompt_length_does_not_depend_on_video_length(tiny):
    model, processor = tiny
    short = _chat(processor, [[_turn(_video(8))]], num_frames=8)
    long = _chat(processor, [[_turn(_video(40, seed=1))]], num_frames=40)
    assert int(long["video_frame_mask"].sum()) > int(short["video_frame_mask"].sum())
    torch.testing.assert_close(long["input_ids"], short["input_ids"])
    assert torch.isfinite(_logits(model, long)).all()


def test_vision_chunk_size_does_not_change_logits(tiny):
    model, processor = tiny
    inputs = _chat(processor, [[_turn(_video(12))]], num_frames=12)
    model.config.vision_chunk_size = 16
    whole = _logits(model, inputs)
    model.config.vision_chunk_size = 1
    torch.testing.assert_close(_logits(model, inputs), whole, rtol=0, atol=TOL)


def test_frame_token_grids(tiny):
    model, processor = tiny
    inputs = _chat(processor, [[_turn(_video(4), _video(6, seed=1, size=(64, 40)))]])
    with torch.no_grad():
        grids = model.get_video_features(**inputs).frame_token_grids
        steps = inputs["video_frame_mask"].sum(1).tolist()
        tokens = model.model.frame_features(inputs["pixel_values_videos"], inputs.get("video_grid_thw"), steps)
    assert len(grids) == len(tokens) == 2
    assert [video.shape[0] for video in tokens] == steps
    for (rows, cols), video in zip(grids, tokens):
        assert rows * cols == video.shape[1]


# --------------------------------------------------------------------------------------------------- generation


def test_generate_matches_teacher_forcing(tiny):
    model, processor = tiny
    inputs = _chat(processor, [[_turn(_video(8))]])
    _assert_teacher_forced(model, inputs, _generate(model, inputs))


def test_batch_with_left_padding_equals_alone(tiny):
    model, processor = tiny
    conversations = [
        [_turn(_video(8), text="what happens in the video")],
        [_turn({"type": "image", "image": _image()})],
        [_turn(text="describe a dog")],
    ]
    inputs = _chat(processor, conversations)
    assert (inputs["attention_mask"] == 0).any()  # the prompts differ in length: left padding is exercised
    batch = _generate(model, inputs)
    _assert_teacher_forced(model, inputs, batch)
    batch_new = _new_tokens(model, batch, inputs["input_ids"].shape[1])
    for row, conversation in enumerate(conversations):
        alone_inputs = _chat(processor, [conversation])
        alone_new = _new_tokens(model, _generate(model, alone_inputs), alone_inputs["input_ids"].shape[1])[0]
        assert batch_new[row].tolist() == alone_new.tolist(), row


def test_the_pipeline_answers_what_generate_answers(tiny):
    """transformers' `pipeline("video-question-answering")` on the family's model and processor gives the answer the
    chat template + `generate` + decode give (frames as the video)."""
    model, processor = tiny
    frames = _frames(8)
    qa = pipeline("video-question-answering", model=model, processor=processor)
    answer = qa(video=frames, question=QUESTION, num_frames=8, max_new_tokens=MAX_NEW_TOKENS, do_sample=False)
    inputs = _chat(processor, [[_turn({"type": "video", "video": frames})]], num_frames=8)
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=MAX_NEW_TOKENS, do_sample=False)
    expected = processor.tokenizer.decode(out[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True).strip()
    assert answer == [{"answer": expected}]


def test_two_videos_in_one_prompt(tiny):
    model, processor = tiny
    inputs = _chat(processor, [[_turn(_video(8), _video(5, seed=1), text="what differs between the videos")]])
    assert inputs["video_sample_index"].tolist() == [0, 0]
    with torch.no_grad():
        features = model(**inputs).video_features
    assert features.tokens_per_video() == [model.config.num_video_tokens] * 2
    assert sum(int(o.video_tokens_mask.sum()) for o in features.tokenizer_outputs) == 2 * model.config.num_video_tokens
    _assert_teacher_forced(model, inputs, _generate(model, inputs))


def test_video_and_image_in_one_prompt(tiny):
    model, processor = tiny
    image = {"type": "image", "image": _image()}
    inputs = _chat(processor, [[_turn(_video(8), image, text="is the image in the video")]])
    assert torch.isfinite(_logits(model, inputs)).all()
    _assert_teacher_forced(model, inputs, _generate(model, inputs))


@pytest.mark.parametrize("family", ["internvl", "llava_onevision"])
def test_image_placeholders_must_be_unambiguous_with_video(family):
    # These families place images by comparing embeddings with the image token's: a token sharing that embedding
    # would be taken for an image placeholder, so it is refused rather than silently misplaced.
    model, processor = make_tiny(family)
    inputs = _chat(processor, [[_turn(_video(4), {"type": "image", "image": _image()}, text="is it raining")]])
    embeddings = model.get_input_embeddings().weight
    with torch.no_grad():
        embeddings[processor.tokenizer.convert_tokens_to_ids("<|im_start|>")] = embeddings[processor.image_token_id]
    with pytest.raises(ValueError, match="shares its embedding"):
        model(**inputs)


def test_multi_turn_with_video_in_first_turn(tiny):
    model, processor = tiny
    conversation = [
        _turn(_video(8)),
        {"role": "assistant", "content": [{"type": "text", "text": "a man talks on the phone"}]},
        _turn(text="is it raining"),
    ]
    inputs = _chat(processor, [conversation])
    assert inputs["question_mask"].any()
    _assert_teacher_forced(model, inputs, _generate(model, inputs))
