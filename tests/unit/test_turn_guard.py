"""The small-talk guard: it only ever turns a write into chitchat, only with its own embedder,
and the shipped weights load and say a plain "cheers pal" is small talk."""

import numpy as np
import pytest

from editmind.agent.turn_guard import LABELS, TurnGuard, fit, guard_turn
from editmind.agent.turns import classify_turn


class Fixed:
    """A stand-in embedder: one direction per kind of text."""

    name = "fixed-2d"

    def embed(self, texts):
        return np.array([[1.0, 0.0] if "cheers" in t else [0.0, 1.0] for t in texts])


def test_fit_learns_and_the_guard_overrides_only_writes(tmp_path):
    vectors = np.array([[1.0, 0.0]] * 20 + [[0.0, 1.0]] * 20)
    guard = fit(vectors, ["chitchat"] * 20 + ["personal_fact"] * 20, "fixed-2d", steps=300)
    guard.threshold = guard.correction_threshold = 0.6
    written = classify_turn("my dog is called cheers")  # the rules would write this
    assert written.type == "personal_fact"
    assert guard_turn(written, Fixed(), guard).type == "chitchat"
    kept = classify_turn("my dog is called Rex")
    assert guard_turn(kept, Fixed(), guard).type == "personal_fact"
    question = classify_turn("cheers, where is the Louvre?")
    assert guard_turn(question, Fixed(), guard) is question  # never touches a turn that writes nothing

    class Other(Fixed):
        name = "another-embedder"

    assert guard_turn(written, Other(), guard) is written  # vectors of another embedder: rules alone
    guard.save(tmp_path / "g.safetensors", tmp_path / "g.json")
    again = TurnGuard.load(tmp_path / "g.safetensors", tmp_path / "g.json")
    assert again.labels == LABELS and np.allclose(again.weight, guard.weight) and again.threshold == 0.6


@pytest.mark.slow
def test_the_shipped_guard_reads_small_talk_with_the_memory_embedder():
    from editmind.memory.embedders import default_embedder

    guard, embedder = TurnGuard.load(), default_embedder()
    assert guard is not None and guard.fits(embedder)
    vectors = np.asarray(embedder.embed(["Och, that's braw, cheers pal.", "My sister works at the Leeds General Infirmary."]))
    p_chat = guard.probabilities(vectors)[:, LABELS.index("chitchat")]
    assert p_chat[0] > guard.threshold_for("correction") and p_chat[1] < guard.threshold_for("personal_fact")
