"""lmms-eval's chat model `linvt`: any linvt_hf checkpoint, scored by lmms-eval (`pip install 'linvt-hf[eval]'`).

    lmms-eval eval --model linvt --model_args pretrained=DIR,num_frames=16 --tasks mvbench --batch_size 8

Model arguments: `pretrained` (a saved folder or Hub id), the run's video sampling (`num_frames`, `fps`,
`min_frames`, `max_frames`, `shot_detector`, `max_side`; the model's processor defaults otherwise), `dtype`
(`auto`), `max_new_tokens` (when a task sets none, 256) and `multi_round_history` (keep the conversation across
rounds, see `LinVTChatEvaluator`). `--batch_size` and `--device` are lmms-eval's own. A document whose video is
missing or cannot be decoded is logged, answered with an empty string and counted (`failures`); the run goes on and
ends with a summary line. The logic lives in `chat_model` (testable without lmms-eval); this module only adapts
lmms-eval's requests, and needs lmms-eval to import.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from lmms_eval.api.instance import Instance
from lmms_eval.api.model import lmms

from .chat_model import EvalRequest, LinVTChatEvaluator, logger


def _batch_size(value: Any) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"linvt: --batch_size must be a positive integer (no 'auto'), got {value!r}")
    return value


class LinVT(lmms):
    """lmms-eval chat model over `LinVTChatEvaluator`: `generate_until` (batched) and
    `generate_until_multi_round`; no log-likelihood (LinVT tasks are generative)."""

    is_simple = False

    def __init__(
        self,
        pretrained: str | None = None,
        batch_size: int | str = 1,
        device: str | None = None,
        dtype: str = "auto",
        max_new_tokens: int = 256,
        multi_round_history: bool = False,
        max_batch_size: int | None = None,  # lmms-eval passes it for --batch_size auto, which is refused
        **video_options: Any,
    ) -> None:
        super().__init__()
        if not pretrained:
            raise ValueError("linvt: give the model with --model_args pretrained=DIR_OR_HUB_ID")
        self.evaluator = LinVTChatEvaluator(
            pretrained,
            batch_size=_batch_size(batch_size),
            device=device,
            dtype=dtype,
            max_new_tokens=int(max_new_tokens),
            multi_round_history=bool(multi_round_history),
            **video_options,
        )
        self.batch_size = self.evaluator.batch_size

    @property
    def failures(self) -> list:
        """The documents that could not be answered (`EvalFailure`s), across this model's calls."""
        return self.evaluator.failures

    def _document(self, request: Instance) -> tuple[EvalRequest, Any, dict[str, Any]]:
        """The request's first-round messages (the task's `doc_to_messages` of its document), the hook and doc."""
        _context, doc_to_messages, gen_kwargs, doc_id, task, split = request.args
        doc = self.task_dict[task][split][doc_id]
        name = f"{task}/{split}/{doc_id}"
        try:
            return EvalRequest(doc_to_messages(doc), dict(gen_kwargs or {}), name), doc_to_messages, doc
        except Exception as error:  # the task cannot build this document's messages: that document fails
            failed = EvalRequest([], dict(gen_kwargs or {}), name, error=f"{type(error).__name__}: {error}")
            return failed, doc_to_messages, doc

    def generate_until(self, requests: list[Instance]) -> list[str]:
        counts = self.evaluator.answered, len(self.evaluator.failures)
        documents = [self._document(request)[0] for request in requests]
        answers = self.evaluator.generate(documents)
        for request, answer in zip(requests, answers):
            self.cache_hook.add_partial("generate_until", (request.args[0], request.args[2]), answer)
        self._report(*counts)
        return answers

    def generate_until_multi_round(self, requests: list[Instance]) -> list[list[str]]:
        counts = self.evaluator.answered, len(self.evaluator.failures)
        results = []
        for request in requests:
            first, doc_to_messages, doc = self._document(request)
            state: dict[str, Any] = {"previous_round_info": None}
            next_round = partial(self._next_round, doc_to_messages, doc, state)
            results.append(self.evaluator.generate_rounds(first, next_round))
        self._report(*counts)
        return results

    @staticmethod
    def _next_round(
        doc_to_messages: Any, doc: Any, state: dict[str, Any], round_idx: int, answers: list[str]
    ) -> Any:
        """lmms-eval's multi-round protocol: the task's `doc_to_messages(doc, round_idx=..., previous_output=...,
        previous_round_info=...)` gives `(messages, terminal, previous_output, previous_round_info)`; None ends."""
        payload = doc_to_messages(
            doc, round_idx=round_idx, previous_output=answers, previous_round_info=state["previous_round_info"]
        )
        if not (isinstance(payload, tuple) and len(payload) == 4):
            return None
        messages, terminal, _previous, state["previous_round_info"] = payload
        return None if terminal else messages

    def _report(self, answered_before: int, failed_before: int) -> None:
        """The documents of this call that failed, if any, as one warning with the call's counts."""
        if len(self.evaluator.failures) > failed_before:
            logger.warning(self.evaluator.summary(answered_before, failed_before))

    def loglikelihood(self, requests: list[Instance]) -> list[tuple[float, bool]]:
        raise NotImplementedError("linvt: log-likelihood tasks are not supported; use generative tasks")
