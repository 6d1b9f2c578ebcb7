"""Evaluating LinVT models the way the field does: an lmms-eval model for any linvt_hf checkpoint.

`LinVTChatEvaluator` (`chat_model`) is the plugin's logic without lmms-eval: it turns lmms-eval's chat messages into
LinVT chats, answers them in batches through the video-question-answering pipeline, runs multi-round requests and
reports each document whose video cannot be read (the run goes on; the failure is counted). `lmms_eval_model`
wraps it as lmms-eval's chat model `linvt` (the `[eval]` extra registers it through lmms-eval's `lmms_eval.models`
entry point); `synthetic_task` writes a local lmms-eval task over the synthetic shapes set, which the demo model
answers. Commands for the paper's benchmarks: docs/evaluation.md.
"""

from .chat_model import EvalFailure, EvalRequest, LinVTChatEvaluator, generation_options, to_linvt_messages
from .synthetic_task import first_word, write_lmms_eval_task

__all__ = [
    "EvalFailure",
    "EvalRequest",
    "LinVTChatEvaluator",
    "first_word",
    "generation_options",
    "to_linvt_messages",
    "write_lmms_eval_task",
]
