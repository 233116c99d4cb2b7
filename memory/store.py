"""FactMemory: the per-user fact memory (SQLite records + history, per-user FAISS indexes).

Rules (the README's "Fact memory" section states them for users):

- Scope. Every fact belongs to exactly one user_id (compared exactly) and optionally an
  agent_id and run_id. Searches and listings see one user's facts only.
- Duplicates (event NOOP, nothing stored). An active fact of the same user and the same
  agent_id/run_id scope counts as a duplicate if its normalised text is equal, or if both
  carry the same (subject, relation, object) triple and the cosine of their embeddings is
  at least `MemoryConfig.duplicate_cosine`. Similarity alone never merges two facts:
  "X is in Paris" and "X is in Rome" are close in embedding space, and a correction must
  never be dropped as a "duplicate".
- Conflicts (event SUPERSEDE). A new fact with a subject and relation supersedes every
  active fact of the same user with the same normalised (subject, relation), in any
  scope: the old ones keep their text and history, get status "superseded", leave the
  vector index and are never returned by search again.
- Delete removes the text, the triple and the vector (status "deleted"; history keeps the
  events but not the texts). Redact also drops the metadata, marks the fact "redacted" and
  truncates the WAL; with `secure_delete` on, no copy of the text survives in the SQLite
  file, its WAL or the index files.

Concurrency: every write is one IMMEDIATE transaction (embedding happens before it, so
the lock is held only for the SQL). Each process keeps its own in-memory indexes and
catches up from SQLite (per-user generation counter + a log of removed vector ids) before
searching, so writes from another process are seen at once. Index files are written under
an exclusive file lock after catching up, so a file never reintroduces a vector another
process removed.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sqlite3
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from editmind.memory import validation as v
from editmind.memory.embedders import Embedder, default_embedder
from editmind.memory.errors import EmbedderMismatchError, FactNotFoundError, InvalidInputError, StoreError
from editmind.memory.index import IndexConfig, IndexFileError, UserIndex, write_atomic
from editmind.memory.records import AddResult, Fact, HistoryEvent, SearchResult, now_iso
from editmind.memory.schema import checkpoint_truncate, connect

Log = Callable[[str], None]

FILTER_COLUMNS = ("agent_id", "run_id", "source", "subject", "relation", "object")
UPDATABLE = ("subject", "relation", "object", "source", "metadata", "agent_id", "run_id")
EXACT_FILTERED_MAX = 4096  # filtered searches over at most this many candidates are exact (numpy)


def _stderr(message: str) -> None:
    print(f"editmind: memory: {message}", file=sys.stderr, flush=True)


@dataclass
class MemoryConfig:
    """Tunable rules; the defaults are what the README documents."""

    duplicate_cosine: float = 0.85   # same triple AND cosine >= this -> NOOP (benchmarks/memory_threshold.py)
    index: IndexConfig = field(default_factory=IndexConfig)
    save_every_s: float = 30.0       # large indexes are written at most this often (always on close)
    save_always_below: int = 2_000   # indexes up to this size (3 MB at 384-d) are written after every change


@dataclass
class _Item:
    text: str
    agent_id: str | None
    run_id: str | None
    subject: str | None
    relation: str | None
    object: str | None
    source: str
    metadata: dict[str, Any]
    replaces: tuple[str, ...] = ()  # ids of the user's active facts this one updates, besides its key's


def _fact(row: sqlite3.Row) -> Fact:
    return Fact(id=row["id"], user_id=row["user_id"], text=row["text"], agent_id=row["agent_id"], run_id=row["run_id"],
                subject=row["subject"], relation=row["relation"], object=row["object"], source=row["source"],
                created_at=row["created_at"], updated_at=row["updated_at"], status=row["status"],
                metadata=json.loads(row["metadata"]))


def _blob(vector: np.ndarray) -> bytes:
    return np.ascontiguousarray(vector, dtype="<f4").tobytes()


def _unblob(blob: bytes, dim: int) -> np.ndarray:
    return np.frombuffer(blob, dtype="<f4").astype(np.float32).reshape(-1, dim)


class FactMemory:
    """The per-user fact memory. Files live under `<home>/memory/`.

    `embedder` defaults to all-MiniLM-L6-v2 (loaded on first use). `log` receives the
    one-line messages about index rebuilds (default: stderr).
    """

    def __init__(self, home: str | os.PathLike[str] | None = None, embedder: Embedder | None = None,
                 config: MemoryConfig | None = None, log: Log | None = None):
        from editmind.core.paths import resolve_home

        self.root = resolve_home(home) / "memory"
        self.index_dir = self.root / "index"
        self.index_dir.mkdir(parents=True, exist_ok=True)
        self.embedder: Embedder = embedder if embedder is not None else default_embedder()
        self.config = config or MemoryConfig()
        self.log: Log = log or _stderr
        self.db_path = self.root / "facts.sqlite3"
        self._conn = connect(self.db_path)
        self._indexes: dict[str, UserIndex] = {}
        self._last_save: dict[str, float] = {}
        self._embedder_ok = False
        self._closed = False

    # -- lifecycle -----------------------------------------------------------------------

    def close(self) -> None:
        """Write any index that is newer than its file, then close SQLite."""
        if self._closed:
            return
        try:
            for user_id, index in list(self._indexes.items()):
                if self._last_save.get(user_id) != index.generation:
                    self._save_index(user_id)
        finally:
            self._conn.close()
            self._closed = True

    def __enter__(self) -> "FactMemory":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("this FactMemory was closed; open a new one")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        self._check_open()
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot across several SELECTs."""
        self._check_open()
        self._conn.execute("BEGIN")
        try:
            yield self._conn
        finally:
            self._conn.execute("COMMIT")

    # -- embedder bookkeeping --------------------------------------------------------------

    def _meta(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _mismatch(self, name: str | None, dim: str | None) -> EmbedderMismatchError:
        return EmbedderMismatchError(
            f"this memory's vectors were made by {name!r} (dim {dim}) but the current embedder is "
            f"{self.embedder.name!r} (dim {self.embedder.dim}); run 'editmind memory reindex' "
            f"(FactMemory.reindex()) to re-embed every fact with the current one")

    def _check_embedder(self, cached: bool = False) -> None:
        """Refuse a store whose vectors come from another embedder. `cached` skips the two
        SELECTs once the check passed (the hot search path); a change of embedder in another
        process bumps every user's generation, and `_index_for` re-checks then."""
        if cached and self._embedder_ok:
            return
        name, dim = self._meta("embedder_name"), self._meta("embedder_dim")
        if name is not None and (name != self.embedder.name or dim != str(self.embedder.dim)):
            self._embedder_ok = False
            raise self._mismatch(name, dim)
        self._embedder_ok = name is not None

    def _claim_embedder(self, conn: sqlite3.Connection) -> None:
        """Inside a write: record our embedder on first use, refuse a different one."""
        conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('embedder_name', ?)", (self.embedder.name,))
        conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('embedder_dim', ?)", (str(self.embedder.dim),))
        self._check_embedder()

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        vectors = np.asarray(self.embedder.embed(list(texts)), dtype=np.float32)
        if vectors.shape != (len(texts), self.embedder.dim):
            raise StoreError(f"embedder {self.embedder.name!r} returned shape {vectors.shape}, "
                             f"expected {(len(texts), self.embedder.dim)}")
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        if np.allclose(norms, 1.0, rtol=0.0, atol=1e-5):  # the Embedder contract; the default already normalises
            return np.ascontiguousarray(vectors, dtype=np.float32)
        norms[norms == 0] = 1.0  # a pluggable embedder that does not: normalise here, cosine needs it
        return np.ascontiguousarray(vectors / norms, dtype=np.float32)

    # -- adding ---------------------------------------------------------------------------

    def add(self, text_or_fact: str | Fact | dict, user_id: str, agent_id: str | None = None, run_id: str | None = None,
            subject: str | None = None, relation: str | None = None, object: str | None = None,
            source: str = "user", metadata: dict[str, Any] | None = None, replaces: Iterable[str] = ()) -> AddResult:
        """Store one fact (or find it is a duplicate / supersede what it contradicts).

        `replaces` names facts the caller knows this one updates although their keys differ
        ("we relocated the shop to Mercer Row" updates "our shop is on Tanner Street"): they
        are superseded in the same transaction, so a failed add leaves them active."""
        if isinstance(text_or_fact, (str, bytes, bytearray)):
            item: Any = {"text": text_or_fact, "agent_id": agent_id, "run_id": run_id, "subject": subject,
                         "relation": relation, "object": object, "source": source, "metadata": metadata,
                         "replaces": list(replaces)}
        else:
            item = text_or_fact
        return self.add_many([item], user_id=user_id, agent_id=agent_id, run_id=run_id, source=source)[0]

    def _item(self, raw: Any, user_id: str, agent_id: str | None, run_id: str | None, source: str) -> _Item:
        if isinstance(raw, Fact):
            if raw.user_id and raw.user_id != user_id:
                raise InvalidInputError(f"fact {raw.id!r} belongs to another user than {user_id!r}")
            raw = {key: getattr(raw, key) for key in ("text", "agent_id", "run_id", "subject", "relation", "object",
                                                      "source", "metadata")}
        elif isinstance(raw, (str, bytes, bytearray)):
            raw = {"text": raw}
        elif not isinstance(raw, dict):
            raise InvalidInputError(f"a fact must be a string, a dict or a Fact, got {type(raw).__name__}")
        unknown = set(raw) - {"text", "agent_id", "run_id", "subject", "relation", "object", "source", "metadata", "user_id",
                              "replaces"}
        if unknown:
            raise InvalidInputError(f"unknown fact field(s) {sorted(unknown)}")
        if raw.get("user_id") not in (None, user_id):
            raise InvalidInputError(f"a fact names user_id {raw['user_id']!r} but is being added for {user_id!r}")
        subject, relation = v.check_field(raw.get("subject"), "subject"), v.check_field(raw.get("relation"), "relation")
        obj = v.check_field(raw.get("object"), "object")
        if (subject is None) != (relation is None) or (obj is not None and subject is None):
            raise InvalidInputError("a triple needs both subject and relation (object is optional); give all or none")
        return _Item(
            text=v.check_text(raw.get("text")),
            agent_id=v.check_id(raw.get("agent_id") if raw.get("agent_id") is not None else agent_id, "agent_id", False),
            run_id=v.check_id(raw.get("run_id") if raw.get("run_id") is not None else run_id, "run_id", False),
            subject=subject, relation=relation, object=obj,
            source=v.check_text(raw.get("source") or source, "source", v.MAX_FIELD_CHARS),
            metadata=v.check_metadata(raw.get("metadata")),
            replaces=tuple(v.check_id(i, "replaces") for i in (raw.get("replaces") or ())),
        )

    def add_many(self, items: Iterable[Any], user_id: str, agent_id: str | None = None, run_id: str | None = None,
                 source: str = "user") -> list[AddResult]:
        """Add several facts with one batched embedding call and one transaction: either all
        of them are processed or (on any error) none is. Later items see earlier ones, so a
        batch can contain a fact and its correction."""
        user_id = v.check_id(user_id, "user_id")
        agent_id = v.check_id(agent_id, "agent_id", False)
        run_id = v.check_id(run_id, "run_id", False)
        parsed = [self._item(raw, user_id, agent_id, run_id, source) for raw in list(items)]
        if not parsed:
            return []
        self._check_open()
        self._check_embedder()
        vectors = self._embed([item.text for item in parsed])
        results: list[AddResult] = []
        with self._write() as conn:
            self._claim_embedder(conn)
            generation = self._bump(conn, user_id)
            for item, vector in zip(parsed, vectors):
                results.append(self._add_one(conn, user_id, item, vector, generation))
        self._after_write(user_id)
        return results

    def _add_one(self, conn: sqlite3.Connection, user_id: str, item: _Item, vector: np.ndarray, generation: int) -> AddResult:
        text_norm = v.normalise(item.text)
        s_norm, r_norm, o_norm = v.normalise(item.subject), v.normalise(item.relation), v.normalise(item.object)
        same_scope = "user_id = ? AND agent_id IS ? AND run_id IS ? AND status = 'active'"
        scope_args = (user_id, item.agent_id, item.run_id)
        row = conn.execute(f"SELECT * FROM facts WHERE {same_scope} AND text_norm = ? LIMIT 1",
                           (*scope_args, text_norm)).fetchone()
        if row is not None:
            return AddResult("NOOP", _fact(row))
        if s_norm is not None and o_norm is not None:
            for row in conn.execute(
                    "SELECT f.*, v.vector FROM facts f JOIN vectors v ON v.fact_id = f.id WHERE f.user_id = ? "
                    "AND f.agent_id IS ? AND f.run_id IS ? AND f.status = 'active' "
                    "AND f.subject_norm = ? AND f.relation_norm = ? AND f.object_norm = ?",
                    (*scope_args, s_norm, r_norm, o_norm)).fetchall():
                if float(_unblob(row["vector"], self.embedder.dim)[0] @ vector) >= self.config.duplicate_cosine:
                    return AddResult("NOOP", _fact(row))
        now = now_iso()
        fact_id = uuid.uuid4().hex
        superseded: list[Fact] = []
        if s_norm is not None:
            for row in conn.execute("SELECT * FROM facts WHERE user_id = ? AND status = 'active' AND subject_norm = ? "
                                    "AND relation_norm = ?", (user_id, s_norm, r_norm)).fetchall():
                superseded.append(self._supersede(conn, row, fact_id, now, generation))
        for replaced_id in item.replaces:
            row = conn.execute("SELECT * FROM facts WHERE id = ? AND user_id = ?", (replaced_id, user_id)).fetchone()
            if row is None:
                raise InvalidInputError(f"fact {replaced_id!r} to replace is not one of {user_id!r}'s facts")
            if row["status"] == "active" and row["id"] not in {f.id for f in superseded}:
                superseded.append(self._supersede(conn, row, fact_id, now, generation))
        conn.execute(
            "INSERT INTO facts(id, user_id, agent_id, run_id, text, text_norm, subject, relation, object, subject_norm, "
            "relation_norm, object_norm, source, status, metadata, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?, ?)",
            (fact_id, user_id, item.agent_id, item.run_id, item.text, text_norm, item.subject, item.relation, item.object,
             s_norm, r_norm, o_norm, item.source, json.dumps(item.metadata, ensure_ascii=False), now, now))
        conn.execute("INSERT INTO vectors(fact_id, user_id, vector) VALUES (?, ?, ?)", (fact_id, user_id, _blob(vector)))
        details = {"supersedes": [f.id for f in superseded]} if superseded else {}
        self._history(conn, fact_id, user_id, "ADD", None, item.text, details, now)
        fact = _fact(conn.execute("SELECT * FROM facts WHERE id = ?", (fact_id,)).fetchone())
        return AddResult("SUPERSEDE" if superseded else "ADD", fact, superseded)

    def _supersede(self, conn: sqlite3.Connection, row: sqlite3.Row, by: str, now: str, generation: int) -> Fact:
        conn.execute("UPDATE facts SET status = 'superseded', updated_at = ? WHERE id = ?", (now, row["id"]))
        self._drop_vector(conn, row["id"], generation)
        self._history(conn, row["id"], row["user_id"], "SUPERSEDED", row["text"], row["text"], {"superseded_by": by}, now)
        return _fact(conn.execute("SELECT * FROM facts WHERE id = ?", (row["id"],)).fetchone())

    # -- bookkeeping helpers -----------------------------------------------------------------

    def _bump(self, conn: sqlite3.Connection, user_id: str) -> int:
        conn.execute("INSERT INTO user_state(user_id, generation) VALUES (?, 1) "
                     "ON CONFLICT(user_id) DO UPDATE SET generation = generation + 1", (user_id,))
        return int(conn.execute("SELECT generation FROM user_state WHERE user_id = ?", (user_id,)).fetchone()[0])

    def _drop_vector(self, conn: sqlite3.Connection, fact_id: str, generation: int) -> None:
        row = conn.execute("SELECT vec_id, user_id FROM vectors WHERE fact_id = ?", (fact_id,)).fetchone()
        if row is not None:
            conn.execute("DELETE FROM vectors WHERE vec_id = ?", (row["vec_id"],))
            conn.execute("INSERT OR REPLACE INTO removed_vectors(vec_id, user_id, generation) VALUES (?, ?, ?)",
                         (row["vec_id"], row["user_id"], generation))

    def _history(self, conn: sqlite3.Connection, fact_id: str, user_id: str, event: str, old: str | None,
                 new: str | None, details: dict[str, Any], now: str) -> None:
        conn.execute("INSERT INTO history(fact_id, user_id, event, old_text, new_text, details, created_at) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?)", (fact_id, user_id, event, old, new, json.dumps(details), now))

    def _row(self, fact_id: Any, conn: sqlite3.Connection | None = None) -> sqlite3.Row:
        fact_id = v.check_id(fact_id, "fact id")
        row = (conn or self._conn).execute("SELECT * FROM facts WHERE id = ?", (fact_id,)).fetchone()
        if row is None:
            raise FactNotFoundError(f"no fact with id {fact_id!r} in this memory (see 'editmind memory list --user U')")
        return row

    # -- reading ---------------------------------------------------------------------------

    def get(self, fact_id: str) -> Fact:
        self._check_open()
        return _fact(self._row(fact_id))

    def get_all(self, user_id: str, agent_id: str | None = None, run_id: str | None = None,
                include_inactive: bool = False, limit: int | None = None) -> list[Fact]:
        """The user's facts in the order they were added (active ones only by default)."""
        self._check_open()
        user_id = v.check_id(user_id, "user_id")
        where, args = ["user_id = ?"], [user_id]
        for name, value in (("agent_id", agent_id), ("run_id", run_id)):
            if value is not None:
                where.append(f"{name} = ?")
                args.append(v.check_id(value, name))
        if not include_inactive:
            where.append("status = 'active'")
        sql = f"SELECT * FROM facts WHERE {' AND '.join(where)} ORDER BY rowid"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [_fact(row) for row in self._conn.execute(sql, args)]

    def history(self, fact_id: str) -> list[HistoryEvent]:
        self._check_open()
        row = self._row(fact_id)
        return [HistoryEvent(id=h["id"], fact_id=h["fact_id"], event=h["event"], old_text=h["old_text"],
                             new_text=h["new_text"], created_at=h["created_at"], details=json.loads(h["details"]))
                for h in self._conn.execute("SELECT * FROM history WHERE fact_id = ? ORDER BY id", (row["id"],))]

    def count(self, user_id: str | None = None) -> int:
        """Active facts (of one user, or of all users)."""
        self._check_open()
        if user_id is None:
            return int(self._conn.execute("SELECT COUNT(*) FROM facts WHERE status = 'active'").fetchone()[0])
        return int(self._conn.execute("SELECT COUNT(*) FROM facts WHERE user_id = ? AND status = 'active'",
                                      (v.check_id(user_id),)).fetchone()[0])

    def users(self) -> list[str]:
        self._check_open()
        return [r[0] for r in self._conn.execute("SELECT DISTINCT user_id FROM facts ORDER BY user_id")]

    # -- search ----------------------------------------------------------------------------

    def search(self, query: str, user_id: str, k: int = 5, filters: dict[str, Any] | None = None,
               agent_id: str | None = None, run_id: str | None = None, threshold: float | None = None) -> list[SearchResult]:
        """The user's k active facts closest to `query` (cosine, best first)."""
        query = v.check_text(query, "query")
        user_id = v.check_id(user_id, "user_id")
        k = v.check_k(k)
        self._check_open()
        self._check_embedder()
        vector = self._embed([query])[0]
        return self.search_vector(vector, user_id, k=k, filters=filters, agent_id=agent_id, run_id=run_id,
                                  threshold=threshold)

    def search_vector(self, vector: np.ndarray, user_id: str, k: int = 5, filters: dict[str, Any] | None = None,
                      agent_id: str | None = None, run_id: str | None = None,
                      threshold: float | None = None) -> list[SearchResult]:
        """`search` with an already-embedded (normalised) query vector."""
        user_id = v.check_id(user_id, "user_id")
        k = v.check_k(k)
        filters = dict(filters or {})
        for name, value in (("agent_id", agent_id), ("run_id", run_id)):
            if value is not None:
                filters[name] = value
        where, args = self._filter_sql(filters)
        self._check_open()
        self._check_embedder(cached=True)
        vector = np.asarray(vector, dtype=np.float32).reshape(1, -1)
        if vector.shape[1] != self.embedder.dim:
            raise InvalidInputError(f"query vector has dimension {vector.shape[1]}, the store uses {self.embedder.dim}")
        index = self._index_for(user_id)
        if index is None:
            return []
        if not where:
            scores, ids = index.search(vector, k)
        else:
            candidates = np.array([r[0] for r in self._conn.execute(
                "SELECT v.vec_id FROM facts f JOIN vectors v ON v.fact_id = f.id WHERE f.user_id = ? AND "
                f"f.status = 'active' AND {' AND '.join(where)}", (user_id, *args))], dtype=np.int64)
            if len(candidates) == 0:
                return []
            if len(candidates) <= EXACT_FILTERED_MAX:
                scores, ids = self._exact(vector, candidates, k)
            else:
                scores, ids = index.search(vector, k, allowed_ids=candidates)
        return self._hits(user_id, scores[0], ids[0], threshold)

    def _exact(self, vector: np.ndarray, candidates: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        rows = []
        for start in range(0, len(candidates), 900):  # SQLite's variable limit
            chunk = candidates[start:start + 900].tolist()
            rows += self._conn.execute(f"SELECT vec_id, vector FROM vectors WHERE vec_id IN ({','.join('?' * len(chunk))})",
                                       chunk).fetchall()
        if not rows:
            return np.zeros((1, 0), np.float32), np.zeros((1, 0), np.int64)
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype="<f4").reshape(len(rows), -1)
        scores = matrix @ vector[0]
        order = np.argsort(-scores, kind="stable")[:k]
        return scores[order][None, :], ids[order][None, :]

    def _hits(self, user_id: str, scores: np.ndarray, ids: np.ndarray, threshold: float | None) -> list[SearchResult]:
        wanted = [(int(i), float(s)) for i, s in zip(ids, scores) if i >= 0 and (threshold is None or s >= threshold)]
        if not wanted:
            return []
        marks = ",".join("?" * len(wanted))
        rows = {r["vec_id"]: r for r in self._conn.execute(
            f"SELECT v.vec_id, f.* FROM vectors v JOIN facts f ON f.id = v.fact_id WHERE v.vec_id IN ({marks}) "
            "AND f.user_id = ? AND f.status = 'active'", (*[i for i, _ in wanted], user_id))}
        return [SearchResult(_fact(rows[i]), min(1.0, s)) for i, s in wanted if i in rows]

    def _filter_sql(self, filters: dict[str, Any]) -> tuple[list[str], list[Any]]:
        where: list[str] = []
        args: list[Any] = []
        for key, value in filters.items():
            if key == "user_id":
                raise InvalidInputError("pass the user as user_id=..., not inside filters")
            if key == "metadata":
                if not isinstance(value, dict):
                    raise InvalidInputError("filters['metadata'] must be a dict of key: value")
                for meta_key, meta_value in value.items():
                    v.check_metadata_key(meta_key)
                    if not isinstance(meta_value, (str, int, float, bool)) and meta_value is not None:
                        raise InvalidInputError(f"metadata filter {meta_key!r} must be a string, number, bool or None")
                    if meta_value is None:
                        where.append(f"json_extract(f.metadata, '$.\"{meta_key}\"') IS NULL")
                    else:
                        where.append(f"json_extract(f.metadata, '$.\"{meta_key}\"') = ?")
                        args.append(int(meta_value) if isinstance(meta_value, bool) else meta_value)
                continue
            if key not in FILTER_COLUMNS:
                raise InvalidInputError(f"unknown filter {key!r}; use {', '.join(FILTER_COLUMNS)} or metadata")
            if key in ("agent_id", "run_id"):
                value = v.check_id(value, key)
            elif not isinstance(value, str):
                raise InvalidInputError(f"filter {key!r} must be a string")
            where.append(f"f.{key} = ?")
            args.append(value)
        return where, args

    # -- changing ----------------------------------------------------------------------------

    def update(self, fact_id: str, text: str | None = None, **fields: Any) -> Fact:
        """Change an active fact's text and/or fields; a new text is re-embedded. A new
        (subject, relation) supersedes the user's other active facts with that pair."""
        unknown = set(fields) - set(UPDATABLE)
        if unknown:
            raise InvalidInputError(f"cannot update {sorted(unknown)}; updatable fields: text, {', '.join(UPDATABLE)}")
        new_text = v.check_text(text) if text is not None else None
        checked: dict[str, Any] = {}
        for name, value in fields.items():
            if name == "metadata":
                checked[name] = v.check_metadata(value)
            elif name in ("agent_id", "run_id"):
                checked[name] = v.check_id(value, name, False)
            elif name == "source":
                checked[name] = v.check_text(value, "source", v.MAX_FIELD_CHARS)
            else:
                checked[name] = v.check_field(value, name)
        self._check_open()
        current = self._row(fact_id)
        if current["status"] != "active":
            raise InvalidInputError(f"fact {current['id']} is {current['status']}; only active facts can be updated")
        merged = {key: current[key] for key in ("subject", "relation", "object")} | {
            key: checked[key] for key in ("subject", "relation", "object") if key in checked}
        if (merged["subject"] is None) != (merged["relation"] is None) or (merged["object"] is not None and merged["subject"] is None):
            raise InvalidInputError("a triple needs both subject and relation (object is optional)")
        self._check_embedder()
        vector = self._embed([new_text])[0] if new_text is not None and new_text != current["text"] else None
        user_id = current["user_id"]
        with self._write() as conn:
            row = self._row(current["id"], conn)
            if row["status"] != "active":
                raise InvalidInputError(f"fact {row['id']} is {row['status']}; only active facts can be updated")
            generation = self._bump(conn, user_id)
            now = now_iso()
            sets: dict[str, Any] = {"updated_at": now}
            for name, value in checked.items():
                sets[name] = json.dumps(value, ensure_ascii=False) if name == "metadata" else value
                if name in ("subject", "relation", "object"):
                    sets[f"{name}_norm"] = v.normalise(value)
            if new_text is not None:
                sets["text"], sets["text_norm"] = new_text, v.normalise(new_text)
            conn.execute(f"UPDATE facts SET {', '.join(f'{k} = ?' for k in sets)} WHERE id = ?", (*sets.values(), row["id"]))
            if vector is not None:
                self._claim_embedder(conn)
                self._drop_vector(conn, row["id"], generation)
                conn.execute("INSERT INTO vectors(fact_id, user_id, vector) VALUES (?, ?, ?)", (row["id"], user_id, _blob(vector)))
            superseded = []
            if merged["subject"] is not None and ({"subject", "relation"} & set(checked)):
                for other in conn.execute(
                        "SELECT * FROM facts WHERE user_id = ? AND status = 'active' AND subject_norm = ? AND relation_norm = ? AND id != ?",
                        (user_id, v.normalise(merged["subject"]), v.normalise(merged["relation"]), row["id"])).fetchall():
                    superseded.append(self._supersede(conn, other, row["id"], now, generation).id)
            details = {"fields": sorted(checked)} | ({"supersedes": superseded} if superseded else {})
            self._history(conn, row["id"], user_id, "UPDATE", row["text"], new_text or row["text"], details, now)
            fact = _fact(self._row(row["id"], conn))
        self._after_write(user_id)
        return fact

    def delete(self, fact_id: str) -> Fact:
        """Erase a fact's text, triple and vector (status 'deleted'; metadata kept)."""
        return self._erase(fact_id, "deleted")

    def redact(self, fact_id: str) -> Fact:
        """Erase a fact so that no copy of its text remains anywhere in the store: the
        record, its history, the triple, the metadata, the vector, the index files and the
        SQLite WAL (status 'redacted'; the history keeps only that it happened)."""
        return self._erase(fact_id, "redacted")

    def _erase(self, fact_id: str, status: str) -> Fact:
        self._check_open()
        user_id = self._row(fact_id)["user_id"]
        with self._write() as conn:
            row = self._row(fact_id, conn)
            if row["status"] == status or (row["status"] == "redacted" and status == "deleted"):
                return _fact(row)
            self._scrub(conn, row, status)
        self._after_erase(user_id)
        return self.get(fact_id)

    def _scrub(self, conn: sqlite3.Connection, row: sqlite3.Row, status: str) -> None:
        generation = self._bump(conn, row["user_id"])
        now = now_iso()
        metadata = "{}" if status == "redacted" else row["metadata"]
        conn.execute("UPDATE facts SET status = ?, text = '', text_norm = '', subject = NULL, relation = NULL, "
                     "object = NULL, subject_norm = NULL, relation_norm = NULL, object_norm = NULL, metadata = ?, "
                     "updated_at = ? WHERE id = ?", (status, metadata, now, row["id"]))
        self._drop_vector(conn, row["id"], generation)
        conn.execute("UPDATE history SET old_text = NULL, new_text = NULL WHERE fact_id = ?", (row["id"],))
        self._history(conn, row["id"], row["user_id"], "REDACT" if status == "redacted" else "DELETE", None, None,
                      {"previous_status": row["status"]}, now)

    def delete_all(self, user_id: str) -> int:
        """Delete every fact of the user that is not deleted yet; returns how many."""
        user_id = v.check_id(user_id, "user_id")
        self._check_open()
        with self._write() as conn:
            rows = conn.execute("SELECT * FROM facts WHERE user_id = ? AND status IN ('active', 'superseded')",
                                (user_id,)).fetchall()
            for row in rows:
                self._scrub(conn, row, "deleted")
        if rows:
            self._after_erase(user_id)
        return len(rows)

    def reindex(self, progress: Log | None = None, batch: int = 256) -> int:
        """Re-embed every active fact with the current embedder (after changing embedders)
        and rebuild the indexes. Returns the number of facts embedded."""
        self._check_open()
        rows = self._conn.execute("SELECT id, user_id, text FROM facts WHERE status = 'active' ORDER BY rowid").fetchall()
        vectors = []
        for start in range(0, len(rows), batch):
            vectors.append(self._embed([r["text"] for r in rows[start:start + batch]]))
            if progress:
                progress(f"embedded {min(start + batch, len(rows))}/{len(rows)} facts")
        matrix = np.concatenate(vectors) if vectors else np.zeros((0, self.embedder.dim), np.float32)
        with self._write() as conn:
            users = [r[0] for r in conn.execute("SELECT DISTINCT user_id FROM vectors")] + [r["user_id"] for r in rows]
            generations = {u: self._bump(conn, u) for u in dict.fromkeys(users)}
            for old in conn.execute("SELECT vec_id, user_id FROM vectors").fetchall():
                conn.execute("INSERT OR REPLACE INTO removed_vectors(vec_id, user_id, generation) VALUES (?, ?, ?)",
                             (old[0], old[1], generations[old[1]]))
            conn.execute("DELETE FROM vectors")
            conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('embedder_name', ?)", (self.embedder.name,))
            conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('embedder_dim', ?)", (str(self.embedder.dim),))
            conn.executemany("INSERT INTO vectors(fact_id, user_id, vector) VALUES (?, ?, ?)",
                             [(r["id"], r["user_id"], _blob(vec)) for r, vec in zip(rows, matrix)])
        self._indexes.clear()
        with self._index_lock():
            for path in self.index_dir.glob("*.faiss"):
                path.unlink()
        for user in dict.fromkeys(r["user_id"] for r in rows):
            self._index_for(user, quiet=True)
            self._save_index(user)
        checkpoint_truncate(self._conn)
        return len(rows)

    # -- indexes ----------------------------------------------------------------------------

    def _index_path(self, user_id: str) -> Path:
        # hashed, so no user-controlled text ever becomes part of a path
        return self.index_dir / (hashlib.sha256(user_id.encode("utf-8")).hexdigest()[:40] + ".faiss")

    @contextmanager
    def _index_lock(self) -> Iterator[None]:
        with open(self.index_dir / ".lock", "a+") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _generation(self, user_id: str) -> int:
        row = self._conn.execute("SELECT generation FROM user_state WHERE user_id = ?", (user_id,)).fetchone()
        return int(row[0]) if row else 0

    def _index_for(self, user_id: str, quiet: bool = False) -> UserIndex | None:
        """The user's index, caught up with SQLite; loaded from its file or rebuilt."""
        index = self._indexes.get(user_id)
        generation = self._generation(user_id)
        if index is not None and index.generation == generation:
            return index
        if generation == 0:  # nothing was ever written for this user: no index, no file
            return None
        self._check_embedder()  # the store changed since we last looked: maybe reindexed elsewhere
        if index is None:
            index = self._load_index(user_id, quiet)
            if index is not None and index.generation < generation and not quiet:
                self.log(f"the vector index file of user {user_id!r} was behind the store (generation "
                         f"{index.generation} < {generation}); brought it up to date from SQLite")
        if index is not None and index.generation != generation:
            index = self._catch_up(user_id, index, quiet)
        if index is None:
            index = self._rebuild(user_id, None, quiet)
        self._indexes[user_id] = index
        return index

    def _load_index(self, user_id: str, quiet: bool) -> UserIndex | None:
        path = self._index_path(user_id)
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            has_vectors = self._conn.execute("SELECT 1 FROM vectors WHERE user_id = ? LIMIT 1", (user_id,)).fetchone()
            if has_vectors and not quiet:
                self.log(f"the vector index of user {user_id!r} is missing; rebuilding it from SQLite")
            return None
        try:
            return UserIndex.from_bytes(blob, self.embedder.name, self.embedder.dim, self.config.index.ef_search)
        except IndexFileError as exc:
            if not quiet:
                self.log(f"the vector index of user {user_id!r} is unusable ({exc}); rebuilding it from SQLite")
            return None

    def _catch_up(self, user_id: str, index: UserIndex, quiet: bool) -> UserIndex | None:
        """Apply the changes since `index.generation` (vectors added and removed); None if
        the index cannot be reconciled (then it is rebuilt)."""
        with self._read() as conn:
            generation = self._generation(user_id)
            if index.generation > generation:
                if not quiet:
                    self.log(f"the vector index of user {user_id!r} is newer than the store; rebuilding it from SQLite")
                return None
            removed = [r[0] for r in conn.execute("SELECT vec_id FROM removed_vectors WHERE user_id = ? AND generation > ?",
                                                  (user_id, index.generation))]
            added = conn.execute("SELECT vec_id, vector FROM vectors WHERE user_id = ? AND vec_id > ? ORDER BY vec_id",
                                 (user_id, index.max_vec_id)).fetchall()
            total = int(conn.execute("SELECT COUNT(*) FROM vectors WHERE user_id = ?", (user_id,)).fetchone()[0])
        index.remove(removed)
        if added:
            index.add(_unblob(b"".join(r[1] for r in added), self.embedder.dim), np.array([r[0] for r in added], np.int64))
        index.generation = generation
        if index.ntotal != total:
            if not quiet:
                self.log(f"the vector index of user {user_id!r} was stale ({index.ntotal} vectors, the store has "
                         f"{total}); rebuilding it from SQLite")
            return None
        if index.needs_rebuild(self.config.index):
            return self._rebuild(user_id, index.kind, quiet=True)
        return index

    def _rebuild(self, user_id: str, current_kind: str | None, quiet: bool) -> UserIndex:
        with self._read() as conn:
            generation = self._generation(user_id)
            rows = conn.execute("SELECT vec_id, vector FROM vectors WHERE user_id = ? ORDER BY vec_id", (user_id,)).fetchall()
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        vectors = _unblob(b"".join(r[1] for r in rows), self.embedder.dim) if rows else np.zeros((0, self.embedder.dim), np.float32)
        index = UserIndex.build(vectors, ids, self.config.index, self.embedder.dim, current_kind)
        index.generation = generation
        self._indexes[user_id] = index
        self._last_save.pop(user_id, None)
        return index

    def _save_index(self, user_id: str) -> None:
        """Write the user's index file, caught up to the store, under the index lock."""
        with self._index_lock():
            index = self._index_for(user_id, quiet=True)
            if index is None:
                return
            write_atomic(self._index_path(user_id), index.to_bytes(self.embedder.name))
            for stray in self.index_dir.glob(".*.tmp"):  # left by a killed writer; we hold the lock
                stray.unlink(missing_ok=True)
            self._last_save[user_id] = index.generation
            self._last_save_time = time.monotonic()

    def _after_write(self, user_id: str) -> None:
        index = self._index_for(user_id, quiet=True)
        small = index is not None and index.ntotal <= self.config.save_always_below
        last = getattr(self, "_last_save_time", 0.0)
        if small or time.monotonic() - last >= self.config.save_every_s:
            self._save_index(user_id)

    def _after_erase(self, user_id: str) -> None:
        """Deleted/redacted text must leave the disk now: index file rewritten without the
        vector, WAL checkpointed into the (zero-filled) database and truncated."""
        self._save_index(user_id)
        checkpoint_truncate(self._conn)

    def flush(self) -> None:
        """Write every index that changed since it was last written."""
        self._check_open()
        for user_id, index in list(self._indexes.items()):
            if self._last_save.get(user_id) != index.generation:
                self._save_index(user_id)

    def stats(self) -> dict[str, Any]:
        self._check_open()
        counts = dict(self._conn.execute("SELECT status, COUNT(*) FROM facts GROUP BY status").fetchall())
        files = [self.db_path, Path(str(self.db_path) + "-wal"), *self.index_dir.glob("*.faiss")]
        return {
            "home": str(self.root), "embedder": self._meta("embedder_name") or self.embedder.name,
            "dim": int(self._meta("embedder_dim") or self.embedder.dim), "facts": counts,
            "users": int(self._conn.execute("SELECT COUNT(DISTINCT user_id) FROM facts").fetchone()[0]),
            "bytes_on_disk": sum(p.stat().st_size for p in files if p.exists()),
            "indexes": {u: {"kind": i.kind, "vectors": i.ntotal} for u, i in self._indexes.items()},
        }
