"""AutoShot shot-boundary detection (Zhu et al., CVPRW 2023): the network and its published weights."""

from .network import (
    AUTOSHOT_PRECISIONS,
    DEFAULT_THRESHOLD,
    FRAME_HEIGHT,
    FRAME_WIDTH,
    WINDOW_LENGTH,
    WINDOW_STRIDE,
    AutoShot,
)
from .weights import (
    AUTOSHOT_HUB_FILENAME,
    AUTOSHOT_HUB_REPO_ID,
    AUTOSHOT_HUB_REVISION,
    AUTOSHOT_SHA256,
    HUB_REVISION_ENV_VAR,
    WEIGHTS_ENV_VAR,
    UntrustedWeightsError,
    convert_official_state_dict,
    file_sha256,
    find_autoshot_weights,
    load_autoshot_state_dict,
    verify_autoshot_weights,
)

__all__ = [
    "AUTOSHOT_HUB_FILENAME",
    "AUTOSHOT_HUB_REPO_ID",
    "AUTOSHOT_HUB_REVISION",
    "AUTOSHOT_PRECISIONS",
    "AUTOSHOT_SHA256",
    "DEFAULT_THRESHOLD",
    "FRAME_HEIGHT",
    "FRAME_WIDTH",
    "HUB_REVISION_ENV_VAR",
    "WEIGHTS_ENV_VAR",
    "WINDOW_LENGTH",
    "WINDOW_STRIDE",
    "AutoShot",
    "UntrustedWeightsError",
    "convert_official_state_dict",
    "file_sha256",
    "find_autoshot_weights",
    "load_autoshot_state_dict",
    "verify_autoshot_weights",
]
