"""MQuAKE multi-hop benchmark of the retrieval editors on the default model.

Multi-hop accuracy, hop accuracy and per-question latency in the `case` and `all` settings
(editors/eval/mquake.py). hopwalk runs on every case with all three questions; the
prompting baselines (none, ICE, IKE, MeLLo, PokeMQA) generate long prompts at a few tokens
per second on this CPU, so they run on the first --baseline-n cases with the first
question only (a lower bound on "any question right"), and n is written next to every
number. Results are written after every run to benchmarks/results/mquake_bench.json.

    nice .venv/bin/python benchmarks/mquake_bench.py [--n 300] [--baseline-n 20] [--slow-n 5]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("EDITMIND_SHARED_DATA", REPO.parent / "shared" / "data"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="cases for hopwalk")
    parser.add_argument("--baseline-n", type=int, default=20, help="cases for none/ICE/IKE (first question only)")
    parser.add_argument("--slow-n", type=int, default=5, help="cases for MeLLo/PokeMQA (first question only)")
    parser.add_argument("--methods", default="hopwalk,none,ice,ike,mello,pokemqa,mello-reference")
    parser.add_argument("--settings", default="all,case", help="which settings, in order")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a shared machine)")
    parser.add_argument("--home", default=str(REPO / ".editmind-test-home"))
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "mquake_bench.json"))
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from editmind.editors.eval import mquake
    from editmind.editors.model import load_model

    every_case = mquake.load_cases(DATA / "mquake" / "mquake_hard_dev.json")
    model = load_model("default", home=args.home)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": "mquake", "data": "mquake/mquake_hard_dev.json", "model": model.name,
        "machine": {"cpu_count": os.cpu_count(), "torch_threads": args.threads, "platform": platform.platform()},
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "runs": [],
    }
    detector_meta = Path(args.home) / "retrieval" / "scope_detector.json"
    if detector_meta.is_file():
        payload["scope_detector"] = json.loads(detector_meta.read_text())
    reports = []
    for method in [m.strip() for m in args.methods.split(",") if m.strip()]:
        overrides, name = {}, method
        if method == "mello-reference":
            name, overrides = "mello", {"prompt_file": str(DATA / "reference_prompts" / "mello_prompt.txt")}
        if method == "pokemqa":
            overrides = {"detector_dir": str(Path(args.home) / "retrieval")}
        n, per_case = (args.n, None) if method == "hopwalk" else (
            (args.baseline_n, 1) if method in ("none", "ice", "ike") else (args.slow_n, 1))
        for setting in [s.strip() for s in args.settings.split(",") if s.strip()]:
            editor = mquake.make_method(name, **overrides)
            started = time.perf_counter()
            report = mquake.evaluate(model, name, every_case[:n], setting, all_cases=every_case,
                                     questions_per_case=per_case, editor=editor,
                                     progress=lambda d, t, _c: print(f"\r{method} {setting} {d}/{t}", end="", file=sys.stderr, flush=True))
            print(file=sys.stderr)
            report.method = method
            reports.append(report)
            run = report.to_dict(traces=method != "hopwalk")
            run["summary"]["questions_per_case"] = per_case or 3
            run["summary"]["wall_seconds"] = round(time.perf_counter() - started, 1)
            payload["runs"].append(run)
            payload["table"] = mquake.format_table(reports)
            tmp = out.with_suffix(".tmp")
            tmp.write_text(json.dumps(payload, indent=1, ensure_ascii=False, default=str))
            tmp.replace(out)
            print(json.dumps(run["summary"]), flush=True)
    print(payload["table"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
