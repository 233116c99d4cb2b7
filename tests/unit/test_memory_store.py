"""FactMemory on real SQLite + FAISS files (hashing embedder for speed): the Mem0-shaped
API, conflict and duplicate rules, scopes, persistence and index rebuilds."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from editmind.memory import (
    EmbedderMismatchError,
    FactMemory,
    FactNotFoundError,
    HashEmbedder,
    IndexConfig,
    InvalidInputError,
    MemoryConfig,
)
from editmind.memory.schema import SCHEMA_VERSION

EIFFEL = dict(subject="Eiffel Tower", relation="{} is located in")


@pytest.fixture
def messages():
    return []


@pytest.fixture
def mem(tmp_path, messages):
    memory = FactMemory(tmp_path, embedder=HashEmbedder(64), log=messages.append)
    yield memory
    memory.close()


def reopen(tmp_path, messages=None, **kwargs) -> FactMemory:
    return FactMemory(tmp_path, embedder=kwargs.pop("embedder", HashEmbedder(64)),
                      log=(messages.append if messages is not None else lambda m: None), **kwargs)


def test_add_search_get_roundtrip(mem):
    added = mem.add("Alice's sister lives in Lyon", user_id="alice", source="chat", metadata={"turn": 3})
    mem.add("Alice plays the cello", user_id="alice")
    mem.add("Bob's sister lives in Lyon", user_id="bob")
    assert added.event == "ADD" and added.fact.status == "active"
    hits = mem.search("Alice sister lives in", user_id="alice", k=5)
    assert hits[0].id == added.fact.id and hits[0].text == "Alice's sister lives in Lyon"
    assert all(h.fact.user_id == "alice" for h in hits) and len(hits) == 2
    assert hits[0].score >= hits[1].score and -1.0 <= hits[1].score <= 1.0
    fact = mem.get(added.fact.id)
    assert fact.metadata == {"turn": 3} and fact.source == "chat" and fact.created_at
    assert [f.text for f in mem.get_all("alice")] == ["Alice's sister lives in Lyon", "Alice plays the cello"]


def test_same_subject_relation_supersedes_and_keeps_history(mem):
    old = mem.add("The Eiffel Tower is in Paris", user_id="alice", object="Paris", **EIFFEL).fact
    result = mem.add("The Eiffel Tower is in Rome", user_id="alice", object="Rome", **EIFFEL)
    assert result.event == "SUPERSEDE" and [f.id for f in result.superseded] == [old.id]
    assert mem.get(old.id).status == "superseded"
    hits = mem.search("The Eiffel Tower is in Paris", user_id="alice", k=5)
    assert [h.id for h in hits] == [result.fact.id]  # the superseded fact is never returned as current
    assert [f.id for f in mem.get_all("alice")] == [result.fact.id]
    assert {f.id for f in mem.get_all("alice", include_inactive=True)} == {old.id, result.fact.id}
    events = [e.event for e in mem.history(old.id)]
    assert events == ["ADD", "SUPERSEDED"] and mem.history(old.id)[1].details["superseded_by"] == result.fact.id
    assert mem.history(result.fact.id)[0].details["supersedes"] == [old.id]
    # normalisation: case, spacing and trailing punctuation of subject/relation do not matter
    again = mem.add("It is in Berlin now", user_id="alice", subject="eiffel  TOWER", relation="{} is located in.", object="Berlin")
    assert again.event == "SUPERSEDE" and [f.id for f in again.superseded] == [result.fact.id]


def test_supersede_is_per_user(mem):
    a = mem.add("The Eiffel Tower is in Paris", user_id="alice", object="Paris", **EIFFEL).fact
    b = mem.add("The Eiffel Tower is in Rome", user_id="bob", object="Rome", **EIFFEL)
    assert b.event == "ADD" and mem.get(a.id).status == "active"


def test_replaces_supersedes_named_facts_in_the_same_transaction(mem):
    shop = mem.add("Our shop is on Tanner Street.", user_id="alice").fact
    home = mem.add("We live in Thornbury.", user_id="alice").fact
    other = mem.add("My shop is in Leeds.", user_id="bob").fact
    moved = mem.add("We relocated the shop to Mercer Row.", user_id="alice", replaces=[shop.id])
    assert moved.event == "SUPERSEDE" and [f.id for f in moved.superseded] == [shop.id]
    assert mem.get(shop.id).status == "superseded" and mem.get(home.id).status == "active"
    assert mem.history(shop.id)[-1].details["superseded_by"] == moved.fact.id
    # another user's fact cannot be replaced, and the failed add writes nothing
    with pytest.raises(InvalidInputError, match="not one of 'alice'"):
        mem.add("Our shop is on Mill Lane.", user_id="alice", replaces=[other.id])
    assert mem.get(other.id).status == "active"
    assert sorted(f.text for f in mem.get_all("alice")) == ["We live in Thornbury.", "We relocated the shop to Mercer Row."]


def test_duplicates_are_noops(mem):
    first = mem.add("The Eiffel Tower is in Rome", user_id="alice", object="Rome", **EIFFEL).fact
    same_text = mem.add("  the eiffel tower is in ROME. ", user_id="alice")
    assert same_text.event == "NOOP" and same_text.fact.id == first.id
    same_triple = mem.add("The Eiffel Tower is in Rome!", user_id="alice", object="rome", **EIFFEL)
    assert same_triple.event == "NOOP" and same_triple.fact.id == first.id
    assert len(mem.get_all("alice")) == 1 and len(mem.history(first.id)) == 1


def test_same_triple_with_different_meaning_is_not_a_duplicate(tmp_path):
    # same triple, low cosine -> the new wording replaces the old one (supersede), never dropped
    with reopen(tmp_path, config=MemoryConfig(duplicate_cosine=0.99)) as mem:
        first = mem.add("The Eiffel Tower is in Rome", user_id="alice", object="Rome", **EIFFEL).fact
        second = mem.add("Since 2030 the tower stands next to the Colosseum", user_id="alice", object="Rome", **EIFFEL)
        assert second.event == "SUPERSEDE" and mem.get(first.id).status == "superseded"


def test_similar_text_without_triple_is_not_merged(mem):
    mem.add("The Eiffel Tower is in Paris", user_id="alice")
    result = mem.add("The Eiffel Tower is in Rome", user_id="alice")
    assert result.event == "ADD" and len(mem.get_all("alice")) == 2


def test_scopes_filter_search_and_listing(mem):
    mem.add("likes green tea", user_id="alice", agent_id="cook", run_id="r1")
    mem.add("likes black tea", user_id="alice", agent_id="cook", run_id="r2")
    mem.add("likes herbal tea", user_id="alice", agent_id="travel")
    assert {f.text for f in mem.get_all("alice", agent_id="cook")} == {"likes green tea", "likes black tea"}
    assert [f.text for f in mem.get_all("alice", run_id="r2")] == ["likes black tea"]
    hits = mem.search("tea", user_id="alice", k=5, agent_id="cook", run_id="r1")
    assert [h.text for h in hits] == ["likes green tea"]
    hits = mem.search("tea", user_id="alice", k=5, filters={"agent_id": "travel"})
    assert [h.text for h in hits] == ["likes herbal tea"]
    # the same text in another scope is its own fact, not a duplicate
    assert mem.add("likes green tea", user_id="alice", agent_id="travel").event == "ADD"


def test_metadata_and_field_filters(mem):
    mem.add("fact one", user_id="alice", metadata={"edit_id": "e1", "lasting": True})
    mem.add("fact two", user_id="alice", metadata={"edit_id": "e2"}, source="correction")
    assert [h.text for h in mem.search("fact", user_id="alice", filters={"metadata": {"edit_id": "e2"}})] == ["fact two"]
    assert [h.text for h in mem.search("fact", user_id="alice", filters={"metadata": {"lasting": True}})] == ["fact one"]
    assert [h.text for h in mem.search("fact", user_id="alice", filters={"source": "correction"})] == ["fact two"]
    with pytest.raises(InvalidInputError, match="unknown filter"):
        mem.search("fact", user_id="alice", filters={"colour": "red"})


def test_update_reembeds_and_records_history(mem):
    fact = mem.add("Alice lives in Lyon", user_id="alice").fact
    updated = mem.update(fact.id, text="Alice lives in Marseille", metadata={"checked": True})
    assert updated.text == "Alice lives in Marseille" and updated.metadata == {"checked": True}
    assert mem.search("Marseille", user_id="alice", k=1)[0].id == fact.id
    assert mem.search("Alice lives in Marseille", user_id="alice", k=1)[0].score == pytest.approx(1.0, abs=1e-5)
    assert mem.search("Alice lives in Lyon", user_id="alice", k=1)[0].score < 0.9  # the old vector is gone
    [add, update] = mem.history(fact.id)
    assert (update.event, update.old_text, update.new_text) == ("UPDATE", "Alice lives in Lyon", "Alice lives in Marseille")
    with pytest.raises(InvalidInputError, match="cannot update"):
        mem.update(fact.id, user_id="bob")


def test_update_into_a_conflict_supersedes_the_other(mem):
    paris = mem.add("The Eiffel Tower is in Paris", user_id="alice", object="Paris", **EIFFEL).fact
    other = mem.add("The tower is somewhere", user_id="alice").fact
    mem.update(other.id, object="Rome", **EIFFEL)
    assert mem.get(paris.id).status == "superseded" and mem.get(other.id).status == "active"


def test_delete_removes_text_vector_and_search_hit(mem):
    fact = mem.add("Alice's PIN is 4711", user_id="alice", subject="Alice", relation="{}'s PIN is", object="4711",
                   metadata={"edit_id": "e9"}).fact
    keep = mem.add("Alice likes tea", user_id="alice").fact
    deleted = mem.delete(fact.id)
    assert deleted.status == "deleted" and deleted.text == "" and deleted.object is None
    assert deleted.metadata == {"edit_id": "e9"}  # delete keeps metadata (links to edits); redact does not
    assert [h.id for h in mem.search("Alice's PIN is 4711", user_id="alice", k=5)] == [keep.id]
    assert all(e.old_text is None and e.new_text is None for e in mem.history(fact.id))
    assert mem.history(fact.id)[-1].event == "DELETE"
    assert mem.delete(fact.id).status == "deleted"  # idempotent
    assert mem.delete_all("alice") == 1 and mem.get_all("alice") == []
    assert mem.search("tea", user_id="alice") == []


def test_persistence_across_reopen(tmp_path):
    with reopen(tmp_path) as mem:
        ids = [r.fact.id for r in mem.add_many(["fact a", "fact b", {"text": "fact c", "metadata": {"x": 1}}], user_id="u")]
    with reopen(tmp_path) as mem:
        assert [f.id for f in mem.get_all("u")] == ids
        assert mem.search("fact c", user_id="u", k=1)[0].id == ids[2]


def test_store_is_wal_with_numbered_migrations(mem):
    conn = sqlite3.connect(mem.db_path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 1
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_newer_schema_is_refused(tmp_path):
    reopen(tmp_path).close()
    conn = sqlite3.connect(tmp_path / "memory" / "facts.sqlite3")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(Exception, match="newer than this editmind"):
        reopen(tmp_path)


def _index_files(tmp_path):
    return sorted((tmp_path / "memory" / "index").glob("*.faiss"))


@pytest.mark.parametrize("damage", ["missing", "corrupt", "truncated", "stale"])
def test_index_is_rebuilt_from_sqlite(tmp_path, damage):
    with reopen(tmp_path) as mem:
        ids = [r.fact.id for r in mem.add_many([f"fact number {i}" for i in range(30)], user_id="u")]
    [path] = _index_files(tmp_path)
    stale_copy = path.read_bytes()
    if damage == "stale":  # an index file from before the last change (e.g. a crash before saving)
        with reopen(tmp_path) as mem:
            mem.delete(ids[0])
            mem.add("fact number 99", user_id="u")
        path.write_bytes(stale_copy)
    elif damage == "missing":
        path.unlink()
    elif damage == "corrupt":
        blob = bytearray(stale_copy)
        blob[-100:] = b"\x00" * 100
        path.write_bytes(bytes(blob))
    else:
        path.write_bytes(stale_copy[: len(stale_copy) // 2])
    messages: list[str] = []
    with reopen(tmp_path, messages) as mem:
        hits = mem.search("fact number 7", user_id="u", k=3)
        assert hits[0].text == "fact number 7"
        expected = 30 if damage != "stale" else 30
        assert mem.stats()["indexes"]["u"]["vectors"] == expected
        if damage == "stale":
            assert ids[0] not in {h.id for h in mem.search("fact number 0", user_id="u", k=30)}
            assert len(messages) == 1 and "brought it up to date from SQLite" in messages[0]
        else:
            assert len(messages) == 1 and "rebuilding it from SQLite" in messages[0]


def test_embedder_mismatch_is_refused_until_reindex(tmp_path):
    with reopen(tmp_path) as mem:
        fact = mem.add("Alice lives in Lyon", user_id="alice").fact
    with reopen(tmp_path, embedder=HashEmbedder(32)) as mem:
        assert mem.get(fact.id).text == "Alice lives in Lyon"  # reading needs no vectors
        with pytest.raises(EmbedderMismatchError, match="editmind memory reindex"):
            mem.search("Lyon", user_id="alice")
        with pytest.raises(EmbedderMismatchError):
            mem.add("Alice likes tea", user_id="alice")
        assert mem.reindex() == 1
        assert mem.search("Lyon", user_id="alice", k=1)[0].id == fact.id
    with reopen(tmp_path) as mem:  # now the old embedder is the foreign one
        with pytest.raises(EmbedderMismatchError):
            mem.search("Lyon", user_id="alice")


def test_index_kind_follows_size(tmp_path):
    config = MemoryConfig(index=IndexConfig(exact_max=200))
    rng = np.random.default_rng(0)
    with reopen(tmp_path, config=config) as mem:
        mem.add_many([f"item {i} {rng.integers(1_000_000)}" for i in range(150)], user_id="u")
        assert mem.stats()["indexes"]["u"]["kind"] == "flat"
        mem.add_many([f"item {i} {rng.integers(1_000_000)}" for i in range(150, 400)], user_id="u")
        assert mem.stats()["indexes"]["u"] == {"kind": "hnsw", "vectors": 400}
        top = mem.search("item 17", user_id="u", k=5)
        assert len(top) == 5
        for hit in top[:2]:  # HNSW removal: tombstones, excluded from every search
            mem.delete(hit.id)
        after = mem.search("item 17", user_id="u", k=5)
        assert len(after) == 5 and not {h.id for h in top[:2]} & {h.id for h in after}
    with reopen(tmp_path, config=config) as mem:  # the HNSW index and its tombstones round-trip through the file
        assert [h.id for h in mem.search("item 17", user_id="u", k=5)] == [h.id for h in after]
        assert mem.stats()["indexes"]["u"] == {"kind": "hnsw", "vectors": 398}
        doomed = [f.id for f in mem.get_all("u")[:60]]  # past purge_fraction: rebuilt without tombstones
        for fact_id in doomed:
            mem.delete(fact_id)
        index = mem._indexes["u"]
        assert index.kind == "hnsw" and len(index.tombstones) <= 0.1 * index.index.ntotal and index.ntotal == 338


def test_index_file_is_not_a_pickle(mem, tmp_path):
    mem.add("fact", user_id="u")
    mem.flush()
    [path] = _index_files(tmp_path)
    assert path.read_bytes().startswith(b"EMIDX1\n")


def test_unknown_ids_are_one_line_errors(mem):
    for call in (mem.get, mem.delete, mem.redact, mem.history, lambda i: mem.update(i, text="x")):
        with pytest.raises(FactNotFoundError, match="no fact with id") as info:
            call("0123456789abcdef")
        assert "\n" not in str(info.value)


@pytest.mark.parametrize("exact_max", [10_000, 100])  # flat and HNSW indexes
def test_large_filtered_searches_use_the_faiss_selector(tmp_path, monkeypatch, exact_max):
    import editmind.memory.store as store

    monkeypatch.setattr(store, "EXACT_FILTERED_MAX", 10)  # force the in-FAISS filter path
    config = MemoryConfig(index=IndexConfig(exact_max=exact_max))
    with reopen(tmp_path, config=config) as mem:
        mem.add_many([f"note {i} about tea" for i in range(120)], user_id="u", agent_id="a")
        mem.add_many([f"note {i} about tea" for i in range(120)], user_id="u", agent_id="b")
        hits = mem.search("note 7 about tea", user_id="u", k=5, agent_id="b")
        assert len(hits) == 5 and all(h.fact.agent_id == "b" for h in hits)
        assert hits[0].text == "note 7 about tea"
        assert mem.stats()["indexes"]["u"]["kind"] == ("hnsw" if exact_max == 100 else "flat")
