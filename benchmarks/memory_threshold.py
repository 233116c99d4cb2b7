"""Tune MemoryConfig.duplicate_cosine on real all-MiniLM-L6-v2 embeddings.

The duplicate rule only applies when two facts carry the same (subject, relation, object)
triple; the cosine then decides between NOOP (same statement, reworded) and SUPERSEDE (the
new wording replaces the old). From MQuAKE-hard edits we build
  positives: one fact in two wordings - the cloze statement ("The capital of X is Y.") and
             the question-answer form ("What is the capital of X? Y."), and the edit's own
             prompt ("The company that produced X is Y") where it differs from the cloze;
  negatives: the same subject and relation with the old and the new object (what a
             correction looks like) - similarity must never merge these, and it does not:
             the triple differs, but their cosines show why text similarity alone is unsafe.
Writes benchmarks/results/memory_threshold.json.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    from editmind.memory.embedders import MiniLMEmbedder

    data = ROOT.parent / "shared" / "data" / "mquake"
    cases = json.loads((data / "mquake_hard_dev.json").read_text())
    cloze = json.loads((data / "cloze_templates.json").read_text())
    questions = json.loads((data / "question_templates.json").read_text())
    pos_a, pos_b, neg_a, neg_b, seen = [], [], [], [], set()
    for case in cases:
        for rw in case["requested_rewrite"]:
            rel, subject = rw["relation_id"], rw["subject"]
            if rel not in cloze or rel not in questions or (subject, rel) in seen:
                continue
            seen.add((subject, rel))
            new, old = rw["target_new"]["str"], rw["target_true"]["str"]
            statement = cloze[rel].replace("[X]", subject).replace("__", new) + "."
            pos_a.append(statement)
            pos_b.append(questions[rel].replace("[X]", subject) + " " + new + ".")
            prompt = rw["prompt"].format(subject) + " " + new + "."
            if prompt != statement:
                pos_a.append(statement)
                pos_b.append(prompt)
            neg_a.append(statement)
            neg_b.append(cloze[rel].replace("[X]", subject).replace("__", old) + ".")
    embedder = MiniLMEmbedder(batch_size=128)
    texts = sorted(set(pos_a + pos_b + neg_a + neg_b))
    vectors = dict(zip(texts, embedder.embed(texts)))
    cos = lambda a, b: np.array([float(vectors[x] @ vectors[y]) for x, y in zip(a, b)])  # noqa: E731
    pos, neg = cos(pos_a, pos_b), cos(neg_a, neg_b)
    pct = lambda x, q: round(float(np.percentile(x, q)), 4)  # noqa: E731
    chosen = float(np.floor(np.percentile(pos, 5) * 100) / 100)
    result = {
        "embedder": embedder.name, "pairs": {"positive": len(pos), "negative": len(neg)},
        "positive_same_fact_reworded": {q: pct(pos, q) for q in (1, 5, 10, 25, 50)},
        "negative_same_subject_relation_other_object": {q: pct(neg, q) for q in (50, 75, 90, 95, 99)},
        "negatives_at_or_above_0.90": int((neg >= 0.90).sum()),
        "chosen_duplicate_cosine": chosen,
        "positives_caught_at_chosen": round(float((pos >= chosen).mean()), 4),
        "rule": "NOOP only if the triple is equal AND cosine >= chosen; text-only facts merge only on equal normalised text",
        "examples": {"positive": [pos_a[0], pos_b[0]], "negative": [neg_a[0], neg_b[0]]},
    }
    out = ROOT / "benchmarks" / "results" / "memory_threshold.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    sys.exit(main())
