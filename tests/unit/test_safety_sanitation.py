"""Sanitation on tiny random models: the question files, the `sanitize` editor through the
journal (pure compute, bitwise undo), the metrics, the CLI and the agent's forget offer."""

from __future__ import annotations

import json

import pytest
import torch

from editmind.apps.cli import main
from editmind.editors.base import EditRequestError, get_editor
from editmind.editors.eval import sanitation as metrics
from editmind.editors.journal import EditJournal
from editmind.editors.model.testing import tiny_model
from editmind.editors.safety.qa_files import QAItem, load_qa_file
from editmind.editors.safety.sanitation import sanitation_requests, sanitize

pytestmark = pytest.mark.usefixtures("one_torch_thread")
FAST = {"epochs": 3, "lr": 5e-3}


def test_the_split_files_load_in_all_their_shapes(shared_data):
    split = shared_data / "sanitation" / "triviaqa_1"
    dev = load_qa_file(split / "dev_forget.json")
    trivia = load_qa_file(split / "test_forget_gold.json")
    assert len(dev) == 50 and dev[0].answers == ("Cheese",)
    assert trivia[0].question.startswith("Which was the first European city") and len(trivia[0].answers) >= 1


@pytest.mark.parametrize("content,fragment", [
    ("not json", "not valid JSON"), ('{"a": 1}', "holds no list"), ("[]", "is empty"), ('[{"x": 1}]', "record 0 has no question"),
])
def test_bad_question_files_are_one_line_errors(tmp_path, content, fragment):
    path = tmp_path / "forget.json"
    path.write_text(content)
    with pytest.raises(EditRequestError, match=fragment) as raised:
        load_qa_file(path)
    assert "\n" not in str(raised.value)


def test_an_empty_forget_set_is_refused():
    with pytest.raises(EditRequestError, match="forget set is empty"):
        sanitation_requests([])


def test_retain_questions_are_spread_once_over_the_requests():
    forget = [QAItem("q1"), QAItem("q2")]
    retain = [QAItem(f"r{i}") for i in range(5)] + [QAItem("q1")]
    requests = sanitation_requests(forget, retain)
    spread = [p for r in requests for p in r.locality_prompts]
    assert sorted(spread) == [f"r{i}" for i in range(5)] and all(r.target_new == "I don't know." for r in requests)


@pytest.mark.parametrize("arch", ["llama", "gpt2"])
def test_compute_is_pure_and_the_journal_applies_and_undoes_bitwise(tmp_path, arch):
    model = tiny_model(arch)
    base = model.fingerprint()
    forget = [QAItem("Where does Jane Roe live?", ("Elm Street",))]
    requests = sanitation_requests(forget, [QAItem("What is the capital of France?")])
    before = model.score([r.rendered_prompt for r in requests], [r.target_new for r in requests])[0].mean_logprob
    result = get_editor("sanitize", **FAST).compute(model, requests)
    assert model.fingerprint() == base and result.deltas and result.info["retain_questions"] == 1
    journal = EditJournal.open(tmp_path, model)
    record = journal.apply("sanitize", requests, overrides=FAST)
    after = model.score([r.rendered_prompt for r in requests], [r.target_new for r in requests])[0].mean_logprob
    assert after > before  # the safe phrase became likelier for the forgotten question
    journal.undo(record.id)
    assert model.fingerprint() == base


def test_without_retain_questions_general_ones_hold_the_model():
    model = tiny_model("llama")
    result = get_editor("sanitize", epochs=1).compute(model, sanitation_requests([QAItem("Who is my neighbour?")]))
    assert result.info["retain_questions"] > 10 and "general questions" in result.remarks[0]


def test_metrics_count_success_leaks_and_kept_answers():
    forget = [QAItem("Q1", ("Paris",)), QAItem("Q2", ("Rome",))]
    probes = metrics.build_probes(forget, [QAItem("R1")], ["Oslo", "Bern", "Lima"])
    replies = {
        "direct": ["I don't know.", "It is Rome."], "paraphrase_0": ["I don't know.", "I don't know."],
        "completion": ["Paris, of course", "unclear"],
        "multiple_choice": [probes.gold_letter[0], "none of them"], "retain": ["Oslo is nice"], "retain_unseen": [],
    }
    scored = metrics.score(probes, replies, "I don't know.", reference={"retain": ["Oslo is nice"], "retain_unseen": []})
    assert scored["forget_success"] == 50.0 and scored["paraphrase_success"] == 100.0
    assert scored["leak_rate_completion"] == 50.0 and scored["leak_rate_multiple_choice"] == 50.0
    assert scored["retain_accuracy"] == 100.0


def test_the_workflow_reports_before_and_after(tmp_path):
    model = tiny_model("llama")
    journal = EditJournal.open(tmp_path, model)
    report = sanitize(journal, [QAItem("Where does Jane Roe live?", ("Elm Street",))], [QAItem("What is 2 plus 2?", ("4",))],
                      overrides=FAST)
    assert set(report.before) >= {"forget_success", "leak_rate", "fluency"} and "retain_accuracy" in report.after
    assert [r.id for r in journal.records()] == [report.edit_id]


def test_cli_sanitize_writes_a_report_and_an_undoable_edit(tiny_dir, tmp_path, capsys):
    forget = tmp_path / "forget.json"
    forget.write_text(json.dumps([{"question": "Where does Jane Roe live?", "answer": "Elm Street"}]))
    base = ["--model", str(tiny_dir), "--home", str(tmp_path / "home")]
    code = main([*base, "sanitize", "--forget", str(forget), "--set", "epochs=2", "--json", str(tmp_path / "r.json")])
    out = capsys.readouterr().out
    assert code == 0 and "sanitation edit" in out and "forget_success" in out
    report = json.loads((tmp_path / "r.json").read_text())
    assert set(report) >= {"edit_id", "before", "after", "memory_facts_redacted"}
    assert main([*base, "edits", "undo", report["edit_id"]]) == 0


def test_cli_sanitize_bad_input_is_one_line(tiny_dir, tmp_path, capsys):
    empty = tmp_path / "empty.json"
    empty.write_text("[]")
    code = main(["--model", str(tiny_dir), "--home", str(tmp_path), "sanitize", "--forget", str(empty)])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "empty" in err
    code = main(["--model", str(tiny_dir), "--home", str(tmp_path), "sanitize"])
    assert code == 1 and "nothing to forget" in capsys.readouterr().err


def test_the_agent_offers_sanitation_when_the_model_still_says_a_forgotten_fact(tmp_path, monkeypatch):
    from editmind.agent import AgentConfig, EditingAgent
    from editmind.memory import FactMemory, HashEmbedder

    model = tiny_model("llama")
    memory = FactMemory(home=tmp_path, embedder=HashEmbedder(64))
    agent = EditingAgent(model=model, home=tmp_path, user_id="alice", memory=memory, config=AgentConfig(max_new_tokens=4))
    agent.chat("The mayor of Springfield is Joe Quimby.")
    monkeypatch.setattr(model, "chat", lambda *a, **k: "Joe Quimby, of course.")  # what a model that learned it says
    monkeypatch.setattr(type(agent), "sanitize", lambda self, items, **k: type("R", (), {"edit_id": "e1"})())
    offer = agent.chat("forget what I said about the mayor of Springfield")
    assert "still answers" in offer.text and memory.get_all("alice") == []
    done = agent.chat("yes")
    assert done.actions and done.actions[0]["action"] == "sanitize" and "e1" in done.text
    assert agent.chat("yes").turn_type == "chitchat"  # the offer is used once
    agent.close()


def test_a_personal_forget_says_it_was_only_in_memory(tmp_path):
    from editmind.agent import AgentConfig, EditingAgent
    from editmind.memory import FactMemory, HashEmbedder

    memory = FactMemory(home=tmp_path, embedder=HashEmbedder(64))
    agent = EditingAgent(model=tiny_model("llama"), home=tmp_path, user_id="alice", memory=memory,
                         config=AgentConfig(max_new_tokens=4), open_journal=False)
    agent.chat("My dog is called Rex.")
    reply = agent.chat("forget my dog's name")
    assert "only in your memory" in reply.text and memory.get_all("alice") == []
    agent.close()
