"""DAMA debiasing on the default model (../shared/data/debias).

The stereotype subspace comes from train_dama.json's prompts; every number is measured on
test_dama.json's prompts (professions the train file does not name), WinoBias dev and
StereoSet gender, before and after one `dama` edit through a journal in a temporary home.
Perplexity is on the reference prose of editors/eval/bias.py. The issue's target: |a_s|
down by >= 80% with perplexity up by <= 10%.

    .venv/bin/python benchmarks/debias_bench.py                  # the default DAMA settings
    .venv/bin/python benchmarks/debias_bench.py --set rank=4 --out /tmp/dama_r4.json
Writes benchmarks/results/debias.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("EDITMIND_SHARED_DATA", ROOT.parent.parent / "shared" / "data")) / "debias")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "debias.json")
    args = parser.parse_args()

    import torch

    from editmind.editors.eval import bias
    from editmind.editors.eval.provenance import git_state, run_environment
    from editmind.editors.journal import EditJournal
    from editmind.editors.model import load_model
    from editmind.editors.safety.debias import debias
    from editmind.editors.settings import parse_settings

    torch.manual_seed(0)
    overrides = parse_settings(args.set)
    professions = bias.load_professions(args.data / "professions.json")
    train = bias.load_profession_prompts(args.data / "train_dama.json", professions)
    test = bias.load_profession_prompts(args.data / "test_dama.json", professions)
    model = load_model("default")
    started = time.time()
    with tempfile.TemporaryDirectory() as home:
        journal = EditJournal.open(home, model)
        result = debias(journal, train, test, data_dir=args.data, overrides=overrides)
    report = {"benchmark": "debias", "protocol": __doc__.split("\n\n")[1], "overrides": overrides,
              "target": {"a_s_reduction_min": 80.0, "perplexity_change_max": 10.0},
              "met": bool(result.after.get("a_s_reduction", 0) >= 80.0 and result.after["perplexity_change"] <= 10.0),
              **result.to_dict(), "seconds": round(time.time() - started, 1),
              "run": {"command": " ".join(["benchmarks/debias_bench.py", *sys.argv[1:]]), **run_environment(), **git_state(ROOT.parent)}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    for key in report["before"]:
        print(f"{key:16} {report['before'][key]:>9} {report['after'].get(key, '-'):>9}")
    print(f"|a_s| -{report['after'].get('a_s_reduction')}%  perplexity {report['after']['perplexity_change']:+}%  met: {report['met']}")
    print(f"report: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
