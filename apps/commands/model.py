"""`editmind info` on the bare model; `editmind ask` and `editmind chat` through the editing agent."""

from __future__ import annotations

import argparse
import sys
import time

from editmind.apps.cli import print_json


def load(args: argparse.Namespace):
    from editmind.editors.model import load_model

    return load_model(args.model, home=args.home, device=args.device)


def _info(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    model = load(args)
    report = model.describe()
    report["load_seconds"] = round(time.perf_counter() - started, 2)
    if args.fingerprint:
        report["fingerprint"] = model.fingerprint()
    if args.json:
        print_json(report)
        return 0
    modules = report.pop("editable_modules")
    for key, value in report.items():
        print(f"{key:16} {value}")
    print("editable modules:")
    for key, value in modules.items():
        print(f"  {key:18} {value}")
    return 0


def _read_question(text: str) -> str:
    question = text if text != "-" else sys.stdin.read()
    question = question.strip()
    if not question:
        from editmind.editors.errors import EditmindError

        raise EditmindError("the question is empty; pass the question as an argument, or '-' to read it from stdin")
    return question


def _ask(args: argparse.Namespace) -> int:
    """Answer through the editing agent: the user's memory and the edits in effect apply."""
    from editmind.apps.commands.agent import build_agent

    question = _read_question(args.question)
    with build_agent(args, max_new_tokens=args.max_new_tokens) as agent:
        started = time.perf_counter()
        reply = agent.ask(question, use_memory=not args.no_memory)
        elapsed = time.perf_counter() - started
        name = agent.model.name
    if args.json:
        print_json({"question": question, "answer": reply.text, "user": args.user, "model": name,
                    "seconds": round(elapsed, 2), "trace": reply.trace})
    else:
        print(reply.text)
    return 0


def _chat(args: argparse.Namespace) -> int:
    """The agent's REPL: corrections become edits; slash commands manage them."""
    from editmind.apps.commands.agent import build_agent
    from editmind.editors.errors import EditmindError

    with build_agent(args, max_new_tokens=args.max_new_tokens) as agent:
        print(f"editmind chat with {agent.model.name} as user {agent.user_id} — /remember, /forget, /edits, /undo ID, "
              "/why, /user NAME, /help; empty line or /quit to leave", file=sys.stderr)
        while True:
            try:
                line = input(f"{agent.user_id}> ")
            except EOFError:
                print(file=sys.stderr)
                return 0
            message = line.strip()
            if message in ("", "/quit", "/exit"):
                return 0
            print("editmind> ", end="", flush=True)
            try:
                for piece in agent.stream_chat(message):
                    print(piece, end="", flush=True)
            except EditmindError as exc:  # one bad turn does not end the session
                print(f"(error: {exc})", end="")
            print()


def register(subparsers: argparse._SubParsersAction) -> None:
    info = subparsers.add_parser("info", help="describe the model and its editable modules")
    info.add_argument("--json", action="store_true", help="print one JSON object")
    info.add_argument("--fingerprint", action="store_true", help="also hash the weights (SHA-256)")
    info.set_defaults(handler=_info)

    ask = subparsers.add_parser("ask", help="answer one question")
    ask.add_argument("question", help="the question ('-' reads it from stdin)")
    ask.add_argument("--json", action="store_true", help="print one JSON object")
    ask.add_argument("--max-new-tokens", type=int, default=96)
    ask.add_argument("--user", default="default", help="whose memory to use (default: 'default')")
    ask.add_argument("--no-memory", action="store_true", help="answer from the weights alone (edits in effect still apply)")
    ask.set_defaults(handler=_ask)

    chat = subparsers.add_parser("chat", help="interactive chat")
    chat.add_argument("--max-new-tokens", type=int, default=128)
    chat.add_argument("--user", default="default", help="whose memory to use (switch with /user NAME)")
    chat.set_defaults(handler=_chat)
