"""AutoShot shot-boundary detection (Zhu et al., CVPRW 2023): the network and its published weights."""

from .network import (
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
    WEIGHTS_ENV_VAR,
    convert_official_state_dict,
    find_autoshot_weights,
    load_autoshot_state_dict,
)

__all__ = [
    "AUTOSHOT_HUB_FILENAME",
    "AUTOSHOT_HUB_REPO_ID",
    "DEFAULT_THRESHOLD",
    "FRAME_HEIGHT",
    "FRAME_WIDTH",
    "WEIGHTS_ENV_VAR",
    "WINDOW_LENGTH",
    "WINDOW_STRIDE",
    "AutoShot",
    "convert_official_state_dict",
    "find_autoshot_weights",
    "load_autoshot_state_dict",
]
