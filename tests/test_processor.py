"""LinVTProcessor on the four backbone families, with offline tiny processors and the sample videos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from transformers import AutoProcessor

import linvt_hf  # noqa: F401  (the package import is what users do before AutoProcessor)
from linvt_hf.processing.processor import LinVTProcessor, register_processor_auto_classes
from linvt_hf.testing import BACKBONES, make_tiny, make_tiny_linvt_processor, make_tiny_processor


VIDEOS = Path(__file__).parent / "data" / "videos"
BUNNY = str(VIDEOS / "bigbuckbunny.mp4")
CARPHONE = str(VIDEOS / "carphone_pristine.mp4")
NUM_VIDEO_TOKENS = 8
QUESTION = "What is the rabbit doing?"


@pytest.fixture(scope="module", params=BACKBONES)
def pair(request):
    """(backbone processor, LinVT processor wrapping it)."""
    backbone = make_tiny_processor(request.param)
    linvt = LinVTProcessor.from_backbone_processor(
        backbone, NUM_VIDEO_TOKENS, num_frames=4, fps=None, min_frames=1, shot_detector="none"
    )
    return backbone, linvt


def _images(seed: int = 0) -> list[Image.Image]:
    rng = np.random.default_rng(seed)
    return [Image.fromarray(rng.integers(0, 256, size=shape, dtype=np.uint8)) for shape in [(40, 70, 3), (64, 30, 3)]]


def _video_turn(*videos: dict, text: str = QUESTION) -> dict:
    return {"role": "user", "content": [*({"type": "video", **v} for v in videos), {"type": "text", "text": text}]}


def _chat(processor, conversation, **kwargs):
    return processor.apply_chat_template(
        conversation, add_generation_prompt=True, tokenize=True, return_dict=True, return_tensors="pt", **kwargs
    )


def _frame_rate(out, video: int) -> float:
    """Frame rate implied by the first time step of a video (frame index over timestamp)."""
    frames = out.get("video_temporal_patch_frame_indices", out["video_frame_indices"][..., None])
    return (frames[video, 0].float().mean() / out["video_timestamps"][video, 0]).item()


def _video_token_counts(linvt, input_ids: torch.Tensor) -> list[int]:
    return (input_ids == linvt.video_token_id).sum(dim=1).tolist()


# ------------------------------------------------------------------------------------------- backbone parity


def test_text_only_matches_backbone(pair):
    backbone, linvt = pair
    conversation = [[{"role": "user", "content": [{"type": "text", "text": "describe the scene please"}]}]]
    ours = _chat(linvt, conversation)
    theirs = _chat(backbone, conversation)
    for key in theirs:
        torch.testing.assert_close(ours[key], theirs[key], msg=key)
    assert not ours["question_mask"].any()  # no video, no TTA question


def test_images_match_backbone(pair):
    backbone, linvt = pair
    images = _images()
    conversations = [
        [{"role": "user", "content": [{"type": "image", "image": images[0]}, {"type": "text", "text": "what is it"}]}],
        [{"role": "user", "content": [{"type": "image", "image": images[1]}, {"type": "text", "text": "the dog"}]}],
    ]
    kwargs = {"processor_kwargs": {"padding": True}}
    ours, theirs = _chat(linvt, conversations, **kwargs), _chat(backbone, conversations, **kwargs)
    assert set(theirs) <= set(ours)
    for key in theirs:
        torch.testing.assert_close(ours[key], theirs[key], msg=key)
    direct_prompt = backbone.apply_chat_template(conversations[0], add_generation_prompt=True)
    direct = linvt(text=direct_prompt, images=images[:1], return_tensors="pt")
    reference = backbone(text=direct_prompt, images=images[:1], return_tensors="pt")
    for key in reference:
        torch.testing.assert_close(direct[key], reference[key], msg=key)


# ------------------------------------------------------------------------------------------- video placeholders


def test_placeholder_count_is_fixed_whatever_the_video_length(pair):
    _, linvt = pair
    short = _chat(linvt, [_video_turn({"path": BUNNY, "num_frames": 8})])
    long = _chat(linvt, [_video_turn({"path": BUNNY, "num_frames": 40})])
    torch.testing.assert_close(short["input_ids"], long["input_ids"])
    assert _video_token_counts(linvt, short["input_ids"]) == [NUM_VIDEO_TOKENS]
    steps = 2 if linvt.family.startswith("qwen") else 1
    assert short["video_num_frames"].tolist() == [8 // steps]
    assert long["video_num_frames"].tolist() == [40 // steps]

    ids = short["input_ids"][0].tolist()
    first = ids.index(linvt.video_token_id)
    block = linvt.tokenizer.convert_ids_to_tokens(ids[first - 1 : first + NUM_VIDEO_TOKENS + 1])
    markers = {
        "qwen2_vl": ("<|vision_start|>", "<|vision_end|>"),
        "qwen2_5_vl": ("<|vision_start|>", "<|vision_end|>"),
        "internvl": ("<img>", "</img>"),
        "llava_onevision": ("<|im_start|>", "\n"),  # "<|im_start|>user <video>...": no markers of its own
    }[linvt.family]
    if linvt.family != "llava_onevision":
        assert (block[0], block[-1]) == markers
    assert set(block[1:-1]) == {linvt.video_token}


def test_video_outputs_shapes_and_values(pair):
    _, linvt = pair
    out = _chat(linvt, [_video_turn({"path": BUNNY, "num_frames": 8, "shots": [(0, 66), (66, 132)]})])
    steps = 2 if linvt.family.startswith("qwen") else 1
    t = 8 // steps
    assert out["video_num_frames"].tolist() == [t]
    assert out["video_frame_mask"].shape == (1, t) and out["video_frame_mask"].all()
    assert out["video_clip_ids"][0].tolist() == [0] * (t // 2) + [1] * (t // 2)
    assert out["video_clip_ids"][0].tolist() == (out["video_frame_indices"][0] >= 66).long().tolist()
    torch.testing.assert_close(
        out["video_timestamps"][0],
        out.get("video_temporal_patch_frame_indices", out["video_frame_indices"][..., None])[0].float().mean(-1) / 25,
        atol=1e-4,
        rtol=0,
    )
    pixels = out["pixel_values_videos"]
    if linvt.family.startswith("qwen"):
        grid = out["video_grid_thw"][0].tolist()
        assert grid[0] == t and pixels.shape[0] == grid[0] * grid[1] * grid[2]
        assert out["mm_token_type_ids"][0].tolist().count(2) == NUM_VIDEO_TOKENS
    else:
        size = linvt.image_processor.size
        assert pixels.shape == (t, 3, size["height"], size["width"])


def test_question_mask_token_by_token(pair):
    _, linvt = pair
    conversation = [
        {"role": "system", "content": [{"type": "text", "text": "answer briefly"}]},
        _video_turn({"path": CARPHONE}, text=QUESTION),
        {"role": "assistant", "content": [{"type": "text", "text": "the man talks"}]},
        {"role": "user", "content": [{"type": "text", "text": "why is it raining"}]},
    ]
    out = _chat(linvt, conversation)
    ids = out["input_ids"][0]
    masked = linvt.tokenizer.convert_ids_to_tokens(ids[out["question_mask"][0]].tolist())
    # Exactly the question of the user turn holding the video: no role header, placeholders, markers or newlines,
    # nothing from the system prompt, the answer or the follow-up turn without a video.
    expected = linvt.tokenizer.convert_ids_to_tokens(linvt.tokenizer(QUESTION, add_special_tokens=False)["input_ids"])
    assert masked == expected
    positions = out["question_mask"][0].nonzero().flatten().tolist()
    assert positions == list(range(positions[0], positions[0] + len(expected)))  # contiguous, in place


def test_question_mask_on_raw_text():
    linvt = make_tiny_linvt_processor("qwen2_vl")
    text = f"<|vision_start|><|video_pad|><|vision_end|>{QUESTION}"  # no chat turns: the whole prompt is the turn
    out = linvt(text=text, videos=[BUNNY], return_tensors="pt")
    masked = linvt.tokenizer.convert_ids_to_tokens(out["input_ids"][0][out["question_mask"][0]].tolist())
    assert linvt.tokenizer.convert_tokens_to_string(masked) == QUESTION


def test_several_videos_in_one_prompt(pair):
    _, linvt = pair
    out = _chat(linvt, [_video_turn({"path": BUNNY, "num_frames": 4}, {"path": CARPHONE, "num_frames": 8})])
    assert _video_token_counts(linvt, out["input_ids"]) == [2 * NUM_VIDEO_TOKENS]
    steps = 2 if linvt.family.startswith("qwen") else 1
    assert out["video_num_frames"].tolist() == [4 // steps, 8 // steps]
    assert out["video_frame_mask"].sum(dim=1).tolist() == [4 // steps, 8 // steps]
    # The second video is the 29.97 fps one.
    assert _frame_rate(out, 1) == pytest.approx(29.97, rel=1e-3)


@pytest.mark.parametrize("side", ["left", "right"])
def test_batch_with_padding(pair, side):
    _, linvt = pair
    conversations = [
        [_video_turn({"path": BUNNY}, text="what happens")],
        [_video_turn({"path": CARPHONE}, {"path": BUNNY}, text="describe the video in one sentence please")],
    ]
    previous = linvt.tokenizer.padding_side
    linvt.tokenizer.padding_side = side
    try:
        out = _chat(linvt, conversations, processor_kwargs={"padding": True, "padding_side": side})
    finally:
        linvt.tokenizer.padding_side = previous
    mask = out["attention_mask"]
    assert mask.shape == out["input_ids"].shape == out["question_mask"].shape
    short = mask[0]
    assert short.sum() < mask.shape[1]
    assert (short[0] == 0) == (side == "left")  # padding where asked
    assert not (out["question_mask"] & (mask == 0)).any()
    assert _video_token_counts(linvt, out["input_ids"]) == [NUM_VIDEO_TOKENS, 2 * NUM_VIDEO_TOKENS]
    assert out["video_num_frames"].shape == (3,)
    assert _frame_rate(out, 0) == pytest.approx(25, rel=1e-3)
    assert _frame_rate(out, 1) == pytest.approx(29.97, rel=1e-3)


def test_call_with_video_and_image(pair):
    backbone, linvt = pair
    images = _images()[:1]
    conversation = [
        {
            "role": "user",
            "content": [
                {"type": "image", "image": images[0]},
                {"type": "video", "path": BUNNY},
                {"type": "text", "text": QUESTION},
            ],
        }
    ]
    prompt = linvt.apply_chat_template(conversation, add_generation_prompt=True)
    out = linvt(text=prompt, images=images, videos=BUNNY, return_tensors="pt")
    image_only = backbone(text=prompt.replace(linvt.video_token, ""), images=images, return_tensors="pt")
    torch.testing.assert_close(out["pixel_values"], image_only["pixel_values"])
    assert (out["input_ids"] == linvt.image_token_id).sum() == (image_only["input_ids"] == linvt.image_token_id).sum()
    assert _video_token_counts(linvt, out["input_ids"]) == [NUM_VIDEO_TOKENS]


# ------------------------------------------------------------------------------------------- persistence


def _assert_same_outputs(a, b, conversation):
    out_a, out_b = _chat(a, conversation), _chat(b, conversation)
    assert set(out_a) == set(out_b)
    for key in out_a:
        torch.testing.assert_close(out_a[key], out_b[key], msg=key)


def test_save_and_load_round_trip(pair, tmp_path):
    _, linvt = pair
    linvt.save_pretrained(tmp_path)
    reloaded = LinVTProcessor.from_pretrained(tmp_path)
    assert reloaded.num_video_tokens == NUM_VIDEO_TOKENS
    assert reloaded.backbone_processor_kwargs == linvt.backbone_processor_kwargs
    assert reloaded.video_processor.to_dict() == linvt.video_processor.to_dict()
    assert reloaded.chat_template == linvt.chat_template
    conversation = [
        {
            "role": "user",
            "content": [
                {"type": "image", "image": _images()[1]},
                {"type": "video", "path": CARPHONE},
                {"type": "text", "text": QUESTION},
            ],
        }
    ]
    _assert_same_outputs(linvt, reloaded, conversation)


def test_auto_processor_round_trip(pair, tmp_path):
    _, linvt = pair
    register_processor_auto_classes()  # what `import linvt_hf` does; registering twice is harmless
    linvt.save_pretrained(tmp_path)
    assert not (tmp_path / "config.json").exists()
    reloaded = AutoProcessor.from_pretrained(tmp_path)
    assert type(reloaded) is LinVTProcessor
    _assert_same_outputs(linvt, reloaded, [_video_turn({"path": BUNNY})])


def test_from_backbone_folder(tmp_path):
    backbone = make_tiny_processor("internvl")
    backbone.save_pretrained(tmp_path)
    linvt = LinVTProcessor.from_backbone(str(tmp_path), num_video_tokens=16, video_processor_kwargs={"num_frames": 4})
    assert linvt.backbone_processor_class == "InternVLProcessor"
    assert linvt.backbone_processor_kwargs == {"image_seq_length": 4}
    assert linvt.num_video_tokens == 16 and linvt.video_processor.num_frames == 4


# ------------------------------------------------------------------------------------------- errors


def test_missing_video_file(pair):
    _, linvt = pair
    with pytest.raises(FileNotFoundError, match="nope.mp4"):
        _chat(linvt, [_video_turn({"path": str(VIDEOS / "nope.mp4")})])


def test_video_item_without_source(pair):
    _, linvt = pair
    with pytest.raises(ValueError, match=r"message 0, content item 0.*has no video"):
        _chat(linvt, [_video_turn({})])


def test_placeholder_video_count_mismatch(pair):
    _, linvt = pair
    prompt = linvt.apply_chat_template([_video_turn({"path": BUNNY})], add_generation_prompt=True)
    with pytest.raises(ValueError, match=r"2 video\(s\) given but the text has 1 video placeholder"):
        linvt(text=prompt, videos=[BUNNY, CARPHONE])
    with pytest.raises(ValueError, match=r"0 video\(s\) given but the text has 1 video placeholder"):
        linvt(text=prompt)
    with pytest.raises(ValueError, match=r"1 video\(s\) given but the text has 0"):
        linvt(text="no placeholder here", videos=BUNNY)


def test_bad_construction():
    backbone = make_tiny_processor("qwen2_vl")
    with pytest.raises(ValueError, match="backbone_processor_class is required"):
        LinVTProcessor(backbone.image_processor, backbone.tokenizer)
    with pytest.raises(ValueError, match="unsupported backbone processor"):
        LinVTProcessor(backbone.image_processor, backbone.tokenizer, backbone_processor_class="LlavaProcessor")
    with pytest.raises(ValueError, match="num_video_tokens"):
        LinVTProcessor.from_backbone_processor(backbone, num_video_tokens=0)


@pytest.mark.parametrize("tokenizer_type", ["avg", "llama_vid"])
@pytest.mark.parametrize("backbone", ["qwen2_vl", "internvl"])
def test_per_frame_token_counts_match_the_baseline_models(backbone, tokenizer_type, tmp_path):
    """With `video_tokens_per_frame`, each video takes tokens per real time step, as the baseline tokenizers emit."""


    model, linvt = make_tiny(backbone, tokenizer_type=tokenizer_type)
    per_step = model.config.num_output_tokens(1)
    linvt.video_tokens_per_frame = per_step
    rng = np.random.default_rng(0)
    videos = [rng.integers(0, 256, size=(n, 40, 40, 3), dtype=np.uint8) for n in (4, 8)]
    texts = [f"{linvt.video_token} a", f"{linvt.video_token} b"]
    out = linvt(text=texts, videos=videos, padding=True, return_tensors="pt")
    steps = out["video_frame_mask"].sum(1).tolist()
    assert steps[0] < steps[1]
    assert _video_token_counts(linvt, out["input_ids"]) == [per_step * s for s in steps]
    inputs = {k: v for k, v in out.items() if k != "video_timestamps"}
    with torch.no_grad():
        model(**inputs)  # the model finds exactly the tokens its baseline emits for each video

    linvt.save_pretrained(tmp_path)
    assert LinVTProcessor.from_pretrained(tmp_path).video_tokens_per_frame == per_step


def test_video_tokens_per_frame_must_be_a_positive_int():
    backbone = make_tiny_processor("internvl")
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="video_tokens_per_frame"):
            LinVTProcessor.from_backbone_processor(backbone, video_tokens_per_frame=bad)
