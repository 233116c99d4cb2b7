"""`editmind correct`, and the agent behind `editmind ask` / `editmind chat`.

`ask` and `chat` (registered in `commands/model.py`) go through `build_agent` here, so every
command line answer uses the user's memory and the edits in effect.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from editmind.apps.cli import print_json


def add_user_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--user", default="default", help="whose memory to use (default: 'default')")


def build_agent(args: argparse.Namespace, max_new_tokens: int | None = None) -> Any:
    from editmind.agent import AgentConfig, EditingAgent
    from editmind.editors.model import load_model

    model = load_model(args.model, home=args.home, device=args.device)
    config = AgentConfig(max_new_tokens=max_new_tokens or getattr(args, "max_new_tokens", 64))

    def progress(stage: str, done: int, total: int) -> None:
        print(f"\r{stage}: {done}/{total}", end="\n" if done >= total else "", file=sys.stderr, flush=True)

    embedder = None
    if os.environ.get("EDITMIND_EMBEDDER"):  # the same switch as `editmind memory`
        from editmind.memory.embedders import embedder_from_spec

        embedder = embedder_from_spec(os.environ["EDITMIND_EMBEDDER"])
    return EditingAgent(model=model, home=args.home, user_id=args.user, config=config, progress=progress,
                        embedder=embedder)


def _correct(args: argparse.Namespace) -> int:
    statement = args.statement if args.statement != "-" else sys.stdin.read()
    with build_agent(args) as agent:
        reply = agent.correct(statement.strip(), lasting=args.lasting, last_question=args.question,
                              last_answer=args.answer)
    if args.json:
        print_json({"statement": statement.strip(), "user": args.user, "lasting": args.lasting, **reply.to_dict()})
    else:
        print(reply.text)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    correct = subparsers.add_parser("correct", help="apply a correction non-interactively (memory, and weights with --lasting)")
    correct.add_argument("statement", help="e.g. 'The Eiffel Tower is located in Rome' ('-' reads stdin)")
    add_user_argument(correct)
    correct.add_argument("--lasting", action="store_true", help="also write it into the model's weights (batched edit)")
    correct.add_argument("--question", default=None, help="the question being corrected (for short corrections)")
    correct.add_argument("--answer", default=None, help="the answer being corrected (gives the old target)")
    correct.add_argument("--json", action="store_true", help="print one JSON object")
    correct.set_defaults(handler=_correct)

