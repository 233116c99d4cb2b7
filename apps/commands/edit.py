"""`editmind edit` (write a fact into the weights) and `editmind edits list|undo|export`.

Every edit goes through the journal under --home, so it persists, can be undone bitwise
and is replayed the next time the journal is opened with the same base model.
"""

from __future__ import annotations

import argparse
import sys

from editmind.apps.cli import print_json

METHODS = ("rome", "memit", "ft-m", "ft-l", "alphaedit", "grace")  # sanitize, detox and debias have their own commands


def _open(args: argparse.Namespace, with_model: bool = True):
    from editmind.editors.journal import EditJournal
    from editmind.editors.model import load_model

    model = load_model(args.model, home=args.home, device=args.device) if with_model else None
    return EditJournal.open(args.home, model, progress=None), model


def _progress(enabled: bool):
    if not enabled:
        return None

    def report(stage: str, done: int, total: int) -> None:
        print(f"\r{stage}: {done}/{total}", end="\n" if done >= total else "", file=sys.stderr, flush=True)

    return report


def _edit(args: argparse.Namespace) -> int:
    from editmind.editors.base import EditRequest, get_editor
    from editmind.editors.settings import parse_settings

    request = EditRequest(subject=args.subject, prompt=args.prompt, target_new=args.target, target_true=args.target_true,
                          paraphrases=tuple(args.paraphrase))
    request.validate()  # before the model loads: a bad request fails in a second
    overrides = parse_settings(args.set)
    if args.layer is not None:
        overrides["layers" if args.method in ("memit", "alphaedit") else "layer"] = (
            [args.layer] if args.method in ("memit", "alphaedit") else args.layer
        )
    get_editor(args.method, family="parametric", **overrides)  # a bad --set fails before the model loads
    journal, _ = _open(args)
    record = journal.apply(args.method, [request], overrides=overrides, progress=_progress(not args.json),
                           supersedes=args.supersedes)
    metrics = record.metrics
    payload = {
        "id": record.id, "method": record.method, "layers": record.layers, "prompt": request.rendered_prompt,
        "target": request.target_new, "before_prob": metrics["before_prob"][0], "after_prob": metrics["after_prob"][0],
        "reliability": metrics["reliability"][0], "compute_seconds": metrics["compute_seconds"],
        "supersedes": record.supersedes,
        "info": record.info,  # the method's own report: layers, the value search's steps and curve, norms
    }
    if args.json:
        print_json(payload)
    else:
        print(f"edit {record.id} ({record.method}, layers {record.layers}): "
              f"P({request.target_new!r} | {request.rendered_prompt!r}) {payload['before_prob']:.4f} -> "
              f"{payload['after_prob']:.4f}, reliability {payload['reliability']:.2f}, {payload['compute_seconds']:.1f} s")
        asked = [q for questions in record.info.get("paraphrases") or [] for q in questions]
        if asked:  # what the edit was also taught to answer (given, or written from the statement)
            print("  also trained on: " + "; ".join(asked))
        for remark in record.info.get("remarks") or []:  # what the method did beyond its usual path
            print(f"  {remark}")
    return 0


def _summary(record) -> dict:
    request = record.requests[0]
    return {
        "id": record.id, "status": record.status, "method": record.method, "layers": record.layers,
        "created_at": record.created_at, "requests": len(record.requests), "subject": request.subject,
        "prompt": request.rendered_prompt, "target": request.target_new,
        "after_prob": record.metrics.get("after_prob", [None])[0], "reliability": record.metrics.get("mean_reliability"),
        "supersedes": record.supersedes,
    }


def _list(args: argparse.Namespace) -> int:
    journal, _ = _open(args, with_model=False)
    rows = [_summary(r) for r in journal.records(include_undone=args.all)]
    if args.json:
        print_json(rows)
        return 0
    if not rows:
        print("no edits in the journal")
    for row in rows:
        extra = f" (supersedes {row['supersedes']})" if row["supersedes"] else ""
        print(f"{row['id']}  {row['status']:7} {row['method']:9} {row['created_at']}  "
              f"{row['prompt']} -> {row['target']}{extra}")
    return 0


def _undo(args: argparse.Namespace) -> int:
    journal, _ = _open(args)
    record = journal.undo(args.id)
    if args.json:
        print_json({"undone": record.id, "remaining": [r.id for r in journal.records()]})
    else:
        print(f"undone {record.id} ({record.method}: {record.requests[0].rendered_prompt} -> {record.requests[0].target_new})")
    return 0


def _export(args: argparse.Namespace) -> int:
    journal, _ = _open(args)
    path = journal.export(args.directory)
    edits = [r.id for r in journal.records()]
    if args.json:
        print_json({"exported": str(path), "edits": edits})
    else:
        print(f"exported the model with {len(edits)} edit(s) to {path}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    edit = subparsers.add_parser("edit", help="write a fact into the model's weights (journaled, undoable)")
    edit.add_argument("--method", choices=METHODS, default="rome")
    edit.add_argument("--prompt", required=True, help="the prompt, with {} for the subject: '{} is located in'")
    edit.add_argument("--subject", required=True, help="the entity the fact is about")
    edit.add_argument("--target", required=True, help="the new answer")
    edit.add_argument("--target-true", default=None, help="the old answer (recorded only)")
    edit.add_argument("--paraphrase", action="append", default=[], metavar="TEXT",
                      help="another way to ask for the fact, naming the subject: 'Where is the {} located?' "
                           "(repeatable; ROME/MEMIT/AlphaEdit fit the edit to it too; without one the model writes a question itself)")
    edit.add_argument("--layer", type=int, default=None, help="the layer to edit (default: chosen from the depth)")
    edit.add_argument("--supersedes", default=None, help="the id of an earlier edit this one corrects")
    edit.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                      help="a hyperparameter of the method, dotted for nested ones: --set value.steps=10 (repeatable)")
    edit.add_argument("--json", action="store_true", help="print one JSON object")
    edit.set_defaults(handler=_edit)

    edits = subparsers.add_parser("edits", help="list, undo or export the journaled weight edits")
    actions = edits.add_subparsers(dest="action", metavar="ACTION", parser_class=type(edits))
    actions.required = True
    listing = actions.add_parser("list", help="the edits in the journal")
    listing.add_argument("--all", action="store_true", help="include undone edits")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_list)
    undo = actions.add_parser("undo", help="undo one edit (bitwise, also under later edits)")
    undo.add_argument("id")
    undo.add_argument("--json", action="store_true")
    undo.set_defaults(handler=_undo)
    export = actions.add_parser("export", help="write the edited model as a plain Hugging Face directory")
    export.add_argument("directory")
    export.add_argument("--json", action="store_true")
    export.set_defaults(handler=_export)
