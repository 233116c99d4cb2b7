"""`editmind memory ...` end to end: in-process for speed (hashing embedder), plus one
subprocess run that feeds undecodable bytes through argv like a real shell would."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from editmind.apps.cli import main


@pytest.fixture
def cli(tmp_path, capsys):
    def run(*args: str) -> tuple[int, str, str]:
        code = main(["--home", str(tmp_path), "memory", *args[:1], "--embedder", "hash", *args[1:]])
        out, err = capsys.readouterr()
        return code, out, err
    return run


def test_add_search_list_history_delete_json(cli):
    code, out, _ = cli("add", "The Eiffel Tower is in Paris", "--user", "alice", "--subject", "Eiffel Tower",
                       "--relation", "{} is located in", "--object", "Paris", "--json")
    assert code == 0
    first = json.loads(out)
    assert first["event"] == "ADD" and first["fact"]["user_id"] == "alice"
    code, out, _ = cli("add", "The Eiffel Tower is in Rome", "--user", "alice", "--subject", "Eiffel Tower",
                       "--relation", "{} is located in", "--object", "Rome", "--json")
    second = json.loads(out)
    assert second["event"] == "SUPERSEDE" and second["superseded"][0]["id"] == first["fact"]["id"]
    code, out, _ = cli("search", "Eiffel Tower located", "--user", "alice", "--k", "3", "--json")
    hits = json.loads(out)
    assert [h["id"] for h in hits] == [second["fact"]["id"]] and {"id", "text", "score"} <= set(hits[0])
    code, out, _ = cli("list", "--user", "alice", "--all", "--json")
    assert [f["status"] for f in json.loads(out)] == ["superseded", "active"]
    code, out, _ = cli("history", first["fact"]["id"], "--json")
    assert [e["event"] for e in json.loads(out)] == ["ADD", "SUPERSEDED"]
    code, out, _ = cli("redact", second["fact"]["id"], "--json")
    assert json.loads(out)["status"] == "redacted"
    code, out, _ = cli("search", "Eiffel Tower", "--user", "alice", "--json")
    assert json.loads(out) == []
    code, out, _ = cli("delete", first["fact"]["id"])
    assert code == 0 and "deleted" in out
    code, out, _ = cli("stats", "--json")
    assert json.loads(out)["facts"] == {"deleted": 1, "redacted": 1}


def test_plain_output_and_other_users(cli):
    assert cli("add", "Bob likes tea", "--user", "bob")[1].startswith("ADD ")
    assert cli("add", "bob likes tea.", "--user", "bob")[1].startswith("NOOP ")
    assert cli("search", "tea", "--user", "alice")[1] == ""
    assert "Bob likes tea" in cli("search", "tea", "--user", "bob")[1]
    assert cli("delete-all", "--user", "bob", "--json")[1].count('"deleted": 1') == 1


@pytest.mark.parametrize("args, message", [
    (("add", "", "--user", "alice"), "fact text is empty"),
    (("add", "x" * 2001, "--user", "alice"), "limit is 2000"),
    (("add", "fact", "--user", " alice"), "leading or trailing whitespace"),
    (("get", "0123abcd"), "no fact with id"),
    (("history", "0123abcd"), "no fact with id"),
    (("search", "tea", "--user", "alice", "--k", "0"), "k must be"),
])
def test_errors_are_one_line(cli, args, message):
    code, out, err = cli(*args)
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("editmind: error:") and message in err


def test_embedder_switch_needs_reindex(cli, tmp_path, capsys):
    cli("add", "Alice lives in Lyon", "--user", "alice")
    code = main(["--home", str(tmp_path), "memory", "search", "Lyon", "--user", "alice", "--embedder", "hash:32"])
    err = capsys.readouterr().err
    assert code == 1 and "editmind memory reindex" in err and err.count("\n") == 1
    assert main(["--home", str(tmp_path), "memory", "reindex", "--embedder", "hash:32", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["reindexed"] == 1
    assert main(["--home", str(tmp_path), "memory", "search", "Lyon", "--user", "alice", "--embedder", "hash:32"]) == 0
    assert "Alice lives in Lyon" in capsys.readouterr().out


def test_non_utf8_argv_is_one_line(tmp_path):
    env = dict(os.environ, EDITMIND_EMBEDDER="hash", LC_ALL="C.UTF-8")
    result = subprocess.run([sys.executable, "-m", "editmind.apps.cli", "--home", str(tmp_path), "memory", "add",
                             b"caf\xe9 latte", "--user", "alice"], capture_output=True, env=env, timeout=300)
    assert result.returncode == 1
    assert result.stderr.decode().strip().splitlines() == [
        "editmind: error: fact text is not valid UTF-8 text (undecodable byte or lone surrogate at character 3)"]
