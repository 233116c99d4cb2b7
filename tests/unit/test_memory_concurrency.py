"""Two processes adding to the same new home at once lose nothing (real files, real locks)."""

from __future__ import annotations

import multiprocessing as mp

import pytest

from editmind.memory import FactMemory, HashEmbedder
from editmind.memory.validation import MAX_K


def _writer(home: str, name: str, count: int, start_event) -> None:
    start_event.wait()
    with FactMemory(home, embedder=HashEmbedder(64), log=lambda m: None) as mem:
        for i in range(0, count, 5):  # small batches interleave the two writers
            mem.add_many([f"{name} fact {j}" for j in range(i, i + 5)], user_id="shared")
            mem.add(f"{name} private {i}", user_id=name)
            mem.search(f"{name} fact {i}", user_id="shared", k=3)


@pytest.mark.slow  # ~30 s: each spawned process imports the stack
def test_two_processes_adding_at_once_lose_nothing(tmp_path):
    # the home is new: both processes also race to create the schema (migrations run once)
    ctx = mp.get_context("spawn")
    go = ctx.Event()
    workers = [ctx.Process(target=_writer, args=(str(tmp_path), name, 60, go)) for name in ("p1", "p2")]
    for worker in workers:
        worker.start()
    go.set()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    messages: list[str] = []
    with FactMemory(tmp_path, embedder=HashEmbedder(64), log=messages.append) as mem:
        texts = {f.text for f in mem.get_all("shared")}
        assert texts == {f"{p} fact {j}" for p in ("p1", "p2") for j in range(60)}
        assert len(mem.get_all("p1")) == 12 and len(mem.get_all("p2")) == 12
        hits = mem.search("p2 fact 17", user_id="shared", k=120)
        assert len(hits) == 120 and hits[0].text == "p2 fact 17"  # the index holds every vector
        assert mem.stats()["indexes"]["shared"]["vectors"] == 120
    assert messages == []  # the index files the two writers left are consistent: no rebuild needed


def _endless_writer(home: str) -> None:
    with FactMemory(home, embedder=HashEmbedder(64), log=lambda m: None) as mem:
        i = 0
        while True:
            mem.add_many([f"fact {i + j}" for j in range(20)], user_id="victim")
            mem.delete(mem.get_all("victim", limit=1)[0].id)
            i += 20


@pytest.mark.slow  # ~20 s: a spawned process is SIGKILLed mid-write
def test_killed_writer_leaves_a_store_that_opens(tmp_path):
    import os
    import signal
    import sqlite3
    import time

    ctx = mp.get_context("spawn")
    worker = ctx.Process(target=_endless_writer, args=(str(tmp_path),))
    worker.start()
    db = tmp_path / "memory" / "facts.sqlite3"
    deadline = time.time() + 120
    while time.time() < deadline:  # let it write for a while, then kill it without warning
        try:
            with sqlite3.connect(db, timeout=30) as conn:
                if conn.execute("SELECT COUNT(*) FROM facts").fetchone()[0] >= 400:
                    break
        except sqlite3.OperationalError:
            pass
        time.sleep(0.2)
    os.kill(worker.pid, signal.SIGKILL)
    worker.join(30)
    with FactMemory(tmp_path, embedder=HashEmbedder(64), log=lambda m: None) as mem:
        assert mem._conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        active = mem.get_all("victim")
        assert len(active) >= 300
        vectors = mem._conn.execute("SELECT COUNT(*) FROM vectors WHERE user_id = 'victim'").fetchone()[0]
        assert vectors == len(active)  # every committed fact has its vector, nothing half-written
        # every committed fact is searchable (a fast machine writes more than one search returns)
        k = min(len(active), MAX_K)
        hits = mem.search(active[-1].text, user_id="victim", k=k)
        assert len(hits) == k and hits[0].id == active[-1].id
        assert mem.add("after the crash", user_id="victim").event == "ADD"
