"""Does moving `editmind eval mquake` onto the real fact memory change hopwalk's numbers?

Runs hopwalk on the first --n cases in both settings twice: through the in-process list
source the evaluator used before (the evaluator file as of git revision --old-rev, loaded
from `git show`) and through the current evaluator, which stores the edits in a real
`FactMemory` (FAISS + SQLite in a temporary home). Writes
benchmarks/results/mquake_memory_check.json with the command, environment and both summaries.

    nice -n 5 .venv/bin/python benchmarks/mquake_memory_check.py --n 50 --old-rev 98cfd7f
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("EDITMIND_SHARED_DATA", REPO.parent / "shared" / "data"))


def _old_evaluator(rev: str):
    """The list-source evaluator from git revision `rev`, imported under another name."""
    code = subprocess.run(["git", "show", f"{rev}:editors/eval/mquake.py"], cwd=REPO, check=True,
                          capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp(prefix="mquake-old-")) / "mquake_list_source.py"
    path.write_text(code)
    spec = importlib.util.spec_from_file_location("mquake_list_source", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--old-rev", default="98cfd7f", help="a revision whose evaluator used ListFactSource")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--home", default=str(REPO / ".editmind-test-home"))
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "mquake_memory_check.json"))
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from editmind.editors.eval import mquake
    from editmind.editors.model import load_model

    old = _old_evaluator(args.old_rev)
    every_case = mquake.load_cases(DATA / "mquake" / "mquake_hard_dev.json")
    model = load_model("default", home=args.home)
    payload = {
        "benchmark": "mquake_memory_check",
        "command": " ".join([".venv/bin/python", *sys.argv]),
        "data": "mquake/mquake_hard_dev.json", "model": model.name, "n": args.n,
        "environment": {"cpu_count": os.cpu_count(), "torch_threads": args.threads, "platform": platform.platform(),
                        "load_average_at_start": list(os.getloadavg()),
                        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
        "runs": [],
    }
    differing = {}
    for setting in ("case", "all"):
        pair = {}
        for source, module in (("list (old evaluator, rev %s)" % args.old_rev, old), ("fact memory", mquake)):
            report = module.evaluate(model, "hopwalk", every_case[:args.n], setting, all_cases=every_case,
                                     editor=mquake.make_method("hopwalk"))
            summary = report.summary()
            summary["source"] = source
            payload["runs"].append(summary)
            pair[source] = report
            print(json.dumps(summary), flush=True)
        list_report, memory_report = pair.values()
        differing[setting] = [
            {"case_id": a.case_id, "question": qa.question, "list_answer": qa.answer, "memory_answer": qb.answer}
            for a, b in zip(list_report.cases, memory_report.cases)
            for qa, qb in zip(a.questions, b.questions) if qa.answer != qb.answer
        ]
    payload["questions_answered_differently"] = differing
    payload["environment"]["load_average_at_end"] = list(os.getloadavg())
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, indent=1, ensure_ascii=False))
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
