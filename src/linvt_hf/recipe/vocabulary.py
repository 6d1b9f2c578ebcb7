"""What the synthetic set's questions can be answered with, and how the recipe groups its question types."""

from __future__ import annotations

from ..data import FRAME_QUESTIONS, SINGLE_FRAME_TYPES, TIME_ONLY_TYPES
from ..data.synthetic import (
    BACKGROUND_NAMES,
    COLORS,
    COLUMN_WORDS,
    DIRECTIONS,
    PICTURE_SET_TYPE,
    ROW_WORDS,
    SHAPES,
    SHOT_WORDS,
    SIZE_TRENDS,
)

# What each question type's answer can be: chance is one over the number of choices.
ANSWER_CHOICES: dict[str, tuple[str, ...]] = {
    "color": tuple(COLORS),
    "shape": SHAPES,
    "direction": tuple(DIRECTIONS),
    "size": SIZE_TRENDS,
    "shots": tuple(SHOT_WORDS.values()),
    "visibility": ("appears", "disappears"),
    "presence": ("yes", "no"),
    "background": BACKGROUND_NAMES,
    "column": COLUMN_WORDS,
    "row": ROW_WORDS,
    "scale": ("big", "small"),
    PICTURE_SET_TYPE: tuple(SHOT_WORDS.values()),
}
QUESTION_TYPES = SINGLE_FRAME_TYPES + TIME_ONLY_TYPES
# The groups `evaluate` pools question types into: (group name, its question types).
GROUPS = (("single_frame", SINGLE_FRAME_TYPES), ("time_only", TIME_ONLY_TYPES), ("frame", tuple(FRAME_QUESTIONS)))
# The prompt of the image-LLM's text-only samples (a training caption as the answer).
LANGUAGE_PROMPT = "Write one sentence about a video."
