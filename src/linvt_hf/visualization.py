"""Drawing what LinVT selected (the paper's Fig. 4): the sampled frames in a grid, the frame tokens kept by SVR's
top-k selection shaded red over the image patches they come from, and each frame's timestamp under it.

```python
>>> qa = pipeline("video-question-answering", model="path/to/linvt-model")
>>> out = qa(video="clip.mp4", question="What happens?", return_selection=True)
>>> selection = out[0]["selection"][0]
>>> frames = frames_for_selection("clip.mp4", selection)
>>> draw_selection(frames, selection).save("selection.png")
```

Only PIL is needed. The token grid of a frame covers the whole frame (the backbones resize frames, they do not crop
them), so the selection can be drawn over frames of any resolution.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .processing.video_io import load_video


SELECTION_RGBA = (230, 20, 20, 110)
OUTLINE_RGBA = (255, 40, 40, 220)
BACKGROUND = (255, 255, 255)
TEXT = (20, 20, 20)


def select_shown_frames(num_frames: int, max_frames: int | None) -> list[int]:
    """Indices of at most `max_frames` frames spread evenly over `num_frames` (first and last included)."""
    if max_frames is None or max_frames >= num_frames:
        return list(range(num_frames))
    if max_frames < 1:
        raise ValueError(f"max_frames must be >= 1, got {max_frames}")
    if max_frames == 1:
        return [0]
    return sorted({round(i * (num_frames - 1) / (max_frames - 1)) for i in range(max_frames)})


def frames_for_selection(video: Any, selection: dict[str, Any], max_side: int | None = 384) -> list[np.ndarray]:
    """The frames LinVT saw, one per time step of `selection`, for drawing.

    Args:
        video: the video given to the pipeline: a path, URL or bytes (the frames `selection["frame_indices"]` are
            decoded, at most `max_side` pixels on their longer side), or the frames themselves (an array or tensor
            `[T, H, W, 3]`, or a list of images), which are indexed.
        selection (`dict`): one video's selection, as `VideoQuestionAnsweringPipeline(..., return_selection=True)`
            returns it.
        max_side (`int`, *optional*): longer side of decoded frames.

    Returns:
        `list[np.ndarray]`: uint8 `[H, W, 3]` frames.
    """
    indices = [int(i) for i in selection["frame_indices"]]
    if isinstance(video, dict):
        video = next(video[key] for key in ("video", "path", "url") if video.get(key) is not None)
    if isinstance(video, (list, tuple)) or hasattr(video, "shape"):
        return [_as_rgb_array(video[i]) for i in indices]
    return list(load_video(video, indices=indices, max_side=max_side).frames)


def draw_selection(
    frames: Sequence[Any],
    selection: dict[str, Any],
    grid: tuple[int, int] | None = None,
    max_frames: int | None = None,
    columns: int | None = None,
    cell_width: int = 256,
    title: str | Sequence[str] | None = None,
) -> Image.Image:
    """Draw the tokens LinVT selected over the frames they come from.

    Args:
        frames (`Sequence`): one frame per time step of `selection` (uint8 `[H, W, 3]` arrays, tensors or PIL
            images), e.g. from `frames_for_selection`.
        selection (`dict`): one video's selection from `VideoQuestionAnsweringPipeline(..., return_selection=True)`:
            `selected` (`[frame, row, col]` per kept token), `timestamps`, `frame_indices` and `grid` are read.
        grid (`tuple[int, int]`, *optional*): `(rows, cols)` of the per-frame tokens; `selection["grid"]` if None.
        max_frames (`int`, *optional*): show at most this many frames, spread evenly over the video.
        columns (`int`, *optional*): most frames per row of the figure (default 4).
        cell_width (`int`): width in pixels of each frame in the figure.
        title (`str` or `list[str]`, *optional*): lines written above the frames.

    Returns:
        `PIL.Image.Image`: RGB figure.
    """
    grid = tuple(grid) if grid is not None else selection.get("grid")
    if grid is None:
        raise ValueError("the token grid (rows, cols) is unknown: pass grid=")
    if len(frames) != len(selection["frame_indices"]):
        raise ValueError(
            f"{len(frames)} frames given for a selection over {len(selection['frame_indices'])} frames (time steps)"
        )
    shown = select_shown_frames(len(frames), max_frames)
    columns = min(columns or 4, len(shown))
    cells = [_frame_cell(frames[t], t, selection, grid, cell_width) for t in shown]
    return _compose(cells, columns, [title] if isinstance(title, str) else list(title or []))


def _frame_cell(
    frame: Any, step: int, selection: dict[str, Any], grid: tuple[int, int], cell_width: int
) -> Image.Image:
    """One frame with its selected patches shaded and a caption strip under it."""
    image = Image.fromarray(_as_rgb_array(frame))
    height = max(1, round(image.height * cell_width / image.width))
    image = image.resize((cell_width, height), Image.Resampling.BILINEAR).convert("RGBA")
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    rows, cols = grid
    count = 0
    for frame_index, row, col in _selected_cells(selection, cols):
        if frame_index != step:
            continue
        count += 1
        box = (
            round(col * cell_width / cols),
            round(row * height / rows),
            round((col + 1) * cell_width / cols) - 1,
            round((row + 1) * height / rows) - 1,
        )
        draw.rectangle(box, fill=SELECTION_RGBA, outline=OUTLINE_RGBA)
    image = Image.alpha_composite(image, overlay).convert("RGB")

    font = _font(13)
    caption = f"t = {float(selection['timestamps'][step]):.2f} s  ·  {_source_frames(selection, step)}"
    detail = f"{count} of {rows * cols} tokens selected"
    line = _line_height(font)
    cell = Image.new("RGB", (cell_width, height + 2 * line + 8), BACKGROUND)
    cell.paste(image, (0, 0))
    text = ImageDraw.Draw(cell)
    text.text((4, height + 3), caption, fill=TEXT, font=font)
    text.text((4, height + 4 + line), detail, fill=(150, 20, 20), font=font)
    return cell


def _source_frames(selection: dict[str, Any], step: int) -> str:
    """"frame 41", or "frames 41, 57" when a LinVT frame is a temporal patch of several frames (Qwen2-VL)."""
    pairs = selection.get("step_frame_indices")
    indices = list(dict.fromkeys(pairs[step])) if pairs else [selection["frame_indices"][step]]
    return ("frame " if len(indices) == 1 else "frames ") + ", ".join(str(i) for i in indices)


def _selected_cells(selection: dict[str, Any], cols: int) -> list[tuple[int, int, int]]:
    """`(frame, row, col)` of every selected token (entries may be `[frame, token]` when no grid was known)."""
    cells = []
    for entry in selection["selected"]:
        if len(entry) == 3:
            cells.append(tuple(int(v) for v in entry))
        else:
            frame, token = int(entry[0]), int(entry[1])
            cells.append((frame, *divmod(token, cols)))
    return cells


def _compose(cells: list[Image.Image], columns: int, title: list[str]) -> Image.Image:
    gap = 6
    width, height = cells[0].width, max(cell.height for cell in cells)
    rows = math.ceil(len(cells) / columns)
    font = _font(15)
    line = _line_height(font)
    top = gap + len(title) * (line + 2)
    figure = Image.new(
        "RGB", (columns * width + (columns + 1) * gap, top + rows * height + (rows + 1) * gap), BACKGROUND
    )
    draw = ImageDraw.Draw(figure)
    for i, text in enumerate(title):
        draw.text((gap, gap + i * (line + 2)), _fit(text, font, figure.width - 2 * gap), fill=TEXT, font=font)
    for i, cell in enumerate(cells):
        row, col = divmod(i, columns)
        figure.paste(cell, (gap + col * (width + gap), top + gap + row * (height + gap)))
    return figure


def _fit(text: str, font: ImageFont.ImageFont, width: int) -> str:
    """`text`, cut short with "..." to fit in `width` pixels."""
    if font.getlength(text) <= width:
        return text
    while text and font.getlength(text + "...") > width:
        text = text[:-1]
    return text + "..."


def _as_rgb_array(frame: Any) -> np.ndarray:
    """uint8 `[H, W, 3]` from a PIL image, a numpy array or a torch tensor (`[H, W, C]` or `[C, H, W]`, uint8 or
    float in [0, 1])."""
    if isinstance(frame, Image.Image):
        return np.asarray(frame.convert("RGB"))
    array = frame.detach().cpu().numpy() if hasattr(frame, "detach") else np.asarray(frame)
    if array.ndim == 2:
        array = np.repeat(array[..., None], 3, axis=-1)
    if array.ndim == 3 and array.shape[0] in (1, 3) and array.shape[-1] not in (1, 3):
        array = np.moveaxis(array, 0, -1)
    if array.dtype != np.uint8:
        array = np.clip(np.asarray(array, dtype=np.float32) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    if array.shape[-1] == 1:
        array = np.repeat(array, 3, axis=-1)
    return np.ascontiguousarray(array[..., :3])


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has one bitmap size
        return ImageFont.load_default()


def _line_height(font: ImageFont.ImageFont) -> int:
    left, top, right, bottom = font.getbbox("Ag")
    return bottom + 2


__all__ = ["draw_selection", "frames_for_selection", "select_shown_frames"]
