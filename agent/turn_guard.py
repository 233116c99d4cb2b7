"""A second opinion on turns the rules would write to memory: is this really small talk?

The rules (agent/turns.py) decide every turn; they are fast and explain themselves, but
small talk has a long tail no word list covers ("Och, that's braw, cheers pal", "Oof, that's
rough", "AFK a sec, my raid is starting"). Before a turn the rules read as a personal fact
or a correction is written, this guard embeds it with the memory's own sentence embedder
(all-MiniLM-L6-v2: the memory embeds what it stores anyway) and asks a small softmax
classifier, trained on the labelled training utterances, how likely the turn is small talk.
Above `threshold` the turn becomes chitchat and nothing is written.

It only ever turns a write into no write, never the reverse: a missed fact can be said
again, a fact overwritten by "cheers pal" is lost. Trained by
`benchmarks/train_turn_guard.py` (weights in agent/data/turn_guard.safetensors, with its
embedder's name and the threshold chosen on the dev part in turn_guard.json); without the
file, or with another embedder, the rules decide alone.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

DATA = Path(__file__).resolve().parent / "data"
WEIGHTS = DATA / "turn_guard.safetensors"
META = DATA / "turn_guard.json"
LABELS = ("question", "chitchat", "personal_fact", "correction", "forget", "command")


@dataclass
class TurnGuard:
    """Softmax regression over sentence embeddings: logits = x @ W + b."""

    weight: np.ndarray  # (dim, n_labels)
    bias: np.ndarray  # (n_labels,)
    embedder_name: str
    threshold: float  # for personal facts
    labels: tuple[str, ...] = LABELS
    correction_threshold: float | None = None  # for corrections (None: `threshold`)

    def threshold_for(self, turn_type: str) -> float:
        if turn_type == "correction" and self.correction_threshold is not None:
            return self.correction_threshold
        return self.threshold

    @classmethod
    def load(cls, weights: Path = WEIGHTS, meta: Path = META) -> "TurnGuard | None":
        if not weights.exists() or not meta.exists():
            return None
        from safetensors.numpy import load_file

        tensors = load_file(str(weights))
        info = json.loads(meta.read_text(encoding="utf-8"))
        return cls(tensors["weight"], tensors["bias"], info["embedder"], float(info["threshold"]), tuple(info["labels"]),
                   info.get("correction_threshold"))

    def save(self, weights: Path = WEIGHTS, meta: Path = META, extra: dict[str, Any] | None = None) -> None:
        from safetensors.numpy import save_file

        weights.parent.mkdir(parents=True, exist_ok=True)
        save_file({"weight": self.weight.astype(np.float32), "bias": self.bias.astype(np.float32)}, str(weights))
        meta.write_text(json.dumps({"embedder": self.embedder_name, "threshold": self.threshold,
                                    "correction_threshold": self.correction_threshold, "labels": list(self.labels),
                                    **(extra or {})}, indent=2) + "\n", encoding="utf-8")

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        logits = vectors @ self.weight + self.bias
        logits -= logits.max(axis=-1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=-1, keepdims=True)

    def small_talk_probability(self, vector: np.ndarray) -> float:
        return float(self.probabilities(vector[None, :])[0, self.labels.index("chitchat")])

    def fits(self, embedder: Any) -> bool:
        return getattr(embedder, "name", None) == self.embedder_name


def fit(vectors: np.ndarray, labels: list[str], embedder_name: str, l2: float = 1e-3, steps: int = 400,
        lr: float = 0.5, seed: int = 0) -> TurnGuard:
    """Full-batch gradient descent on the softmax cross-entropy (a few hundred rows: seconds)."""
    rng = np.random.default_rng(seed)
    x = vectors.astype(np.float64)
    y = np.array([LABELS.index(label) for label in labels])
    weight = rng.normal(0, 0.01, size=(x.shape[1], len(LABELS)))
    bias = np.zeros(len(LABELS))
    onehot = np.eye(len(LABELS))[y]
    # classes weighted by inverse frequency, so a rare type is not drowned by a common one
    counts = onehot.sum(axis=0)
    sample_weight = (len(y) / (len(LABELS) * np.maximum(counts, 1)))[y]
    for _ in range(steps):
        logits = x @ weight + bias
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        probs /= probs.sum(axis=1, keepdims=True)
        grad = (probs - onehot) * sample_weight[:, None] / len(y)
        weight -= lr * (x.T @ grad + l2 * weight)
        bias -= lr * grad.sum(axis=0)
    return TurnGuard(weight.astype(np.float32), bias.astype(np.float32), embedder_name, threshold=0.5)


GUARDED_TYPES = ("personal_fact", "correction")


def guard_turn(turn: Any, embedder: Any, guard: "TurnGuard | None") -> Any:
    """`turn` as the rules read it, or chitchat when the guard is sure it is small talk."""
    from editmind.agent.turns import Turn

    if guard is None or turn.type not in GUARDED_TYPES or not guard.fits(embedder):
        return turn
    if turn.type == "correction" and getattr(turn, "correction", None) is None:
        return turn  # "you're wrong": a correction that writes nothing needs no guard
    probability = guard.small_talk_probability(np.asarray(embedder.embed([turn.text]))[0])
    threshold = guard.threshold_for(turn.type)
    correction = getattr(turn, "correction", None)
    if correction is not None and correction.complete and re.fullmatch(r"(?:[A-Z0-9][\w.'-]*\s+){1,4}[A-Z0-9][\w.'-]*",
                                                                      correction.target_new or ""):
        threshold = max(threshold, 0.6)  # a full name as the value ("It is Salil Parekh."): the guard must be surer
    if correction is not None and correction.complete and re.search(r"\d", correction.target_new or "") \
            and (correction.target_new or "") in turn.text:
        threshold = max(threshold, 0.9)  # "its 10pm actually, they changed it": a number said as the value is no small talk
    if probability < threshold:
        return turn
    from editmind.agent import smalltalk

    kinds, _ = smalltalk.split_small_talk(turn.text)  # "thanks, that's handy": still thanked
    said = next((k for k in smalltalk.REPLY_PRIORITY if k in kinds), None)
    return Turn("chitchat", turn.text, f"guard: small talk (p={probability:.2f}) though the rules read {turn.type}",
                small_talk=said or "guarded")
