"""The 500-edit sequential curves of ROME, MEMIT, AlphaEdit and GRACE side by side.

Reads the sequential-stage reports of `benchmarks/knowedit_bench.py` (one per method, the same
stream: mquake_hard_dev, edits applied one after another, measured at every 100 edits and at
the end), writes one JSON with every method's curve and one PNG plot. A run that stopped
before its last edit (the ROME and MEMIT runs did: each later checkpoint took longer than the
session had) is kept with `complete: false`, its curve ending where it stopped.

Usage: python benchmarks/lifelong_curves.py  (needs the `bench` extra: matplotlib)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
SOURCES = {
    "rome": "knowedit_sequential_rome_cpu_partial_n500.json",
    "memit": "knowedit_sequential_memit_cpu_partial_n500.json",
    "alphaedit": "knowedit_sequential_alphaedit_n500.json",
    "grace": "knowedit_sequential_grace_n500.json",
}
METRICS = ("edit_success_tf", "reliability_tf", "generalization_tf", "locality_tf", "locality_tf_sure_positions")


def curve_of(report: dict[str, Any], method: str) -> tuple[list[dict[str, float]], bool]:
    """The checkpoints, plus the final table column when the run reached its last edit."""
    points = [{k: p[k] for k in ("edits", *METRICS) if k in p} for p in report.get("curves", {}).get(method, [])]
    column = (report.get("table") or {}).get("columns", {}).get(method)
    complete = bool(report.get("complete")) and column is not None
    if complete:
        final = {"edits": float(report.get("args", {}).get("n", 0)), **{k: column[k] for k in METRICS if k in column}}
        sure = (report.get("final_locality") or {}).get("locality_tf_sure_positions")
        if sure is not None:
            final["locality_tf_sure_positions"] = sure
        points.append(final)
    return points, complete


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=RESULTS / "lifelong_curves.json")
    parser.add_argument("--png", type=Path, default=RESULTS / "lifelong_curves.png")
    args = parser.parse_args()
    combined: dict[str, Any] = {"benchmark": "lifelong_curves", "data": "mquake_hard_dev, 500 sequential edits",
                                "metrics": "teacher-forced (KnowEdit tf); locality_tf is KnowEdit's convention "
                                           "(all answer positions), locality_tf_sure_positions only where the unedited "
                                           "model's top-two gap >= 0.5 nats", "methods": {}}
    for method, name in SOURCES.items():
        path = RESULTS / name
        if not path.exists():
            combined["methods"][method] = {"source": name, "missing": True}
            continue
        report = json.loads(path.read_text(encoding="utf-8"))
        points, complete = curve_of(report, method)
        combined["methods"][method] = {"source": name, "command": report.get("command"), "complete": complete,
                                       "finished_utc": report.get("finished_utc"), "curve": points}
    args.out.write_text(json.dumps(combined, indent=2) + "\n", encoding="utf-8")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharex=True)
    for method, entry in combined["methods"].items():
        curve = entry.get("curve") or []
        if not curve:
            continue
        xs = [p["edits"] for p in curve]
        label = method + ("" if entry["complete"] else " (run stopped early)")
        axes[0].plot(xs, [p.get("edit_success_tf") for p in curve], marker="o", label=label)
        axes[1].plot(xs, [p.get("locality_tf") for p in curve], marker="o", label=label)
    for ax, title in zip(axes, ("edit success (tf)", "locality (tf, KnowEdit)")):
        ax.set_title(title)
        ax.set_xlabel("sequential edits")
        ax.set_ylim(0, 105)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle("SmolLM2-135M, mquake_hard_dev: sequential edits, one after another")
    fig.tight_layout()
    fig.savefig(args.png, dpi=110)
    print(f"wrote {args.out} and {args.png}")


if __name__ == "__main__":
    main()
