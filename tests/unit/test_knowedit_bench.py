"""The KnowEdit benchmark script's layer sweep: which setting each method's sweep varies."""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

import pytest

from editmind.editors.base import get_editor

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "knowedit_bench.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("knowedit_bench", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("method,field,points", [
    ("rome", "layer", [("2", 2), ("6", 6)]),
    ("ft-m", "layer", [("2", 2), ("6", 6)]),
    ("memit", "layers", [("3-5", [3, 4, 5]), ("4-8", [4, 5, 6, 7, 8])]),
    ("alphaedit", "layers", [("3-5", [3, 4, 5]), ("4-8", [4, 5, 6, 7, 8])]),
])
def test_the_sweep_varies_a_single_layer_or_a_window(bench, method, field, points):
    args = argparse.Namespace(layers="2,6", windows="3-5,4-8")
    editor = get_editor(method, family="parametric")
    assert bench.sweep_settings(editor, args) == (field, points)
    for _, value in points:  # each point is a config the editor accepts
        assert getattr(get_editor(method, family="parametric", **{field: value}).config, field) == value


def test_a_probe_template_is_its_prompt_with_the_subject_as_a_slot(bench):
    assert bench.probe_template("Tim Cook is a citizen of", "Tim Cook") == "{} is a citizen of"
    assert bench.probe_template("The capital of Australia is", "Australia") == "The capital of {} is"
    assert bench.probe_template("no subject here", "Tim Cook") == "no subject here"


def test_the_interference_stage_splits_locality_by_edited_relation(bench, shared_data, tmp_path, one_torch_thread):
    from editmind.editors.model.testing import tiny_model

    home = str(tmp_path)
    args = argparse.Namespace(
        data=str(shared_data / "mquake" / "mquake_hard_dev.json"), start_case=0, n=3, locality=2, methods="memit", checkpoints="2",
        out=str(tmp_path / "interference.json"), set=[
            "layers=[1,2]", "value.steps=2", f'stats.home="{home}"', "stats.n_tokens=64", "stats.sequences_per_chunk=2",
            "stats.tokens_per_sequence=32", "stats.show_progress=false", f'context.home="{home}"', "context.n_prefixes=1"])
    report = bench.Report("interference", args)
    bench.stage_interference(tiny_model("llama"), args, report)
    curve = report.data["curve"]
    assert [p["edits"] for p in curve] == [2, 3]
    for point in curve:
        assert point["probes_edited_relation"] + point["probes_other_relation"] == report.data["n_probes"] > 0
        assert 0 <= point["flips_to_an_edited_object"] <= point["edited_relation_first_token_flips"] <= point["probes_edited_relation"]
        for key in ("locality_tf", "reliability_tf", "generalization_tf", "edit_success_tf",
                    "agreement_near_tie_positions", "agreement_sure_positions"):
            assert 0 <= point[key] <= 100
    assert 0 <= report.data["near_tie_positions"] <= report.data["answer_positions"] > 0
    assert (tmp_path / "interference.json").exists()


def test_the_questions_stage_edits_with_and_without_the_relation_test(bench, shared_data, tmp_path, one_torch_thread, monkeypatch):
    from editmind.editors.model.testing import tiny_model
    from editmind.editors.parametric import questions

    def candidates(model, request, max_new_tokens=32):  # a tiny model writes no questions
        return ((-0.5, f"Who is the father of {request.subject}?"), (-1.0, f"What about {request.subject}, {request.rendered_prompt}?"))

    monkeypatch.setattr(questions, "candidate_questions", candidates)
    home = str(tmp_path)
    args = argparse.Namespace(
        data=str(shared_data / "mquake" / "mquake_hard_dev.json"), start_case=0, n=2, locality=1, methods="rome",
        out=str(tmp_path / "questions.json"), set=[
            "value.steps=2", f'stats.home="{home}"', "stats.n_tokens=64", "stats.sequences_per_chunk=2",
            "stats.tokens_per_sequence=32", "stats.show_progress=false", f'context.home="{home}"', "context.n_prefixes=1"])
    report = bench.Report("questions", args)
    bench.stage_questions(tiny_model("qwen2"), args, report)
    rows = report.data["rows"]
    assert len(rows) == 2
    for row in rows:
        other = row["other_relation_questions"]
        assert len(other) == 1 and other[0].startswith("Who is the father of")
        assert other[0] in row["any_question"]["questions"]  # without the test the edit trains on it
        assert other[0] not in row["names_relation"]["questions"]
        for variant in ("names_relation", "any_question"):
            for key in ("takeover_tf", "reliability_tf", "generalization_tf"):
                assert 0 <= row[variant][key] <= 1
    assert report.data["summary"]["edits_with_other_relation_questions"] == 2
    assert (tmp_path / "questions.json").exists()
