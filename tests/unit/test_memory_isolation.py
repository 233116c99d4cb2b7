"""Adversarial isolation: no user id, filter value or crafted input for one user ever
returns another user's facts."""

from __future__ import annotations

import pytest

from editmind.memory import FactMemory, HashEmbedder, InvalidInputError

CRAFTED_USERS = [
    "alice' OR '1'='1",
    "alice\" OR 1=1 --",
    "%", "_", "*", "alice%", "ali_e",
    "'; DROP TABLE facts; --",
    "\u0430lice",            # Cyrillic a: looks like "alice"
    "\uff41\uff4c\uff49\uff43\uff45",  # full-width "alice" (NFKC-equal to "alice")
    "alice\u200b",           # zero-width space
    "ALICE", "Alice",
    "alice/../bob", "../../etc/passwd",
    "a" * 256,
]


@pytest.fixture
def mem(tmp_path):
    memory = FactMemory(tmp_path, embedder=HashEmbedder(64), log=lambda m: None)
    memory.add("alice's secret diary entry about tea", user_id="alice", agent_id="a1", run_id="r1")
    memory.add("bob's secret diary entry about tea", user_id="bob")
    yield memory
    memory.close()


@pytest.mark.parametrize("user", CRAFTED_USERS)
def test_crafted_user_ids_see_nothing_of_others(mem, user):
    assert mem.search("secret diary entry about tea", user_id=user, k=50) == []
    assert mem.get_all(user, include_inactive=True) == []
    assert mem.count(user) == 0
    mem.add(f"own fact of {user}", user_id=user)  # the crafted id is an ordinary, separate user
    hits = mem.search("secret diary entry about tea", user_id=user, k=50)
    assert [h.fact.user_id for h in hits] == [user]
    assert [h.text for h in mem.search("tea", user_id="alice", k=50)] == ["alice's secret diary entry about tea"]
    assert mem.delete_all(user) == 1 and mem.count("alice") == 1 and mem.count("bob") == 1


@pytest.mark.parametrize("filters", [
    {"agent_id": "a1' OR '1'='1"}, {"run_id": "%"}, {"source": "user' OR 1=1 --"},
    {"metadata": {"x": "1' OR '1'='1"}}, {"subject": "*"},
])
def test_crafted_filter_values_match_nothing(mem, filters):
    assert mem.search("tea", user_id="alice", k=10, filters=filters) == []


def test_filters_cannot_switch_user(mem):
    with pytest.raises(InvalidInputError, match="user_id"):
        mem.search("tea", user_id="alice", filters={"user_id": "bob"})
    with pytest.raises(InvalidInputError, match="metadata filter key"):
        mem.search("tea", user_id="alice", filters={"metadata": {"x') OR 1=1 --": 1}})


@pytest.mark.parametrize("bad", ["", " ", " alice", "alice ", "ali\nce", "ali\x00ce", "a" * 257, None, 42, "\ud800"])
def test_bad_user_ids_are_clear_errors(mem, bad):
    with pytest.raises(InvalidInputError) as info:
        mem.search("tea", user_id=bad)
    assert "\n" not in str(info.value)
    with pytest.raises(InvalidInputError):
        mem.add("some fact", user_id=bad)
    assert mem.count() == 2


def test_fact_ids_of_other_users_are_reachable_only_by_id(mem):
    # fact ids are unguessable uuids; a filter or query never widens to another user's id
    bob = mem.get_all("bob")[0]
    assert bob.id not in {h.id for h in mem.search(bob.text, user_id="alice", k=50)}
