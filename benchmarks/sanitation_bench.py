"""Sanitation on the knowledge-sanitization TriviaQA splits (../shared/data/sanitation).

Per split, on a fresh model: forget = the split's test_forget_gold.json questions (the
user's "forget these", with their true answers for the leak checks), retain = dev_keep.json
(held in place by the edit's KL term), retain_unseen = 50 other questions of the split's
train file that are not forget items (never shown to the edit). One `sanitize` edit through
a journal in a temporary home; metrics before and after (editors/eval/sanitation.py).
`--forget-file dev_forget.json` runs the dev protocol the hyperparameters were chosen on.

    .venv/bin/python benchmarks/sanitation_bench.py                 # all 7 splits
    .venv/bin/python benchmarks/sanitation_bench.py --splits 1 2 --set lr=1e-3
Writes benchmarks/results/sanitation.json.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
IDK = "I don't know."


def split_sets(directory: Path, forget_file: str, unseen: int, seed: int = 0):
    from editmind.editors.safety.qa_files import load_qa_file, parse_item

    forget = load_qa_file(directory / forget_file)
    retain = load_qa_file(directory / "dev_keep.json")
    train = json.loads((directory / "train_5-forget-answers_85-percent-retain.json").read_text())
    shown = {item.question for item in forget + retain}
    pool = [parse_item(r) for r in train if r.get("output") != IDK]
    pool = [item for item in pool if item and item.question not in shown]
    return forget, retain, random.Random(seed).sample(pool, min(unseen, len(pool)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent.parent / "shared" / "data" / "sanitation")
    parser.add_argument("--splits", type=int, nargs="*", default=list(range(1, 8)))
    parser.add_argument("--forget-file", default="test_forget_gold.json")
    parser.add_argument("--unseen", type=int, default=50)
    parser.add_argument("--method", default="sanitize", help="sanitize (fine-tuning, default) or a key-value editor: memit, alphaedit")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="a sanitize hyperparameter")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "sanitation.json")
    args = parser.parse_args()

    import torch

    from editmind.editors.eval.provenance import git_state, run_environment
    from editmind.editors.journal import EditJournal
    from editmind.editors.model import load_model
    from editmind.editors.safety.sanitation import sanitize
    from editmind.editors.settings import parse_settings

    torch.manual_seed(0)
    overrides = parse_settings(args.set)
    report = {"benchmark": "sanitation", "protocol": __doc__.split("\n\n")[1], "forget_file": args.forget_file, "method": args.method,
              "overrides": overrides, "splits": {},
              "run": {"command": " ".join(["benchmarks/sanitation_bench.py", *sys.argv[1:]]), **run_environment(),
                      **git_state(ROOT.parent)}}
    for split in args.splits:
        directory = args.data / f"triviaqa_{split}"
        forget, retain, unseen = split_sets(directory, args.forget_file, args.unseen)
        model = load_model("default")
        with tempfile.TemporaryDirectory() as home:
            journal = EditJournal.open(home, model)
            started = time.perf_counter()
            result = sanitize(journal, forget, retain, overrides=overrides, retain_unseen=unseen, method=args.method)
            row = result.to_dict()
            row["seconds"] = round(time.perf_counter() - started, 1)
            journal.undo(result.edit_id)
            row["undo_restores_bitwise"] = model.fingerprint() == journal._index["base_fingerprint"]
        report["splits"][str(split)] = row
        b, a = row["before"], row["after"]
        print(f"split {split}: forget {b['forget_success']} -> {a['forget_success']}, paraphrase {a['paraphrase_success']}, "
              f"leak {b['leak_rate']} -> {a['leak_rate']}, retain {a['retain_accuracy']} (unseen {a['retain_unseen_accuracy']}), "
              f"fluency {b['fluency']} -> {a['fluency']}, {row['seconds']} s", flush=True)
    keys = ("forget_success", "paraphrase_success", "leak_rate", "retain_accuracy", "retain_unseen_accuracy", "fluency")
    rows = list(report["splits"].values())
    report["mean_after"] = {k: round(sum(r["after"][k] for r in rows) / len(rows), 1) for k in keys}
    report["mean_before"] = {k: round(sum(r["before"][k] for r in rows) / len(rows), 1) for k in keys if k in rows[0]["before"]}
    print("mean after:", report["mean_after"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
