"""`editmind info`, `editmind ask`, `editmind chat` on the bare model."""

from __future__ import annotations

import argparse
import sys
import time

from editmind.apps.cli import print_json


def load(args: argparse.Namespace):
    from editmind.editors.model import load_model

    return load_model(args.model, home=args.home)


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
    question = _read_question(args.question)
    model = load(args)
    started = time.perf_counter()
    answer = model.chat(question, max_new_tokens=args.max_new_tokens)
    elapsed = time.perf_counter() - started
    if args.json:
        print_json({"question": question, "answer": answer, "model": model.name, "seconds": round(elapsed, 2)})
    else:
        print(answer)
    return 0


def _chat(args: argparse.Namespace) -> int:
    model = load(args)
    history: list[dict] = []
    print(f"editmind chat with {model.name} — empty line or /quit to leave, /reset to clear the history", file=sys.stderr)
    while True:
        try:
            line = input("you> ")
        except EOFError:
            print(file=sys.stderr)
            return 0
        message = line.strip()
        if message in ("", "/quit", "/exit"):
            return 0
        if message == "/reset":
            history.clear()
            continue
        history.append({"role": "user", "content": message})
        print("editmind> ", end="", flush=True)
        pieces = []
        for piece in model.stream_chat(history, max_new_tokens=args.max_new_tokens):
            pieces.append(piece)
            print(piece, end="", flush=True)
        print()
        history.append({"role": "assistant", "content": "".join(pieces).strip()})


def register(subparsers: argparse._SubParsersAction) -> None:
    info = subparsers.add_parser("info", help="describe the model and its editable modules")
    info.add_argument("--json", action="store_true", help="print one JSON object")
    info.add_argument("--fingerprint", action="store_true", help="also hash the weights (SHA-256)")
    info.set_defaults(handler=_info)

    ask = subparsers.add_parser("ask", help="answer one question")
    ask.add_argument("question", help="the question ('-' reads it from stdin)")
    ask.add_argument("--json", action="store_true", help="print one JSON object")
    ask.add_argument("--max-new-tokens", type=int, default=96)
    ask.set_defaults(handler=_ask)

    chat = subparsers.add_parser("chat", help="interactive chat")
    chat.add_argument("--max-new-tokens", type=int, default=128)
    chat.set_defaults(handler=_chat)
