"""One ROME edit on the default model with statistics cached: wall time of `compute`.

Usage: python benchmarks/rome_edit_speed.py [--home DIR] [--repeats N]
Writes benchmarks/results/rome_edit_speed.json (with the machine's load average, since
the 2-core CI machine is often shared).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from editmind.editors.base import EditRequest, get_editor
from editmind.editors.model import load_model
from editmind.editors.parametric.keys import ContextConfig
from editmind.editors.parametric.stats import StatsConfig, second_moments
from editmind.editors.parametric.layers import rome_layer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", default=str(Path(__file__).resolve().parents[1] / ".editmind-test-home"))
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    model = load_model("default", home=args.home)
    stats, context = StatsConfig(home=args.home), ContextConfig(home=args.home)
    module = model.layout.layers[rome_layer(model.layout.num_layers)].mlp_out.name
    warm = time.perf_counter()
    second_moments(model, [module], stats)  # cached statistics: loaded, or computed once here
    stats_seconds = time.perf_counter() - warm
    request = EditRequest(subject="Eiffel Tower", prompt="The {} is located in the city of", target_new="Rome")
    runs = []
    for _ in range(args.repeats):
        load = os.getloadavg()
        started = time.perf_counter()
        result = get_editor("rome", stats=stats, context=context).compute(model, [request])
        runs.append({"seconds": round(time.perf_counter() - started, 2), "steps": result.info["steps"][0],
                     "target_nll": result.info["target_nll"][0], "load_average": [round(x, 2) for x in load]})
    out = Path(__file__).resolve().parent / "results" / "rome_edit_speed.json"
    out.parent.mkdir(exist_ok=True)
    payload = {"benchmark": "rome_edit_speed", "command": "python benchmarks/rome_edit_speed.py",
               "target_seconds": 10, "stats_load_seconds": round(stats_seconds, 2), "runs": runs,
               "cpu_count": os.cpu_count()}
    out.write_text(json.dumps(payload, indent=2))
    print(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
