"""`editmind memory ...`: the per-user fact memory from the command line.

add | search | list | get | delete | delete-all | redact | history | reindex | stats, each
with `--json`. The embedder is all-MiniLM-L6-v2 unless `--embedder` (or
$EDITMIND_EMBEDDER) names another ('hash[:DIM]' for demos, or a sentence-transformers
directory); a store refuses an embedder other than the one that made its vectors, and
`reindex` switches it.
"""

from __future__ import annotations

import argparse
import os
import sys

from editmind.apps.cli import print_json


def _memory(args: argparse.Namespace):
    from editmind.memory import FactMemory
    from editmind.memory.embedders import embedder_from_spec

    return FactMemory(home=args.home, embedder=embedder_from_spec(args.embedder))


def _text(value: str) -> str:
    """'-' reads the text from stdin; undecodable bytes stay as lone surrogates, which the
    memory's validation rejects with a one-line error."""
    if value != "-":
        return value
    return sys.stdin.buffer.read().decode("utf-8", "surrogateescape")


def _scope(args: argparse.Namespace) -> dict:
    return {"agent_id": args.agent, "run_id": args.run}


def _add(args: argparse.Namespace) -> int:
    with _memory(args) as mem:
        result = mem.add(_text(args.text), user_id=args.user, subject=args.subject, relation=args.relation,
                         object=args.object, source=args.source, **_scope(args))
    if args.json:
        print_json(result.to_dict())
    elif result.event == "NOOP":
        print(f"NOOP {result.fact.id} (duplicate of this fact; nothing stored)")
    else:
        extra = f" (supersedes {', '.join(f.id for f in result.superseded)})" if result.superseded else ""
        print(f"{result.event} {result.fact.id}{extra}")
    return 0


def _search(args: argparse.Namespace) -> int:
    with _memory(args) as mem:
        hits = mem.search(_text(args.query), user_id=args.user, k=args.k, **_scope(args))
    if args.json:
        print_json([hit.to_dict() for hit in hits])
    else:
        for hit in hits:
            print(f"{hit.score:.3f}  {hit.id}  {hit.text}")
    return 0


def _list(args: argparse.Namespace) -> int:
    with _memory(args) as mem:
        facts = mem.get_all(args.user, include_inactive=args.all, **_scope(args))
    if args.json:
        print_json([fact.to_dict() for fact in facts])
    else:
        for fact in facts:
            print(f"{fact.id}  {fact.status:10}  {fact.text}")
    return 0


def _show(args: argparse.Namespace, fact) -> None:
    if args.json:
        print_json(fact.to_dict())
    else:
        print(f"{fact.id}  {fact.status:10}  {fact.text}")


def _get(args: argparse.Namespace) -> int:
    with _memory(args) as mem:
        _show(args, mem.get(args.id))
    return 0


def _delete(args: argparse.Namespace) -> int:
    with _memory(args) as mem:
        _show(args, mem.delete(args.id))
    return 0


def _delete_all(args: argparse.Namespace) -> int:
    with _memory(args) as mem:
        count = mem.delete_all(args.user)
    print_json({"user_id": args.user, "deleted": count}) if args.json else print(f"deleted {count} facts of {args.user}")
    return 0


def _redact(args: argparse.Namespace) -> int:
    with _memory(args) as mem:
        _show(args, mem.redact(args.id))
    return 0


def _history(args: argparse.Namespace) -> int:
    with _memory(args) as mem:
        events = mem.history(args.id)
    if args.json:
        print_json([event.to_dict() for event in events])
    else:
        for event in events:
            change = f"{event.old_text!r} -> {event.new_text!r}" if event.old_text or event.new_text else ""
            print(f"{event.created_at}  {event.event:10}  {change}  {event.details or ''}".rstrip())
    return 0


def _reindex(args: argparse.Namespace) -> int:
    with _memory(args) as mem:
        count = mem.reindex(progress=None if args.json else lambda m: print(m, file=sys.stderr))
        name = mem.embedder.name
    print_json({"reindexed": count, "embedder": name}) if args.json else print(f"re-embedded {count} facts with {name}")
    return 0


def _stats(args: argparse.Namespace) -> int:
    with _memory(args) as mem:
        report = mem.stats()
    if args.json:
        print_json(report)
    else:
        for key, value in report.items():
            print(f"{key:14} {value}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    group = subparsers.add_parser("memory", help="the per-user fact memory (add, search, list, delete, redact, ...)")
    commands = group.add_subparsers(dest="memory_command", metavar="ACTION", parser_class=type(group))
    commands.required = True

    def command(name: str, handler, help: str, user: str | None = None, scope: bool = False) -> argparse.ArgumentParser:
        parser = commands.add_parser(name, help=help)
        parser.add_argument("--json", action="store_true", help="print JSON")
        parser.add_argument("--embedder", default=os.environ.get("EDITMIND_EMBEDDER", "default"),
                            help="'default' (all-MiniLM-L6-v2), 'hash[:DIM]', or a sentence-transformers directory")
        if user == "required":
            parser.add_argument("--user", required=True, help="the user id (exact match)")
        if scope:
            parser.add_argument("--agent", default=None, help="agent_id scope")
            parser.add_argument("--run", default=None, help="run_id scope")
        parser.set_defaults(handler=handler)
        return parser

    add = command("add", _add, "store a fact for a user", user="required", scope=True)
    add.add_argument("text", help="the fact ('-' reads stdin)")
    add.add_argument("--subject", default=None)
    add.add_argument("--relation", default=None, help="e.g. '{} is located in'")
    add.add_argument("--object", default=None)
    add.add_argument("--source", default="cli")

    search = command("search", _search, "the user's facts closest to a query", user="required", scope=True)
    search.add_argument("query", help="the query ('-' reads stdin)")
    search.add_argument("--k", type=int, default=5, help="how many facts (default 5)")

    listing = command("list", _list, "the user's facts", user="required", scope=True)
    listing.add_argument("--all", action="store_true", help="include superseded, deleted and redacted facts")

    for name, handler, text in (("get", _get, "show one fact"), ("delete", _delete, "delete a fact (text, triple, vector)"),
                                ("redact", _redact, "erase a fact's text everywhere in the store"),
                                ("history", _history, "a fact's change history")):
        command(name, handler, text).add_argument("id", help="the fact id")
    command("delete-all", _delete_all, "delete every fact of a user", user="required")
    command("reindex", _reindex, "re-embed every fact with the current --embedder and rebuild the indexes")
    command("stats", _stats, "counts, embedder, size on disk")
