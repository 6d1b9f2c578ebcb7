"""transformers pipelines for LinVT models ("video-question-answering", "video-text-to-text")."""

from .video_question_answering import (
    PIPELINE_TASKS,
    VideoQuestionAnsweringPipeline,
    collate_video_inputs,
    register_pipelines,
    selection_by_sample,
    summarize_selection,
)
from .video_cache import VideoContextCache


__all__ = [
    "PIPELINE_TASKS",
    "VideoContextCache",
    "VideoQuestionAnsweringPipeline",
    "collate_video_inputs",
    "register_pipelines",
    "selection_by_sample",
    "summarize_selection",
]
