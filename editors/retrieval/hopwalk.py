"""hopwalk — our multi-hop retrieval editor for small models that cannot decompose.

SmolLM2-135M cannot split "What is the capital of the country of citizenship of the
founder of SpaceX?" into subquestions by few-shot prompting, so MeLLo-style methods fail
on it before retrieval is even tried. hopwalk does not ask the model to plan. It uses the
structure the fact memory already stores — (subject, relation template, object):

1. **Link** the question to an edited subject: the longest subject name that occurs in the
   question as whole words (the innermost entity of a nested question is the one named).
2. **Walk**: at the current entity, the candidate hops are the stored facts whose subject
   is that entity. Each candidate's relation template is scored against the question —
   cosine of the relation phrase's embedding with the question's, plus the share of the
   relation's content words the question still has unconsumed. Cosines are taken against
   the question's *spans* (content-word unigrams and bigrams: "spouse", "official
   language"), not the whole question, so a relation is matched to the words that name it.
   A candidate is eligible when the question still names one of its relation's words, or
   when a span's cosine reaches `semantic_threshold` (paraphrases: "spouse" for "is married
   to"); the spans and words a hop matched are consumed. The best
   eligible candidate is followed; its object becomes the next entity, its words are
   consumed, and a relation is never followed twice.
3. **Uncovered hops**: when no stored fact about the entity fits (none eligible, and none
   scoring even `stored_floor`), but a relation known to
   the memory (any stored fact's template) is still *lexically* named in the question's
   unconsumed words, the model is asked for that hop only, as a raw cloze completion
   ("Germany's capital is" → the model's words).
4. **Stop** when no relation is left; the last entity is the answer. If nothing links or
   no hop is taken, the model answers the question itself (recorded in the trace).

It never sees a data set's decomposition or answers: only the question text and the facts
in the source. See docs/multihop.md for a worked example.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np

from editmind.editors.base import register_editor
from editmind.editors.model.local_model import LocalModel
from editmind.editors.retrieval.base import Hop, RetrievalAnswer, RetrievalEditor, Trace, short_answer
from editmind.editors.retrieval.phrasing import (
    content_stems,
    find_mentions,
    lexical_overlap,
    normalise,
    question_spans,
    relation_phrase,
)
from editmind.editors.retrieval.source import FactSource, RetrievedFact


def fill(relation: str, entity: str) -> str:
    """The relation's cloze about `entity` ("{} is a citizen of" → "Bush is a citizen of")."""
    return relation.format(entity) if "{}" in relation else f"{entity} {relation}"


@dataclass
class HopwalkConfig:
    max_hops: int = 6
    lexical_weight: float = 0.5        # weight of the content-word overlap next to the cosine
    stored_floor: float = 0.3          # an ineligible stored fact still wins over asking the model above this score
    semantic_threshold: float = 0.45   # cosine (relation phrase vs a question span) that lets a fact be followed without a shared word
    uncovered_overlap: float = 1.0     # share of a relation's content words the question must still name to ask the model
    max_new_tokens: int = 8            # a hop's answer is an entity name
    qa_max_new_tokens: int = 16        # fallback when no edit links


@register_editor
class HopwalkEditor(RetrievalEditor):
    name: ClassVar[str] = "hopwalk"
    Config: ClassVar[type] = HopwalkConfig
    description: ClassVar[str] = "our multi-hop method: link the entity, walk stored edits by relation phrasing, ask the model only for uncovered hops"

    def __init__(self, config: HopwalkConfig | None = None, **overrides) -> None:
        super().__init__(config, **overrides)
        self._phrase_vectors: dict[str, np.ndarray] = {}

    def _phrase_vector(self, source: FactSource, templates: list[str]) -> dict[str, np.ndarray]:
        missing = [t for t in dict.fromkeys(templates) if relation_phrase(t) not in self._phrase_vectors]
        if missing:
            for template, vector in zip(missing, source.embed([relation_phrase(t) for t in missing])):
                self._phrase_vectors[relation_phrase(template)] = vector
        return {t: self._phrase_vectors[relation_phrase(t)] for t in templates}

    def answer(self, model: LocalModel, question: str, source: FactSource) -> RetrievalAnswer:
        config: HopwalkConfig = self.config
        trace = Trace(method=self.name, question=question)
        facts = [f for f in source.facts() if f.structured]
        by_subject: dict[str, list[RetrievedFact]] = {}
        for fact in facts:
            by_subject.setdefault(normalise(fact.subject), []).append(fact)

        entity = self._link(question, facts)
        if entity is None:
            trace.notes.append("no stored subject is named in the question; the model answers alone")
            return RetrievalAnswer(self._model_answer(model, question, trace), trace)
        trace.notes.append(f"linked entity: {entity}")

        templates = sorted({f.relation for f in facts})
        vectors = self._phrase_vector(source, templates)
        spans = question_spans(question, exclude=entity)
        span_vectors = source.embed([text for text, _ in spans]) if spans else None
        consumed_words: set[int] = set()
        unconsumed = content_stems(question)
        for entity_stem in content_stems(entity):  # the entity's own words name no relation
            if entity_stem in unconsumed:
                unconsumed.remove(entity_stem)
        used_relations: set[str] = set()

        def phrasing_match(template: str) -> tuple[float, tuple[int, ...]]:
            """Best cosine of the relation phrase with a question span not yet consumed."""
            if span_vectors is None:
                return 0.0, ()
            scores = span_vectors @ vectors[template]
            best, where = 0.0, ()
            for (_, indices), score in zip(spans, scores):
                if not consumed_words.intersection(indices) and float(score) > best:
                    best, where = float(score), indices
            return best, where

        for _ in range(config.max_hops):
            candidates = []
            for fact in by_subject.get(normalise(entity), []):
                if fact.relation in used_relations:
                    continue
                overlap, matched = lexical_overlap(fact.relation, unconsumed)
                cosine, where = phrasing_match(fact.relation)
                eligible = overlap > 0 or cosine >= config.semantic_threshold
                score = cosine + config.lexical_weight * overlap
                candidates.append((eligible, score, matched, where, replace(fact, score=round(score, 4))))
            candidates.sort(key=lambda c: (not c[0], -c[1]))
            retrieved = [c[4] for c in candidates]
            # a stored fact about the entity beats a model hop unless it is clearly off-topic
            preferred = bool(candidates) and (candidates[0][0] or candidates[0][1] >= config.stored_floor)
            if candidates and not preferred and self._named_elsewhere(by_subject, entity, used_relations, unconsumed):
                # a bridge: the question skips naming this hop ("the creator of X" for X's
                # spouse's creator) but still names relations stored further on
                preferred = True
                trace.notes.append(f"bridge hop at {entity!r}: the question names no relation of it, but names later ones")
            if preferred:
                _, _, matched, where, fact = candidates[0]
                trace.hops.append(Hop(
                    subquestion=fill(fact.relation, entity), entity=entity, relation=fact.relation,
                    retrieved=retrieved, used_fact_ids=[fact.id], answer=fact.object, source="edit",
                ))
                entity, relation = fact.object, fact.relation
            else:
                uncovered = self._uncovered_relation(templates, used_relations, unconsumed)
                if uncovered is None:
                    break
                relation, matched = uncovered
                where = phrasing_match(relation)[1]
                prompt = fill(relation, entity)
                output = self.generate(model, prompt, trace, config.max_new_tokens)
                answer = short_answer(output)
                trace.hops.append(Hop(subquestion=prompt, entity=entity, relation=relation, model_output=output,
                                      retrieved=retrieved, answer=answer, source="model"))
                if not answer:
                    trace.notes.append(f"the model gave no answer for {prompt!r}; stopping")
                    break
                entity = answer
            used_relations.add(relation)
            consumed_words.update(where)
            for stem_ in matched:
                unconsumed.remove(stem_)

        if not trace.hops:
            trace.notes.append(f"no stored relation of {entity!r} fits the question; the model answers alone")
            return RetrievalAnswer(self._model_answer(model, question, trace), trace)
        return RetrievalAnswer(entity, trace)

    @staticmethod
    def _link(question: str, facts: list[RetrievedFact]) -> str | None:
        """The longest stored subject named in the question (the rightmost on ties)."""
        hits = find_mentions(question, sorted({f.subject for f in facts}))
        if not hits:
            return None
        position, name = max(hits, key=lambda h: (len(h[1]), h[0]))
        return name

    @staticmethod
    def _named_elsewhere(by_subject: dict[str, list[RetrievedFact]], entity: str, used: set[str],
                         unconsumed: list[str]) -> bool:
        """Whether the unconsumed question words still name a relation that stored facts
        about *other* entities have."""
        here = normalise(entity)
        return any(
            lexical_overlap(fact.relation, unconsumed)[0] > 0
            for subject, facts in by_subject.items() if subject != here
            for fact in facts if fact.relation not in used
        )

    def _uncovered_relation(self, templates: list[str], used: set[str], unconsumed: list[str]) -> tuple[str, list[str]] | None:
        """A known relation the question still names in full, for a hop no edit covers."""
        best = None
        for template in templates:
            if template in used:
                continue
            overlap, matched = lexical_overlap(template, unconsumed)
            if overlap >= self.config.uncovered_overlap and matched and (best is None or len(matched) > len(best[1])):
                best = (template, matched)
        return best

    def _model_answer(self, model: LocalModel, question: str, trace: Trace) -> str:
        prompt = f"Question: {question}\nAnswer:"
        output = self.generate(model, prompt, trace, self.config.qa_max_new_tokens)
        answer = short_answer(output)
        trace.hops.append(Hop(subquestion=question, model_output=output, answer=answer, source="model"))
        trace.prompt = prompt
        return answer
