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
