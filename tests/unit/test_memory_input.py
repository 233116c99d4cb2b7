"""Bad input gets one clear line (an EditmindError subclass) and writes nothing."""

from __future__ import annotations

import sqlite3

import pytest

from editmind.editors.errors import EditmindError
from editmind.memory import MAX_TEXT_CHARS, FactMemory, HashEmbedder, InvalidInputError


@pytest.fixture
def mem(tmp_path):
    memory = FactMemory(tmp_path, embedder=HashEmbedder(64), log=lambda m: None)
    memory.add("an existing fact", user_id="alice")
    yield memory
    memory.close()


def snapshot(mem: FactMemory) -> tuple:
    conn = sqlite3.connect(mem.db_path)
    try:
        return tuple(conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                     for t in ("facts", "vectors", "history", "removed_vectors"))
    finally:
        conn.close()


@pytest.mark.parametrize("text, message", [
    ("", "empty"), ("   \n\t ", "empty"), ("x" * (MAX_TEXT_CHARS + 1), "limit is 2000"),
    ("broken \udcff byte", "not valid UTF-8"), (b"raw \xff\xfe bytes", "not valid UTF-8"),
    ("nul \x00 inside", "control character"), (None, "must be a string"), (12, "must be a string"),
])
def test_bad_text_is_refused_and_nothing_is_written(mem, text, message):
    before = snapshot(mem)
    with pytest.raises(InvalidInputError, match=message) as info:
        mem.add(text, user_id="alice")
    assert "\n" not in str(info.value) and isinstance(info.value, EditmindError)
    assert snapshot(mem) == before


def test_text_at_the_limit_is_accepted(mem):
    assert mem.add("y" * MAX_TEXT_CHARS, user_id="alice").event == "ADD"


def test_one_bad_item_rejects_the_whole_batch(mem):
    before = snapshot(mem)
    with pytest.raises(InvalidInputError):
        mem.add_many(["fine one", "fine two", "", "fine three"], user_id="alice")
    assert snapshot(mem) == before


def test_failure_inside_the_transaction_rolls_back(mem, monkeypatch):
    before = snapshot(mem)
    calls = {"n": 0}
    original = type(mem)._history

    def failing_history(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise sqlite3.OperationalError("disk I/O error (simulated)")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(type(mem), "_history", failing_history)
    with pytest.raises(sqlite3.OperationalError):
        mem.add_many(["first new fact", "second new fact"], user_id="alice")
    monkeypatch.undo()
    assert snapshot(mem) == before
    assert [h.text for h in mem.search("new fact", user_id="alice", k=5)] == ["an existing fact"]


@pytest.mark.parametrize("kwargs, message", [
    ({"subject": "Paris"}, "both subject and relation"),
    ({"object": "Rome"}, "both subject and relation"),
    ({"metadata": "not a dict"}, "JSON object"),
    ({"metadata": {"x": object()}}, "JSON-serialisable"),
    ({"metadata": {"big": "z" * 20000}}, "limit is 16384"),
    ({"agent_id": ""}, "agent_id is empty"),
    ({"run_id": "r\n1"}, "control characters"),
])
def test_bad_fields(mem, kwargs, message):
    before = snapshot(mem)
    with pytest.raises(InvalidInputError, match=message):
        mem.add("a fact", user_id="alice", **kwargs)
    assert snapshot(mem) == before


@pytest.mark.parametrize("k", [0, -1, 1001, 2.5, True, "5"])
def test_bad_k(mem, k):
    with pytest.raises(InvalidInputError, match="k must be"):
        mem.search("fact", user_id="alice", k=k)


def test_bad_query(mem):
    with pytest.raises(InvalidInputError, match="query is empty"):
        mem.search("  ", user_id="alice")


def test_unknown_fact_fields(mem):
    with pytest.raises(InvalidInputError, match="unknown fact field"):
        mem.add({"text": "x", "colour": "red"}, user_id="alice")
    with pytest.raises(InvalidInputError, match="being added for"):
        mem.add({"text": "x", "user_id": "bob"}, user_id="alice")


def test_closed_memory_refuses(mem):
    mem.close()
    with pytest.raises(EditmindError, match="closed"):
        mem.get_all("alice")
