"""PokeMQA (Gu et al. 2024): decomposition and fact checking kept apart.

The model only decomposes: it writes a subquestion, and the *scope detector*
(scope_detector.py), not the model, decides whether one of the retrieved edits answers it
("conflict disentangling"). If an edit is in scope, its sentence is written in as the
"Generated answer" and the model only reads the entity out of it; otherwise the model
answers the subquestion itself. Retrieval is two-stage as in the paper: the embedding
search proposes `pre_k` candidates (the pre-detector), the trained detector picks.

The paper's optional knowledge prompt ("Entity of Question: X, a human", from a knowledge
graph) is not used: there is no knowledge graph offline. The demonstrations are ours;
`prompt_file` loads another prompt in the same format (the original PokeMQA prompt is at
../shared/data/reference_prompts/pokemqa_prompt.txt).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from editmind.editors.base import register_editor
from editmind.editors.model.local_model import LocalModel
from editmind.editors.retrieval.base import Hop, RetrievalAnswer, RetrievalEditor, Trace, short_answer, text_before
from editmind.editors.retrieval.ice import stated
from editmind.editors.retrieval.mello import field_value, load_prompt
from editmind.editors.retrieval.scope_detector import ScopeDetector
from editmind.editors.retrieval.source import FactSource

POKEMQA_DEMONSTRATIONS = """Question: What is the capital of the country where the Louvre is located?
Subquestion: In which country is the Louvre located?
Generated answer: The Louvre is located in the country of Spain.
According to Generated answer, the entity of Subquestion is: Spain
Subquestion: What is the capital of Spain?
Generated answer: The capital of Spain is Madrid.
According to Generated answer, the entity of Subquestion is: Madrid
Final answer: Madrid

Question: Who founded the company that produces the iPhone?
Subquestion: Which company produces the iPhone?
Generated answer: The iPhone is produced by Apple.
According to Generated answer, the entity of Subquestion is: Apple
Subquestion: Who founded Apple?
Generated answer: Apple was founded by Bill Gates.
According to Generated answer, the entity of Subquestion is: Bill Gates
Final answer: Bill Gates

Question: What is the official language of the country of citizenship of the spouse of Barack Obama?
Subquestion: Who is Barack Obama married to?
Generated answer: Barack Obama is married to Taylor Swift.
According to Generated answer, the entity of Subquestion is: Taylor Swift
Subquestion: What is the country of citizenship of Taylor Swift?
Generated answer: Taylor Swift is a citizen of Japan.
According to Generated answer, the entity of Subquestion is: Japan
Subquestion: What is the official language of Japan?
Generated answer: The official language of Japan is Japanese.
According to Generated answer, the entity of Subquestion is: Japanese
Final answer: Japanese"""

ENTITY_LABEL = "According to Generated answer, the entity of Subquestion is:"


@dataclass
class PokeMqaConfig:
    max_hops: int = 4
    pre_k: int = 5                       # candidates from the embedding search
    threshold: float = 0.5               # detector probability to treat an edit as in scope
    detector_dir: str | None = None      # default: <home>/retrieval
    prompt_file: str | None = None
    max_new_tokens: int = 32


@register_editor
class PokeMqaEditor(RetrievalEditor):
    name: ClassVar[str] = "pokemqa"
    Config: ClassVar[type] = PokeMqaConfig
    description: ClassVar[str] = "PokeMQA: model decomposes, a trained scope detector decides which edit applies"

    def __init__(self, config: PokeMqaConfig | None = None, detector: ScopeDetector | None = None, **overrides) -> None:
        super().__init__(config, **overrides)
        self._detector = detector

    def detector(self) -> ScopeDetector:
        if self._detector is None:
            directory = self.config.detector_dir
            if directory is None:
                from editmind.editors.model import resolve_home

                directory = Path(resolve_home(None)) / "retrieval"
            self._detector = ScopeDetector.load(directory)
        return self._detector

    def answer(self, model: LocalModel, question: str, source: FactSource) -> RetrievalAnswer:
        config: PokeMqaConfig = self.config
        detector = self.detector()
        trace = Trace(method=self.name, question=question)
        demos = load_prompt(config.prompt_file) if config.prompt_file else POKEMQA_DEMONSTRATIONS
        prompt = f"{demos}\n\nQuestion: {question}\n"
        final = ""
        for _ in range(config.max_hops):
            step = self.generate(model, prompt, trace, config.max_new_tokens,
                                 stop=("Generated answer:", "\n\n", "Question:"), cut=False)
            step = text_before(step, ("Generated answer:", "\n\n", "Question:"))
            if "Final answer:" in step:
                final = short_answer(field_value(step, "Final answer:"))
                break
            subquestion = field_value(step, "Subquestion:")
            if not subquestion:
                trace.notes.append(f"the model wrote no subquestion: {step!r}")
                break
            prompt += f"Subquestion: {subquestion}\n"
            candidates = source.search(subquestion, config.pre_k)
            probabilities = detector.probabilities(source.embed([f.text for f in candidates]),
                                                   source.embed([subquestion])[0]) if candidates else []
            scored = [c.__class__(**{**c.to_dict(), "score": round(float(p), 4)}) for c, p in zip(candidates, probabilities)]
            best = max(range(len(scored)), key=lambda i: scored[i].score, default=None)
            if best is not None and scored[best].score >= config.threshold:
                generated, used, origin = stated(scored[best].text), [scored[best].id], "edit"
            else:
                generated = self.generate(model, prompt + "Generated answer:", trace, config.max_new_tokens)
                used, origin = [], "model"
            prompt += f"Generated answer: {generated}\n"
            entity = short_answer(self.generate(model, prompt + ENTITY_LABEL, trace, 16))
            prompt += f"{ENTITY_LABEL} {entity}\n"
            trace.hops.append(Hop(subquestion=subquestion, model_output=generated, retrieved=scored,
                                  used_fact_ids=used, answer=entity, source=origin))
        else:
            final = short_answer(self.generate(model, prompt + "Final answer:", trace, 12))
        if not final and trace.hops:
            final = trace.hops[-1].answer
            trace.notes.append("no 'Final answer:' line; the last entity is the answer")
        trace.prompt = prompt
        return RetrievalAnswer(final, trace)
