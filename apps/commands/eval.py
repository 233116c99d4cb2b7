"""`editmind eval <benchmark>`: evaluation commands.

The group is a sub-subparser: a new benchmark joins by adding a `(name, register)` pair to
EVALUATIONS (a `register(subparsers)` function that adds its parser and handler), e.g.
`eval mquake` for the retrieval editors.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
from pathlib import Path
from typing import Callable

from editmind.apps.cli import print_json

DEFAULT_KNOWEDIT_DATA = Path("mquake") / "mquake_hard_dev.json"
PARAMETRIC_METHODS = "rome,memit,ft-m,ft-l,alphaedit"


def shared_data_dir() -> Path:
    """$EDITMIND_SHARED_DATA, else ../shared/data next to the current directory."""
    return Path(os.environ.get("EDITMIND_SHARED_DATA") or Path.cwd().parent / "shared" / "data")


def _methods(text: str) -> list[str]:
    from editmind.editors.errors import EditmindError

    methods = [m.strip().lower() for m in text.split(",") if m.strip()]
    if not methods:
        raise EditmindError("--methods is empty; give a comma-separated list like rome,memit")
    return list(dict.fromkeys(methods))


def _write_json(path: str, payload: dict) -> None:
    from editmind.editors.errors import EditmindError

    target = Path(path).expanduser()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(json.dumps(payload, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
        tmp.replace(target)  # a crash mid-write leaves the previous file, never half a file
    except OSError as exc:
        raise EditmindError(f"cannot write {target}: {exc.strerror or exc}") from None


def _run_block(args: argparse.Namespace, model) -> dict:
    """What a result file needs so its numbers can be compared and reproduced later: the
    command line, the settings, the exact base weights and the software that ran it."""
    from editmind.editors.eval.provenance import run_environment

    return {
        "command": shlex.join(["editmind", *getattr(args, "argv", [])]), "n": args.n, "start_case": args.start_case,
        "settings": list(args.set or []), "model_fingerprint": model.fingerprint(), "device": str(model.device),
        **run_environment(),
    }


def _configured_editors(methods: list[str], pairs: list[str]) -> list:
    """One editor per method, each with the --set settings its config has; a setting no
    chosen method has is an error (a typo would otherwise be silently ignored)."""
    from editmind.editors.base import EditRequestError, editor_class
    from editmind.editors.settings import has_setting, parse_settings

    settings = parse_settings(pairs)
    classes = [editor_class(name, family="parametric") for name in methods]
    defaults = [cls.Config() for cls in classes]
    for name in settings:
        if not any(has_setting(config, name) for config in defaults):
            raise EditRequestError(f"no chosen method has the setting {name!r}; "
                                   f"`editmind eval knowedit --methods {classes[0].name} --set` takes e.g. value.steps=10")
    return [cls(**{k: v for k, v in settings.items() if has_setting(config, k)}) for cls, config in zip(classes, defaults)]


def _knowedit(args: argparse.Namespace) -> int:
    from editmind.editors.eval.knowedit import EvalConfig, evaluate_methods, parse_checkpoints
    from editmind.editors.eval.provenance import utc_now
    from editmind.editors.eval.records import load_knowedit_records
    from editmind.editors.model import load_model

    editors = _configured_editors(_methods(args.methods), args.set)  # typos fail before anything loads
    checkpoints = parse_checkpoints(args.checkpoints)
    data = args.data or str(shared_data_dir() / DEFAULT_KNOWEDIT_DATA)
    records = load_knowedit_records(data, args.n, start_case=args.start_case)
    mode = "sequential" if args.sequential else "batch" if args.batch else "single"
    conventions = ("tf", "em") if args.conventions == "both" else (args.conventions,)
    config = EvalConfig(mode=mode, conventions=conventions, fluency=not args.no_fluency,
                        fluency_tokens=args.fluency_tokens, show_progress=not args.quiet,
                        checkpoints=checkpoints, chat=args.chat)
    model = load_model(args.model, home=args.home, device=args.device)
    run = _run_block(args, model)

    def payload(table, complete: bool) -> dict:
        finished = {"finished_utc": utc_now()} if complete else {}
        return {**table.to_dict(), "data": data, "run": {**run, "complete": complete, **finished}}

    on_report = None
    if args.json_out:
        def on_report(table) -> None:  # keep finished columns if the run is cut off
            _write_json(args.json_out, payload(table, complete=False))
    table = evaluate_methods(model, editors, records, config=config, on_report=on_report)
    final = payload(table, complete=True)
    if args.json_out:
        _write_json(args.json_out, final)
    if args.print_json:
        print_json(final)
    else:
        print(table.format())
        if args.json_out:
            print(f"written to {args.json_out}")
    return 0


def _register_knowedit(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "knowedit", help="KnowEdit metrics of parameter editors on MQuAKE-format edits",
        description="Edit success, portability, locality and fluency per method, as in the KnowEdit paper's Table 4.",
    )
    parser.add_argument("--methods", default=PARAMETRIC_METHODS, help=f"comma-separated (default {PARAMETRIC_METHODS})")
    parser.add_argument("--data", default=None,
                        help="MQuAKE-format JSON (default: $EDITMIND_SHARED_DATA or ../shared/data, mquake/mquake_hard_dev.json)")
    parser.add_argument("--n", type=int, default=20, help="number of edits (whole cases in file order; default 20)")
    parser.add_argument("--start-case", type=int, default=0, metavar="I",
                        help="read cases from index I on: a held-out slice of a file whose first cases were used to tune")
    modes = parser.add_mutually_exclusive_group()
    modes.add_argument("--sequential", action="store_true", help="apply the edits one after another, measure after the last")
    modes.add_argument("--batch", action="store_true", help="compute all edits in one batch, then measure")
    parser.add_argument("--checkpoints", default=None, metavar="N,N,...",
                        help="with --sequential: also measure after this many edits (the curve goes into the JSON)")
    parser.add_argument("--conventions", choices=("both", "tf", "em"), default="both",
                        help="tf = teacher-forced token accuracy (EasyEdit), em = greedy exact match (default both)")
    parser.add_argument("--chat", action="store_true",
                        help="also ask the questions through the chat template, as `editmind ask --no-memory` does")
    parser.add_argument("--no-fluency", action="store_true", help="skip the fluency generations (faster)")
    parser.add_argument("--fluency-tokens", type=int, default=48, help="tokens generated per fluency prompt")
    parser.add_argument("--json", dest="json_out", metavar="OUT", default=None, help="also write the table as JSON to OUT")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="a hyperparameter for every chosen method that has it: --set value.steps=10 (repeatable)")
    parser.add_argument("--print-json", action="store_true", help="print the JSON instead of the text table")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=_knowedit)


def _register_mquake(subparsers: argparse._SubParsersAction) -> None:
    from editmind.apps.commands.mquake import register_mquake  # here, not at the top: it imports this module

    register_mquake(subparsers)


EVALUATIONS: list[tuple[str, Callable[[argparse._SubParsersAction], None]]] = [
    ("knowedit", _register_knowedit), ("mquake", _register_mquake),
]


def register(subparsers: argparse._SubParsersAction) -> None:
    group = subparsers.add_parser("eval", help="evaluate editors on benchmark data")
    benchmarks = group.add_subparsers(dest="evaluation", metavar="BENCHMARK", parser_class=type(group))
    benchmarks.required = True
    for _name, add in EVALUATIONS:
        add(benchmarks)
