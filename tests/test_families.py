"""The LinVT-wrapped image-LLM families (Qwen2-VL, Qwen2.5-VL, InternVL, LLaVA-OneVision) on tiny random models.

What every family must do: without a video, be its image-LLM (the paper's promise); with videos, turn each into
`num_video_tokens` tokens at its placeholders whatever its length; generate with a KV cache exactly as a full forward
pass would predict (positions in decode steps), in batches with left padding as alone, in multi-video and multi-turn
prompts.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from linvt_hf.modeling.modeling_linvt import VIDEO_INPUT_NAMES
from linvt_hf.testing.tiny_models import make_tiny, tiny_linvt_config

FAMILIES = ("qwen2_vl", "qwen2_5_vl", "internvl", "llava_onevision")
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
    """What the unwrapped image-LLM takes of the processor's outputs (LinVT's own inputs left out)."""
    return {k: v for k, v in inputs.items() if k not in VIDEO_INPUT_NAMES}


def _generate(model, inputs: dict) -> torch.Tensor:
    return model.generate(**inputs, max_new_tokens=MAX_NEW_TOKENS, do_sample=False)


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
    expected = _logits(model.image_llm, _image_llm_inputs(inputs))
    torch.testing.assert_close(_logits(model, inputs), expected, rtol=0, atol=TOL)


def test_generate_without_video_is_the_image_llm(tiny):
    model, processor = tiny
    inputs = _chat(processor, [[_turn({"type": "image", "image": _image()})], [_turn(text="describe a dog")]])
    expected = model.image_llm.generate(**_image_llm_inputs(inputs), max_new_tokens=MAX_NEW_TOKENS, do_sample=False)
    torch.testing.assert_close(_generate(model, inputs), expected)


def test_from_backbone_folder_is_the_image_llm(tiny, tmp_path):
    model, processor = tiny
    model.image_llm.save_pretrained(tmp_path)
    processor.tokenizer.save_pretrained(tmp_path)  # InternVL's <video> id is read from it
    linvt = type(model).from_backbone(str(tmp_path), linvt_config=tiny_linvt_config()).eval()
    native = type(model).image_llm_class.from_pretrained(tmp_path).eval()
    assert linvt.config.video_token_id == processor.video_token_id
    inputs = _chat(processor, [[_turn({"type": "image", "image": _image()})], [_turn(text="describe the scene")]])
    torch.testing.assert_close(_logits(linvt, inputs), _logits(native, _image_llm_inputs(inputs)), rtol=0, atol=TOL)


def test_internvl_video_token_id_needs_a_tokenizer():
    model, processor = make_tiny("internvl")
    with pytest.raises(ValueError, match="video_token_id="):
        type(model).from_backbone(model.image_llm, linvt_config=tiny_linvt_config())
    given = type(model).from_backbone(
        model.image_llm, linvt_config=tiny_linvt_config(), video_token_id=processor.video_token_id
    )
    assert given.config.video_token_id == processor.video_token_id


# ------------------------------------------------------------------------------------------------ video forward


def test_video_forward(tiny):
    model, processor = tiny
    inputs = _chat(processor, [[_turn(_video(8))]])
    with torch.no_grad():
        out = model(**inputs, output_video_tokenizer=True)
    placeholders = int((inputs["input_ids"] == model.config.video_token_id).sum())
    assert placeholders == model.config.num_video_tokens
    assert out.logits.shape == (*inputs["input_ids"].shape, model.config.get_text_config().vocab_size)
    assert torch.isfinite(out.logits).all()
    produced = sum(int(o.video_tokens_mask.sum()) for o in out.video_tokenizer_outputs)
    assert produced == placeholders


def test_prompt_length_does_not_depend_on_video_length(tiny):
    model, processor = tiny
    short = _chat(processor, [[_turn(_video(8))]], num_frames=8)
    long = _chat(processor, [[_turn(_video(40, seed=1))]], num_frames=40)
    assert int(long["video_num_frames"].sum()) > int(short["video_num_frames"].sum())
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
    tokens = model.frame_tokens(dict(inputs))
    grids = model.frame_token_grids(dict(inputs))
    assert len(grids) == len(tokens) == 2
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


def test_two_videos_in_one_prompt(tiny):
    model, processor = tiny
    inputs = _chat(processor, [[_turn(_video(8), _video(5, seed=1), text="what differs between the videos")]])
    assert model.video_owners(inputs["input_ids"]) == [0, 0]
    with torch.no_grad():
        out = model(**inputs, output_video_tokenizer=True)
    assert sum(int(o.video_tokens_mask.sum()) for o in out.video_tokenizer_outputs) == 2 * model.config.num_video_tokens
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
