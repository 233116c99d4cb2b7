"""MeLLo and PokeMQA on more MQuAKE cases, through the fact memory, appended to
benchmarks/results/mquake_baselines.json.

Both baselines generate long few-shot prompts at a few tokens per second on this CPU (1-4
minutes per question), so each run asks the first question of each case only (a lower
bound on "any question right") and stops after the case that passes --budget-s; the n it
reached is written next to every number. Each run is appended to the file's "runs" with
the command, the evaluator ("fact memory") and the load average; earlier runs are kept.

    nice -n 5 .venv/bin/python benchmarks/mquake_slow_baselines.py --methods mello,pokemqa --n 10 --budget-s 900
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("EDITMIND_SHARED_DATA", REPO.parent / "shared" / "data"))


class _OutOfBudget(Exception):
    pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default="mello,pokemqa")
    parser.add_argument("--settings", default="case,all")
    parser.add_argument("--n", type=int, default=10)
    parser.add_argument("--budget-s", type=float, default=900.0, help="per run: stop after the case that passes this")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--home", default=str(REPO / ".editmind-test-home"))
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "mquake_baselines.json"))
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from editmind.editors.eval import mquake
    from editmind.editors.model import load_model

    every_case = mquake.load_cases(DATA / "mquake" / "mquake_hard_dev.json")
    model = load_model("default", home=args.home)
    out = Path(args.out)
    payload = json.loads(out.read_text()) if out.is_file() else {"benchmark": "mquake_baselines", "runs": []}
    command = " ".join(["nice -n 5 .venv/bin/python", *sys.argv])
    added: list = []

    def write(run: dict) -> None:
        runs = payload["runs"]
        if run in runs:
            runs.remove(run)
        runs.append(run)
        payload["table_fact_memory_runs"] = mquake.format_table(added)
        tmp = out.with_suffix(".tmp")
        tmp.write_text(json.dumps(payload, indent=1, ensure_ascii=False, default=str))
        tmp.replace(out)

    for method in [m.strip() for m in args.methods.split(",") if m.strip()]:
        overrides = {"detector_dir": str(Path(args.home) / "retrieval")} if method == "pokemqa" else {}
        editor = mquake.make_method(method, **overrides)
        for setting in [s.strip() for s in args.settings.split(",") if s.strip()]:
            started = time.perf_counter()
            load_start = list(os.getloadavg())
            done: list = []
            run: dict = {}

            def record(final: bool) -> dict:
                report = mquake.MquakeReport(method, setting, list(done), 4 if setting == "case" else None,
                                             time.perf_counter() - started)
                data = report.to_dict(traces=True)
                data["summary"].update({
                    "questions_per_case": 1, "evaluator": "fact memory (editmind.memory.FactMemory, temp home)",
                    "command": command, "budget_s": args.budget_s, "complete": final,
                    "load_average_at_start": load_start, "load_average_now": list(os.getloadavg()),
                    "finished_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                })
                return data

            def progress(count: int, total: int, case, _m=method, _s=setting) -> None:
                nonlocal run
                done.append(case)
                fresh = record(final=False)
                if run:
                    payload["runs"].remove(run)
                run = fresh
                write(run)
                print(f"{_m} [{_s}] {count}/{total} cases, {time.perf_counter() - started:.0f} s",
                      file=sys.stderr, flush=True)
                if time.perf_counter() - started > args.budget_s and count < total:
                    raise _OutOfBudget

            try:
                report = mquake.evaluate(model, method, every_case[:args.n], setting, all_cases=every_case,
                                         questions_per_case=1, editor=editor, progress=progress)
            except _OutOfBudget:
                report = None
            final = record(final=report is not None)  # complete: every one of the --n cases ran
            if report is not None:
                final["summary"]["facts_in_source"] = report.facts_in_source
            if run:
                payload["runs"].remove(run)
            run = final
            added.append(mquake.MquakeReport(method, setting, list(done), final["summary"]["facts_in_source"],
                                             time.perf_counter() - started))
            write(run)
            print(json.dumps({k: v for k, v in final["summary"].items() if k != "command"}), flush=True)
    print(payload["table_fact_memory_runs"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
