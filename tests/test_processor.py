"""The LinVT processors of the four backbone families (each extends its image-LLM's processor), with offline tiny
processors and the sample videos."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from transformers import AutoConfig, AutoProcessor, PaliGemmaConfig
from transformers.processing_utils import ProcessorMixin

import linvt_hf
from linvt_hf import FAMILIES, LinVTProcessor
from linvt_hf.modeling.video_tokenizer import video_tokenizer_class
from linvt_hf.processing import LinVTInternVLProcessor, LinVTQwen2VLProcessor
from linvt_hf.processing.video_processor import VIDEO_OPTIONS
from linvt_hf.testing import (
    BACKBONES,
    make_tiny,
    make_tiny_linvt_processor,
    make_tiny_processor,
    tiny_image_llm_config,
)

sys.path.insert(0, str(Path(__file__).parent))
from video_factory import make_video  # noqa: E402

VIDEOS = Path(__file__).parent / "data" / "videos"
BUNNY = str(VIDEOS / "bigbuckbunny.mp4")
CARPHONE = str(VIDEOS / "carphone_pristine.mp4")
NUM_VIDEO_TOKENS = 8
QUESTION = "What is the rabbit doing?"


@pytest.fixture(scope="module", params=BACKBONES)
def pair(request):
    """(backbone processor, LinVT processor wrapping it)."""
    backbone = make_tiny_processor(request.param)
    linvt = LinVTProcessor.from_backbone(
        backbone,
        NUM_VIDEO_TOKENS,
        video_processor_kwargs={"num_frames": 4, "fps": None, "min_frames": 1, "shot_detector": "none"},
    )
    assert type(linvt) is FAMILIES[request.param].processor_class
    return backbone, linvt


def _images(seed: int = 0) -> list[Image.Image]:
    rng = np.random.default_rng(seed)
    return [Image.fromarray(rng.integers(0, 256, size=shape, dtype=np.uint8)) for shape in [(40, 70, 3), (64, 30, 3)]]


def _video_turn(*videos: dict, text: str = QUESTION) -> dict:
    return {"role": "user", "content": [*({"type": "video", **v} for v in videos), {"type": "text", "text": text}]}


def _chat(processor, conversation, metadata: bool = False, **kwargs):
    if metadata:
        kwargs["processor_kwargs"] = {**kwargs.get("processor_kwargs", {}), "return_metadata": True}
    return processor.apply_chat_template(
        conversation, add_generation_prompt=True, tokenize=True, return_dict=True, return_tensors="pt", **kwargs
    )


def _family(linvt) -> str:
    """The image-LLM model type of a LinVT processor."""
    return next(name for name, family in FAMILIES.items() if type(linvt) is family.processor_class)


def _frames_per_step(linvt) -> int:
    """Frames per LinVT time step: Qwen's temporal patches hold two."""
    return 2 if type(linvt).frame_layout.output == "patches" else 1


def _steps(out) -> list[int]:
    return out["video_frame_mask"].sum(1).tolist()


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
    steps = _frames_per_step(linvt)
    assert _steps(short) == [8 // steps]
    assert _steps(long) == [40 // steps]

    ids = short["input_ids"][0].tolist()
    first = ids.index(linvt.video_token_id)
    block = linvt.tokenizer.convert_ids_to_tokens(ids[first - 1 : first + NUM_VIDEO_TOKENS + 1])
    markers = {
        "qwen2_vl": ("<|vision_start|>", "<|vision_end|>"),
        "qwen2_5_vl": ("<|vision_start|>", "<|vision_end|>"),
        "qwen3_vl": ("<|vision_start|>", "<|vision_end|>"),
        "smolvlm": ("<global-img>", "<fake_token_around_image>"),
        "internvl": ("<img>", "</img>"),
        "llava_onevision": ("<|im_start|>", "\n"),  # "<|im_start|>user <video>...": no markers of its own
        "llava": (" ", "\n"),  # "USER: <video>...\n": no markers of its own either
        "molmo": (" ", " "),  # " User: <video>...<question>": no markers of its own either
        "molmo2": ("<frame_start>", "<frame_end>"),
        "xgenmm": ("\n", "\n"),  # "<|user|>\n<video>...\n": no markers of its own either
    }[_family(linvt)]
    if _family(linvt) not in ("llava_onevision", "llava", "xgenmm", "molmo"):
        assert (block[0], block[-1]) == markers
    assert set(block[1:-1]) == {linvt.video_token}


def test_video_outputs_shapes_and_values(pair):
    _, linvt = pair
    out = _chat(linvt, [_video_turn({"path": BUNNY, "num_frames": 8, "shots": [(0, 66), (66, 132)]})], metadata=True)
    t = 8 // _frames_per_step(linvt)
    assert _steps(out) == [t]
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
    if _frames_per_step(linvt) == 2:
        grid = out["video_grid_thw"][0].tolist()
        assert grid[0] == t and pixels.shape[0] == grid[0] * grid[1] * grid[2]
        assert out["mm_token_type_ids"][0].tolist().count(2) == NUM_VIDEO_TOKENS
    else:
        size = linvt.video_processor.size  # the image processor's (SmolVLM: its max_image_size square)
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
    out = _chat(
        linvt, [_video_turn({"path": BUNNY, "num_frames": 4}, {"path": CARPHONE, "num_frames": 8})], metadata=True
    )
    assert _video_token_counts(linvt, out["input_ids"]) == [2 * NUM_VIDEO_TOKENS]
    steps = _frames_per_step(linvt)
    assert _steps(out) == [4 // steps, 8 // steps]
    assert out["video_sample_index"].tolist() == [0, 0]
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
        out = _chat(linvt, conversations, metadata=True, processor_kwargs={"padding": True, "padding_side": side})
    finally:
        linvt.tokenizer.padding_side = previous
    mask = out["attention_mask"]
    assert mask.shape == out["input_ids"].shape == out["question_mask"].shape
    short = mask[0]
    assert short.sum() < mask.shape[1]
    assert (short[0] == 0) == (side == "left")  # padding where asked
    assert not (out["question_mask"] & (mask == 0)).any()
    assert _video_token_counts(linvt, out["input_ids"]) == [NUM_VIDEO_TOKENS, 2 * NUM_VIDEO_TOKENS]
    assert out["video_frame_mask"].shape[0] == 3
    assert out["video_sample_index"].tolist() == [0, 1, 1]
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


def _image_llm_settings(processor) -> dict:
    """The image-LLM processor's own init settings (e.g. InternVL's `image_seq_length`)."""
    return {name: getattr(processor, name) for name in type(processor).image_llm_init_arguments()}


def test_save_and_load_round_trip(pair, tmp_path):
    _, linvt = pair
    linvt.save_pretrained(tmp_path)
    reloaded = LinVTProcessor.from_pretrained(tmp_path)
    assert type(reloaded) is type(linvt)
    assert reloaded.num_video_tokens == NUM_VIDEO_TOKENS and reloaded.video_tokens_per_frame is None
    assert _image_llm_settings(reloaded) == _image_llm_settings(linvt)
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
    linvt.save_pretrained(tmp_path)
    assert not (tmp_path / "config.json").exists()
    reloaded = AutoProcessor.from_pretrained(tmp_path)
    assert type(reloaded) is type(linvt)
    _assert_same_outputs(linvt, reloaded, [_video_turn({"path": BUNNY})])


def test_from_backbone_folder(tmp_path):
    """A folder holding only the image-LLM's processor (no model config): its processor class names the family."""
    backbone = make_tiny_processor("internvl")
    backbone.save_pretrained(tmp_path)
    linvt = LinVTProcessor.from_backbone(str(tmp_path), num_video_tokens=16, video_processor_kwargs={"num_frames": 4})
    assert type(linvt) is LinVTInternVLProcessor
    assert _image_llm_settings(linvt) == {"image_seq_length": 4}
    assert linvt.num_video_tokens == 16 and linvt.video_processor.num_frames == 4


@pytest.mark.parametrize("backbone", BACKBONES)
def test_from_backbone_dispatches_by_model_type_and_by_processor_object(backbone, tmp_path):
    """`LinVTProcessor.from_backbone` builds the family's class from an image-LLM checkpoint (by its model type) and
    from the image-LLM's processor object (by its class), the same processor either way."""
    image_llm_processor = make_tiny_processor(backbone)
    tiny_image_llm_config(backbone).save_pretrained(tmp_path)  # what an image-LLM checkpoint holds
    image_llm_processor.save_pretrained(tmp_path)
    assert AutoConfig.from_pretrained(tmp_path).model_type == backbone
    by_type = LinVTProcessor.from_backbone(str(tmp_path), num_video_tokens=5)
    by_object = LinVTProcessor.from_backbone(image_llm_processor, num_video_tokens=5)
    assert type(by_type) is type(by_object) is FAMILIES[backbone].processor_class
    assert isinstance(by_object, type(image_llm_processor))  # the LinVT processor IS the image-LLM's processor
    assert type(LinVTProcessor.from_backbone(by_object)) is type(by_object)  # a LinVT processor is one too
    assert _image_llm_settings(by_type) == _image_llm_settings(by_object)
    conversation = [_video_turn({"video": np.zeros((4, 32, 32, 3), dtype=np.uint8)})]
    _assert_same_outputs(by_type, by_object, conversation)


def test_legacy_processor_folder_loads_into_its_family(tmp_path):
    """linvt-hf 0.1 saved every family's processor as one `LinVTProcessor` class (the shipped demo model's folder is
    one): it loads into its family's class, through AutoProcessor and LinVTProcessor alike, with its settings."""
    folder = linvt_hf.demo_model_path()
    by_auto, by_linvt = AutoProcessor.from_pretrained(folder), LinVTProcessor.from_pretrained(folder)
    assert type(by_auto) is type(by_linvt) is LinVTInternVLProcessor
    for processor in (by_auto, by_linvt):
        assert processor.num_video_tokens == 28 and processor.image_seq_length == 16
        assert (processor.video_processor.num_frames, processor.video_processor.shot_detector) == (16, "histogram")
    conversation = [_video_turn({"video": np.zeros((4, 56, 56, 3), dtype=np.uint8)})]
    _assert_same_outputs(by_auto, by_linvt, conversation)
    by_auto.save_pretrained(tmp_path)  # saved again: today's layout, the same processor
    _assert_same_outputs(by_auto, AutoProcessor.from_pretrained(tmp_path), conversation)


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


def test_bad_construction(tmp_path):
    backbone = make_tiny_processor("qwen2_vl")
    with pytest.raises(TypeError, match="LinVTProcessor is not instantiated"):
        LinVTProcessor(backbone.image_processor, backbone.tokenizer)
    with pytest.raises(TypeError, match="LinVTQwen2VLProcessor extends Qwen2VLProcessor, got a InternVLProcessor"):
        LinVTQwen2VLProcessor.from_backbone(make_tiny_processor("internvl"))
    with pytest.raises(ValueError, match="no LinVT processor extends ProcessorMixin"):
        LinVTProcessor.from_backbone(ProcessorMixin.__new__(ProcessorMixin))
    with pytest.raises(ValueError, match="num_video_tokens"):
        LinVTProcessor.from_backbone(backbone, num_video_tokens=0)
    PaliGemmaConfig().save_pretrained(tmp_path)  # an image-LLM no LinVT family extends
    with pytest.raises(ValueError, match=r"no LinVT processor for image-LLMs of model type 'paligemma'"):
        LinVTProcessor.from_backbone(str(tmp_path))


@pytest.mark.parametrize("video_tokenizer_type", ["avg", "llama_vid"])
@pytest.mark.parametrize("backbone", ["qwen2_vl", "internvl"])
def test_per_frame_token_counts_match_the_baseline_models(backbone, video_tokenizer_type, tmp_path):
    """With `video_tokens_per_frame`, each video takes tokens per real time step, as the baseline tokenizers emit."""
    model, linvt = make_tiny(backbone, video_tokenizer_type=video_tokenizer_type)
    config = model.config.video_tokenizer_config
    per_step = video_tokenizer_class(config).num_output_tokens(config, 1)
    assert linvt.video_tokens_per_frame == per_step  # make_tiny sets it, as a user must
    rng = np.random.default_rng(0)
    videos = [rng.integers(0, 256, size=(n, 40, 40, 3), dtype=np.uint8) for n in (4, 8)]
    texts = [f"{linvt.video_token} a", f"{linvt.video_token} b"]
    out = linvt(text=texts, videos=videos, padding=True, return_tensors="pt")
    steps = _steps(out)
    assert steps[0] < steps[1]
    assert _video_token_counts(linvt, out["input_ids"]) == [per_step * s for s in steps]
    with torch.no_grad():
        model(**out)  # the model finds exactly the tokens its baseline emits for each video

    linvt.save_pretrained(tmp_path)
    assert LinVTProcessor.from_pretrained(tmp_path).video_tokens_per_frame == per_step


def test_video_tokens_per_frame_must_be_a_positive_int():
    backbone = make_tiny_processor("internvl")
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="video_tokens_per_frame"):
            LinVTProcessor.from_backbone(backbone, video_tokens_per_frame=bad)


# ------------------------------------------------------------------------------------------- what the model reads


def test_video_sample_index_names_each_videos_prompt(pair):
    """`video_sample_index` [V]: the prompt each video belongs to, in placeholder order, from the prompts as given
    (expanding the placeholders must not change what is counted)."""
    _, linvt = pair
    video = linvt.video_token
    texts = [f"{video} one", "no video here", f"{video} and {video} two", f"{video}"]
    frames = [np.zeros((2, 32, 32, 3), dtype=np.uint8)] * 4
    out = linvt(text=texts, videos=frames, padding=True, return_tensors="pt")
    assert out["video_sample_index"].tolist() == [0, 2, 2, 3]
    assert texts[0] == f"{video} one"  # the caller's prompts are left as they were
    single = linvt(text=f"{video} one", videos=frames[0], return_tensors="pt")
    assert single["video_sample_index"].tolist() == [0]
    assert "video_sample_index" not in linvt(text="no video", return_tensors="pt")
    assert "video_sample_index" in linvt.model_input_names


def test_metadata_only_with_return_metadata(pair):
    """Timestamps and source frame indices are for people: returned only when asked, and nothing else changes."""
    _, linvt = pair
    conversation = [_video_turn({"path": BUNNY})]
    plain, with_metadata = _chat(linvt, conversation), _chat(linvt, conversation, metadata=True)
    metadata = set(with_metadata) - set(plain)
    expected = {"video_timestamps", "video_frame_indices"}
    if _frames_per_step(linvt) == 2:
        expected.add("video_temporal_patch_frame_indices")
    assert metadata == expected and not metadata & set(linvt.model_input_names)
    for key in plain:
        torch.testing.assert_close(plain[key], with_metadata[key], msg=key)
    direct = linvt(text=f"{linvt.video_token} hi", videos=BUNNY, return_metadata=True, return_tensors="pt")
    assert expected <= set(direct)


# Two values of each video option, each sampling differently from the other and from the option unset.
OPTION_VALUES = {
    "num_frames": (4, 6),
    "fps": (2.0, 0.5),
    "min_frames": (7, 9),
    "max_frames": (3, 5),
    "shot_detector": ("histogram", "none"),
    "max_side": (40, 80),
    "start": (2.0, 3.0),
    "end": (2.0, 3.0),
    "shots": ([(0, 10), (10, 132)], [(0, 100), (100, 132)]),
    "fps_hint": (5.0, 10.0),
}
QWEN_VIDEO_PROMPT = "<|vision_start|><|video_pad|><|vision_end|> what"


def _sampled(defaults: dict, video, **call) -> tuple:
    """What a tiny Qwen2-VL processor with these video option defaults samples of `video` in a call with `call`:
    (source frame indices, clip ids, pixel tensor)."""
    processor = make_tiny_linvt_processor("qwen2_vl", **defaults)
    out = processor(text=QWEN_VIDEO_PROMPT, videos=video, return_metadata=True, return_tensors="pt", **call)
    return out["video_frame_indices"][0].tolist(), out["video_clip_ids"][0].tolist(), out["pixel_values_videos"]


def _same(a: tuple, b: tuple) -> bool:
    return a[:2] == b[:2] and a[2].shape == b[2].shape and torch.equal(a[2], b[2])


@pytest.mark.parametrize("option", VIDEO_OPTIONS)
def test_each_video_option_is_valid_at_every_level(option, tmp_path):
    """Each option of `LinVTVideoOptions` works as a processor default, in a call and in a spec dict, with the same
    result; the spec dict wins over the call, which wins over the default."""
    assert set(OPTION_VALUES) == set(VIDEO_OPTIONS)
    rates = {"min_frames": 0.5, "max_frames": 4.0}  # rates whose frame counts these bounds clamp
    base = {"num_frames": None, "fps": rates.get(option, 1.0), "min_frames": 1, "shot_detector": "none"}
    video = BUNNY
    if option == "fps_hint":  # frames, which have no rate of their own
        video = np.random.default_rng(0).integers(0, 256, (30, 24, 32, 3), np.uint8)
    elif option == "shot_detector":  # a video with a cut for the detector to find
        video = str(tmp_path / "cut.mp4")
        make_video(video, num_frames=40, size=(48, 64), fps=10, cuts=[20])
    first, second = OPTION_VALUES[option]

    by_default = _sampled({**base, option: first}, video)
    by_call = _sampled(base, video, **{option: first})
    by_spec = _sampled(base, {"video": video, option: first})
    assert _same(by_call, by_default) and _same(by_spec, by_default)
    by_second = _sampled(base, video, **{option: second})
    assert not _same(by_default, _sampled(base, video)) and not _same(by_default, by_second)

    assert _same(_sampled({**base, option: first}, video, **{option: second}), by_second)  # the call wins
    assert _same(_sampled(base, {"video": video, option: first}, **{option: second}), by_default)  # the spec wins


@pytest.mark.parametrize("level", ["default", "call", "spec"])
def test_bad_video_options_are_named_at_every_level(level):
    bad = {"num_frames": 2.5}
    text = QWEN_VIDEO_PROMPT
    with pytest.raises(TypeError, match="num_frames.*2.5"):
        if level == "default":
            make_tiny_linvt_processor("qwen2_vl", **bad)
        elif level == "call":
            make_tiny_linvt_processor("qwen2_vl")(text=text, videos=BUNNY, **bad)
        else:
            make_tiny_linvt_processor("qwen2_vl")(text=text, videos={"video": BUNNY, **bad})
    with pytest.raises(ValueError, match="start"):
        make_tiny_linvt_processor("qwen2_vl", start=-1.0)
    with pytest.raises(TypeError, match="shots"):
        make_tiny_linvt_processor("qwen2_vl", shots="0-10")
