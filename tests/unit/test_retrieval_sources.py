"""Fact sources with the real MiniLM embedder: an in-process list and the real FactMemory
(SQLite + FAISS files in a temp home) answer the same protocol."""

from __future__ import annotations

import numpy as np
import pytest

from editmind.editors.errors import EditmindError
from editmind.editors.retrieval import FactSource, ListFactSource, MemoryFactSource, RetrievedFact, fact_text


def test_list_source_ranks_the_relevant_fact_first():
    source = ListFactSource([
        ("Eiffel Tower", "{} is located in", "Rome"),
        {"subject": "Hamlet", "relation": "{} was written by", "object": "Leo Tolstoy", "id": "h"},
        {"text": "My sister lives in Lyon.", "id": "free"},
    ])
    assert isinstance(source, FactSource)
    hits = source.search("Who is the author of Hamlet?", k=2)
    assert hits[0].id == "h" and hits[0].score > hits[1].score
    assert source.facts()[0].text == "Eiffel Tower is located in Rome."
    assert source.facts()[2].structured is False
    vectors = source.embed(["a", "b"])
    assert vectors.shape == (2, 384) and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-4)


def test_fact_text_handles_templates_and_plain_relations():
    assert fact_text("Germany", "The capital of {} is", "Marcapata") == "The capital of Germany is Marcapata."
    assert fact_text("SpaceX", "was founded by", "George W. Bush") == "SpaceX was founded by George W. Bush."


def test_bad_facts_are_one_clear_error():
    with pytest.raises(EditmindError, match="fact #0"):
        ListFactSource([{"subject": "x"}])
    with pytest.raises(EditmindError, match="fact #0"):
        ListFactSource([42])


def test_memory_source_serves_a_users_active_facts(tmp_path):
    from editmind.memory import FactMemory

    memory = FactMemory(tmp_path)
    try:
        memory.add("The Eiffel Tower is in Rome", user_id="alice", subject="Eiffel Tower",
                   relation="{} is located in", object="Rome")
        old = memory.add("Hamlet was written by Tolstoy", user_id="alice", subject="Hamlet",
                         relation="{} was written by", object="Leo Tolstoy")
        memory.add("Hamlet was written by Dickens", user_id="alice", subject="Hamlet",
                   relation="{} was written by", object="Charles Dickens")      # supersedes the Tolstoy fact
        memory.add("The Louvre is in Madrid", user_id="bob", subject="Louvre", relation="{} is located in", object="Madrid")
        source = MemoryFactSource(memory, user_id="alice")
        facts = source.facts()
        assert {f.object for f in facts} == {"Rome", "Charles Dickens"}   # bob's and the superseded fact are not served
        assert old.fact.id not in {f.id for f in facts}
        hits = source.search("Where is the Eiffel Tower?", k=1)
        assert hits[0].subject == "Eiffel Tower" and hits[0].relation == "{} is located in" and 0 < hits[0].score <= 1
        assert isinstance(hits[0], RetrievedFact)
        assert source.embed(["x"]).shape == (1, memory.embedder.dim)
    finally:
        memory.close()


def test_hopwalk_answers_through_the_fact_memory(tmp_path):
    from editmind.editors.base import get_editor
    from editmind.editors.model.testing import tiny_model
    from editmind.memory import FactMemory

    memory = FactMemory(tmp_path)
    try:
        memory.add("SpaceX was founded by George W. Bush", user_id="alice", subject="SpaceX",
                   relation="{} was founded by", object="George W. Bush")
        memory.add("George W. Bush is a citizen of Germany", user_id="alice", subject="George W. Bush",
                   relation="{} is a citizen of", object="Germany")
        result = get_editor("hopwalk").answer(tiny_model(), "Which country is the founder of SpaceX a citizen of?",
                                              MemoryFactSource(memory, user_id="alice"))
        assert result.answer == "Germany" and result.trace.model_calls == 0
        empty = get_editor("hopwalk").answer(tiny_model(), "Which country is the founder of SpaceX a citizen of?",
                                             MemoryFactSource(memory, user_id="bob"))
        assert empty.trace.model_calls == 1   # bob has no edits: the model answers alone
    finally:
        memory.close()
