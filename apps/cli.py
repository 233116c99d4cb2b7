"""The `editmind` command line.

Each command group lives in `apps/commands/<group>.py` and exposes `register(subparsers)`;
adding a group is one module and one line in COMMAND_GROUPS. Every failure a user can
cause prints one line on stderr and exits non-zero; tracebacks only with EDITMIND_DEBUG=1.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from typing import Sequence

COMMAND_GROUPS = ("model", "eval", "memory", "agent", "edit", "safety", "app")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not argparse's usage dump
        self.exit(2, f"editmind: error: {message} (see 'editmind --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="editmind", description="An editing-aware agent runtime for a local language model.")
    parser.add_argument("--model", default=os.environ.get("EDITMIND_MODEL", "default"),
                        help="'default' (embedded SmolLM2-135M-Instruct), a local HF directory, a .gguf file or a hub id")
    parser.add_argument("--home", default=None, help="state directory (default: $EDITMIND_HOME or ~/.editmind)")
    parser.add_argument("--device", default=os.environ.get("EDITMIND_DEVICE") or None,
                        help="where the model runs: cpu (default), cuda, cuda:N (or $EDITMIND_DEVICE)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    for group in COMMAND_GROUPS:
        importlib.import_module(f"editmind.apps.commands.{group}").register(subparsers)
    return parser


def print_json(payload: object) -> None:
    print(json.dumps(payload, indent=2, ensure_ascii=False, default=str))


def main(argv: Sequence[str] | None = None) -> int:
    from editmind.editors.errors import EditmindError

    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # as typed, for result files' "command"
    try:
        return int(args.handler(args) or 0)
    except EditmindError as exc:
        print(f"editmind: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("editmind: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug: still one line unless the user asks for the traceback
        if os.environ.get("EDITMIND_DEBUG"):
            raise
        first = str(exc).splitlines()[0] if str(exc) else ""
        print(f"editmind: internal error: {type(exc).__name__}: {first} (set EDITMIND_DEBUG=1 for the traceback)",
              file=sys.stderr)
        return 70


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
