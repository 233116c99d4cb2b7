"""Template-generated facts for the memory benchmark (and threshold tuning).

Entities come from the MQuAKE-hard edit cases (subjects and answers), relations from the
MQuAKE cloze templates (`[X] was born in the city of __`), so the sentences look like the
facts a user states. Every (subject, relation) pair gets at most `objects_per_pair`
different objects, which makes the store hard for retrieval: many facts differ only in
their object.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import numpy as np


def load_entities(data: Path) -> tuple[list[str], list[str], dict[str, list[str]]]:
    """(all entities, all answers, answers seen per relation id) from MQuAKE-hard."""
    cases = json.loads((data / "mquake" / "mquake_hard_dev.json").read_text())
    subjects: set[str] = set()
    objects: set[str] = set()
    by_relation: dict[str, set[str]] = {}
    for case in cases:
        for rewrite in case["requested_rewrite"]:
            subjects.add(rewrite["subject"])
            for target in (rewrite["target_new"]["str"], rewrite["target_true"]["str"]):
                objects.add(target)
                by_relation.setdefault(rewrite["relation_id"], set()).add(target)
        for hop in case.get("single_hops", []) + case.get("new_single_hops", []):
            objects.add(hop["answer"])
    entities = sorted(subjects | objects)
    return entities, sorted(objects), {rel: sorted(values) for rel, values in by_relation.items()}


def load_templates(data: Path) -> dict[str, tuple[str, str]]:
    """relation id -> (cloze statement template, question template), both with [X]."""
    cloze = json.loads((data / "mquake" / "cloze_templates.json").read_text())
    questions = json.loads((data / "mquake" / "question_templates.json").read_text())
    return {rel: (cloze[rel], questions[rel]) for rel in sorted(cloze) if rel in questions}


def generate_facts(data: Path, n: int, seed: int = 0, objects_per_pair: int = 3) -> list[dict]:
    """n distinct facts: {text, subject, relation, object, relation_id, question}."""
    entities, objects, by_relation = load_entities(data)
    templates = load_templates(data)
    rng = random.Random(seed)
    pairs = [(s, r) for s in entities for r in templates]
    rng.shuffle(pairs)
    facts: list[dict] = []
    seen: set[str] = set()
    for round_ in range(objects_per_pair):
        for subject, rel in pairs:
            if len(facts) >= n:
                return facts
            pool = by_relation.get(rel, [])
            obj = rng.choice(pool if len(pool) >= 8 else objects)  # type-consistent objects where MQuAKE has enough
            cloze, question = templates[rel]
            text = cloze.replace("[X]", subject).replace("__", obj).strip() + "."
            if obj == subject or text in seen:
                continue
            seen.add(text)
            facts.append({"text": text, "subject": subject, "relation": cloze.replace("[X]", "{}").replace(" __", "").strip(),
                          "object": obj, "relation_id": rel, "question": question.replace("[X]", subject)})
    if len(facts) < n:
        raise ValueError(f"only {len(facts)} distinct facts can be generated; raise objects_per_pair")
    return facts


def embed_cached(embedder, texts: list[str], cache_dir: Path, tag: str, batch: int = 2048, log=print) -> tuple[np.ndarray, float]:
    """Embed `texts`, caching the result as .npy (no pickle) keyed by a hash of the texts.

    Returns (vectors, seconds spent embedding now; 0.0 when read from the cache)."""
    import time

    key = hashlib.sha256(("\n".join(texts) + embedder.name).encode("utf-8")).hexdigest()[:16]
    path = cache_dir / f"{tag}-{key}.npy"
    if path.exists():
        return np.load(path, allow_pickle=False), 0.0
    cache_dir.mkdir(parents=True, exist_ok=True)
    parts = []
    started = time.perf_counter()
    for start in range(0, len(texts), batch):
        parts.append(embedder.embed(texts[start:start + batch]))
        done = start + len(parts[-1])
        elapsed = time.perf_counter() - started
        log(f"embedded {done}/{len(texts)} {tag} ({done / elapsed:.0f}/s)")
    seconds = time.perf_counter() - started
    vectors = np.concatenate(parts).astype(np.float32)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, vectors, allow_pickle=False)
    tmp.replace(path)
    return vectors, seconds


if __name__ == "__main__":
    import argparse
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    parser = argparse.ArgumentParser(description="pre-embed the benchmark facts into the cache")
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--cache", default="/tmp/editmind-memory-bench")
    args = parser.parse_args()
    from editmind.memory.embedders import MiniLMEmbedder

    facts = generate_facts(Path(args.data), args.n)
    embedder = MiniLMEmbedder(batch_size=128)
    q, qs = embed_cached(embedder, [f["question"] for f in facts[:2000]], Path(args.cache), "queries")
    print(f"queries: {qs:.1f}s", flush=True)
    v, s = embed_cached(embedder, [f["text"] for f in facts], Path(args.cache), "facts", log=lambda m: print(m, flush=True))
    print(json.dumps({"n": len(facts), "seconds": s, "per_s": len(facts) / s if s else None}), flush=True)
