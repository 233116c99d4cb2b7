"""The per-user FAISS index: which kind, how it is built, and its on-disk file.

Each user gets an index of their own active facts, so a search for user A never even
looks at user B's vectors (isolation by construction; the store re-checks every hit's
user_id in SQL as well). The kind follows the size: an exact inner-product index
(`IndexFlatIP` behind an `IndexIDMap2`) up to `IndexConfig.exact_max` (10,000) vectors, an
`IndexIVFFlat` past it, with nlist ~ 4*sqrt(n) and `nprobe` chosen by the benchmark so
recall@5 against exact search stays >= 0.95 on all-MiniLM-L6-v2 embeddings. Both kinds
support `remove_ids`, so deleting or redacting a fact removes its vector from the index
(and from the next file written) instead of leaving it masked. Vectors are L2-normalised,
so inner product is cosine.

The file is one blob written atomically (temp file + fsync + os.replace):
`EMIDX1\\n`, an 8-byte header length, a JSON header (store generation it reflects,
largest vector id, embedder, kind, count, SHA-256 of the FAISS bytes), then
`faiss.serialize_index` bytes. Nothing is pickled. A file whose checksum, embedder or
count does not match is treated as corrupt and rebuilt from SQLite.
"""

from __future__ import annotations

import hashlib
import json
import math
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
FORMAT_VERSION = 1


class IndexFileError(Exception):
    """The index file is unreadable; the caller rebuilds from SQLite."""


@dataclass
class IndexConfig:
    """When to switch from exact to IVF search and how to search the IVF index.

    Defaults come from benchmarks/memory_bench.py on this project's 2-core machine class;
    they depend only on the number of vectors, never on the model or embedder.
    """

    exact_max: int = 10_000       # exact search up to this many vectors per user (~1-2 ms, one thread)
    nlist_per_sqrt: float = 4.0   # IVF lists = nlist_per_sqrt * sqrt(n)
    min_points_per_list: int = 39  # FAISS k-means wants >= 39 training points per centroid
    nprobe: int = 32              # lists visited per query
    retrain_growth: float = 2.0   # retrain the IVF once the user's vectors grow this much since training
    train_points_per_list: int = 40  # k-means sample: at most this many points per list (training cost)

    def nlist_for(self, n: int) -> int:
        return max(1, min(int(self.nlist_per_sqrt * math.sqrt(n)), n // self.min_points_per_list))

    def wants_ivf(self, n: int, current_kind: str | None) -> bool:
        if current_kind == "ivf":  # hysteresis: do not flip back and forth around the threshold
            return n > self.exact_max // 2
        return n > self.exact_max


class UserIndex:
    """One user's FAISS index plus the store state it reflects."""

    def __init__(self, index: faiss.Index, kind: str, dim: int, generation: int = 0, max_vec_id: int = 0,
                 trained_size: int = 0, nprobe: int = 32):
        self.index = index
        self.kind = kind
        self.dim = dim
        self.generation = generation
        self.max_vec_id = max_vec_id
        self.trained_size = trained_size
        self.nprobe = nprobe
        if kind == "ivf":
            faiss.extract_index_ivf(index).nprobe = nprobe

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    @classmethod
    def build(cls, vectors: np.ndarray, ids: np.ndarray, config: IndexConfig, dim: int, current_kind: str | None = None) -> "UserIndex":
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, dim)
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        n = len(ids)
        if config.wants_ivf(n, current_kind):
            nlist = config.nlist_for(n)
            quantizer = faiss.IndexFlatIP(dim)
            index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
            index.cp.seed = 1234
            sample = min(n, config.train_points_per_list * nlist)
            if sample < n:  # an evenly spread, deterministic sample keeps training time bounded
                index.train(vectors[np.linspace(0, n - 1, sample).astype(np.int64)])
            else:
                index.train(vectors)
            index.add_with_ids(vectors, ids)
            built = cls(index, "ivf", dim, trained_size=n, nprobe=config.nprobe)
        else:
            index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
            if n:
                index.add_with_ids(vectors, ids)
            built = cls(index, "flat", dim, trained_size=n, nprobe=config.nprobe)
        built.max_vec_id = int(ids.max()) if n else 0
        return built

    def needs_rebuild(self, n: int, config: IndexConfig) -> bool:
        wants = "ivf" if config.wants_ivf(n, self.kind) else "flat"
        if wants != self.kind:
            return True
        return self.kind == "ivf" and n > self.trained_size * config.retrain_growth

    def add(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        if len(ids):
            self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.dim),
                                    np.ascontiguousarray(ids, dtype=np.int64))
            self.max_vec_id = max(self.max_vec_id, int(np.max(ids)))

    def remove(self, ids: list[int] | np.ndarray) -> int:
        if len(ids) == 0:
            return 0
        return int(self.index.remove_ids(np.ascontiguousarray(ids, dtype=np.int64)))

    def search(self, queries: np.ndarray, k: int, allowed_ids: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(scores [m,k], ids [m,k]); missing slots have id -1. `allowed_ids` restricts the
        candidates (scope filters) inside FAISS, so filtering never shrinks the top k."""
        queries = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.dim)
        k = max(1, min(k, self.ntotal)) if self.ntotal else 1
        if self.ntotal == 0:
            return np.full((len(queries), k), -np.inf, np.float32), np.full((len(queries), k), -1, np.int64)
        with _single_thread(len(queries)):
            return self._search(queries, k, allowed_ids)

    def _search(self, queries: np.ndarray, k: int, allowed_ids: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        if allowed_ids is None:
            return self.index.search(queries, k)
        allowed = np.ascontiguousarray(allowed_ids, dtype=np.int64)
        selector = faiss.IDSelectorBatch(allowed)
        if self.kind == "ivf":
            params = faiss.SearchParametersIVF(sel=selector, nprobe=self.nprobe)
        else:
            params = faiss.SearchParameters(sel=selector)
        scores, ids = self.index.search(queries, k, params=params)
        del allowed  # the selector copied the ids; keep the array alive until here
        return scores, ids

    # -- persistence -------------------------------------------------------------------

    def to_bytes(self, embedder_name: str) -> bytes:
        payload = faiss.serialize_index(self.index).tobytes()
        header = json.dumps({
            "format": FORMAT_VERSION, "kind": self.kind, "dim": self.dim, "generation": self.generation,
            "max_vec_id": self.max_vec_id, "trained_size": self.trained_size, "count": self.ntotal,
            "embedder": embedder_name, "sha256": hashlib.sha256(payload).hexdigest(),
        }).encode("utf-8")
        return MAGIC + struct.pack("<Q", len(header)) + header + payload

    @classmethod
    def from_bytes(cls, blob: bytes, embedder_name: str, dim: int, nprobe: int) -> "UserIndex":
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
        if index.ntotal != header.get("count") or index.d != dim:
            raise IndexFileError("its vector count does not match its header")
        return cls(index, header["kind"], dim, generation=int(header["generation"]),
                   max_vec_id=int(header["max_vec_id"]), trained_size=int(header["trained_size"]), nprobe=nprobe)


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
