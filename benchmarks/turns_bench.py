"""Precision/recall of the turn classifier per type on benchmarks/data/turns.jsonl, and how
often a correction's extracted fields match the hand-written expectations.

Run: .venv/bin/python benchmarks/turns_bench.py  -> benchmarks/results/turns.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from editmind.agent.turns import TURN_TYPES, classify_turn

ROOT = Path(__file__).resolve().parent


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def evaluate(rows: list[dict]) -> dict:
    confusion: dict[str, dict[str, int]] = {}
    errors, fields_checked, fields_right = [], 0, 0
    started = time.perf_counter()
    for row in rows:
        context = row.get("context") or {}
        turn = classify_turn(row["text"], context.get("last_question"), context.get("last_answer"))
        confusion.setdefault(row["label"], {}).setdefault(turn.type, 0)
        confusion[row["label"]][turn.type] += 1
        if turn.type != row["label"]:
            errors.append({"text": row["text"], "label": row["label"], "predicted": turn.type, "trigger": turn.trigger})
        if row["label"] == "correction" and turn.correction is not None:
            for name, want in (row.get("expected") or {}).items():
                if want is None:
                    continue
                fields_checked += 1
                got = getattr(turn.correction, name)
                if got is not None and got.lower() == want.lower():
                    fields_right += 1
                else:
                    errors.append({"text": row["text"], "field": name, "expected": want, "got": got})
    seconds = time.perf_counter() - started
    per_type = {}
    for label in TURN_TYPES:
        tp = confusion.get(label, {}).get(label, 0)
        predicted = sum(c.get(label, 0) for c in confusion.values())
        actual = sum(confusion.get(label, {}).values())
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_type[label] = {"precision": round(precision, 3), "recall": round(recall, 3), "f1": round(f1, 3),
                           "support": actual, "predicted": predicted}
    correct = sum(confusion.get(label, {}).get(label, 0) for label in confusion)
    return {
        "n": len(rows), "accuracy": round(correct / len(rows), 3), "per_type": per_type, "confusion": confusion,
        "correction_fields": {"checked": fields_checked, "right": fields_right,
                              "accuracy": round(fields_right / fields_checked, 3) if fields_checked else None},
        "ms_per_turn": round(1000 * seconds / len(rows), 3), "errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "turns.jsonl")
    parser.add_argument("--heldout", type=Path, default=ROOT / "data" / "turns_heldout.jsonl")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "turns.json")
    args = parser.parse_args()
    report = {
        "note": "main: the labelled set the rules were developed against (optimistic); heldout: written after "
                "the rules were frozen, never used to tune them",
        "main": evaluate(load(args.data)),
        "heldout": evaluate(load(args.heldout)),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    for name in ("main", "heldout"):
        part = report[name]
        print(f"{name}: n={part['n']} accuracy={part['accuracy']} correction fields {part['correction_fields']}")
        for label, row in part["per_type"].items():
            print(f"  {label:14} P={row['precision']:.3f} R={row['recall']:.3f} (support {row['support']})")
        print(f"  {len(part['errors'])} errors")
    print(f"full report in {args.out}")


if __name__ == "__main__":
    main()
