"""MQuAKE with the edits in the weights (MEMIT) next to the edits in the fact memory.

The weights route: each case's 4 edits are applied as one MEMIT batch, the case's questions
are asked with an empty memory (so `none` and hopwalk both fall back to the bare, edited
model), and the weights are restored bitwise before the next case. The edit is computed once
per case and shared by every method (editors/eval/mquake.py `edit_cache`). MEMIT costs
minutes per case on this CPU, so the weights route runs on as many cases as fit in
--budget-s (whole cases, written after each one); the memory route then runs on exactly the
same cases, in both settings, for the side-by-side table.

    nice -n 5 .venv/bin/python benchmarks/mquake_weights_route.py --n 30 --budget-s 1800

Writes benchmarks/results/mquake_weights_route.json (command, environment with load
averages, n, per-question latency, per-case edit seconds and reliability, the table).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("EDITMIND_SHARED_DATA", REPO.parent / "shared" / "data"))


class _OutOfBudget(Exception):
    """Raised from the progress callback once the time budget is spent (after a whole case)."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=30, help="at most this many cases")
    parser.add_argument("--budget-s", type=float, default=1800.0, help="stop the weights route after the case that passes this")
    parser.add_argument("--methods", default="none,hopwalk", help="methods on the weights route (the first one pays for the edits)")
    parser.add_argument("--memory-methods", default="hopwalk,none", help="methods on the memory route, same cases")
    parser.add_argument("--weights-method", default="memit")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--home", default=str(REPO / ".editmind-test-home"))
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "mquake_weights_route.json"))
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from editmind.editors.base import get_editor
    from editmind.editors.eval import mquake
    from editmind.editors.model import load_model

    every_case = mquake.load_cases(DATA / "mquake" / "mquake_hard_dev.json")
    model = load_model("default", home=args.home)
    base_fingerprint = model.fingerprint()
    stats = get_editor(args.weights_method, family="parametric").config.stats
    overrides = {"stats": dataclasses.replace(stats, home=args.home, show_progress=False)}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": "mquake_weights_route",
        "command": " ".join(["nice -n 5 .venv/bin/python", *sys.argv]),
        "data": "mquake/mquake_hard_dev.json", "model": model.name, "weights_method": args.weights_method,
        "environment": {"cpu_count": os.cpu_count(), "torch_threads": args.threads, "platform": platform.platform(),
                        "load_average_at_start": list(os.getloadavg()),
                        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
        "complete": False, "runs": [],
    }
    reports: list = []

    def write() -> None:
        payload["table"] = mquake.format_table(reports)
        payload["environment"]["load_average_now"] = list(os.getloadavg())
        tmp = out.with_suffix(".tmp")
        tmp.write_text(json.dumps(payload, indent=1, ensure_ascii=False, default=str))
        tmp.replace(out)

    def add(report) -> None:
        run = report.to_dict(traces=False)
        run["summary"]["questions_per_case"] = 3
        reports.append(report)
        payload["runs"].append(run)
        write()
        print(json.dumps(run["summary"]), flush=True)

    cache: dict = {}
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    started = time.perf_counter()
    done: list = []

    def budgeted(count: int, total: int, case) -> None:
        done.append(case)
        partial = mquake.MquakeReport(methods[0], "case", list(done), 0, time.perf_counter() - started,
                                      args.weights_method)
        payload["partial_first_method"] = partial.summary()
        write()
        print(f"{methods[0]} @{args.weights_method} {count}/{total} cases, {time.perf_counter() - started:.0f} s",
              file=sys.stderr, flush=True)
        if time.perf_counter() - started > args.budget_s and count < total:
            raise _OutOfBudget

    try:
        first = mquake.evaluate(model, methods[0], every_case[:args.n], "case", route="weights",
                                weights_method=args.weights_method, weights_overrides=overrides, edit_cache=cache,
                                progress=budgeted)
    except _OutOfBudget:
        first = mquake.MquakeReport(methods[0], "case", list(done), 0, time.perf_counter() - started,
                                    args.weights_method)
    payload.pop("partial_first_method", None)
    n = len(first.cases)
    payload["n"] = n
    payload["weights_route_budget_s"] = args.budget_s
    add(first)
    cases = every_case[:n]
    for method in methods[1:]:
        add(mquake.evaluate(model, method, cases, "case", route="weights", weights_method=args.weights_method,
                            weights_overrides=overrides, edit_cache=cache))
    payload["weights_restored_bitwise"] = model.fingerprint() == base_fingerprint
    for method in [m.strip() for m in args.memory_methods.split(",") if m.strip()]:
        for setting in ("case", "all"):
            add(mquake.evaluate(model, method, cases, setting, all_cases=every_case))
    payload["complete"] = True
    payload["environment"]["load_average_at_end"] = list(os.getloadavg())
    payload["environment"]["finished_utc"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    write()
    print(payload["table"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
