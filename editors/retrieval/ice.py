"""ICE — in-context editing: prepend the retrieved facts as "Imagine that <fact>".

The simplest retrieval editor (Cohen et al. 2023 use it as the in-context baseline): the
top-k facts nearest to the question are stated as premises and the model answers below
them. It needs no decomposition, so it is what a small model can use for single-hop
questions; it cannot chain facts the model does not chain by itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from editmind.editors.base import register_editor
from editmind.editors.model.local_model import LocalModel
from editmind.editors.retrieval.base import Hop, RetrievalAnswer, RetrievalEditor, Trace, short_answer
from editmind.editors.retrieval.source import FactSource


@dataclass
class IceConfig:
    k: int = 4                 # facts stated before the question
    min_score: float = 0.0     # drop retrieved facts below this cosine
    max_new_tokens: int = 16


def stated(fact_text: str) -> str:
    return fact_text.strip().rstrip(".") + "."


@register_editor
class IceEditor(RetrievalEditor):
    name: ClassVar[str] = "ice"
    Config: ClassVar[type] = IceConfig
    description: ClassVar[str] = "in-context editing: 'Imagine that <fact>' for the top-k retrieved facts"

    def answer(self, model: LocalModel, question: str, source: FactSource) -> RetrievalAnswer:
        config: IceConfig = self.config
        trace = Trace(method=self.name, question=question)
        trace.retrieved = [f for f in source.search(question, config.k) if f.score >= config.min_score]
        trace.used = [f.id for f in trace.retrieved]
        premises = "".join(f"Imagine that {stated(f.text)}\n" for f in trace.retrieved)
        trace.prompt = f"{premises}Question: {question}\nAnswer:"
        output = self.generate(model, trace.prompt, trace, config.max_new_tokens)
        answer = short_answer(output)
        trace.hops.append(Hop(subquestion=question, model_output=output, retrieved=list(trace.retrieved),
                              used_fact_ids=list(trace.used), answer=answer, source="model"))
        return RetrievalAnswer(answer, trace)
