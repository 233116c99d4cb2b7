"""`editmind correct`, `editmind ask --user`, and the `editmind chat` REPL, in process, on a
tiny model saved as a plain HF directory (hashing embedder via $EDITMIND_EMBEDDER)."""

from __future__ import annotations

import io
import json

import pytest

from editmind.apps.cli import main


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def cli(tmp_path, monkeypatch):
    from editmind.editors.model.testing import tiny_model

    model = tiny_model("llama")
    directory = tmp_path / "tiny"
    model.model.save_pretrained(directory)
    model.tokenizer.save_pretrained(directory)
    monkeypatch.setenv("EDITMIND_EMBEDDER", "hash")
    return ["--home", str(tmp_path / "home"), "--model", str(directory)]


def test_correct_then_ask_uses_this_users_memory(cli, capsys):
    assert main([*cli, "correct", "The Eiffel Tower is located in Rome.", "--user", "alice", "--json"]) == 0
    done = json.loads(capsys.readouterr().out)
    assert done["turn_type"] == "correction" and done["actions"][0]["weights"] == "memory"
    assert main([*cli, "ask", "Where is the Eiffel Tower?", "--user", "alice", "--json", "--max-new-tokens", "4"]) == 0
    alice = json.loads(capsys.readouterr().out)
    assert alice["trace"]["method"] == "memory-lookup" and alice["answer"] == "The Eiffel Tower is located in Rome."
    assert alice["trace"]["memory_used"] and alice["trace"]["facts_used"] == [done["actions"][0]["fact_id"]]
    assert main([*cli, "ask", "Where is the Eiffel Tower?", "--user", "bob", "--json", "--max-new-tokens", "4"]) == 0
    bob = json.loads(capsys.readouterr().out)
    assert bob["trace"]["method"] == "model" and not bob["trace"]["memory_used"] and bob["user"] == "bob" and set(bob) >= {"answer", "trace", "question"}


def test_incomplete_correction_is_one_line_and_stores_nothing(cli, capsys):
    assert main([*cli, "correct", "No, it's Rome.", "--user", "alice"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "complete correction" in err[0]
    assert main([*cli, "correct", "No, it's Rome.", "--user", "alice", "--question", "Where is the Eiffel Tower?",
                 "--answer", "It is in Paris.", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["trace"]["correction"]["target_true"] == "Paris"


def test_chat_repl_slash_commands(cli, capsys, monkeypatch):
    script = "My sister lives in Lyon.\n/why\n/edits\n/user bob\nWhere does my sister live?\n/undo\n/quit\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(script))
    assert main([*cli, "chat", "--user", "alice", "--max-new-tokens", "4"]) == 0
    out = capsys.readouterr().out
    assert "Noted: Your sister lives in Lyon." in out
    assert "turn: personal_fact" in out  # /why explains the previous turn
    assert "no edits in effect" in out and "Now talking with user bob" in out
    assert "There is no edit to undo." in out
