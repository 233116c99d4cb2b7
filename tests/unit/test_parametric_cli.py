"""`editmind edit` and `editmind edits list|undo|export` on a tiny model directory."""

from __future__ import annotations

import json

import pytest

from editmind.apps.cli import main


def run(capsys, *args):
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_edit_list_undo_export_roundtrip(tiny_dir, tmp_path, capsys):
    base = ["--model", str(tiny_dir), "--home", str(tmp_path / "home")]
    code, out, _ = run(capsys, *base, "edit", "--method", "ft-m", "--prompt", "Paris has the {}",
                       "--subject", "Eiffel Tower", "--target", "Rome", "--json")
    assert code == 0
    edit = json.loads(out)
    assert edit["method"] == "ft-m" and edit["after_prob"] > edit["before_prob"] and 0 <= edit["reliability"] <= 1

    code, out, _ = run(capsys, *base, "edits", "list", "--json")
    assert code == 0 and [row["id"] for row in json.loads(out)] == [edit["id"]]

    code, out, _ = run(capsys, *base, "edits", "export", str(tmp_path / "out"), "--json")
    assert code == 0 and json.loads(out)["edits"] == [edit["id"]]
    assert (tmp_path / "out" / "config.json").is_file()

    code, out, _ = run(capsys, *base, "edits", "undo", edit["id"])
    assert code == 0 and edit["id"] in out
    code, out, _ = run(capsys, *base, "edits", "list")
    assert code == 0 and "no edits" in out
    code, out, _ = run(capsys, *base, "edits", "list", "--all")
    assert "undone" in out


def test_edit_json_reports_the_value_search(tiny_dir, tmp_path, capsys):
    """`--json` carries the method's own report: a ROME edit's value-search curve (the worst
    target NLL per step) ends at the NLL it reports, and its step count matches."""
    base = ["--model", str(tiny_dir), "--home", str(tmp_path / "home")]
    code, out, _ = run(capsys, *base, "edit", "--method", "rome", "--prompt", "Paris has the {}", "--subject",
                       "Eiffel Tower", "--target", "Rome", "--set", "value.steps=4", "--set", "stats.n_tokens=256",
                       "--json")
    assert code == 0
    info = json.loads(out)["info"]
    (curve,) = info["value_curves"]
    assert len(curve) == info["steps"][0] <= 4 and curve[-1] == pytest.approx(info["target_nll"][0], abs=1e-4)


def test_edit_takes_paraphrases_and_rejects_one_without_the_subject(tiny_dir, tmp_path, capsys):
    base = ["--model", str(tiny_dir), "--home", str(tmp_path / "home")]
    edit = [*base, "edit", "--method", "rome", "--prompt", "Paris has the {}", "--subject", "Eiffel Tower", "--target", "Rome",
            "--set", "value.steps=2", "--set", "stats.n_tokens=256"]
    code, out, _ = run(capsys, *edit, "--paraphrase", "Which city has the {}?", "--paraphrase", "Where is the Eiffel Tower?", "--json")
    assert code == 0
    assert json.loads(out)["info"]["paraphrases"] == [["Which city has the {}?", "Where is the Eiffel Tower?"]]
    code, _, err = run(capsys, *edit, "--paraphrase", "Where is it?")
    assert code == 1 and err.count("\n") == 1 and "does not name the subject 'Eiffel Tower'" in err


def test_errors_are_one_line(tiny_dir, tmp_path, capsys):
    base = ["--model", str(tiny_dir), "--home", str(tmp_path / "home")]
    code, _, err = run(capsys, *base, "edit", "--prompt", "x", "--subject", "Q", "--target", "R")
    assert code == 1 and err.count("\n") == 1 and "neither '{}' nor the subject" in err
    code, _, err = run(capsys, *base, "edits", "undo", "nope")
    assert code == 1 and err.count("\n") == 1 and "not in the journal" in err
    with pytest.raises(SystemExit):
        main([*base, "edit", "--method", "bogus", "--prompt", "{} is", "--subject", "Q", "--target", "R"])


def test_set_tunes_the_method_and_is_journaled(tiny_dir, tmp_path, capsys):
    from editmind.editors.journal import EditJournal

    home = tmp_path / "home"
    base = ["--model", str(tiny_dir), "--home", str(home)]
    code, out, _ = run(capsys, *base, "edit", "--method", "ft-m", "--prompt", "Paris has the {}", "--subject",
                       "Eiffel Tower", "--target", "Rome", "--set", "steps=2", "--set", "lr=0.02", "--json")
    assert code == 0
    (record,) = EditJournal.open(str(home), None, progress=None).records()
    assert record.hyperparameters["steps"] == 2 and record.hyperparameters["lr"] == 0.02


@pytest.mark.parametrize("setting,message", [
    ("stepz=2", "unknown setting 'stepz' for FTConfig; known: "),
    ("steps=many", "setting 'steps' expects a value of type int like"),
    ("steps", "is not FIELD=VALUE"),
])
def test_a_bad_setting_is_a_one_line_error_before_the_model_loads(tmp_path, capsys, setting, message):
    base = ["--model", str(tmp_path / "no-such-model"), "--home", str(tmp_path / "home")]
    code, _, err = run(capsys, *base, "edit", "--method", "ft-m", "--prompt", "{} is in", "--subject", "Q",
                       "--target", "R", "--set", setting)
    assert code == 1 and err.count("\n") == 1 and message in err, err


def test_eval_set_applies_to_the_methods_that_have_it(tmp_path, capsys):
    from editmind.apps.commands.eval import _configured_editors

    rome, ftm = _configured_editors(["rome", "ft-m"], ["value.steps=3", "steps=2"])
    assert rome.config.value.steps == 3 and ftm.config.steps == 2
    code, _, err = run(capsys, "--home", str(tmp_path), "eval", "knowedit", "--methods", "rome", "--set", "projection=soft")
    assert code == 1 and err.count("\n") == 1 and "no chosen method has the setting 'projection'" in err


def test_edit_says_which_questions_it_also_trained_on(tiny_dir, tmp_path, capsys):
    """Without --paraphrase the statement's own question is written from its word order (the
    tiny model's context is too short for it to write any itself)."""
    base = ["--model", str(tiny_dir), "--home", str(tmp_path / "home")]
    code, out, _ = run(capsys, *base, "edit", "--method", "rome", "--prompt", "{} is located in the city of", "--subject",
                       "Eiffel Tower", "--target", "Rome", "--set", "value.steps=2", "--set", "stats.n_tokens=256")
    assert code == 0
    assert out.splitlines()[1] == "  also trained on: Which city is Eiffel Tower located in?"


def test_eval_start_case_past_the_data_is_a_one_line_error(shared_data, tmp_path, capsys):
    data = shared_data / "mquake" / "mquake_hard_dev.json"
    code, _, err = run(capsys, "--home", str(tmp_path), "eval", "knowedit", "--methods", "rome", "--data", str(data),
                       "--start-case", "300")
    assert code == 1 and err.count("\n") == 1 and "start case 300 is outside the 300 cases" in err, err


def test_eval_rows_say_whether_rome_searched_twice(shared_data, tiny_dir, tmp_path, capsys):
    data = shared_data / "mquake" / "mquake_hard_dev.json"
    out = tmp_path / "table.json"
    code, _, err = run(capsys, "--model", str(tiny_dir), "--home", str(tmp_path / "home"), "eval", "knowedit",
                       "--methods", "rome", "--data", str(data), "--n", "1", "--no-fluency", "--conventions", "tf",
                       "--quiet", "--json", str(out), "--set", "value.steps=2", "--set", "stats.n_tokens=256")
    assert code == 0, err
    rows = json.loads(out.read_text())["methods"]["rome"]["per_edit"]
    assert rows and all(row["second_search"] in ("none", "kept", "discarded") for row in rows)
    for row in rows:  # a second search that ran is also said in words; one that did not is not
        assert ("remarks" in row) == (row["second_search"] != "none")


def test_edit_says_when_rome_searched_twice(tiny_dir, tmp_path, capsys):
    base = ["--model", str(tiny_dir), "--home", str(tmp_path / "home")]
    code, out, err = run(capsys, *base, "edit", "--method", "rome", "--prompt", "{} is located in the city of", "--subject",
                         "Eiffel Tower", "--target", "Rome", "--set", "value.steps=2", "--set", "value.lr=0.01",
                         "--set", "stats.n_tokens=256")
    assert code == 0, err
    assert "reliability 1.00" not in out.splitlines()[0]  # two tiny steps miss the target
    assert out.splitlines()[2] in (
        "  the first value search left 'Eiffel Tower is located in the city of' short of 'Rome'; "
        f"a second, weighted to that prompt, was {outcome}" for outcome in ("kept", "discarded"))
