"""hopwalk on a tiny random model with the real MiniLM embedder: a 2-hop question answered
from two stored edits without asking the model, the model asked only for an uncovered hop,
relation choice among facts about the same entity, and complete traces."""

from __future__ import annotations

import json

import pytest

from editmind.editors.base import get_editor
from editmind.editors.model.testing import tiny_model
from editmind.editors.retrieval import ListFactSource
from editmind.editors.retrieval import base as retrieval_base

FACTS = [
    {"id": "e1", "subject": "SpaceX", "relation": "{} was founded by", "object": "George W. Bush"},
    {"id": "e2", "subject": "George W. Bush", "relation": "{} is a citizen of", "object": "Germany"},
    # distractors: the same entity with another relation, another entity with the asked relation
    {"id": "d1", "subject": "George W. Bush", "relation": "{} is married to", "object": "Taylor Swift"},
    {"id": "d2", "subject": "Germany", "relation": "The capital of {} is", "object": "Marcapata"},
    {"id": "d3", "subject": "Apple", "relation": "{} was founded by", "object": "Bill Gates"},
]


@pytest.fixture(scope="module")
def model():
    return tiny_model("llama")


@pytest.fixture
def calls(monkeypatch):
    """Every prompt the editor sends to the model (the real tiny model still answers)."""
    seen: list[str] = []
    real = retrieval_base.complete_until

    def spy(model, prompt, max_new_tokens, stop):
        seen.append(prompt)
        return real(model, prompt, max_new_tokens, stop)

    monkeypatch.setattr(retrieval_base, "complete_until", spy)
    return seen


def test_two_hop_question_from_two_edits_without_the_model(model, calls):
    source = ListFactSource(FACTS[:3] + FACTS[4:])  # no capital fact: the chain ends at Germany
    result = get_editor("hopwalk", family="retrieval").answer(
        model, "What is the country of citizenship of the founder of SpaceX?", source)
    assert result.answer == "Germany"
    assert calls == []
    trace = result.trace
    assert [h.entity for h in trace.hops] == ["SpaceX", "George W. Bush"]
    assert [h.source for h in trace.hops] == ["edit", "edit"]
    assert trace.used_fact_ids == ["e1", "e2"]
    # the spouse fact was a candidate at hop 2 and lost on phrasing
    hop2 = trace.hops[1]
    assert {f.id for f in hop2.retrieved} == {"e2", "d1"}
    assert hop2.retrieved[0].id == "e2" and hop2.retrieved[0].score > hop2.retrieved[1].score
    json.dumps(result.to_dict())  # the trace is JSON-serialisable


def test_stops_when_the_question_names_no_further_relation(model, calls):
    """Germany has a stored capital edit, but this question does not ask for a capital."""
    result = get_editor("hopwalk").answer(model, "What is the country of citizenship of the founder of SpaceX?",
                                          ListFactSource(FACTS))
    assert result.answer == "Germany"
    assert calls == []


def test_three_hops_when_the_question_asks_for_them(model, calls):
    result = get_editor("hopwalk").answer(
        model, "What is the capital of the country of citizenship of the founder of SpaceX?", ListFactSource(FACTS))
    assert result.answer == "Marcapata"
    assert result.trace.used_fact_ids == ["e1", "e2", "d2"]
    assert calls == []


def test_the_model_is_asked_only_for_the_uncovered_hop(model, calls):
    """No edit says where Bush is a citizen; the relation is known from another fact, so
    that hop (and only it) goes to the model as a raw cloze."""
    facts = [FACTS[0], {"id": "x", "subject": "Taylor Swift", "relation": "{} is a citizen of", "object": "Japan"}]
    result = get_editor("hopwalk").answer(
        model, "What is the country of citizenship of the founder of SpaceX?", ListFactSource(facts))
    assert calls == ["George W. Bush is a citizen of"]
    hops = result.trace.hops
    assert [h.source for h in hops] == ["edit", "model"]
    assert hops[1].subquestion == "George W. Bush is a citizen of"
    assert hops[1].model_output == result.trace.model_outputs[0]
    assert result.trace.model_calls == 1
    assert result.answer == hops[1].answer


def test_a_question_about_no_stored_entity_goes_to_the_model(model, calls):
    result = get_editor("hopwalk").answer(model, "Who wrote Hamlet?", ListFactSource(FACTS))
    assert len(calls) == 1 and "Who wrote Hamlet?" in calls[0]
    assert result.trace.hops[0].source == "model"
    assert any("no stored subject" in note for note in result.trace.notes)


def test_entity_linking_prefers_the_longest_name(model, calls):
    facts = [{"id": "a", "subject": "Bush", "relation": "{} is a citizen of", "object": "Peru"},
             {"id": "b", "subject": "George W. Bush", "relation": "{} is a citizen of", "object": "Chile"}]
    result = get_editor("hopwalk").answer(model, "Which country is George W. Bush a citizen of?", ListFactSource(facts))
    assert result.answer == "Chile"
