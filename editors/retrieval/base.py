"""The retrieval-editor interface: answer a question with edited facts brought in.

A retrieval editor leaves the weights alone. It reads edited facts from a `FactSource`
and changes what the model is *shown* (ICE, IKE) or *how the question is walked* (MeLLo,
PokeMQA, hopwalk). Every answer carries a `Trace` — the subquestions, the facts that were
retrieved with their scores, which of them were used, and what the model said at every
hop — because users ask "why did it say that?" and the app shows it.
"""

from __future__ import annotations

import re
from abc import abstractmethod
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

import torch

from editmind.editors.base import Editor
from editmind.editors.model.generation import _generate_kwargs
from editmind.editors.model.local_model import LocalModel
from editmind.editors.retrieval.source import FactSource, RetrievedFact


@dataclass
class Hop:
    """One step of a multi-hop answer. `source` says where the hop's answer came from:
    "edit" (a stored fact), "model" (the model's own knowledge) or "none"."""

    subquestion: str = ""
    entity: str = ""                      # what the hop is about
    relation: str = ""                    # the relation template it followed, when known
    model_output: str = ""                # raw text the model produced at this hop ("" if not asked)
    retrieved: list[RetrievedFact] = field(default_factory=list)
    used_fact_ids: list[str] = field(default_factory=list)
    answer: str = ""
    source: str = "none"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["retrieved"] = [f.to_dict() for f in self.retrieved]
        return data


@dataclass
class Trace:
    """Everything an answer was built from, JSON-friendly through `to_dict`."""

    method: str
    question: str
    hops: list[Hop] = field(default_factory=list)
    retrieved: list[RetrievedFact] = field(default_factory=list)   # question-level retrieval (ICE/IKE)
    prompt: str = ""                                                # the final prompt shown to the model
    model_outputs: list[str] = field(default_factory=list)         # every raw generation, in order
    model_calls: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def subquestions(self) -> list[str]:
        return [h.subquestion for h in self.hops]

    used: list[str] = field(default_factory=list)                  # ids of question-level facts put in the prompt

    @property
    def used_fact_ids(self) -> list[str]:
        ids = list(self.used)
        for hop in self.hops:
            ids.extend(i for i in hop.used_fact_ids if i not in ids)
        return ids

    @property
    def intermediate_answers(self) -> list[str]:
        return [h.answer for h in self.hops]

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "question": self.question,
            "subquestions": self.subquestions,
            "hops": [h.to_dict() for h in self.hops],
            "retrieved": [f.to_dict() for f in self.retrieved],
            "used_fact_ids": self.used_fact_ids,
            "prompt": self.prompt,
            "model_outputs": list(self.model_outputs),
            "model_calls": self.model_calls,
            "notes": list(self.notes),
        }


@dataclass
class RetrievalAnswer:
    answer: str
    trace: Trace

    def to_dict(self) -> dict[str, Any]:
        return {"answer": self.answer, "trace": self.trace.to_dict()}


class RetrievalEditor(Editor):
    """A method that answers with edited facts retrieved at question time. Implement `answer`."""

    family: ClassVar[str] = "retrieval"

    @abstractmethod
    def answer(self, model: LocalModel, question: str, source: FactSource) -> RetrievalAnswer:
        """Answer `question` with the facts of `source` taking precedence over the weights."""

    # --- shared model I/O: every call is recorded in the trace ---------------------
    @staticmethod
    def generate(model: LocalModel, prompt: str, trace: Trace, max_new_tokens: int, stop: tuple[str, ...] = ("\n",),
                 cut: bool = True) -> str:
        """Greedy raw completion that stops at the first stop string (generation halts there:
        at ~12 tokens/s on a laptop CPU, tokens after a stop are pure waste), recorded in
        `trace`; returned cut at the stop when `cut`."""
        text = complete_until(model, prompt, max_new_tokens, stop)
        trace.model_calls += 1
        trace.model_outputs.append(text)
        return cut_at(text, stop) if cut else text


@torch.no_grad()
def complete_until(model: LocalModel, prompt: str, max_new_tokens: int, stop: tuple[str, ...]) -> str:
    """`LocalModel.complete` with stop strings (transformers' `stop_strings`)."""
    kwargs = _generate_kwargs(model.model, model.tokenizer, prompt, max_new_tokens, add_special_tokens=True)
    stops = [s for s in stop if s]
    if stops:
        kwargs.update(stop_strings=stops, tokenizer=model.tokenizer)
    output = model.model.generate(**kwargs)
    return model.tokenizer.decode(output[0, kwargs["input_ids"].shape[1]:], skip_special_tokens=True)


def text_before(text: str, stops: tuple[str, ...]) -> str:
    """`text` up to the first stop string (the stop itself removed), leading blank lines kept out."""
    text = text.lstrip("\n")
    cut = len(text)
    for stop in stops:
        position = text.find(stop)
        if position != -1:
            cut = min(cut, position)
    return text[:cut]


def cut_at(text: str, stops: tuple[str, ...]) -> str:
    """`text` up to the first of `stops` (leading newlines skipped), stripped."""
    return text_before(text.lstrip(" \n"), stops).strip()


def short_answer(text: str) -> str:
    """The answer phrase of a generation: first line/sentence, trailing period removed."""
    line = cut_at(text, ("\n",))
    # a sentence ends at ./?/! after a lower-case word, not after an initial ("George W. Bush", "D.C.")
    line = _SENTENCE_END.split(line, 1)[0]
    line = _CLAUSE.split(line, 1)[0]
    return line.strip().rstrip(".").strip()


_CLAUSE = re.compile(r",\s+(?:and|but|which|who|where|while|because|so)\b")
_SENTENCE_END = re.compile(r"(?<=[a-z0-9]{2})[.!?](?:\s|$)|[?!](?:\s|$)")
