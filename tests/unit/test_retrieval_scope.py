"""PokeMQA's scope detector: trained for real on a slice of edit_paraphrases.json with the
real MiniLM embedder, saved as safetensors and reloaded; evaluation edits are excluded."""

from __future__ import annotations

import json

import numpy as np
import pytest

from editmind.editors.errors import EditmindError
from editmind.editors.retrieval.memory_source import default_embedder
from editmind.editors.retrieval.scope_detector import (
    META_FILE,
    WEIGHTS_FILE,
    ScopeDetector,
    ScopeTrainingConfig,
    excluded_by,
    load_paraphrase_edits,
    train_scope_detector,
)


@pytest.fixture(scope="module")
def records(shared_data):
    return load_paraphrase_edits(shared_data / "mquake" / "edit_paraphrases.json")


@pytest.fixture(scope="module")
def trained(records):
    config = ScopeTrainingConfig(max_edits=120, heldout_fraction=0.25, epochs=30, hidden=64)
    return train_scope_detector(records, default_embedder(), [], config)


def test_held_out_accuracy_beats_the_majority_class(trained):
    meta = trained.meta
    assert meta["heldout_edits"] == 30 and meta["train_edits"] == 90
    # negatives are 2x the positives in both splits, so always saying "out of scope" scores 2/3
    assert meta["heldout_accuracy"] > 0.75


def test_detector_prefers_the_edit_a_question_is_about(trained):
    embedder = default_embedder()
    edits = embedder.embed(["Carl Sagan is employed by British Broadcasting Corporation",
                            "The author of Hamlet is William Gibson"])
    question = embedder.embed(["Which organization employs Carl Sagan?"])[0]
    p = trained.probabilities(edits, question)
    assert p[0] > 0.5 > p[1]


def test_save_and_load_round_trip_as_safetensors(trained, tmp_path):
    trained.save(tmp_path)
    assert (tmp_path / WEIGHTS_FILE).read_bytes()[:8]  # a safetensors header, not a pickle
    meta = json.loads((tmp_path / META_FILE).read_text())
    assert meta["embedder"] == default_embedder().name
    loaded = ScopeDetector.load(tmp_path, embedder_name=default_embedder().name)
    vectors = np.random.default_rng(0).normal(size=(3, 384)).astype(np.float32)
    assert np.allclose(loaded.probabilities(vectors, vectors[0]), trained.probabilities(vectors, vectors[0]))
    with pytest.raises(EditmindError, match="trained on embeddings"):
        ScopeDetector.load(tmp_path, embedder_name="another-embedder")
    (tmp_path / WEIGHTS_FILE).write_bytes(b"garbage")
    with pytest.raises(EditmindError, match="unreadable"):
        ScopeDetector.load(tmp_path)


def test_edits_of_the_evaluation_cases_are_excluded(records, shared_data):
    cases = json.loads((shared_data / "mquake" / "mquake_hard_dev.json").read_text())[:20]
    flags = excluded_by(records, cases)
    assert any(flags)
    for record, out in zip(records, flags):
        if out:
            text = record["edit"].casefold()
            assert any(r["subject"].casefold() in text and r["target_new"]["str"].casefold() in text
                       for c in cases for r in c["requested_rewrite"])
    synthetic = [{"edit": "Zorblax is a citizen of Germany", "questions": ["?"]}]
    case = {"requested_rewrite": [{"subject": "Zorblax", "target_new": {"str": "Germany"}}]}
    assert excluded_by(synthetic, [case]) == [True]


def test_bad_training_data_is_one_clear_error(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"not": "a list"}')
    with pytest.raises(EditmindError, match="not a list"):
        load_paraphrase_edits(path)
    with pytest.raises(EditmindError, match="not found"):
        load_paraphrase_edits(tmp_path / "missing.json")
