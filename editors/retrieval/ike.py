"""IKE — in-context knowledge editing with retrieved demonstrations (Zheng et al. 2023).

The prompt shows worked demonstrations of three kinds before the new facts and the
question: *copy* (the fact's own prompt → the new object), *update* (a paraphrase → the new
object) and *retain* (an unrelated prompt → the model's usual answer, so the model learns
that a new fact does not change everything). IKE picks the demonstrations nearest to the
case by embedding; ours come from a small built-in pool written for this project
(invented facts, so no evaluation data leaks into the prompt).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from editmind.editors.base import register_editor
from editmind.editors.model.local_model import LocalModel
from editmind.editors.retrieval.base import Hop, RetrievalAnswer, RetrievalEditor, Trace, short_answer
from editmind.editors.retrieval.ice import stated
from editmind.editors.retrieval.source import FactSource

# (kind, new fact, prompt, answer) — our own demonstrations.
DEMONSTRATIONS: tuple[tuple[str, str, str, str], ...] = (
    ("copy", "The Louvre is located in Madrid.", "The Louvre is located in", "Madrid"),
    ("update", "The Louvre is located in Madrid.", "In which city is the Louvre?", "Madrid"),
    ("retain", "The Louvre is located in Madrid.", "In which city is the Colosseum?", "Rome"),
    ("copy", "Hamlet was written by Leo Tolstoy.", "The author of Hamlet is", "Leo Tolstoy"),
    ("update", "Hamlet was written by Leo Tolstoy.", "Who wrote Hamlet?", "Leo Tolstoy"),
    ("retain", "Hamlet was written by Leo Tolstoy.", "Who wrote War and Peace?", "Leo Tolstoy"),
    ("copy", "The capital of Japan is Osaka.", "The capital of Japan is", "Osaka"),
    ("update", "The capital of Japan is Osaka.", "What is the capital city of Japan?", "Osaka"),
    ("retain", "The capital of Japan is Osaka.", "What is the capital of France?", "Paris"),
    ("update", "Lionel Messi is a citizen of Canada.", "What is the country of citizenship of Lionel Messi?", "Canada"),
    ("retain", "Lionel Messi is a citizen of Canada.", "Which sport does Lionel Messi play?", "association football"),
    ("update", "Apple was founded by Bill Gates.", "Who is the founder of Apple?", "Bill Gates"),
)


@dataclass
class IkeConfig:
    k: int = 4                   # facts retrieved for the question
    demonstrations: int = 6      # demonstrations shown, nearest to the question first
    max_new_tokens: int = 16


@register_editor
class IkeEditor(RetrievalEditor):
    name: ClassVar[str] = "ike"
    Config: ClassVar[type] = IkeConfig
    description: ClassVar[str] = "in-context knowledge editing with copy/update/retain demonstrations"

    def __init__(self, config: IkeConfig | None = None, **overrides) -> None:
        super().__init__(config, **overrides)
        self._demo_vectors: np.ndarray | None = None

    def _demonstrations(self, question: str, source: FactSource) -> list[tuple[str, str, str, str]]:
        if self._demo_vectors is None:
            self._demo_vectors = source.embed([f"{d[1]} {d[2]}" for d in DEMONSTRATIONS])
        scores = self._demo_vectors @ source.embed([question])[0]
        order = np.argsort(-scores, kind="stable")[: self.config.demonstrations]
        return [DEMONSTRATIONS[i] for i in sorted(order, key=lambda i: scores[i])]  # nearest last, next to the question

    def answer(self, model: LocalModel, question: str, source: FactSource) -> RetrievalAnswer:
        config: IkeConfig = self.config
        trace = Trace(method=self.name, question=question)
        trace.retrieved = source.search(question, config.k)
        trace.used = [f.id for f in trace.retrieved]
        demos = "".join(f"New Fact: {fact}\nPrompt: {prompt}\nAnswer: {answer}\n\n"
                        for _kind, fact, prompt, answer in self._demonstrations(question, source))
        facts = " ".join(stated(f.text) for f in trace.retrieved)
        trace.prompt = f"{demos}New Fact: {facts}\nPrompt: {question}\nAnswer:"
        output = self.generate(model, trace.prompt, trace, config.max_new_tokens)
        answer = short_answer(output)
        trace.hops.append(Hop(subquestion=question, model_output=output, retrieved=list(trace.retrieved),
                              used_fact_ids=list(trace.used), answer=answer, source="model"))
        return RetrievalAnswer(answer, trace)
