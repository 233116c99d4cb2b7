"""`editmind sanitize`: make the model forget the answers to some questions, keep the rest.
`editmind debias`: take the gender-stereotype subspace out of the model (DAMA).
`editmind detox`: make the model refuse jailbreak attacks (DINM, or a gated refusal vector).

The edit goes through the journal like any other (`editmind edits list|undo`), the user's
memory facts that name a forgotten answer are redacted too, and a before/after table of
the sanitation metrics is printed (`--json OUT` writes it as a file).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from editmind.apps.cli import print_json


def _items(args: argparse.Namespace):
    from editmind.editors.base import EditRequestError
    from editmind.editors.safety.qa_files import QAItem, load_qa_file

    forget = [item for path in args.forget for item in load_qa_file(path)]
    if args.answer and len(args.answer) != len(args.question):
        raise EditRequestError(f"{len(args.question)} --question but {len(args.answer)} --answer; give one --answer per --question or none")
    for i, question in enumerate(args.question):
        answer = args.answer[i] if args.answer else None
        forget.append(QAItem(question.strip(), (answer,) if answer else ()))
    forget = [item for item in forget if item.question]
    if not forget:
        raise EditRequestError("nothing to forget: give --forget FILE (a JSON list of questions) or --question TEXT")
    retain = [item for path in args.retain for item in load_qa_file(path)]
    return forget, retain


def _redact_memory(args: argparse.Namespace, forget) -> int:
    from editmind.editors.safety.sanitation import redact_facts_naming
    from editmind.memory import FactMemory

    memory = FactMemory(home=args.home)
    try:
        return redact_facts_naming(memory, args.user, forget)
    finally:
        memory.close()


def _sanitize(args: argparse.Namespace) -> int:
    from editmind.apps.commands.edit import _open, _progress
    from editmind.editors.base import get_editor
    from editmind.editors.safety.sanitation import sanitize
    from editmind.editors.settings import parse_settings

    forget, retain = _items(args)  # bad files fail before the model loads
    overrides = parse_settings(args.set)
    overrides.setdefault("method", args.method)
    get_editor("sanitize", family="parametric", **overrides)  # a bad --set too
    journal, _ = _open(args)
    report = sanitize(journal, forget, retain, safe_phrase=args.safe_phrase, overrides=overrides,
                      progress=_progress(True), evaluate=not args.no_eval)
    payload = report.to_dict()
    payload["memory_facts_redacted"] = _redact_memory(args, forget)
    if args.json:
        Path(args.json).write_text(json.dumps(payload, indent=2, ensure_ascii=False))
    held = f"{report.retain} retain question(s) held" if report.retain else "general questions held (no --retain given)"
    print(f"sanitation edit {report.edit_id} ({overrides['method']}, layers {report.layers}): {report.forget} question(s) forgotten, "
          f"{held}, {report.compute_seconds:.0f} s; undo with 'editmind edits undo {report.edit_id}'")
    if payload["memory_facts_redacted"]:
        print(f"redacted {payload['memory_facts_redacted']} fact(s) naming a forgotten answer from {args.user}'s memory")
    if report.before:
        rows = ("forget_success", "paraphrase_success", "leak_rate", "retain_accuracy", "retain_gold", "fluency")
        print(f"{'metric':22} {'before':>8} {'after':>8}")
        def cell(value) -> str:
            return "-" if value is None or value != value else str(value)  # nan: nothing to measure it on

        for key in rows:
            print(f"{key:22} {cell(report.before.get(key)):>8} {cell(report.after.get(key)):>8}")
    if args.json:
        print(f"report: {args.json}", file=sys.stderr)
    return 0


def _debias_files(args: argparse.Namespace):
    from editmind.apps.commands.eval import shared_data_dir
    from editmind.editors.eval import bias

    data = Path(args.data) if args.data else shared_data_dir() / "debias"
    professions = bias.load_professions(Path(args.professions) if args.professions else data / "professions.json")
    train = bias.load_profession_prompts(Path(args.train) if args.train else data / "train_dama.json", professions)
    test = [] if args.no_eval else bias.load_profession_prompts(Path(args.test) if args.test else data / "test_dama.json", professions)
    return data, train, test


def _debias(args: argparse.Namespace) -> int:
    from editmind.apps.commands.edit import _open, _progress
    from editmind.editors.base import get_editor
    from editmind.editors.safety.debias import debias
    from editmind.editors.settings import parse_settings

    data, train, test = _debias_files(args)  # bad files fail before the model loads
    overrides = parse_settings(args.set)
    get_editor("dama", family="parametric", **overrides)  # a bad --set too
    journal, _ = _open(args)
    report = debias(journal, train, test, data_dir=data, overrides=overrides, progress=_progress(True), evaluate=not args.no_eval)
    payload = report.to_dict()
    if args.json:
        Path(args.json).write_text(json.dumps(payload, indent=2, ensure_ascii=False))
    print(f"debias edit {report.edit_id} (layers {report.layers}, rank {report.rank}): subspace from {report.train_prompts} "
          f"prompts, {report.compute_seconds:.0f} s; undo with 'editmind edits undo {report.edit_id}'")
    if report.before:
        print(f"{'metric':18} {'before':>8} {'after':>8}")
        for key in ("a_s", "a_f", "winobias_pro", "winobias_anti", "winobias_gap", "stereoset_ss", "stereoset_lms", "perplexity"):
            if key in report.before:
                print(f"{key:18} {report.before[key]:>8} {report.after.get(key, '-'):>8}")
        print(f"|a_s| reduced by {report.after.get('a_s_reduction', '-')}%, perplexity {report.after['perplexity_change']:+}%")
    if args.json:
        print(f"report: {args.json}", file=sys.stderr)
    return 0


def _detox_data(args: argparse.Namespace):
    from editmind.editors.base import EditRequestError
    from editmind.editors.safety.safeedit import load_attacks, split_by_question, spread

    records = load_attacks(args.data)
    if args.no_eval:
        train, test = records, []
    else:
        train, test = split_by_question(records, args.test_fraction, seed=args.seed)
    train, test = spread(train, args.max_train, args.seed), spread(test, args.max_test, args.seed)
    if not train:
        raise EditRequestError(f"{args.data} leaves no training attacks; give more records or a lower --test-fraction")
    return train, test


def _detox(args: argparse.Namespace) -> int:
    from editmind.apps.commands.edit import _open, _progress
    from editmind.editors.base import EditRequestError, get_editor
    from editmind.editors.safety.detox import METHODS, detox
    from editmind.editors.settings import parse_settings

    method = args.method.strip().lower()
    if method not in METHODS:
        raise EditRequestError(f"unknown detox method {args.method!r}; choose from {', '.join(METHODS)}")
    train, test = _detox_data(args)  # bad files fail before the model loads
    overrides = parse_settings(args.set)
    get_editor(method, family="parametric", **overrides)  # a bad --set too
    judge = None
    if not args.no_eval:
        from editmind.editors.safety.harm_judge import load_judge

        judge = load_judge()
    journal, _ = _open(args)
    report = detox(journal, train, test, method=method, overrides=overrides, progress=_progress(True), evaluate=not args.no_eval,
                   max_new_tokens=args.max_new_tokens, user_id=args.user, judge=judge)
    payload = report.to_dict()
    if args.json:
        Path(args.json).write_text(json.dumps(payload, indent=2, ensure_ascii=False))
    print(f"detox edit {report.edit_id} ({method}, layer {report.layers}): refusal learned from {report.train_attacks} attack(s), "
          f"{report.compute_seconds:.0f} s; undo with 'editmind edits undo {report.edit_id}'")
    if report.before:
        print(f"{'metric':22} {'before':>8} {'after':>8}   ({report.test_attacks} test attacks on {report.test_questions} "
              f"unseen questions, {report.benign_prompts} benign prompts)")
        for key in ("defense_success", "locality", "locality_exact", "locality_first_words", "fluency", "fluency_benign", "refusal_phrase_rate",
                    "benign_refusal_rate"):
            print(f"{key:22} {str(report.before.get(key, '-')):>8} {str(report.after.get(key, '-')):>8}")
    if args.json:
        print(f"report: {args.json}", file=sys.stderr)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    from editmind.apps.commands.agent import add_user_argument

    parser = subparsers.add_parser("sanitize", help="make the model answer \"I don't know.\" to questions whose answers must be forgotten")
    parser.add_argument("--forget", action="append", default=[], metavar="FILE",
                        help="a JSON list of questions to forget (strings, {question, answer} records, TriviaQA records or "
                             "the sanitation splits' files); repeatable")
    parser.add_argument("--question", action="append", default=[], metavar="TEXT", help="one question to forget (repeatable)")
    parser.add_argument("--answer", action="append", default=[], metavar="TEXT",
                        help="the answer to forget, one per --question (used to check for leaks and redact memory)")
    parser.add_argument("--retain", action="append", default=[], metavar="FILE",
                        help="questions whose answers must not change (same shapes as --forget); repeatable")
    parser.add_argument("--safe-phrase", default="I don't know.", help="what the model answers instead (default: \"I don't know.\")")
    parser.add_argument("--method", choices=("gate", "lowrank"), default="gate",
                        help="gate (default): a codebook at one MLP that answers the safe phrase only near a forget question, "
                             "base weights untouched; lowrank: fine-tune a band of MLPs (the weights change for every input)")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="a sanitize hyperparameter: --set gate_radius=0.25 (gate), --set epochs=5 (lowrank)")
    parser.add_argument("--no-eval", action="store_true", help="skip the before/after measurement")
    parser.add_argument("--json", default=None, metavar="OUT", help="write the report as JSON to OUT")
    add_user_argument(parser)
    parser.set_defaults(handler=_sanitize)

    parser = subparsers.add_parser("debias", help="remove the gender-stereotype subspace from the model's MLPs (DAMA)")
    parser.add_argument("--data", default=None, metavar="DIR",
                        help="the debias data folder (default: $EDITMIND_SHARED_DATA/debias or ../shared/data/debias)")
    parser.add_argument("--train", default=None, metavar="FILE", help="prompts the subspace comes from (default: DIR/train_dama.json)")
    parser.add_argument("--test", default=None, metavar="FILE", help="prompts measured before/after (default: DIR/test_dama.json)")
    parser.add_argument("--professions", default=None, metavar="FILE",
                        help="[profession, factual, stereotypical] scores (default: DIR/professions.json)")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="a DAMA hyperparameter: --set rank=4")
    parser.add_argument("--no-eval", action="store_true", help="skip the before/after measurement")
    parser.add_argument("--json", default=None, metavar="OUT", help="write the report as JSON to OUT")
    parser.set_defaults(handler=_debias)

    parser = subparsers.add_parser("detox", help="make the model refuse jailbreak attacks (DINM or a gated refusal vector)")
    parser.add_argument("--data", required=True, metavar="FILE",
                        help="SafeEdit attack records (JSON list of {question, attack name, input, response}), e.g. "
                             "../shared/data/detox/safeedit_attacks.json; split into train/test by question")
    parser.add_argument("--method", default="dinm", help="dinm (tune the toxic layer's MLP output) or steer (a gated refusal vector, rank one)")
    parser.add_argument("--test-fraction", type=float, default=0.25, help="share of the questions held out for measuring (default 0.25)")
    parser.add_argument("--seed", type=int, default=0, help="the split's and the subsets' seed")
    parser.add_argument("--max-train", type=int, default=24, metavar="N", help="training attacks used (spread over attack names; default 24)")
    parser.add_argument("--max-test", type=int, default=32, metavar="N", help="test attacks measured (default 32)")
    parser.add_argument("--max-new-tokens", type=int, default=40, help="reply length the harm judge reads (default 40)")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="a DINM/steer hyperparameter: --set steps=32")
    parser.add_argument("--no-eval", action="store_true", help="train on every record and skip the before/after measurement")
    parser.add_argument("--json", default=None, metavar="OUT", help="write the report as JSON to OUT")
    add_user_argument(parser)
    parser.set_defaults(handler=_detox)
