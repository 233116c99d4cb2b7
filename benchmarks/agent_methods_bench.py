"""Which retrieval method should the agent use for single-hop questions on the default model?

For the first N MQuAKE-hard edits (requested_rewrite: subject, cloze prompt, new target and
its question), each edit is stored as a world fact in a fresh user memory (through the
same triple form the agent's correction path stores), then the edit's question is asked through each registered
single-hop-capable retrieval method. A case counts when the new target appears in the
answer (normalised, whole words). Every user memory holds all N facts, so retrieval has
distractors. Reports accuracy and mean latency per method.

Run: nice .venv/bin/python benchmarks/agent_methods_bench.py --n 12 -> benchmarks/results/agent_methods.json
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from editmind.agent import AgentConfig, EditingAgent
from editmind.editors.base import available_editors
from editmind.editors.eval.metrics import answer_matches

ROOT = Path(__file__).resolve().parent
DATA = Path(os.environ.get("EDITMIND_SHARED_DATA", ROOT.parent.parent / "shared" / "data"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=12)
    parser.add_argument("--methods", default="hopwalk,ike,ice")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "agent_methods.json")
    args = parser.parse_args()
    records = json.loads((DATA / "mquake" / "mquake_hard_dev.json").read_text())
    rewrites = [r["requested_rewrite"][0] for r in records[: args.n]]
    home = tempfile.mkdtemp(prefix="editmind-methods-")
    agent = EditingAgent(model="default", home=os.environ.get("EDITMIND_HOME"), user_id="bench",
                         config=AgentConfig(max_new_tokens=24), open_journal=False)
    from editmind.memory import FactMemory

    agent.memory = FactMemory(home=home)  # a throwaway memory; the model cache stays where it is
    for rw in rewrites:  # stored as a fully extracted correction is (the triple the router edits with)
        agent.memory.add(f"{rw['prompt'].format(rw['subject'])} {rw['target_new']['str']}.", user_id="bench",
                         subject=rw["subject"], relation=rw["prompt"], object=rw["target_new"]["str"],
                         source="correction", metadata={"scope": "world", "weights": "memory"})
    facts = agent.memory.get_all("bench")
    methods = [m for m in args.methods.split(",") if m in available_editors(family="retrieval")]
    report = {"n": len(rewrites), "facts_stored_with_triples": sum(1 for f in facts if f.subject), "methods": {}}
    for method in methods:
        agent.config.single_hop_method = method
        hits, seconds, rows = 0, 0.0, []
        for rw in rewrites:
            started = time.perf_counter()
            reply = agent.ask(rw["question"])
            took = time.perf_counter() - started
            ok = answer_matches(reply.text, [rw["target_new"]["str"]], kind="question")
            hits += ok
            seconds += took
            rows.append({"question": rw["question"], "target": rw["target_new"]["str"], "answer": reply.text,
                         "method_used": reply.trace.get("method"), "ok": ok, "seconds": round(took, 2)})
        report["methods"][method] = {"accuracy": round(hits / len(rewrites), 3), "mean_seconds": round(seconds / len(rewrites), 2),
                                     "cases": rows}
        print(method, report["methods"][method]["accuracy"], report["methods"][method]["mean_seconds"], flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    agent.close()


if __name__ == "__main__":
    main()
