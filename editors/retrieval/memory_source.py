"""The fact memory as a `FactSource` — the only module in editors/ that imports
`editmind.memory` (DESIGN.md: data flows apps → agent → (memory, editors); editors see the
memory only through this small interface).

It also hands out the memory's shared embedder, so an in-process `ListFactSource` embeds
with exactly the model the memory indexes with, and the process loads MiniLM once.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from editmind.editors.retrieval.source import RetrievedFact


def default_embedder():
    """The memory's default embedder (all-MiniLM-L6-v2, one per process)."""
    from editmind.memory import default_embedder as memory_default

    return memory_default()


def _retrieved(fact: Any, score: float = 0.0) -> RetrievedFact:
    return RetrievedFact(
        id=str(fact.id), text=fact.text, subject=fact.subject or "", relation=fact.relation or "",
        object=fact.object or "", score=float(score),
    )


class MemoryFactSource:
    """A user's active facts in a `FactMemory`, optionally narrowed to an agent or a run."""

    def __init__(self, memory: Any, user_id: str, agent_id: str | None = None, run_id: str | None = None) -> None:
        self.memory = memory
        self.user_id = user_id
        self.agent_id = agent_id
        self.run_id = run_id

    def _filters(self) -> dict[str, str] | None:
        scope = {key: value for key, value in (("agent_id", self.agent_id), ("run_id", self.run_id)) if value}
        return scope or None

    def search(self, query: str, k: int) -> list[RetrievedFact]:
        if k <= 0:
            return []
        hits = self.memory.search(query, user_id=self.user_id, k=k, filters=self._filters())
        return [_retrieved(hit.fact, hit.score) for hit in hits]

    def facts(self) -> list[RetrievedFact]:
        facts = self.memory.get_all(self.user_id, agent_id=self.agent_id, run_id=self.run_id)
        return [_retrieved(fact) for fact in facts if getattr(fact, "status", "active") == "active"]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.memory.embedder.embed(list(texts))
