"""`editmind eval mquake` (multi-hop accuracy of the retrieval editors) and
`editmind eval train-scope` (PokeMQA's scope detector). Joined to the `eval` group by
apps/commands/eval.py."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from editmind.apps.cli import print_json

RETRIEVAL_METHODS = ("hopwalk", "ice", "ike", "mello", "pokemqa", "none", "chat")


def _methods(text: str) -> list[str]:
    from editmind.editors.base import available_editors
    from editmind.editors.errors import EditmindError

    methods = list(dict.fromkeys(m.strip().lower() for m in text.split(",") if m.strip()))
    known = set(available_editors("retrieval")) | {"none", "chat"}
    for method in methods:
        if method not in known:
            raise EditmindError(f"unknown retrieval method {method!r}; choose from {', '.join(sorted(known))}")
    if not methods:
        raise EditmindError("--method is empty; give one of " + ", ".join(RETRIEVAL_METHODS))
    return methods


def _routes(text: str) -> list[str]:
    from editmind.editors.errors import EditmindError
    from editmind.editors.eval.mquake import ROUTES

    routes = list(ROUTES) if text == "both" else list(dict.fromkeys(r.strip() for r in text.split(",") if r.strip()))
    bad = [r for r in routes if r not in ROUTES]
    if bad or not routes:
        raise EditmindError(f"unknown --route {','.join(bad) or text!r}; use memory, weights or both")
    return routes


def _weights_overrides(method: str, home: str | None) -> dict:
    """The parameter editor's overrides: its key statistics cached in this home (as the agent does)."""
    import dataclasses

    from editmind.editors.base import available_editors, get_editor
    from editmind.editors.errors import EditmindError
    from editmind.editors.model import resolve_home

    if method not in available_editors("parametric"):
        raise EditmindError(f"unknown --weights-method {method!r}; choose from {', '.join(available_editors('parametric'))}")
    stats = getattr(get_editor(method, family="parametric").config, "stats", None)
    return {"stats": dataclasses.replace(stats, home=str(resolve_home(home)))} if stats is not None else {}


def _mquake(args: argparse.Namespace) -> int:
    from editmind.apps.commands.eval import _write_json, shared_data_dir
    from editmind.editors.errors import EditmindError
    from editmind.editors.eval import mquake
    from editmind.editors.model import load_model, resolve_home
    from editmind.editors.retrieval.mello import load_prompt

    methods = _methods(args.method)
    settings = list(mquake.SETTINGS) if args.edits_in_memory == "both" else [args.edits_in_memory]
    data = args.data or str(shared_data_dir() / "mquake" / "mquake_hard_dev.json")
    every_case = mquake.load_cases(data)
    cases = every_case[: args.n] if args.n else every_case
    if args.n is not None and args.n <= 0:
        mquake.load_cases(data, args.n)  # raises the one-line error
    if args.prompt_file:
        load_prompt(args.prompt_file)  # fail before loading the model
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    routes = _routes(args.route)
    weights_overrides = _weights_overrides(args.weights_method, args.home) if "weights" in routes else {}
    if routes == ["weights"] and "case" not in settings:
        raise EditmindError("--route weights runs in the case setting only; use --edits-in-memory case "
                            "(all 1,200 edits in one MEMIT batch is out of reach on a CPU)")
    model = load_model(args.model, home=args.home, device=args.device)
    reports, payload = [], {"data": data, "model": model.name, "routes": routes, "runs": []}
    if "weights" in routes:
        payload["weights_method"] = args.weights_method
    edit_cache: dict = {}  # one weights-route edit per case, shared by every method
    for method in methods:
        overrides = {}
        if args.prompt_file and method in ("mello", "pokemqa"):
            overrides["prompt_file"] = args.prompt_file
        if method == "pokemqa":
            overrides["detector_dir"] = str(Path(resolve_home(args.home)) / "retrieval")
        editor = mquake.make_method(method, **overrides)
        if method == "pokemqa":
            editor.detector()  # a missing detector is reported before any case runs
        runs = [(route, setting) for route in routes for setting in settings if route == "memory" or setting == "case"]
        for route, setting in runs:
            label = "memory" if route == "memory" else args.weights_method

            def progress(done: int, total: int, case, _m=method, _s=setting, _r=label) -> None:
                if not args.quiet:
                    print(f"\r{_m} @{_r} [{_s}] {done}/{total} cases", end="", file=sys.stderr, flush=True)
            report = mquake.evaluate(model, method, cases, setting, all_cases=every_case,
                                     questions_per_case=args.questions_per_case, editor=editor, progress=progress,
                                     route=route, weights_method=args.weights_method,
                                     weights_overrides=weights_overrides, edit_cache=edit_cache)
            if not args.quiet:
                print(file=sys.stderr)
            reports.append(report)
            payload["runs"].append(report.to_dict(traces=not args.no_traces))
            if args.json_out:  # keep finished runs if a later one is cut off
                _write_json(args.json_out, payload)
    payload["table"] = mquake.format_table(reports)
    if args.json_out:
        _write_json(args.json_out, payload)
    if args.print_json:
        print_json(payload)
    else:
        print(payload["table"])
        if args.json_out:
            print(f"written to {args.json_out}")
    return 0


def _train_scope(args: argparse.Namespace) -> int:
    from editmind.apps.commands.eval import shared_data_dir
    from editmind.editors.eval.mquake import load_cases
    from editmind.editors.model import resolve_home
    from editmind.editors.retrieval.memory_source import default_embedder
    from editmind.editors.retrieval.scope_detector import (
        ScopeTrainingConfig, load_paraphrase_edits, train_scope_detector,
    )

    data = Path(args.data) if args.data else shared_data_dir() / "mquake" / "edit_paraphrases.json"
    exclude = args.exclude or str(shared_data_dir() / "mquake" / "mquake_hard_dev.json")
    records = load_paraphrase_edits(data)
    cases = load_cases(exclude) if exclude != "none" else []
    config = ScopeTrainingConfig(max_edits=args.max_edits or None, epochs=args.epochs)
    started = time.perf_counter()
    detector = train_scope_detector(records, default_embedder(), cases, config,
                                    progress=None if args.quiet else lambda m: print(m, file=sys.stderr))
    path = detector.save(Path(resolve_home(args.home)) / "retrieval")
    report = {**detector.meta, "saved": str(path), "seconds": round(time.perf_counter() - started, 1)}
    print_json(report)
    return 0


def register_mquake(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "mquake", help="multi-hop accuracy of retrieval editors on MQuAKE (case / all edits in memory)",
        description="Multi-hop accuracy (any question of a case right), hop accuracy (every intermediate entity "
                    "right), per-question latency and traces, side by side for the case and all settings, with the "
                    "edits stored in a fresh fact memory (temporary home) or applied to the weights (--route).",
    )
    parser.add_argument("--method", default="hopwalk",
                        help=f"one or a comma-separated list of {', '.join(RETRIEVAL_METHODS)} (default hopwalk)")
    parser.add_argument("--data", default=None, help="MQuAKE-format JSON (default ../shared/data/mquake/mquake_hard_dev.json)")
    parser.add_argument("--edits-in-memory", choices=("case", "all", "both"), default="both",
                        help="case: only the case's edits; all: every edit of the data file at once; both (default)")
    parser.add_argument("--route", default="memory",
                        help="where each case's edits go: memory (the fact memory, default), weights (applied with "
                             "--weights-method, undone after the case; case setting only, empty memory), or both")
    parser.add_argument("--weights-method", default="memit",
                        help="parameter editor for --route weights (default memit: the case's edits in one batch)")
    parser.add_argument("--n", type=int, default=None, help="evaluate the first N cases (the 'all' source still holds every edit)")
    parser.add_argument("--questions-per-case", type=int, default=None, help="ask only the first K questions of each case")
    parser.add_argument("--prompt-file", default=None, help="MeLLo/PokeMQA-format demonstrations to use instead of ours")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (1 is fastest on a busy machine)")
    parser.add_argument("--json", dest="json_out", metavar="OUT", default=None, help="write the results and traces as JSON")
    parser.add_argument("--no-traces", action="store_true", help="leave the per-question traces out of the JSON")
    parser.add_argument("--print-json", action="store_true", help="print the JSON instead of the table")
    parser.add_argument("--quiet", action="store_true", help="no progress line")
    parser.set_defaults(handler=_mquake)

    train = subparsers.add_parser(
        "train-scope", help="train PokeMQA's scope detector (saved under <home>/retrieval/)",
        description="A small MLP on all-MiniLM-L6-v2 embeddings, trained on edit_paraphrases.json without the "
                    "edits of the evaluation cases; prints the held-out accuracy.",
    )
    train.add_argument("--data", default=None, help="edit_paraphrases.json (default ../shared/data/mquake/)")
    train.add_argument("--exclude", default=None, help="MQuAKE cases whose edits are left out ('none' to keep all)")
    train.add_argument("--max-edits", type=int, default=3000, help="edits used for training + held-out (0: all)")
    train.add_argument("--epochs", type=int, default=8)
    train.add_argument("--quiet", action="store_true")
    train.set_defaults(handler=_train_scope)
