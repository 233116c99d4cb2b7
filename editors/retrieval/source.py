"""Where retrieval editors get edited facts from: the `FactSource` protocol.

Editors never talk to a store directly. A source answers three questions — which facts
are nearest to this text (`search`), which facts are there at all (`facts`), and what is
the embedding of this text (`embed`, so an editor can compare relation phrasings with the
same model the store indexes with). `MemoryFactSource` (memory_source.py) serves the
per-user fact memory; `ListFactSource` below serves an in-process list, for tests and for
the MQuAKE evaluator, which loads hundreds of edits per case and must not touch disk.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any, Iterable, Mapping, Protocol, Sequence, runtime_checkable

import numpy as np

from editmind.editors.errors import EditmindError


@dataclass(frozen=True)
class RetrievedFact:
    """One edited fact as an editor sees it. `relation` is a cloze template with "{}" for
    the subject ("{} is a citizen of") when the fact has structure, "" when it is free text."""

    id: str
    text: str
    subject: str = ""
    relation: str = ""
    object: str = ""
    score: float = 0.0

    @property
    def structured(self) -> bool:
        return bool(self.subject and self.relation and self.object)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def fact_text(subject: str, relation: str, obj: str) -> str:
    """The sentence a structured fact reads as: the relation's cloze filled and completed."""
    template = relation if "{}" in relation else "{} " + relation
    return f"{template.format(subject).rstrip()} {obj}".strip() + "."


@runtime_checkable
class FactSource(Protocol):
    def search(self, query: str, k: int) -> list[RetrievedFact]:
        """The k facts nearest to `query`, best first, with cosine scores."""

    def facts(self) -> list[RetrievedFact]:
        """Every active fact the source holds."""

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """float32 [n, dim] L2-normalised embeddings from the source's own embedder."""


def _as_fact(item: RetrievedFact | Mapping[str, Any] | Sequence[str], index: int) -> RetrievedFact:
    if isinstance(item, RetrievedFact):
        return item
    if isinstance(item, Mapping):
        subject, relation, obj = item.get("subject", ""), item.get("relation", ""), item.get("object", "")
        text = item.get("text") or (fact_text(subject, relation, obj) if subject and relation and obj else "")
        fact_id = str(item.get("id", f"f{index}"))
    elif isinstance(item, (tuple, list)) and len(item) == 3:
        subject, relation, obj = item
        text, fact_id = fact_text(subject, relation, obj), f"f{index}"
    else:
        raise EditmindError(f"fact #{index} is neither a RetrievedFact, a dict nor a (subject, relation, object) triple")
    if not str(text).strip():
        raise EditmindError(f"fact #{index} has no text and no complete (subject, relation, object)")
    return RetrievedFact(id=fact_id, text=str(text), subject=str(subject), relation=str(relation), object=str(obj))


class ListFactSource:
    """An in-process list of facts, searched by exact cosine over the same embedder the
    memory uses (a brute-force matrix product: exact, and fast for thousands of facts)."""

    def __init__(self, facts: Iterable[RetrievedFact | Mapping[str, Any] | Sequence[str]] = (),
                 embedder: Any | None = None) -> None:
        self._embedder = embedder
        self._facts: list[RetrievedFact] = []
        self._vectors = np.zeros((0, 0), dtype=np.float32)
        self.extend(facts)

    @property
    def embedder(self) -> Any:
        """Anything with `embed(texts) -> [n, dim]` L2-normalised; by default the memory's
        shared all-MiniLM-L6-v2, so lists and the memory rank facts the same way."""
        if self._embedder is None:
            from editmind.editors.retrieval.memory_source import default_embedder

            self._embedder = default_embedder()
        return self._embedder

    def extend(self, facts: Iterable[RetrievedFact | Mapping[str, Any] | Sequence[str]]) -> None:
        new = [_as_fact(item, len(self._facts) + i) for i, item in enumerate(facts)]
        if not new:
            return
        vectors = self.embedder.embed([f.text for f in new])
        self._vectors = vectors if not self._facts else np.concatenate([self._vectors, vectors])
        self._facts.extend(new)

    def __len__(self) -> int:
        return len(self._facts)

    def facts(self) -> list[RetrievedFact]:
        return list(self._facts)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.embedder.embed(texts)

    def search(self, query: str, k: int) -> list[RetrievedFact]:
        if not self._facts or k <= 0:
            return []
        scores = self._vectors @ self.embed([query])[0]
        order = np.argsort(-scores, kind="stable")[:k]
        return [replace(self._facts[i], score=float(scores[i])) for i in order]
