"""The memory's value objects: facts, search hits, add outcomes, history events.

Plain dataclasses with `to_dict()` so the CLI, the SDK and the retrieval editors can pass
them around as JSON without knowing the store.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import asdict, dataclass, field
from typing import Any

STATUSES = ("active", "superseded", "deleted", "redacted")
ADD_EVENTS = ("ADD", "NOOP", "SUPERSEDE")


def now_iso() -> str:
    """UTC timestamp with microseconds, sortable as text."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="microseconds")


@dataclass
class Fact:
    """One statement a user made (or a correction), with its scope and lifecycle state.

    `relation` may be a cloze template with `{}` for the subject ("{} is located in"), the
    form the editors use; `subject`/`relation`/`object` are optional but (user, subject,
    relation) is what the supersede rule keys on.
    """

    id: str
    user_id: str
    agent_id: str | None = None
    run_id: str | None = None
    text: str = ""
    subject: str | None = None
    relation: str | None = None
    object: str | None = None
    source: str = "user"
    created_at: str = ""
    updated_at: str = ""
    status: str = "active"
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SearchResult:
    """A fact with its cosine similarity to the query (higher is closer, at most 1)."""

    fact: Fact
    score: float

    @property
    def id(self) -> str:
        return self.fact.id

    @property
    def text(self) -> str:
        return self.fact.text

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.fact.id, "text": self.fact.text, "score": round(float(self.score), 6), **{
            key: value for key, value in self.fact.to_dict().items() if key not in ("id", "text")}}


@dataclass
class AddResult:
    """What `add` did: ADD (new fact), NOOP (a duplicate of `fact`, nothing stored) or
    SUPERSEDE (new fact stored, the facts in `superseded` are no longer current)."""

    event: str
    fact: Fact
    superseded: list[Fact] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"event": self.event, "fact": self.fact.to_dict(), "superseded": [f.to_dict() for f in self.superseded]}


@dataclass
class HistoryEvent:
    """One change to one fact. Texts are None once the fact was deleted or redacted."""

    id: int
    fact_id: str
    event: str  # ADD, UPDATE, SUPERSEDED, DELETE, REDACT
    old_text: str | None
    new_text: str | None
    created_at: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
