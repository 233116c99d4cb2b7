"""Question/answer files for the sanitation workflow, in the shapes people have them.

Accepted (a JSON list, or a dict holding one under "data"/"items"/"questions"):
- the sanitation splits' dev files: {"input": question, "output": ..., "output_gold": answer}
- TriviaQA records (the splits' test files): {"question": ..., "answer": {"value", "aliases"}}
- plain records: {"question": ..., "answer": ... or [answers]} or bare question strings
Anything else is a one-line error naming the file and what was expected.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from editmind.editors.base import EditRequestError


@dataclass(frozen=True)
class QAItem:
    question: str
    answers: tuple[str, ...] = ()  # the true answer and its aliases; empty when unknown

    @property
    def answer(self) -> str | None:
        return self.answers[0] if self.answers else None


_SHAPE = ("expected a JSON list of questions: strings, {\"question\", \"answer\"} records, "
          "TriviaQA records or the sanitation splits' {\"input\", \"output_gold\"} records")


def _answers(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,) if value.strip() else ()
    if isinstance(value, dict):  # TriviaQA: {"value": ..., "aliases": [...]}
        main = _answers(value.get("value"))
        aliases = tuple(a for a in value.get("aliases") or [] if isinstance(a, str) and a.strip())
        return tuple(dict.fromkeys(main + aliases))
    if isinstance(value, (list, tuple)):
        return tuple(dict.fromkeys(a for a in value if isinstance(a, str) and a.strip()))
    return ()


def parse_item(record: Any) -> QAItem | None:
    """One record as a QAItem, or None when it is not a question record of a known shape."""
    if isinstance(record, str):
        return QAItem(record.strip()) if record.strip() else None
    if not isinstance(record, dict):
        return None
    question = record.get("question", record.get("input"))
    if not isinstance(question, str) or not question.strip():
        return None
    answers = _answers(record.get("answer")) or _answers(record.get("output_gold")) or _answers(record.get("answers"))
    return QAItem(question.strip(), answers)


def read_json_list(path: str | Path, list_keys: tuple[str, ...], shape: str, give: str) -> list[Any]:
    """The records of a JSON file that is a list, or an object holding one under `list_keys`;
    one-line errors (naming `give` and `shape`) for a missing file, bad JSON or no list."""
    path = Path(path)
    if not path.is_file():
        raise EditRequestError(f"no such file: {path}; give {give}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EditRequestError(f"{path} is not valid JSON ({exc.__class__.__name__}); {shape}") from None
    if isinstance(data, dict):
        data = next((data[k] for k in list_keys if isinstance(data.get(k), list)), None)
    if not isinstance(data, list):
        raise EditRequestError(f"{path} holds no list; {shape}")
    return data


def load_qa_file(path: str | Path) -> list[QAItem]:
    """The questions of one file; one-line errors for a missing file, bad JSON, a wrong shape."""
    path = Path(path)
    data = read_json_list(path, ("data", "items", "questions"), _SHAPE, "a JSON file of questions")
    items = []
    for i, record in enumerate(data):
        item = parse_item(record)
        if item is None:
            raise EditRequestError(f"{path}: record {i} has no question; {_SHAPE}")
        items.append(item)
    if not items:
        raise EditRequestError(f"{path} is empty: there is nothing to forget or keep")
    return list({item.question: item for item in items}.values())
