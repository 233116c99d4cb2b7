"""`editmind eval mquake` and its evaluator: answer matching, hop accuracy, both settings,
on the real data file's first cases, a tiny model and the real embedder."""

from __future__ import annotations

import json

import pytest

from editmind.apps.cli import main
from editmind.editors.errors import EditmindError
from editmind.editors.eval import mquake
from editmind.editors.model.testing import tiny_model


@pytest.fixture(scope="module")
def cases(shared_data):
    return mquake.load_cases(shared_data / "mquake" / "mquake_hard_dev.json", n=3)


def test_answer_matching_normalises_and_accepts_aliases():
    assert mquake.matches("the United States.", ["United States"])
    assert mquake.matches("It is in Rome", ["Rome"])
    assert mquake.matches("Washington, D.C", ["Washington, D.C."])
    assert not mquake.matches("Romeo", ["Rome"])
    assert not mquake.matches("", ["Rome"])


def test_hop_accuracy_needs_every_intermediate_entity(cases):
    case = cases[0]
    gold = [hop["answer"] for hop in case["new_single_hops"]]
    assert mquake.hop_chain_correct(gold, case)
    assert not mquake.hop_chain_correct(gold[:-1], case)
    assert not mquake.hop_chain_correct(["nobody"] + gold[1:], case)


def test_all_setting_holds_every_edit_once(cases):
    facts = mquake.all_facts(cases)
    assert len(facts) == len({(f["subject"], f["relation"], f["object"]) for f in facts})
    assert len(facts) <= sum(len(c["requested_rewrite"]) for c in cases)


def test_hopwalk_walks_the_case_edits_and_reports_consistently(cases):
    report = mquake.evaluate(tiny_model(), "hopwalk", cases, "case")
    summary = report.summary()
    assert summary["n_cases"] == 3 and summary["n_questions"] == 9
    assert summary["multi_hop_accuracy"] == sum(c.correct for c in report.cases) / 3
    # every hop of these cases is an edit, so a correct walk never asks the (random) model
    for case in report.cases:
        for question in case.questions:
            if question.correct and question.hops_correct:
                assert question.trace["model_calls"] == 0
    assert summary["multi_hop_accuracy"] >= 2 / 3
    json.dumps(report.to_dict())


def test_no_edit_baseline_has_no_hop_accuracy(cases):
    report = mquake.evaluate(tiny_model(), "none", cases[:1], "case", questions_per_case=1)
    assert report.summary()["hop_accuracy"] is None and report.summary()["n_questions"] == 1


def test_bad_arguments_are_one_clear_error(tmp_path, cases):
    with pytest.raises(EditmindError, match="not found"):
        mquake.load_cases(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("[1, 2]")
    with pytest.raises(EditmindError, match="not MQuAKE-format"):
        mquake.load_cases(tmp_path / "bad.json")
    with pytest.raises(EditmindError, match="unknown setting"):
        mquake.evaluate(tiny_model(), "hopwalk", cases, "some")


def test_cli_prints_one_table_for_both_settings_and_writes_json(tmp_path, cases, capsys):
    model_dir = tmp_path / "tiny"
    model = tiny_model()
    model.model.save_pretrained(model_dir)
    model.tokenizer.save_pretrained(model_dir)
    data = tmp_path / "cases.json"
    data.write_text(json.dumps(cases))
    out = tmp_path / "out.json"
    rc = main(["--model", str(model_dir), "--home", str(tmp_path / "home"), "eval", "mquake", "--method", "hopwalk,none",
               "--data", str(data), "--n", "2", "--questions-per-case", "1", "--json", str(out), "--quiet"])
    printed = capsys.readouterr().out
    assert rc == 0
    assert "hopwalk" in printed and "none" in printed and "case: n" in printed and "all: n" in printed
    payload = json.loads(out.read_text())
    runs = {(r["summary"]["method"], r["summary"]["setting"]) for r in payload["runs"]}
    assert runs == {("hopwalk", "case"), ("hopwalk", "all"), ("none", "case"), ("none", "all")}
    all_run = next(r for r in payload["runs"] if r["summary"]["setting"] == "all")
    assert all_run["summary"]["facts_in_source"] == len(mquake.all_facts(cases))  # every case's edits, not only the first 2
    assert "trace" in all_run["cases"][0]["questions"][0]


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert main(["eval", "mquake", "--method", "nope"]) == 1
    assert capsys.readouterr().err.count("\n") == 1
    assert main(["--home", str(tmp_path), "eval", "mquake", "--data", str(tmp_path / "missing.json")]) == 1
    err = capsys.readouterr().err
    assert "not found" in err and err.count("\n") == 1


# --- the real fact memory and the weights route ----------------------------------------------

@pytest.fixture
def hash_memory(tmp_path):
    from editmind.memory import FactMemory, HashEmbedder

    with FactMemory(home=tmp_path / "home", embedder=HashEmbedder(128), log=lambda _m: None) as memory:
        yield memory


def _used_fact_ids(report):
    return [fid for case in report.cases for q in case.questions for hop in q.trace.get("hops", [])
            for fid in hop.get("used_fact_ids", [])]


def test_case_setting_stores_each_case_for_its_own_user_and_deletes_it_after(cases, hash_memory):
    report = mquake.evaluate(tiny_model(), "hopwalk", cases, "case", memory=hash_memory)
    summary = report.summary()
    assert summary["route"] == "memory" and summary["facts_in_source"] == 4
    assert summary["memory_events"] == {"ADD": sum(len(c["requested_rewrite"]) for c in cases)}
    assert hash_memory.count() == 0  # every case's facts were deleted once it was answered
    users = hash_memory.users()
    assert len(users) == len(cases) and all(u.endswith(f"-case{i}") for i, u in enumerate(users))
    used = _used_fact_ids(report)
    assert used, "hopwalk followed stored edits"
    for fact_id in used:  # the facts the traces cite are the memory's own records
        fact = hash_memory.get(fact_id)
        assert fact.status == "deleted" and fact.source == "mquake"


def test_all_setting_puts_every_edit_in_one_user_and_conflicting_edits_supersede(cases, hash_memory):
    conflicting = json.loads(json.dumps(cases[:2]))
    rewrite = conflicting[1]["requested_rewrite"][0]
    rewrite["subject"] = conflicting[0]["requested_rewrite"][0]["subject"]
    rewrite["prompt"] = conflicting[0]["requested_rewrite"][0]["prompt"]
    rewrite["target_new"] = {"str": "Atlantis"}
    report = mquake.evaluate(tiny_model(), "none", conflicting, "all", questions_per_case=1, memory=hash_memory)
    summary = report.summary()
    total = len(mquake.all_facts(conflicting))
    assert summary["memory_events"] == {"ADD": total - 1, "SUPERSEDE": 1}
    assert summary["facts_in_source"] == total - 1  # the memory keeps the later edit only, as it would for a user
    assert hash_memory.count() == 0


def test_default_memory_is_a_temporary_home(cases, tmp_path, monkeypatch):
    from editmind.memory import HashEmbedder

    monkeypatch.setenv("EDITMIND_HOME", str(tmp_path / "home"))
    report = mquake.evaluate(tiny_model(), "hopwalk", cases[:1], "case", embedder=HashEmbedder(64))
    assert report.summary()["n_cases"] == 1
    assert not (tmp_path / "home" / "memory").exists()  # the user's own memory is never touched


def _fast_memit() -> dict:
    from editmind.editors.parametric.keys import ContextConfig
    from editmind.editors.parametric.stats import StatsConfig
    from editmind.editors.parametric.values import ValueConfig

    return dict(stats=StatsConfig(n_tokens=128, sequences_per_chunk=4, tokens_per_sequence=32, show_progress=False),
                context=ContextConfig(n_prefixes=2, prefix_tokens=4),
                value=ValueConfig(steps=4, weight_decay=0.0, clamp_norm_factor=100.0, kl_factor=0.0))


def test_weights_route_edits_with_memit_answers_from_empty_memory_and_restores_the_weights(
        cases, hash_memory, tmp_path, monkeypatch):
    monkeypatch.setenv("EDITMIND_HOME", str(tmp_path / "home"))
    model = tiny_model()
    before = model.fingerprint()
    cache: dict = {}
    report = mquake.evaluate(model, "hopwalk", cases[:2], "case", questions_per_case=1, memory=hash_memory,
                             route="weights", weights_method="memit", weights_overrides=_fast_memit(), edit_cache=cache)
    assert model.fingerprint() == before  # every case's edit was undone bitwise
    again = mquake.evaluate(model, "none", cases[:2], "case", questions_per_case=1, memory=hash_memory,
                            route="weights", weights_method="memit", edit_cache=cache)
    assert len(cache) == 2 and model.fingerprint() == before
    assert [c.edit for c in again.cases] == [c.edit for c in report.cases]  # the same edits, computed once
    summary = report.summary()
    assert summary["route"] == "memit" and report.label == "hopwalk @memit"
    assert summary["facts_in_source"] == 0 and hash_memory.count() == 0
    assert summary["edit_cases_failed"] == 0 and summary["mean_edit_seconds_per_case"] > 0
    for case in report.cases:
        assert case.edit["n_edits"] == 4 and 0.0 <= case.edit["reliability"] <= 1.0
        assert case.questions[0].trace["notes"][0].startswith("no stored subject")  # empty memory: the model answers
    assert "hopwalk @memit" in mquake.format_table([report])
    with pytest.raises(EditmindError, match="case setting only"):
        mquake.evaluate(model, "none", cases[:1], "all", route="weights")
    with pytest.raises(EditmindError, match="unknown route"):
        mquake.evaluate(model, "none", cases[:1], "case", route="lora")


def test_cli_shows_both_routes_in_one_table(tmp_path, cases, capsys):
    model_dir = tmp_path / "tiny"
    model = tiny_model()
    model.model.save_pretrained(model_dir)
    model.tokenizer.save_pretrained(model_dir)
    data = tmp_path / "cases.json"
    data.write_text(json.dumps(cases[:1]))
    out = tmp_path / "out.json"
    home = tmp_path / "home"
    rc = main(["--model", str(model_dir), "--home", str(home), "eval", "mquake", "--method", "none",
               "--data", str(data), "--route", "both", "--questions-per-case", "1", "--json", str(out), "--quiet"])
    printed = capsys.readouterr().out
    assert rc == 0 and "none @memit" in printed
    runs = {(r["summary"]["route"], r["summary"]["setting"]) for r in json.loads(out.read_text())["runs"]}
    assert runs == {("memory", "case"), ("memory", "all"), ("memit", "case")}  # weights: case setting only
    assert list((home / "stats").glob("*/*.safetensors"))  # MEMIT's statistics are cached in --home
    assert main(["--home", str(home), "eval", "mquake", "--data", str(data), "--route", "weights",
                 "--edits-in-memory", "all"]) == 1
    assert "case setting only" in capsys.readouterr().err
    assert main(["--home", str(home), "eval", "mquake", "--data", str(data), "--route", "lora"]) == 1
    assert "unknown --route" in capsys.readouterr().err


def test_chat_baseline_answers_through_the_chat_template_and_reports_no_hops(cases, hash_memory):
    report = mquake.evaluate(tiny_model(), "chat", cases[:1], "case", questions_per_case=1, memory=hash_memory)
    summary = report.summary()
    assert summary["hop_accuracy"] is None and summary["n_questions"] == 1
    question = report.cases[0].questions[0]
    assert question.trace["method"] == "chat" and question.trace["hops"][0]["source"] == "model"
