"""The per-user FAISS index: which kind, how it is built, and its on-disk file.

Each user gets an index of their own active facts, so a search for user A never even
looks at user B's vectors (isolation by construction; the store re-checks every hit's
user_id in SQL as well). The kind follows the size: exact inner product (`IndexFlatIP`
behind an `IndexIDMap2`) up to `IndexConfig.exact_max` (10,000) vectors, HNSW
(`IndexHNSWFlat`, M=32) past it. IVF-Flat was tried first and dropped: on MiniLM
embeddings of template facts, whose nearest neighbours are near-ties, it reached only
recall@5 0.80 at nprobe 32 and 0.92 at nprobe 128 (30k facts), while HNSW with efSearch
64-128 gives 0.97-0.98 at 0.2-0.4 ms (benchmarks/memory_bench.py). Vectors are
L2-normalised, so inner product is cosine.

Removal: the flat index removes vectors outright. HNSW cannot unlink a node from its
graph, so a removed vector is a tombstone: its stored floats are overwritten with zeros
(so neither memory nor the next file written holds them - a redacted fact's embedding is
gone), its id is excluded from every search, and once tombstones exceed
`IndexConfig.purge_fraction` of the index it is rebuilt without them.

The file is one blob written atomically (temp file + fsync + os.replace):
`EMIDX1\\n`, an 8-byte header length, a JSON header (store generation it reflects,
largest vector id, tombstones, embedder, kind, count, SHA-256 of the FAISS bytes), then
`faiss.serialize_index` bytes. Nothing is pickled. A file whose checksum, embedder or
count does not match is treated as corrupt and rebuilt from SQLite.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import faiss
import numpy as np

MAGIC = b"EMIDX1\n"
FORMAT_VERSION = 2


class IndexFileError(Exception):
    """The index file is unreadable; the caller rebuilds from SQLite."""


@dataclass
class IndexConfig:
    """When to switch from exact to HNSW search and how to build/search HNSW.

    Defaults come from benchmarks/memory_bench.py on this project's 2-core machine class;
    they depend only on the number of vectors, never on the model or embedder.
    """

    exact_max: int = 10_000       # exact search up to this many vectors per user (~1-2 ms, one thread)
    hnsw_m: int = 32              # graph degree
    ef_construction: int = 64     # build-time beam
    ef_search: int = 128          # query-time beam (recall@5 ~0.98 on MiniLM facts at 30k)
    purge_fraction: float = 0.10  # rebuild HNSW once tombstones exceed this share of its nodes

    def wants_hnsw(self, n: int, current_kind: str | None) -> bool:
        if current_kind == "hnsw":  # hysteresis: do not flip back and forth around the threshold
            return n > self.exact_max // 2
        return n > self.exact_max


class UserIndex:
    """One user's FAISS index plus the store state it reflects."""

    def __init__(self, index: faiss.Index, kind: str, dim: int, generation: int = 0, max_vec_id: int = 0,
                 tombstones: set[int] | None = None, ef_search: int = 128):
        self.index = index
        self.kind = kind
        self.dim = dim
        self.generation = generation
        self.max_vec_id = max_vec_id
        self.tombstones: set[int] = set(tombstones or ())
        self.ef_search = ef_search
        if kind == "hnsw":
            faiss.downcast_index(index.index).hnsw.efSearch = ef_search

    @property
    def ntotal(self) -> int:
        """Live vectors (tombstones excluded)."""
        return int(self.index.ntotal) - len(self.tombstones)

    @classmethod
    def build(cls, vectors: np.ndarray, ids: np.ndarray, config: IndexConfig, dim: int,
              current_kind: str | None = None) -> "UserIndex":
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, dim)
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if config.wants_hnsw(len(ids), current_kind):
            hnsw = faiss.IndexHNSWFlat(dim, config.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            hnsw.hnsw.efConstruction = config.ef_construction
            index, kind = faiss.IndexIDMap2(hnsw), "hnsw"
        else:
            index, kind = faiss.IndexIDMap2(faiss.IndexFlatIP(dim)), "flat"
        built = cls(index, kind, dim, ef_search=config.ef_search)
        built.add(vectors, ids)
        return built

    def needs_rebuild(self, config: IndexConfig) -> bool:
        wants = "hnsw" if config.wants_hnsw(self.ntotal, self.kind) else "flat"
        if wants != self.kind:
            return True
        return self.kind == "hnsw" and len(self.tombstones) > config.purge_fraction * max(1, int(self.index.ntotal))

    def add(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        if len(ids):
            self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.dim),
                                    np.ascontiguousarray(ids, dtype=np.int64))
            self.max_vec_id = max(self.max_vec_id, int(np.max(ids)))

    def remove(self, ids: list[int] | np.ndarray) -> int:
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if len(ids) == 0:
            return 0
        if self.kind == "flat":
            return int(self.index.remove_ids(ids))
        id_map = faiss.vector_to_array(self.index.id_map)
        positions = np.nonzero(np.isin(id_map, ids) & ~np.isin(id_map, list(self.tombstones)))[0]
        if len(positions):
            storage = faiss.downcast_index(faiss.downcast_index(self.index.index).storage)
            floats = faiss.rev_swig_ptr(storage.get_xb(), int(storage.ntotal) * self.dim).reshape(-1, self.dim)
            floats[positions] = 0.0  # the vector itself is gone; only the graph node remains
            self.tombstones.update(int(i) for i in id_map[positions])
        return len(positions)

    def search(self, queries: np.ndarray, k: int, allowed_ids: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(scores [m,k], ids [m,k]); missing slots have id -1. `allowed_ids` restricts the
        candidates (scope filters) inside FAISS, so filtering never shrinks the top k."""
        queries = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.dim)
        if self.ntotal == 0:
            return np.full((len(queries), 1), -np.inf, np.float32), np.full((len(queries), 1), -1, np.int64)
        k = max(1, min(k, self.ntotal))
        with _single_thread(len(queries)):
            return self._search(queries, k, allowed_ids)

    def _search(self, queries: np.ndarray, k: int, allowed_ids: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        if allowed_ids is None and not self.tombstones:
            return self.index.search(queries, k)
        if allowed_ids is not None:
            keep = np.ascontiguousarray(allowed_ids, dtype=np.int64)
            selector = faiss.IDSelectorBatch(keep)
        else:
            keep = np.fromiter(self.tombstones, dtype=np.int64, count=len(self.tombstones))
            selector = faiss.IDSelectorNot(faiss.IDSelectorBatch(keep))
        if self.kind == "hnsw":
            params = faiss.SearchParametersHNSW(sel=selector, efSearch=max(self.ef_search, k))
        else:
            params = faiss.SearchParameters(sel=selector)
        scores, ids = self.index.search(queries, k, params=params)
        del keep  # the selector copied the ids; keep the array alive until here
        return scores, ids

    # -- persistence -------------------------------------------------------------------

    def to_bytes(self, embedder_name: str) -> bytes:
        payload = faiss.serialize_index(self.index).tobytes()
        header = json.dumps({
            "format": FORMAT_VERSION, "kind": self.kind, "dim": self.dim, "generation": self.generation,
            "max_vec_id": self.max_vec_id, "tombstones": sorted(self.tombstones), "count": int(self.index.ntotal),
            "embedder": embedder_name, "sha256": hashlib.sha256(payload).hexdigest(),
        }).encode("utf-8")
        return MAGIC + struct.pack("<Q", len(header)) + header + payload

    @classmethod
    def from_bytes(cls, blob: bytes, embedder_name: str, dim: int, ef_search: int) -> "UserIndex":
        if not blob.startswith(MAGIC) or len(blob) < len(MAGIC) + 8:
            raise IndexFileError("not an editmind index file")
        (length,) = struct.unpack("<Q", blob[len(MAGIC):len(MAGIC) + 8])
        start = len(MAGIC) + 8
        try:
            header = json.loads(blob[start:start + length].decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise IndexFileError("its header is damaged") from None
        payload = blob[start + length:]
        if header.get("format") != FORMAT_VERSION:
            raise IndexFileError(f"unknown format {header.get('format')!r}")
        if hashlib.sha256(payload).hexdigest() != header.get("sha256"):
            raise IndexFileError("its checksum does not match (truncated or corrupt)")
        if header.get("embedder") != embedder_name or header.get("dim") != dim:
            raise IndexFileError(f"it was built with embedder {header.get('embedder')!r}")
        try:
            index = faiss.deserialize_index(np.frombuffer(payload, dtype=np.uint8).copy())
        except RuntimeError as exc:
            raise IndexFileError(f"FAISS cannot read it ({str(exc).splitlines()[0][:120]})") from None
        if index.ntotal != header.get("count") or index.d != dim or header.get("kind") not in ("flat", "hnsw"):
            raise IndexFileError("its vector count does not match its header")
        return cls(index, header["kind"], dim, generation=int(header["generation"]),
                   max_vec_id=int(header["max_vec_id"]), tombstones=set(header.get("tombstones", [])),
                   ef_search=ef_search)


@contextmanager
def _single_thread(queries: int) -> Iterator[None]:
    """Run a search of a few queries on one OpenMP thread. FAISS parallelises a single
    query over the database, and on a busy 2-core machine the thread hand-off dominates:
    exact search over 20k vectors measured 64-80 ms p50 with 2 threads, 1.9 ms with one.
    omp_set_num_threads changes the calling thread's setting only."""
    if queries > 4:
        yield
        return
    previous = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(previous)


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temp file in the same folder, fsync, then os.replace: readers see the old
    file or the new one, never a torn one, even if the process is killed mid-write."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
