"""Fact-memory benchmark: writes benchmarks/results/memory_100k.json and memory_1m_synthetic.json.

Part `facts` (100,000 template-generated facts, real all-MiniLM-L6-v2 embeddings):
  - embedding throughput (the MiniLM cost, measured when the vectors are computed; cached
    as .npy under --cache so reruns skip it),
  - store throughput: FactMemory.add_many in batches of 1,000 with the embedder call
    answered from that cache (SQLite writes, duplicate/conflict checks, index upkeep),
  - end-to-end add throughput with the real embedder on --e2e extra facts,
  - search latency p50/p95 at k=5 through FactMemory.search_vector (query embedding
    excluded, as the target says; SQLite generation check and row fetch included), plus
    the full FactMemory.search (embedding included) for context,
  - recall@5 of the store's answers against exact (brute-force) search over all vectors,
  - an efSearch sweep and exact-search latency at several sizes (how the defaults were picked),
  - RSS and on-disk size.
Part `synthetic` (1,000,000 clustered random 384-d unit vectors): the large-index kind alone
(UserIndex, as the store builds it) - build time, search p50/p95, recall@5, memory.
Part `add` (end-to-end batched add, real MiniLM): the product's embedder against the
previous one (sentence-transformers `encode`, batch 64, torch's OpenMP threads) in the same
process, alternating old/new rounds (ABBA) on fresh facts, with the load average around
each round, plus the cosine between the two paths' vectors.

    nice .venv/bin/python benchmarks/memory_bench.py --part facts
    nice .venv/bin/python benchmarks/memory_bench.py --part synthetic
    .venv/bin/python benchmarks/memory_bench.py --part add --n 5000 --e2e 2000 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from memory_facts import embed_cached, generate_facts  # noqa: E402


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentiles(samples_s: list[float]) -> dict:
    ms = np.array(samples_s) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 4), "p95_ms": round(float(np.percentile(ms, 95)), 4),
            "mean_ms": round(float(ms.mean()), 4), "n": len(ms)}


def exact_top(matrix: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    out = []
    for start in range(0, len(queries), 256):
        scores = queries[start:start + 256] @ matrix.T
        top = np.argpartition(-scores, k, axis=1)[:, :k]
        order = np.take_along_axis(scores, top, 1).argsort(axis=1)[:, ::-1]
        out.append(np.take_along_axis(top, order, 1))
    return np.concatenate(out)


def recall(approx: list[set], exact: np.ndarray) -> float:
    return float(np.mean([len(a & set(e.tolist())) / len(e) for a, e in zip(approx, exact)]))


def machine() -> dict:
    import faiss

    return {"cpu_count": os.cpu_count(), "loadavg_at_start": os.getloadavg(), "python": platform.python_version(),
            "faiss": faiss.__version__, "faiss_omp_threads": faiss.omp_get_max_threads(), "platform": platform.platform(),
            "nice": os.nice(0)}


class CachedEmbedder:
    """Answers embed() from precomputed MiniLM vectors (same name/dim as the real one), so
    the store's own cost can be measured apart from the embedding cost."""

    def __init__(self, name: str, dim: int, texts: list[str], vectors: np.ndarray):
        self.name, self.dim = name, dim
        self._rows = {t: i for i, t in enumerate(texts)}
        self._vectors = vectors

    def embed(self, texts):
        return self._vectors[[self._rows[t] for t in texts]]


class LegacyEncodeEmbedder:
    """The product's MiniLM `embed` before the batched-add work (sentence-transformers
    `encode`, batch 64, on torch's process-wide OpenMP threads), sharing the loaded model:
    kept only so `--part add` can time old against new in one process."""

    def __init__(self, current):
        self.name, self.dim, self._current = current.name, current.dim, current

    def embed(self, texts):
        model = self._current._load()
        vectors = model.encode(list(texts), batch_size=64, convert_to_numpy=True, normalize_embeddings=True,
                               show_progress_bar=False)
        return np.ascontiguousarray(vectors, dtype=np.float32)


def part_add(args) -> dict:
    import torch

    from editmind.memory import FactMemory, MemoryConfig
    from editmind.memory.embedders import MiniLMEmbedder

    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    n, e2e, rounds, batch = args.n, args.e2e, args.rounds, 250
    facts = generate_facts(Path(args.data), n + 2 * rounds * e2e)
    new = MiniLMEmbedder()  # the product default
    old = LegacyEncodeEmbedder(new)
    paths = {"old": old, "new": new}
    sample = [f["text"] for f in facts[n:n + 500]]
    new_vectors, old_vectors = new.embed(sample), old.embed(sample)  # also warms both paths up
    cosines = (new_vectors * old_vectors).sum(axis=1)
    result: dict = {"benchmark": "memory_add_end_to_end", "machine": machine(), "torch": torch.__version__,
                    "torch_threads": torch.get_num_threads(), "embedder": new.name, "dim": new.dim,
                    "generator": "benchmarks/memory_facts.py (MQuAKE cloze templates x MQuAKE-hard entities)",
                    "old": "sentence-transformers SentenceTransformer.encode(batch_size=64, normalize_embeddings=True) on "
                           "torch's OpenMP threads (editmind.memory.embedders before this change)",
                    "new": "editmind.memory.embedders.SentenceTransformerEmbedder.embed: tokenised once, sorted by word "
                           "pieces, batches cut to their longest text, batches in parallel on one torch thread per core",
                    "same_vectors": {"texts": len(sample), "min_cosine_new_vs_old": round(float(cosines.min()), 7),
                                     "max_abs_diff": float(np.abs(new_vectors - old_vectors).max())}}
    home = Path(tempfile.mkdtemp(prefix="editmind-addbench-"))
    try:
        mem = FactMemory(home, embedder=new, config=MemoryConfig(), log=log)
        if n:
            texts = [f["text"] for f in facts[:n]]
            if args.vectors:
                vectors = np.load(args.vectors, allow_pickle=False)[:n]
                if len(vectors) < n:
                    raise SystemExit(f"--vectors has {len(vectors)} rows, --n needs {n}")
            else:
                vectors, _ = embed_cached(new, texts, Path(args.cache), "facts", log=log)
            mem.embedder = CachedEmbedder(new.name, new.dim, texts, vectors)
            for start in range(0, n, 1000):
                mem.add_many([{"text": t} for t in texts[start:start + 1000]], user_id="bench")
            mem.flush()
        runs = []
        cursor = n
        for round_ in range(rounds):
            for name in (("old", "new") if round_ % 2 == 0 else ("new", "old")):
                chunk = [{"text": f["text"]} for f in facts[cursor:cursor + e2e]]
                cursor += e2e
                mem.embedder = paths[name]
                load_before = os.getloadavg()
                cpu0, t0 = time.process_time(), time.perf_counter()
                events: dict[str, int] = {}
                for start in range(0, len(chunk), batch):
                    for r in mem.add_many(chunk[start:start + batch], user_id="bench"):
                        events[r.event] = events.get(r.event, 0) + 1
                seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
                runs.append({"path": name, "round": round_, "facts": len(chunk), "seconds": round(seconds, 2),
                             "facts_per_s": round(len(chunk) / seconds, 1), "process_cpu_s": round(cpu, 2),
                             "loadavg_before": [round(x, 2) for x in load_before],
                             "loadavg_after": [round(x, 2) for x in os.getloadavg()], "events": events,
                             "torch_threads_after": torch.get_num_threads()})
                log(f"round {round_} {name}: {runs[-1]['facts_per_s']} facts/s (load {load_before[0]:.1f})")
        result["store_facts_before"] = n
        result["batch"] = batch
        result["runs"] = runs
        summary = {}
        for name in paths:
            rates = [r["facts_per_s"] for r in runs if r["path"] == name]
            summary[name] = {"facts_per_s": rates, "median": round(float(np.median(rates)), 1), "min": min(rates),
                             "max": max(rates)}
        summary["new_over_old_per_round"] = [
            round(next(r["facts_per_s"] for r in runs if r["round"] == i and r["path"] == "new")
                  / next(r["facts_per_s"] for r in runs if r["round"] == i and r["path"] == "old"), 2)
            for i in range(rounds)]
        result["summary"] = summary
        result["targets"] = {"new_min_facts_per_s>=250": summary["new"]["min"] >= 250}
        mem.close()
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return result


def part_facts(args) -> dict:
    from editmind.memory import FactMemory, MemoryConfig
    from editmind.memory.embedders import MiniLMEmbedder
    from editmind.memory.index import UserIndex

    data = Path(args.data)
    cache = Path(args.cache)
    n = args.n
    facts = generate_facts(data, n + args.e2e)
    texts = [f["text"] for f in facts[:n]]
    real = MiniLMEmbedder()  # the product default (batch 64), which is what users get
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    if args.vectors:  # a saved prefix of the fact embeddings (rows = facts[:rows])
        vectors, embed_s = np.load(args.vectors, allow_pickle=False), 0.0
        n = min(n, len(vectors))
        vectors, texts = vectors[:n], texts[:n]
        facts = facts[:n] + facts[args.n:args.n + args.e2e]
    else:
        vectors, embed_s = embed_cached(real, texts, cache, "facts", log=log)
    queries_text = [f["question"] for f in facts[:2000]]
    qvecs, _ = embed_cached(real, queries_text, cache, "queries", log=log)
    qvecs = qvecs[: args.queries]
    result: dict = {"benchmark": "memory_facts", "n_facts": n, "machine": machine(), "embedder": real.name,
                    "dim": real.dim, "generator": "benchmarks/memory_facts.py (MQuAKE cloze templates x MQuAKE-hard entities)"}
    embed_log = cache / "embed_timing.json"
    if embed_s:
        embed_log.write_text(json.dumps({"n": n, "seconds": embed_s}))
    if embed_log.exists():
        timing = json.loads(embed_log.read_text())
        result["embedding"] = {"facts": timing["n"], "seconds": round(timing["seconds"], 1),
                               "facts_per_s": round(timing["n"] / timing["seconds"], 1),
                               "note": "MiniLM batch 128 on the shared 2-core machine, measured when the cache was built"}

    home = Path(tempfile.mkdtemp(prefix="editmind-membench-"))
    try:
        cached = CachedEmbedder(real.name, real.dim, texts, vectors)
        mem = FactMemory(home, embedder=cached, config=MemoryConfig(), log=log)
        rss_before = rss_mb()
        started = time.perf_counter()
        batch = 1000
        events: dict[str, int] = {}
        for start in range(0, n, batch):
            chunk = [{"text": f["text"], "metadata": {"relation_id": f["relation_id"]}} for f in facts[start:min(start + batch, n)]]
            for r in mem.add_many(chunk, user_id="bench"):
                events[r.event] = events.get(r.event, 0) + 1
            if (start // batch) % 10 == 9:
                log(f"stored {start + batch}/{n} ({(start + batch) / (time.perf_counter() - started):.0f}/s)")
        store_s = time.perf_counter() - started
        mem.flush()
        result["store_add"] = {"facts": n, "seconds": round(store_s, 2), "facts_per_s": round(n / store_s, 1),
                               "batch": batch, "events": events,
                               "note": "FactMemory.add_many with embeddings served from the cache: SQLite, rules, index upkeep"}
        index_info = mem.stats()["indexes"]["bench"]
        result["index"] = index_info | {"exact_max": mem.config.index.exact_max, "hnsw_m": mem.config.index.hnsw_m,
                                        "ef_construction": mem.config.index.ef_construction,
                                        "ef_search": mem.config.index.ef_search}

        # search latency (no query embedding): the store's full path
        for warm in qvecs[:20]:
            mem.search_vector(warm, "bench", k=5)
        lat, approx = [], []
        id_of = {t: i for i, t in enumerate(texts)}
        for q in qvecs:
            t0 = time.perf_counter()
            hits = mem.search_vector(q, "bench", k=5)
            lat.append(time.perf_counter() - t0)
            approx.append({id_of[h.text] for h in hits})
        exact = exact_top(vectors, qvecs, 5)
        result["search_k5"] = percentiles(lat) | {"recall_at_5_vs_exact": round(recall(approx, exact), 4),
                                                  "excludes": "query embedding"}

        # the raw index alone, and the nprobe sweep that picked the default
        index = mem._indexes["bench"]
        raw = []
        for q in qvecs:
            t0 = time.perf_counter()
            index.search(q[None, :], 5)
            raw.append(time.perf_counter() - t0)
        result["index_only_search_k5"] = percentiles(raw)
        sweep = []
        if index.kind == "hnsw":
            import faiss

            hnsw = faiss.downcast_index(index.index.index).hnsw
            for ef in (16, 32, 64, 128, 256):
                hnsw.efSearch = ef
                lat_p, got = [], []
                for q in qvecs:
                    t0 = time.perf_counter()
                    _, ids = index.search(q[None, :], 5)
                    lat_p.append(time.perf_counter() - t0)
                    got.append(set(ids[0].tolist()))
                # vec ids are assigned in insertion order starting at 1
                sweep.append({"ef_search": ef, "recall_at_5": round(recall([{i - 1 for i in g} for g in got], exact), 4)}
                             | percentiles(lat_p))
            hnsw.efSearch = mem.config.index.ef_search
        result["ef_search_sweep"] = sweep
        flat = []
        for size in [s for s in (5_000, 10_000, 20_000, 50_000) if s <= n]:
            sub = UserIndex.build(vectors[:size], np.arange(size), type(mem.config.index)(exact_max=10**9), real.dim)
            lat_f = []
            for q in qvecs[:300]:
                t0 = time.perf_counter()
                sub.search(q[None, :], 5)
                lat_f.append(time.perf_counter() - t0)
            flat.append({"vectors": size} | percentiles(lat_f))
        result["exact_search_by_size"] = flat

        # full search including the MiniLM query embedding, for context
        real_mem_lat = []
        mem.embedder = MiniLMEmbedder(threads=1)  # one torch thread: 7x faster per single query on the busy machine
        for text in queries_text[:100]:
            t0 = time.perf_counter()
            mem.search(text, "bench", k=5)
            real_mem_lat.append(time.perf_counter() - t0)
        result["search_k5_with_query_embedding"] = percentiles(real_mem_lat) | {"torch_threads": 1}
        mem.embedder = real

        # end-to-end add with the real embedder
        extra = [{"text": f["text"]} for f in facts[n:n + args.e2e]]
        t0 = time.perf_counter()
        for start in range(0, len(extra), 250):
            mem.add_many(extra[start:start + 250], user_id="bench")
        e2e_s = time.perf_counter() - t0
        result["add_end_to_end"] = {"facts": len(extra), "seconds": round(e2e_s, 2),
                                    "facts_per_s": round(len(extra) / e2e_s, 1), "batch": 250,
                                    "note": "real MiniLM embedding + store, on the shared machine"}

        t0 = time.perf_counter()
        mem.close()
        close_s = time.perf_counter() - t0
        sizes = {p.name: p.stat().st_size for p in (home / "memory").rglob("*") if p.is_file()}
        result["disk"] = {"total_mb": round(sum(sizes.values()) / 2**20, 1),
                          "sqlite_mb": round(sizes.get("facts.sqlite3", 0) / 2**20, 1),
                          "wal_mb": round(sizes.get("facts.sqlite3-wal", 0) / 2**20, 1),
                          "index_files_mb": round(sum(v for k, v in sizes.items() if k.endswith(".faiss")) / 2**20, 1)}
        t0 = time.perf_counter()
        mem2 = FactMemory(home, embedder=cached, log=log)
        mem2.search_vector(qvecs[0], "bench", k=5)
        result["reopen_and_first_search_s"] = round(time.perf_counter() - t0, 2)
        mem2.close()
        result["close_s"] = round(close_s, 2)
        result["rss_mb"] = {"before_store": round(rss_before, 1), "end": round(rss_mb(), 1), "peak": round(peak_rss_mb(), 1),
                            "note": "process RSS incl. torch + MiniLM (~0.5-0.9 GB) and the 100k x 384 float32 cache (147 MB)"}
    finally:
        shutil.rmtree(home, ignore_errors=True)
    t = result
    t["targets"] = {"search_p50_ms<=2": t["search_k5"]["p50_ms"] <= 2.0,
                    "recall_at_5>=0.95": t["search_k5"]["recall_at_5_vs_exact"] >= 0.95,
                    "add_end_to_end>=250/s": t["add_end_to_end"]["facts_per_s"] >= 250}
    return result


def part_synthetic(args) -> dict:
    from editmind.memory.index import IndexConfig, UserIndex

    at_start = machine()
    rng = np.random.default_rng(0)
    n, d, clusters = args.synthetic_n, 384, 2000
    rss0 = rss_mb()
    centers = rng.standard_normal((clusters, d)).astype(np.float32)
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)

    def sample(count: int) -> np.ndarray:
        out = centers[rng.integers(0, clusters, count)] + 0.06 * rng.standard_normal((count, d)).astype(np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    vectors = np.concatenate([sample(100_000) for _ in range(n // 100_000)])
    queries = sample(args.queries)
    config = IndexConfig()
    t0 = time.perf_counter()
    index = UserIndex.build(vectors, np.arange(n, dtype=np.int64), config, d)
    build_s = time.perf_counter() - t0
    rss_index = rss_mb()
    for q in queries[:20]:
        index.search(q[None, :], 5)
    lat, got = [], []
    for q in queries:
        t0 = time.perf_counter()
        _, ids = index.search(q[None, :], 5)
        lat.append(time.perf_counter() - t0)
        got.append(set(ids[0].tolist()))
    peak_searching = peak_rss_mb()  # before the brute-force recall and the file blob add their own copies
    exact = exact_top(vectors, queries, 5)
    blob_mb = len(index.to_bytes("synthetic")) / 2**20
    return {"benchmark": "memory_1m_synthetic", "machine": at_start, "vectors": n, "dim": d,
            "data": f"mixture of {clusters} gaussian clusters (sigma 0.06 per dim), L2-normalised; queries from the same mixture",
            "index": {"kind": index.kind, "exact_max": config.exact_max, "hnsw_m": config.hnsw_m,
                      "ef_construction": config.ef_construction, "ef_search": config.ef_search},
            "loadavg_after_build": [round(x, 2) for x in os.getloadavg()],
            "build_s": round(build_s, 1), "search_k5": percentiles(lat) | {"recall_at_5_vs_exact": round(recall(got, exact), 4)},
            "memory_mb": {"vectors_array": round(vectors.nbytes / 2**20, 1), "rss_before": round(rss0, 1),
                          "rss_with_index": round(rss_index, 1), "peak_rss_build_and_search": round(peak_searching, 1),
                          "peak_rss": round(peak_rss_mb(), 1), "index_file": round(blob_mb, 1),
                          "note": "rss_with_index holds the benchmark's own vectors array as well as the index; "
                                  "peak_rss adds the brute-force recall and UserIndex.to_bytes (the file blob)"}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["facts", "synthetic", "add"], required=True)
    parser.add_argument("--data", default=os.environ.get("EDITMIND_SHARED_DATA", str(ROOT.parent / "shared" / "data")))
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--e2e", type=int, default=1000, help="extra facts added end to end with the real embedder")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3, help="--part add: old/new rounds (ABBA order)")
    parser.add_argument("--synthetic-n", type=int, default=1_000_000)
    parser.add_argument("--cache", default="/tmp/editmind-memory-bench")
    parser.add_argument("--out", default=None)
    parser.add_argument("--vectors", default=None, help=".npy of MiniLM vectors for a prefix of the facts")
    args = parser.parse_args()
    result = {"facts": part_facts, "synthetic": part_synthetic, "add": part_add}[args.part](args)
    result["command"] = "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]])
    name = {"facts": "memory_100k.json", "synthetic": "memory_1m_synthetic.json", "add": "memory_add_e2e.json"}[args.part]
    if args.part == "facts" and result["n_facts"] != 100_000:
        name = f"memory_{result['n_facts']}.json"
    if args.part == "synthetic" and args.synthetic_n != 1_000_000:
        name = f"memory_{args.synthetic_n}_synthetic.json"
    out = Path(args.out) if args.out else ROOT / "benchmarks" / "results" / name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
