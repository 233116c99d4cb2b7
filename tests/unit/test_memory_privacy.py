"""Delete and redact really erase: the tests open the raw SQLite, WAL, SHM and FAISS
files and look for the secret (as text, case-folded, and as its embedding's bytes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from editmind.memory import FactMemory, HashEmbedder, IndexConfig, MemoryConfig

SECRET = "Zq7-Kestrel-Passphrase-4471"


def raw_files(home: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (home / "memory").rglob("*") if p.is_file()}


def leaks(home: Path, needles: list[bytes]) -> list[str]:
    found = []
    for name, blob in raw_files(home).items():
        for needle in needles:
            if needle in blob or needle.lower() in blob.lower():
                found.append(f"{name}: {needle[:30]!r}")
    return found


def stored_vector(mem: FactMemory, fact_id: str) -> bytes:
    """The exact float32 bytes the store holds for the fact (as SQLite blob and in FAISS)."""
    blob = mem._conn.execute("SELECT vector FROM vectors WHERE fact_id = ?", (fact_id,)).fetchone()[0]
    assert len(blob) == 4 * mem.embedder.dim
    return bytes(blob)


def fill(mem: FactMemory, n: int = 60) -> None:
    mem.add_many([f"ordinary fact number {i} about the weather" for i in range(n)], user_id="alice")
    mem.add_many([f"bob fact {i}" for i in range(10)], user_id="bob")


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
@pytest.mark.parametrize("how", ["redact", "delete"])
def test_erased_secret_is_nowhere_on_disk(tmp_path, how, kind):
    embedder = HashEmbedder(64)
    config = MemoryConfig(index=IndexConfig(exact_max=10_000 if kind == "flat" else 20))
    mem = FactMemory(tmp_path, embedder=embedder, log=lambda m: None, config=config)
    fill(mem)
    first_text = f"My bank passphrase is {SECRET} (old)"
    text = f"My bank passphrase is {SECRET}"
    fact = mem.add(first_text, user_id="alice", subject="my bank", relation="{} passphrase is", object=SECRET,
                   metadata={"edit_id": "e1"}).fact
    first_vector = stored_vector(mem, fact.id)
    mem.update(fact.id, text=text)  # the history now holds the secret twice
    mem.flush()
    needles = [SECRET.encode(), text.encode(), first_text.encode(), first_vector, stored_vector(mem, fact.id)]
    assert len(leaks(tmp_path, needles)) >= 3  # the check sees text and vector before erasure
    assert any(f.startswith(".faiss") or ".faiss" in f for f in leaks(tmp_path, needles[-1:]))
    getattr(mem, how)(fact.id)
    assert leaks(tmp_path, needles) == []
    erased = mem.get(fact.id)
    assert erased.text == "" and erased.object is None and erased.status == ("redacted" if how == "redact" else "deleted")
    assert all(e.old_text is None and e.new_text is None for e in mem.history(fact.id))
    assert (tmp_path / "memory" / "facts.sqlite3-wal").stat().st_size == 0  # WAL truncated
    assert len(mem.get_all("alice")) == 60 and len(mem.get_all("bob")) == 10  # nothing else lost
    assert mem.stats()["indexes"]["alice"]["kind"] == kind
    mem.close()
    assert leaks(tmp_path, needles) == []


def test_redact_removes_metadata_too(tmp_path):
    mem = FactMemory(tmp_path, embedder=HashEmbedder(64), log=lambda m: None)
    fill(mem, 10)
    fact = mem.add(f"The code is {SECRET}", user_id="alice", metadata={"raw": SECRET}).fact
    mem.redact(fact.id)
    assert mem.get(fact.id).metadata == {}
    assert leaks(tmp_path, [SECRET.encode()]) == []
    mem.close()
    assert leaks(tmp_path, [SECRET.encode()]) == []


def test_stale_process_cannot_write_the_vector_back(tmp_path):
    """Another FactMemory (as another process would) still holds the secret's vector in
    its in-memory index; when it writes its index file it must catch up first."""
    embedder = HashEmbedder(64)
    other = FactMemory(tmp_path, embedder=embedder, log=lambda m: None)
    mine = FactMemory(tmp_path, embedder=embedder, log=lambda m: None)
    fill(mine, 10)
    text = f"My PIN is {SECRET}"
    fact = mine.add(text, user_id="alice").fact
    needles = [text.encode(), SECRET.encode(), stored_vector(mine, fact.id)]
    assert other.search(text, user_id="alice", k=1)[0].id == fact.id  # `other` has loaded the vector
    other._last_save.clear()  # force it to write its index on close
    mine.redact(fact.id)
    other.close()
    mine.close()
    assert leaks(tmp_path, needles) == []
    with FactMemory(tmp_path, embedder=embedder, log=lambda m: None) as again:
        assert fact.id not in [h.id for h in again.search(text, user_id="alice", k=20)]


def test_delete_all_erases_every_text_of_the_user(tmp_path):
    mem = FactMemory(tmp_path, embedder=HashEmbedder(64), log=lambda m: None)
    mem.add_many([f"alice secret {SECRET} number {i}" for i in range(5)], user_id="alice")
    mem.add("bob keeps this", user_id="bob")
    assert mem.delete_all("alice") == 5
    mem.close()
    assert leaks(tmp_path, [SECRET.encode()]) == []
    with FactMemory(tmp_path, embedder=HashEmbedder(64)) as again:
        assert [f.text for f in again.get_all("bob")] == ["bob keeps this"]
