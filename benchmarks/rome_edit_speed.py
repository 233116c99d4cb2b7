"""One ROME edit on the default model with statistics cached: wall time of `compute`.

Usage: python benchmarks/rome_edit_speed.py [--home DIR] [--repeats N] [--methods rome,grace --out FILE]
Writes benchmarks/results/rome_edit_speed.json (with the machine's load average, since
the 2-core CI machine is often shared). With several --methods the edits alternate
(rome, grace, rome, grace, ...) on the same request in the same process, so a ratio of their
medians compares them under the same load (issue 26: a lifelong edit no slower than ROME).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

from editmind.editors.base import EditRequest, get_editor
from editmind.editors.eval.provenance import git_state
from editmind.editors.model import load_model
from editmind.editors.parametric.keys import ContextConfig
from editmind.editors.parametric.stats import StatsConfig, second_moments
from editmind.editors.parametric.layers import rome_layer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", default=str(Path(__file__).resolve().parents[1] / ".editmind-test-home"))
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--methods", default="rome", help="comma-separated editors, alternated; the first is the baseline")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "rome_edit_speed.json")
    args = parser.parse_args()
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    model = load_model("default", home=args.home)
    stats, context = StatsConfig(home=args.home), ContextConfig(home=args.home)
    module = model.layout.layers[rome_layer(model.layout.num_layers)].mlp_out.name
    warm = time.perf_counter()
    second_moments(model, [module], stats)  # cached statistics: loaded, or computed once here
    stats_seconds = time.perf_counter() - warm
    request = EditRequest(subject="Eiffel Tower", prompt="The {} is located in the city of", target_new="Rome")
    runs: dict[str, list[dict]] = {m: [] for m in methods}
    for _ in range(args.repeats):
        for method in methods:
            load = os.getloadavg()
            editor = get_editor(method, stats=stats, context=context) if method in ("rome", "memit", "alphaedit") else get_editor(method)
            started = time.perf_counter()
            result = editor.compute(model, [request])
            row = {"seconds": round(time.perf_counter() - started, 2), "load_average": [round(x, 2) for x in load]}
            if method == "rome":
                row |= {"steps": result.info["steps"][0], "target_nll": result.info["target_nll"][0]}
            runs[method].append(row)
    medians = {m: statistics.median(r["seconds"] for r in rows) for m, rows in runs.items()}
    args.out.parent.mkdir(exist_ok=True)
    payload = {"benchmark": "rome_edit_speed", "command": "python benchmarks/rome_edit_speed.py " + " ".join(sys.argv[1:]),
               "target_seconds": 10, "stats_load_seconds": round(stats_seconds, 2),
               "runs": runs["rome"] if methods == ["rome"] else runs, "cpu_count": os.cpu_count(),
               "median_seconds": medians, **git_state(Path(__file__).resolve().parents[1])}
    if len(methods) > 1:
        payload["ratio_to_" + methods[0]] = {m: round(medians[m] / medians[methods[0]], 3) for m in methods[1:]}
    args.out.write_text(json.dumps(payload, indent=2))
    print(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
