"""ICE, IKE, MeLLo and PokeMQA: the prompts they build, the loop logic and the traces.

The loop tests replace the raw completion with a scripted one — a stand-in for a model
large enough to decompose (SmolLM2-135M is not) — so the parsing, retrieval, contradiction
and revision steps are checked deterministically. The tiny random model runs every editor
end to end once, to show they survive garbage output.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from editmind.editors.base import get_editor
from editmind.editors.errors import EditmindError
from editmind.editors.model.testing import tiny_model
from editmind.editors.retrieval import ListFactSource
from editmind.editors.retrieval import base as retrieval_base
from editmind.editors.retrieval.scope_detector import ScopeDetector, ScopeModel

FACTS = [
    {"id": "e1", "subject": "SpaceX", "relation": "{} was founded by", "object": "George W. Bush"},
    {"id": "e2", "subject": "George W. Bush", "relation": "{} is a citizen of", "object": "Germany"},
    {"id": "d1", "subject": "Louvre", "relation": "{} is located in", "object": "Madrid"},
]
QUESTION = "What is the country of citizenship of the founder of SpaceX?"


@pytest.fixture(scope="module")
def model():
    return tiny_model("llama")


@pytest.fixture(scope="module")
def source():
    return ListFactSource(FACTS)


def script(monkeypatch, replies):
    """Answer successive completions with `replies` (each a function of the prompt or a string)."""
    prompts: list[str] = []
    queue = list(replies)

    def scripted(model, prompt, max_new_tokens, stop):
        prompts.append(prompt)
        reply = queue.pop(0)
        return reply(prompt) if callable(reply) else reply

    monkeypatch.setattr(retrieval_base, "complete_until", scripted)
    return prompts


def test_ice_states_retrieved_facts_before_the_question(model, source, monkeypatch):
    prompts = script(monkeypatch, [" Germany\nQuestion: next"])
    result = get_editor("ice", k=2).answer(model, QUESTION, source)
    assert result.answer == "Germany"
    assert prompts[0].endswith(f"Question: {QUESTION}\nAnswer:")
    assert prompts[0].count("Imagine that ") == 2
    assert result.trace.used_fact_ids == [f.id for f in result.trace.retrieved]
    assert {"e1", "e2"} == set(result.trace.used_fact_ids)


def test_ike_shows_demonstrations_of_all_kinds_then_the_facts(model, source, monkeypatch):
    prompts = script(monkeypatch, [" Germany"])
    result = get_editor("ike", k=2, demonstrations=12).answer(model, QUESTION, source)
    prompt = prompts[0]
    assert result.answer == "Germany"
    assert prompt.count("New Fact:") == 13 and prompt.endswith(f"Prompt: {QUESTION}\nAnswer:")
    assert "Prompt: What is the capital of France?\nAnswer: Paris" in prompt  # a retain demonstration
    last = prompt.rsplit("New Fact:", 1)[1]
    assert "George W. Bush is a citizen of Germany." in last


def test_mello_revises_a_contradicted_tentative_answer(model, source, monkeypatch):
    prompts = script(monkeypatch, [
        "Subquestion: Who founded SpaceX?\nGenerated answer: SpaceX was founded by Elon Musk.\nRetrieved fact:",
        " Retrieved fact contradicts to generated answer, so the intermediate answer is: George W. Bush\n",
        "Subquestion: What is the country of citizenship of George W. Bush?\nGenerated answer: He is a citizen of the USA.\n",
        " Retrieved fact contradicts to generated answer, so the intermediate answer is: Germany\n",
        "Final answer: Germany\n\nQuestion: junk",
    ])
    result = get_editor("mello").answer(model, QUESTION, source)
    assert result.answer == "Germany"
    hops = result.trace.hops
    assert [h.subquestion for h in hops] == ["Who founded SpaceX?", "What is the country of citizenship of George W. Bush?"]
    assert [h.answer for h in hops] == ["George W. Bush", "Germany"]
    assert [h.used_fact_ids for h in hops] == [["e1"], ["e2"]]       # top-1 retrieval per subquestion
    assert "Retrieved fact: SpaceX was founded by George W. Bush.\n" in prompts[1]
    assert len(prompts) == 5 and result.trace.model_calls == 5


def test_mello_keeps_the_models_answer_when_the_fact_does_not_contradict(model, source, monkeypatch):
    script(monkeypatch, [
        "Subquestion: Where is the Louvre?\nGenerated answer: The Louvre is in Paris.\n",
        " Retrieved fact does not contradict to generated answer, so the intermediate answer is: Paris\n",
        "Final answer: Paris",
    ])
    result = get_editor("mello").answer(model, "Which city is the Louvre in?", source)
    assert result.answer == "Paris" and result.trace.hops[0].used_fact_ids == [] and result.trace.hops[0].source == "model"


def test_mello_loads_a_reference_prompt_by_path(model, source, monkeypatch, tmp_path, shared_data):
    prompts = script(monkeypatch, ["Final answer: Germany"])
    path = shared_data / "reference_prompts" / "mello_prompt.txt"
    get_editor("mello", prompt_file=str(path)).answer(model, QUESTION, source)
    assert prompts[0].startswith(path.read_text(encoding="utf-8").strip()[:200])
    bad = tmp_path / "p.txt"
    bad.write_text("no demonstrations here")
    with pytest.raises(EditmindError, match="not a MeLLo"):
        get_editor("mello", prompt_file=str(bad)).answer(model, QUESTION, source)
    with pytest.raises(EditmindError, match="cannot read"):
        get_editor("mello", prompt_file=str(tmp_path / "missing.txt")).answer(model, QUESTION, source)


class _Oracle(ScopeDetector):
    """A detector that accepts exactly the facts whose text contains a chosen word."""

    def __init__(self, texts_in_scope, source):
        super().__init__(ScopeModel(384, 4), "test")
        self.vectors = source.embed(texts_in_scope)

    def probabilities(self, edit_vectors, question_vector):
        return np.array([float(np.max(self.vectors @ v) > 0.999) for v in edit_vectors])


def test_pokemqa_writes_in_scope_edits_as_the_answer(model, source, monkeypatch):
    prompts = script(monkeypatch, [
        "Subquestion: Who founded SpaceX?\n",
        " George W. Bush\n",                                     # entity read from the edit's sentence
        "Subquestion: What is the country of citizenship of George W. Bush?\n",
        " Germany\n",
        "Final answer: Germany",
    ])
    detector = _Oracle(["SpaceX was founded by George W. Bush.", "George W. Bush is a citizen of Germany."], source)
    result = get_editor("pokemqa").__class__(detector=detector).answer(model, QUESTION, source)
    assert result.answer == "Germany"
    assert [h.used_fact_ids for h in result.trace.hops] == [["e1"], ["e2"]]
    assert "Generated answer: SpaceX was founded by George W. Bush.\n" in prompts[1]
    assert len(prompts) == 5  # the model never answered a subquestion itself


def test_pokemqa_lets_the_model_answer_out_of_scope_subquestions(model, source, monkeypatch):
    prompts = script(monkeypatch, ["Subquestion: Who wrote Hamlet?\n", " Shakespeare wrote Hamlet.", " Shakespeare",
                                   "Final answer: Shakespeare"])
    result = get_editor("pokemqa").__class__(detector=_Oracle(["nothing like it"], source)).answer(
        model, "Who wrote Hamlet?", source)
    assert result.answer == "Shakespeare"
    assert result.trace.hops[0].source == "model" and result.trace.hops[0].used_fact_ids == []
    assert prompts[1].endswith("Generated answer:")


def test_pokemqa_without_a_trained_detector_is_one_clear_error(model, source, tmp_path):
    with pytest.raises(EditmindError, match="train-scope"):
        get_editor("pokemqa", detector_dir=str(tmp_path)).answer(model, QUESTION, source)


@pytest.mark.parametrize("name", ["ice", "ike", "mello", "hopwalk"])
def test_every_editor_runs_on_a_real_tiny_model_and_returns_a_json_trace(model, source, name):
    result = get_editor(name, family="retrieval").answer(model, "Where is the Louvre?", source)
    payload = json.loads(json.dumps(result.to_dict()))
    assert payload["trace"]["method"] == name and payload["trace"]["question"] == "Where is the Louvre?"
    assert isinstance(result.answer, str)
