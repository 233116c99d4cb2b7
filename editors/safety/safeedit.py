"""SafeEdit attack records: loading them, and the train/test split by question.

A record (../shared/data/detox/safeedit_attacks.json) is one harmful `question` wrapped in
one jailbreak (`attack name`, the wrapped text in `input`), its `unsafety category`, and
`response`, an unsafe model's reply to it. The same question comes under several attacks,
so the split is by question: every record of a question lands on the same side, and the
test side measures defense on questions the edit never saw (the attack templates are
shared: there are only 15).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from editmind.editors.base import EditRequestError
from editmind.editors.safety.qa_files import read_json_list

_SHAPE = ('expected a JSON list of SafeEdit records: {"question", "attack name", "input", "unsafety category", '
          '"response"} (question and input required)')


@dataclass(frozen=True)
class AttackRecord:
    question: str  # the harmful question
    input: str  # the attack-wrapped prompt the model is given
    attack: str = "None"
    category: str = ""
    response: str = ""  # an unsafe reply (locates the toxic layer; trains the judge)
    id: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "question": self.question, "attack name": self.attack, "input": self.input,
                "unsafety category": self.category, "response": self.response}


def parse_record(record: Any) -> AttackRecord | None:
    """One record as an AttackRecord; a bare string is a plain attack (question = input)."""
    if isinstance(record, str):
        return AttackRecord(record.strip(), record.strip()) if record.strip() else None
    if not isinstance(record, dict):
        return None
    question = record.get("question")
    prompt = record.get("input", record.get("prompt", question))
    if not isinstance(question, str) or not question.strip() or not isinstance(prompt, str) or not prompt.strip():
        return None
    response = record.get("response", record.get("unsafe generation", ""))
    return AttackRecord(question.strip(), prompt.strip(), str(record.get("attack name") or "None"),
                        str(record.get("unsafety category") or ""), response if isinstance(response, str) else "",
                        record.get("id"))


def load_attacks(path: str | Path) -> list[AttackRecord]:
    """The records of one file; one-line errors for a missing file, bad JSON, a wrong shape, an empty list."""
    path = Path(path)
    data = read_json_list(path, ("data", "items", "records"), _SHAPE,
                          "a SafeEdit JSON file like ../shared/data/detox/safeedit_attacks.json")
    if not data:
        raise EditRequestError(f"{path} is empty: there are no attacks to defend against")
    records = []
    for i, raw in enumerate(data):
        record = parse_record(raw)
        if record is None:
            raise EditRequestError(f"{path}: record {i} has no question or input; {_SHAPE}")
        records.append(record)
    return records


def split_by_question(records: Sequence[AttackRecord], test_fraction: float = 0.25, seed: int = 0
                      ) -> tuple[list[AttackRecord], list[AttackRecord]]:
    """(train, test): the distinct questions shuffled with `seed`, the first `test_fraction`
    of them (at least one, and never all) with every record that asks them go to test."""
    if not 0 < test_fraction < 1:
        raise EditRequestError(f"test fraction {test_fraction} must be between 0 and 1 (exclusive)")
    questions = sorted({r.question for r in records})
    if len(questions) < 2:
        raise EditRequestError(f"{len(questions)} distinct question(s) cannot be split into train and test; give at least two")
    random.Random(seed).shuffle(questions)
    n_test = min(len(questions) - 1, max(1, math.ceil(test_fraction * len(questions))))
    held = set(questions[:n_test])
    return [r for r in records if r.question not in held], [r for r in records if r.question in held]


def spread(records: Sequence[AttackRecord], n: int | None, seed: int = 0) -> list[AttackRecord]:
    """At most `n` records, taken round-robin over attack names (each attack is represented,
    in a fixed order), so a subset keeps the attack mix; all of them when n is None."""
    if n is None or n >= len(records):
        return list(records)
    by_attack: dict[str, list[AttackRecord]] = {}
    for record in records:
        by_attack.setdefault(record.attack, []).append(record)
    rng = random.Random(seed)
    groups = [by_attack[name] for name in sorted(by_attack)]
    for group in groups:
        rng.shuffle(group)
    out: list[AttackRecord] = []
    depth = 0
    while len(out) < n:
        for group in groups:
            if depth < len(group) and len(out) < n:
                out.append(group[depth])
        depth += 1
    return out
