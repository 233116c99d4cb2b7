"""How well the agent understands a conversation, on data written apart from its rules.

Two measurements, one JSON (benchmarks/results/conversation.json):

1. **Turn types** on the labelled utterances of benchmarks/data/conversation/
   (train / dev / test; the test part was written by a separate author and committed
   before any rule was tuned): accuracy, per-type precision/recall, the confusion matrix,
   every miss, correction fields, milliseconds per turn.
2. **Dialogues**: scripted multi-turn chats run through a real `EditingAgent` (real FAISS
   index, real SQLite file, the default embedder), with the expected memory state after
   every turn: share of turns whose memory is exactly as expected, small-talk turns that
   wrote anything, dialogues that end with a correct fact superseded by a wrong one,
   replies that must name a stored value or say "I don't know".

Run:
  .venv/bin/python benchmarks/conversation_bench.py                    # utterances + dialogues, default model
  .venv/bin/python benchmarks/conversation_bench.py --utterances-only
  .venv/bin/python benchmarks/conversation_bench.py --dialogues FILE --utterances FILE  # someone else's data
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
DATA = ROOT / "data" / "conversation"
sys.path.insert(0, str(ROOT.parent))

from editmind.agent.turns import TURN_TYPES, classify_turn  # noqa: E402

PARTS = ("train", "train2", "dev", "test", "test2", "test3", "test4")


def load_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def score_utterances(rows: list[dict], embedder: Any = None, guard: Any = None) -> dict[str, Any]:
    """Turn types as the agent reads them: the rules, then (with an embedder and the trained
    guard) the small-talk guard on turns the rules would write. Rules-only accuracy beside it."""
    from editmind.agent.turn_guard import guard_turn

    confusion = {label: {other: 0 for other in TURN_TYPES} for label in TURN_TYPES}
    misses, field_misses = [], []
    fields_checked = fields_right = 0
    turns, rule_types, per_turn_ms = [], [], []
    for row in rows:
        context = row.get("context") or {}
        started = time.perf_counter()
        turn = classify_turn(row["text"], context.get("last_question"), context.get("last_answer"))
        rule_types.append(turn.type)
        if embedder is not None:
            turn = guard_turn(turn, embedder, guard)
        per_turn_ms.append(1000 * (time.perf_counter() - started))
        turns.append(turn)
    seconds = sum(per_turn_ms) / 1000
    for row, turn in zip(rows, turns):
        label = row["label"]
        confusion.setdefault(label, {o: 0 for o in TURN_TYPES})
        confusion[label][turn.type] = confusion[label].get(turn.type, 0) + 1
        if turn.type != label:
            misses.append({"text": row["text"], "context": row.get("context"), "label": label, "predicted": turn.type,
                           "trigger": turn.trigger})
        elif label == "correction" and row.get("expected") and turn.correction is not None:
            for name, want in row["expected"].items():
                if not want:
                    continue
                fields_checked += 1
                got = getattr(turn.correction, name, None)
                if got and got.lower().strip(" .") == str(want).lower().strip(" ."):
                    fields_right += 1
                else:
                    field_misses.append({"text": row["text"], "field": name, "expected": want, "got": got})
    per_type = {}
    for label in TURN_TYPES:
        tp = confusion.get(label, {}).get(label, 0)
        predicted = sum(row.get(label, 0) for row in confusion.values())
        actual = sum(confusion.get(label, {}).values())
        p = tp / predicted if predicted else 0.0
        r = tp / actual if actual else 0.0
        per_type[label] = {"precision": round(p, 3), "recall": round(r, 3), "support": actual, "predicted": predicted}
    correct = sum(confusion[label].get(label, 0) for label in confusion)
    chit = confusion.get("chitchat", {})
    return {
        "n": len(rows), "accuracy": round(correct / len(rows), 4) if rows else None, "per_type": per_type,
        "confusion": confusion,
        "chitchat_read_as_storing": sum(chit.get(t, 0) for t in ("personal_fact", "correction")),
        "correction_fields": {"checked": fields_checked, "right": fields_right,
                              "accuracy": round(fields_right / fields_checked, 4) if fields_checked else None,
                              "misses": field_misses},
        "ms_per_turn": round(1000 * seconds / max(1, len(rows)), 3),
        "ms_per_turn_p95": round(float(sorted(per_turn_ms)[int(0.95 * (len(per_turn_ms) - 1))]), 3) if per_turn_ms else None,
        "ms_per_turn_max": round(max(per_turn_ms), 3) if per_turn_ms else None,
        "reader": "rules + small-talk guard" if embedder is not None and guard is not None else "rules",
        "rules_only_accuracy": round(sum(r["label"] == t for r, t in zip(rows, rule_types)) / len(rows), 4) if rows else None,
        "misses": misses,
    }


# --- dialogues --------------------------------------------------------------------------


def _matches(expected: dict, text: str) -> bool:
    low = text.lower()
    if str(expected["value"]).lower() not in low:
        return False
    about = expected.get("about") or []
    return not about or any(str(a).lower() in low for a in about)


def memory_matches(expected: list[dict], facts: list[Any]) -> bool:
    """Exactly the expected facts are active: each expected fact matched by a distinct one."""
    if len(expected) != len(facts):
        return False
    left = list(facts)
    for want in expected:
        for fact in left:
            if _matches(want, fact.text):
                left.remove(fact)
                break
        else:
            return False
    return True


_UNKNOWN = ("don't know", "do not know", "haven't told me", "not told me", "no record", "nothing stored", "not sure")


def run_dialogues(dialogues: list[dict], model: Any, embedder: Any, max_new_tokens: int) -> dict[str, Any]:
    from editmind.agent import AgentConfig, EditingAgent
    from editmind.memory import FactMemory

    turns_total = turns_right = chit_turns = chit_writes = 0
    superseded_wrong, dialogue_rows, reply_checks, reply_right = [], [], 0, 0
    type_right = 0
    for dialogue in dialogues:
        with tempfile.TemporaryDirectory() as home:
            memory = FactMemory(home=home, embedder=embedder)
            agent = EditingAgent(model=model, home=home, user_id="user", memory=memory,
                                 config=AgentConfig(max_new_tokens=max_new_tokens), open_journal=False)
            rows = []
            for step in dialogue["turns"]:
                before = {f.id: f.text for f in memory.get_all("user")}
                reply = agent.chat(step["user"])
                facts = memory.get_all("user")
                ok = memory_matches(step["memory"], facts)
                turns_total += 1
                turns_right += ok
                type_right += reply.trace.get("turn", {}).get("type") == step["type"]
                wrote = {f.id: f.text for f in facts} != before
                if step["type"] == "chitchat":
                    chit_turns += 1
                    # a "yes" that confirms a correction the agent asked about writes on purpose
                    confirming = any(a.get("action") == "confirmed" for a in reply.actions)
                    chit_writes += wrote and not confirming
                row = {"user": step["user"], "type": step["type"], "predicted": reply.trace.get("turn", {}).get("type"),
                       "reply": reply.text[:300], "memory_ok": ok}
                if not ok:
                    row["expected"] = step["memory"]
                    row["got"] = [f.text for f in facts]
                if step.get("reply_contains"):
                    reply_checks += 1
                    hit = any(s.lower() in reply.text.lower() for s in step["reply_contains"])
                    reply_right += hit
                    row["reply_ok"] = hit
                if step.get("reply_unknown"):
                    reply_checks += 1
                    hit = any(s in reply.text.lower() for s in _UNKNOWN)
                    reply_right += hit
                    row["reply_ok"] = hit
                rows.append(row)
            # a correct fact superseded by a wrong one: an expected final value that memory
            # holds only as superseded, while the same fact is active with another value
            final = dialogue["turns"][-1]["memory"]
            active = memory.get_all("user")
            everything = memory.get_all("user", include_inactive=True)
            for want in final:
                if not any(_matches(want, f.text) for f in active) and any(
                        _matches(want, f.text) and f.status == "superseded" for f in everything):
                    superseded_wrong.append({"dialogue": dialogue["id"], "fact": want})
            agent.close()
        dialogue_rows.append({"id": dialogue["id"], "turns": rows,
                              "memory_ok_turns": sum(r["memory_ok"] for r in rows), "n_turns": len(rows)})
    return {
        "dialogues": len(dialogues), "turns": turns_total,
        "memory_exact_share": round(turns_right / turns_total, 4) if turns_total else None,
        "turn_type_accuracy": round(type_right / turns_total, 4) if turns_total else None,
        "chitchat_turns": chit_turns, "chitchat_turns_that_wrote": chit_writes,
        "dialogues_ending_with_correct_fact_superseded": len(superseded_wrong), "superseded_cases": superseded_wrong,
        "reply_checks": reply_checks, "reply_checks_passed": reply_right,
        "dialogues_all_turns_exact": sum(d["memory_ok_turns"] == d["n_turns"] for d in dialogue_rows),
        "misses": [{"dialogue": d["id"], **t} for d in dialogue_rows for t in d["turns"]
                   if not t["memory_ok"] or t.get("reply_ok") is False or t["predicted"] != t["type"]],
        "per_dialogue": [{k: d[k] for k in ("id", "memory_ok_turns", "n_turns")} for d in dialogue_rows],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--utterances", type=Path, nargs="*", default=None,
                        help="labelled JSONL files (default: the train, dev and test parts)")
    parser.add_argument("--dialogues", type=Path, nargs="*", default=None,
                        help="dialogue JSON files (default: the dev and the four test dialogue sets)")
    parser.add_argument("--utterances-only", action="store_true")
    parser.add_argument("--model", default="default", help="'default' (SmolLM2-135M), a model path, or 'tiny' (random, for quick rule checks)")
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "conversation.json")
    args = parser.parse_args()

    from editmind.editors.eval.provenance import git_state, run_environment

    utterance_files = args.utterances or [DATA / f"utterances_{part}.jsonl" for part in PARTS] + [
        ROOT / "data" / "turns.jsonl", ROOT / "data" / "turns_heldout.jsonl"]  # the earlier five-type sets, as a regression check
    report: dict[str, Any] = {"benchmark": "conversation", "utterances": {}, "dialogues": {}}
    from editmind.agent.turn_guard import TurnGuard
    from editmind.memory.embedders import default_embedder

    embedder, guard = default_embedder(), TurnGuard.load()
    embedder.embed(["warm up"])  # the first call loads the model: not a turn's cost
    for path in utterance_files:
        part = score_utterances(load_jsonl(path), embedder, guard)
        report["utterances"][path.stem] = part
        print(f"{path.name}: n={part['n']} accuracy={part['accuracy']} (rules alone {part['rules_only_accuracy']}) "
              f"small talk read as a fact: {part['chitchat_read_as_storing']} ms/turn={part['ms_per_turn']} "
              f"p95={part['ms_per_turn_p95']} misses={len(part['misses'])}")
    if not args.utterances_only:
        from editmind.editors.model import load_model

        if args.model == "tiny":  # a random tiny llama: fast, for iterating on the rules (answers are noise)
            from editmind.editors.model.testing import tiny_model

            model = tiny_model("llama")
        else:
            model = load_model(args.model)
        embedder = default_embedder()
        for path in args.dialogues or [DATA / f"dialogues_{part}.json" for part in ("dev", "test", "test2", "test3", "test4", "test5", "test6", "test7", "test8", "test9", "test10", "test11")]:
            started = time.perf_counter()
            part = run_dialogues(json.loads(path.read_text(encoding="utf-8")), model, embedder, args.max_new_tokens)
            part["seconds"] = round(time.perf_counter() - started, 1)
            report["dialogues"][path.stem] = part
            print(f"{path.name}: {part['dialogues']} dialogues, {part['turns']} turns, memory exact after "
                  f"{part['memory_exact_share']:.1%} of turns, small talk that wrote: {part['chitchat_turns_that_wrote']}, "
                  f"ended with a correct fact superseded: {part['dialogues_ending_with_correct_fact_superseded']}, "
                  f"replies {part['reply_checks_passed']}/{part['reply_checks']}, types {part['turn_type_accuracy']}")
    report["run"] = {"command": " ".join(["benchmarks/conversation_bench.py", *sys.argv[1:]]), **run_environment(),
                     **git_state(ROOT.parent)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"report: {args.out}")


if __name__ == "__main__":
    main()
