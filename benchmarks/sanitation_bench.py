"""Sanitation on the knowledge-sanitization TriviaQA splits (../shared/data/sanitation).

Per split, on a fresh model: forget = the split's test_forget_gold.json questions (the
user's "forget these", with their true answers for the leak checks), retain = dev_keep.json
(given to the edit: the gate keeps clear of them, the low-rank method holds them by KL),
retain_unseen = 50 other questions of the split's train file that are not forget items
(never shown to the edit). One `sanitize` edit through a journal in a temporary home;
metrics before and after (editors/eval/sanitation.py); then, on the first split, the
journal's export is checked (the plain transformers load of the exported directory, and
editmind's load_model of it, asked the forget questions), and the edit is undone (bitwise?).
`--forget-file dev_forget.json` runs the dev protocol the hyperparameters were chosen on.

    .venv/bin/python benchmarks/sanitation_bench.py                 # the test protocol: all 7 splits
    .venv/bin/python benchmarks/sanitation_bench.py --splits 1 --forget-file dev_forget.json --unseen 30 \
        --out benchmarks/results/experiments/sanitation/dev1_gate.json --set gate_radius=0.25
    .venv/bin/python benchmarks/sanitation_bench.py --set method=lowrank   # the low-rank fine-tuning instead
Writes benchmarks/results/sanitation.json (after every split, so a cut-short run keeps its splits).
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
    parser.add_argument("--no-export-check", action="store_true", help="skip the export check on the first split")
    args = parser.parse_args()

    import torch

    from editmind.editors.eval.provenance import git_state, run_environment
    from editmind.editors.journal import EditJournal
    from editmind.editors.model import load_model
    from editmind.editors.safety.sanitation import sanitize
    from editmind.editors.settings import parse_settings
    from editmind.editors.side_memory import has_side_memory

    torch.manual_seed(0)
    overrides = parse_settings(args.set)
    report = {"benchmark": "sanitation", "protocol": __doc__.split("\n\n")[1], "forget_file": args.forget_file, "method": args.method,
              "overrides": overrides, "splits": {},
              "run": {"command": " ".join(["benchmarks/sanitation_bench.py", *sys.argv[1:]]), **run_environment(),
                      **git_state(ROOT.parent)}}
    for n, split in enumerate(args.splits):
        directory = args.data / f"triviaqa_{split}"
        forget, retain, unseen = split_sets(directory, args.forget_file, args.unseen)
        model = load_model("default")
        with tempfile.TemporaryDirectory() as home:
            journal = EditJournal.open(home, model)
            started = time.perf_counter()
            result = sanitize(journal, forget, retain, overrides=overrides, retain_unseen=unseen, method=args.method)
            row = result.to_dict()
            row["seconds"] = round(time.perf_counter() - started, 1)
            record = journal.record(result.edit_id)
            row["edit_info"] = {k: v for k, v in (record.info or {}).items() if k != "per_request"}
            if n == 0 and not args.no_export_check:
                row["export"] = export_check(journal, forget, Path(home) / "export")
            journal.undo(result.edit_id)
            row["undo_restores_bitwise"] = model.fingerprint() == journal._index["base_fingerprint"] and not has_side_memory(model)
        report["splits"][str(split)] = row
        b, a = row["before"], row["after"]
        print(f"split {split}: forget {b['forget_success']} -> {a['forget_success']}, paraphrase {a['paraphrase_success']}, "
              f"leak {b['leak_rate']} -> {a['leak_rate']}, retain {a['retain_accuracy']} (first words {a['retain_first_words']}; "
              f"unseen {a['retain_unseen_accuracy']} / {a['retain_unseen_first_words']}), "
              f"fluency {b['fluency']} -> {a['fluency']}, {row['seconds']} s", flush=True)
        rows = list(report["splits"].values())
        report["mean_after"] = {k: round(sum(r["after"][k] for r in rows) / len(rows), 1) for k in MEAN_KEYS}
        report["mean_before"] = {k: round(sum(r["before"][k] for r in rows) / len(rows), 1) for k in MEAN_KEYS if k in rows[0]["before"]}
        report["splits_run"] = [int(k) for k in report["splits"]]
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    print("mean after:", report["mean_after"])
    return 0


MEAN_KEYS = ("forget_success", "paraphrase_success", "leak_rate", "leak_rate_completion", "leak_rate_multiple_choice",
             "gold_in_direct_reply", "retain_accuracy", "retain_first_words", "retain_unseen_accuracy",
             "retain_unseen_first_words", "retain_said_safe_phrase", "fluency")


def export_check(journal, forget, directory: Path) -> dict:
    """Export the edited model; ask the forget questions of (a) the directory loaded by plain
    transformers (the base weights: the gate is not in them) and (b) editmind's load_model of
    it (the gate re-attached). Forget success of each, and the files written."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from editmind.editors.eval.sanitation import _leaks, _says
    from editmind.editors.model import load_model
    from editmind.editors.model.batch_generation import chat_many

    out = journal.export(directory)
    manifest = json.loads((out / "editmind_edits.json").read_text())
    questions = [item.question for item in forget]

    def success(replies):
        return round(100.0 * sum(_says(r, IDK) and not _leaks(r, item) for r, item in zip(replies, forget)) / len(forget), 1)

    plain = AutoModelForCausalLM.from_pretrained(str(out)).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(out))
    plain_replies = chat_many(plain, tokenizer, questions, 24)
    del plain
    reloaded = load_model(str(out))
    return {"files": sorted(p.name for p in out.iterdir()), "side_memories": manifest.get("side_memories", []),
            "forget_success_plain_transformers_load": success(plain_replies),
            "gold_in_reply_plain_transformers_load": round(100.0 * sum(_leaks(r, i) for r, i in zip(plain_replies, forget)) / len(forget), 1),
            "forget_success_editmind_load": success(chat_many(reloaded.model, reloaded.tokenizer, questions, 24))}


if __name__ == "__main__":
    sys.exit(main())
