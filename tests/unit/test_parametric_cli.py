"""`editmind edit` and `editmind edits list|undo|export` on a tiny model directory."""

from __future__ import annotations

import json

import pytest

from editmind.apps.cli import main


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    from editmind.editors.model.testing import tiny_model

    path = tmp_path_factory.mktemp("tiny-llama")
    model = tiny_model("llama")
    model.model.save_pretrained(str(path))
    model.tokenizer.save_pretrained(str(path))
    return path


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


def test_errors_are_one_line(tiny_dir, tmp_path, capsys):
    base = ["--model", str(tiny_dir), "--home", str(tmp_path / "home")]
    code, _, err = run(capsys, *base, "edit", "--prompt", "x", "--subject", "Q", "--target", "R")
    assert code == 1 and err.count("\n") == 1 and "neither '{}' nor the subject" in err
    code, _, err = run(capsys, *base, "edits", "undo", "nope")
    assert code == 1 and err.count("\n") == 1 and "not in the journal" in err
    with pytest.raises(SystemExit):
        main([*base, "edit", "--method", "bogus", "--prompt", "{} is", "--subject", "Q", "--target", "R"])
