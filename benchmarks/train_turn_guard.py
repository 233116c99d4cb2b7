"""Train the small-talk guard (agent/turn_guard.py) and choose its threshold by the numbers.

Training rows: utterances_train, utterances_train2, and the two test parts the rules were
already examined on (utterances_test, utterances_test2: once their misses were read they were
no longer held out, so they train the guard), plus the earlier five-type sets
(benchmarks/data/turns*.jsonl). One threshold for personal facts and one for corrections are
chosen on out-of-fold guard probabilities (5 folds) together with the dev part: the fewest
small-talk writes, then the highest accuracy of rules + guard, then the highest threshold
(the guard only overrides when sure). utterances_test3 is never read here.

Run: .venv/bin/python benchmarks/train_turn_guard.py
  -> agent/data/turn_guard.safetensors + turn_guard.json, benchmarks/results/turn_guard.json
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
DATA = ROOT / "data" / "conversation"
sys.path.insert(0, str(ROOT))

from conversation_bench import load_jsonl  # noqa: E402

from editmind.agent.turn_guard import GUARDED_TYPES, fit  # noqa: E402
from editmind.agent.turns import classify_turn  # noqa: E402
from editmind.memory.embedders import default_embedder  # noqa: E402

THRESHOLDS = [round(t, 2) for t in np.arange(0.30, 0.96, 0.05)]


def rules(rows: list[dict]) -> list[str]:
    out = []
    for row in rows:
        context = row.get("context") or {}
        out.append(classify_turn(row["text"], context.get("last_question"), context.get("last_answer")).type)
    return out


def combined(rule_types: list[str], p_chat: np.ndarray, threshold: float) -> list[str]:
    return ["chitchat" if t in GUARDED_TYPES and p >= threshold else t for t, p in zip(rule_types, p_chat)]


def score(rows: list[dict], predicted: list[str]) -> dict:
    right = sum(r["label"] == p for r, p in zip(rows, predicted))
    wrote = sum(r["label"] == "chitchat" and p in GUARDED_TYPES for r, p in zip(rows, predicted))
    lost = sum(r["label"] in GUARDED_TYPES and p == "chitchat" for r, p in zip(rows, predicted))
    return {"n": len(rows), "accuracy": round(right / len(rows), 4), "small_talk_written": wrote, "facts_dropped": lost}


def main() -> None:
    embedder = default_embedder()
    names = ["utterances_train.jsonl", "utterances_train2.jsonl", "utterances_test.jsonl", "utterances_test2.jsonl"]
    train = [row for name in names for row in load_jsonl(DATA / name)]
    train += load_jsonl(ROOT / "data" / "turns.jsonl") + load_jsonl(ROOT / "data" / "turns_heldout.jsonl")
    dev = load_jsonl(DATA / "utterances_dev.jsonl")
    x = np.asarray(embedder.embed([r["text"] for r in train]))
    labels = [r["label"] for r in train]
    # out-of-fold chitchat probabilities for every training row
    folds = np.arange(len(train)) % 5
    np.random.default_rng(0).shuffle(folds)
    oof = np.zeros(len(train))
    for k in range(5):
        model = fit(x[folds != k], [l for l, f in zip(labels, folds) if f != k], embedder.name)
        oof[folds == k] = model.probabilities(x[folds == k])[:, model.labels.index("chitchat")]
    guard = fit(x, labels, embedder.name)
    dev_p = guard.probabilities(np.asarray(embedder.embed([r["text"] for r in dev])))[:, guard.labels.index("chitchat")]
    rows = train + dev
    p_all = np.concatenate([oof, dev_p])
    rule_types = rules(rows)
    sweep = []
    for pf in THRESHOLDS:
        for corr in THRESHOLDS:
            predicted = ["chitchat" if (t == "personal_fact" and p >= pf) or (t == "correction" and p >= corr) else t
                         for t, p in zip(rule_types, p_all)]
            sweep.append({"personal_fact_threshold": pf, "correction_threshold": corr, **score(rows, predicted)})
    rules_only = score(rows, rule_types)
    fewest = min(s["small_talk_written"] for s in sweep)
    best = max((s for s in sweep if s["small_talk_written"] == fewest),
               key=lambda s: (s["accuracy"], s["personal_fact_threshold"] + s["correction_threshold"]))
    guard.threshold, guard.correction_threshold = best["personal_fact_threshold"], best["correction_threshold"]
    report = {"training_rows": len(train), "selection_rows": len(rows), "rules_only": rules_only,
              "chosen": best, "sweep": sweep}
    guard.save(extra={"trained_on": names + ["turns.jsonl", "turns_heldout.jsonl"],
                      "rows": len(train), "chosen_by": "out-of-fold accuracy of rules + guard on train rows and the dev part",
                      "trained_at": time.strftime("%Y-%m-%d")})
    out = ROOT / "results" / "turn_guard.json"
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"rules only on train+dev: {rules_only}")
    print(f"chosen: {best}")


if __name__ == "__main__":
    main()
