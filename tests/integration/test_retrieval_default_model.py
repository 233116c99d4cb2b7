"""Retrieval editors on the real SmolLM2-135M-Instruct (weights never touched)."""

from __future__ import annotations

import pytest

from editmind.editors.base import get_editor
from editmind.editors.eval import mquake
from editmind.editors.retrieval import ListFactSource

pytestmark = pytest.mark.slow


def test_hopwalk_answers_the_first_mquake_case_from_its_edits(default_model, shared_data):
    case = mquake.load_cases(shared_data / "mquake" / "mquake_hard_dev.json", n=1)[0]
    report = mquake.evaluate(default_model, "hopwalk", [case], "case", questions_per_case=1)
    question = report.cases[0].questions[0]
    assert question.correct and question.hops_correct
    assert question.trace["model_calls"] == 0
    assert [h["source"] for h in question.trace["hops"]] == ["edit"] * 4


def test_hopwalk_asks_the_real_model_for_an_uncovered_hop(default_model):
    facts = [{"id": "e1", "subject": "Hamlet", "relation": "The author of {} is", "object": "Victor Hugo"},
             {"id": "v", "subject": "Taylor Swift", "relation": "{} is a citizen of", "object": "Japan"}]
    result = get_editor("hopwalk").answer(default_model, "What is the country of citizenship of the author of Hamlet?",
                                          ListFactSource(facts))
    hops = result.trace.hops
    assert [h.source for h in hops] == ["edit", "model"]
    assert hops[1].subquestion == "Victor Hugo is a citizen of" and result.trace.model_calls == 1
    # the uncovered hop is the model's own (here often wrong: 135M parameters) knowledge, cut to an entity
    assert result.answer and result.answer == hops[1].answer and result.answer in hops[1].model_output
    assert "," not in result.answer


def test_ice_brings_a_single_hop_edit_into_the_answer(default_model):
    source = ListFactSource([{"id": "e", "subject": "Eiffel Tower", "relation": "{} is located in the city of",
                              "object": "Rome"}])
    result = get_editor("ice").answer(default_model, "In which city is the Eiffel Tower located?", source)
    assert result.trace.used_fact_ids == ["e"]
    assert "Rome" in result.answer, result.trace.model_outputs


def test_mello_runs_its_loop_on_the_small_model(default_model):
    source = ListFactSource([{"id": "e", "subject": "Eiffel Tower", "relation": "{} is located in the city of",
                              "object": "Rome"}])
    result = get_editor("mello", max_hops=2).answer(default_model, "Which country is the Eiffel Tower located in?", source)
    assert 1 <= result.trace.model_calls <= 2 * 2 + 1
    assert result.trace.prompt.startswith("Question: What is the capital of the country where the Louvre")
