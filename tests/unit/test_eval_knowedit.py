"""The KnowEdit runner with small editors defined here (real deltas on a tiny model)."""

import json
from dataclasses import dataclass

import pytest
import torch

from editmind.editors.base import EDITORS, EditFailedError, EditResult, ParameterEditor, WeightDelta
from editmind.editors.eval.knowedit import EvalConfig, EvaluationError, evaluate_methods
from editmind.editors.eval.records import build_records
from editmind.editors.model.testing import tiny_model

from test_eval_records import CASES, one_torch_thread  # noqa: F401  (autouse fixture)


@dataclass
class _Config:
    scale: float = 0.0


class ZeroEditor(ParameterEditor):
    """Adds an all-zero delta: the model's outputs do not change."""

    name = "zero-test"
    Config = _Config

    def compute(self, model, requests, progress=None):
        ref = model.layout.layers[1].mlp_out
        return EditResult([WeightDelta(ref.name, ref.transposed, dense=torch.zeros_like(model.weight(ref)))], [1])


class NoiseEditor(ParameterEditor):
    """Adds large noise to every layer's MLP output: a deliberately broken 'edit'."""

    name = "noise-test"
    Config = _Config
    calls = 0

    def compute(self, model, requests, progress=None):
        NoiseEditor.calls += 1
        generator = torch.Generator().manual_seed(NoiseEditor.calls)
        deltas = []
        for layer in model.layout.layers:
            weight = model.weight(layer.mlp_out)
            deltas.append(WeightDelta(layer.mlp_out.name, layer.mlp_out.transposed,
                                      dense=torch.randn(weight.shape, generator=generator) * 5.0))
        return EditResult(deltas, list(range(len(model.layout.layers))))


class FailingEditor(ParameterEditor):
    name = "failing-test"
    Config = _Config

    def compute(self, model, requests, progress=None):
        raise EditFailedError("the optimisation diverged")


@pytest.fixture(scope="module")
def model():
    return tiny_model("llama", seed=1)


@pytest.fixture(scope="module")
def records():
    return build_records(CASES, n=4)


FAST = EvalConfig(fluency=True, fluency_tokens=6, show_progress=False)


def _state(model):
    return {k: v.clone() for k, v in model.model.state_dict().items()}


def _same(a, b):
    return all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("mode", ["single", "batch", "sequential"])
def test_a_change_that_alters_nothing_keeps_locality_at_100(model, records, mode):
    before = _state(model)
    table = evaluate_methods(model, [ZeroEditor()], records, mode=mode, config=FAST)
    assert _same(before, _state(model))
    zero, unedited = table.columns["zero-test"], table.columns["unedited"]
    assert zero["locality_tf"] == 100.0 and zero["locality_em"] == 100.0
    for key in ("reliability_tf", "generalization_tf", "portability_tf", "reliability_em", "fluency"):
        assert zero[key] == pytest.approx(unedited[key]), key
    assert zero["failed_edits"] == 0


def test_chat_metrics_are_opt_in_and_unchanged_by_a_change_that_alters_nothing(model, records):
    plain = evaluate_methods(model, [ZeroEditor()], records, config=FAST)
    assert "generalization_chat" not in plain.columns["zero-test"]
    table = evaluate_methods(model, [ZeroEditor()], records, config=EvalConfig(fluency=False, show_progress=False, chat=True))
    zero, unedited = table.columns["zero-test"], table.columns["unedited"]
    for key in ("generalization_chat", "portability_chat"):
        assert 0.0 <= zero[key] <= 100.0 and zero[key] == pytest.approx(unedited[key]), key
    assert "Generalization (chat)" in table.format()


@pytest.mark.parametrize("mode", ["single", "sequential"])
def test_a_broken_model_loses_locality_and_weights_come_back_bitwise(model, records, mode):
    before = _state(model)
    table = evaluate_methods(model, [NoiseEditor()], records, mode=mode, config=FAST)
    assert _same(before, _state(model))
    noise = table.columns["noise-test"]
    assert noise["locality_tf"] < 100.0
    assert noise["locality_em"] < 100.0
    assert noise["fluency"] != pytest.approx(table.columns["unedited"]["fluency"])


def test_sequential_mode_computes_each_edit_on_the_edited_model(model, records):
    seen = []

    class Recorder(ZeroEditor):
        name = "recorder-test"

        def compute(self, model, requests, progress=None):
            seen.append(model.fingerprint())
            result = super().compute(model, requests)
            result.deltas[0].dense = torch.full_like(result.deltas[0].dense, 1e-3)
            return result

    evaluate_methods(model, [Recorder()], records, sequential=True, config=FAST, include_unedited=False)
    assert len(seen) == 4 and len(set(seen)) == 4  # every edit saw the previous ones applied
    seen.clear()
    evaluate_methods(model, [Recorder()], records, mode="single", config=FAST, include_unedited=False)
    assert len(seen) == 4 and len(set(seen)) == 1  # single edits all start from the unedited model


def test_failed_edits_are_counted_and_change_nothing(model, records):
    before = _state(model)
    table = evaluate_methods(model, [FailingEditor()], records, mode="single", config=FAST)
    assert _same(before, _state(model))
    report = table.reports[-1]
    assert report.metrics["failed_edits"] == 4
    assert "diverged" in report.failed[0]["error"]
    assert report.metrics["reliability_tf"] == pytest.approx(table.columns["unedited"]["reliability_tf"])


def test_table_text_and_json(model, records):
    table = evaluate_methods(model, [ZeroEditor()], records, config=EvalConfig(conventions=("tf",), fluency=False,
                                                                              show_progress=False))
    text = table.format()
    assert "Edit Succ. (tf)" in text and "Locality (tf)" in text and "zero-test" in text
    assert "(em)" not in text.split("tf = ")[0]
    data = json.loads(json.dumps(table.to_dict()))
    assert data["columns"]["zero-test"]["locality_tf"] == 100.0
    assert data["n_edits"] == 4 and data["n_portability_cases"] == 2
    assert len(data["methods"]["zero-test"]["per_edit"]) == 4


def test_partial_results_reach_the_callback_after_each_column(model, records):
    columns = []
    evaluate_methods(model, [ZeroEditor(), FailingEditor()], records, config=FAST,
                     on_report=lambda table: columns.append(list(table.columns)))
    assert columns == [["unedited"], ["unedited", "zero-test"], ["unedited", "zero-test", "failing-test"]]


def test_bad_arguments_are_one_line_errors(model, records):
    with pytest.raises(EvaluationError, match="no methods"):
        evaluate_methods(model, [], records)
    with pytest.raises(EvaluationError, match="no evaluation records"):
        evaluate_methods(model, [ZeroEditor()], [])
    with pytest.raises(EvaluationError, match="unknown mode"):
        evaluate_methods(model, [ZeroEditor()], records, mode="parallel")
    with pytest.raises(Exception, match="unknown editing method"):
        evaluate_methods(model, ["no-such-method"], records)


def test_cli_runs_end_to_end_on_a_saved_tiny_model(tmp_path, monkeypatch, capsys):
    from editmind.apps.cli import main

    directory = tmp_path / "tiny"
    tiny = tiny_model("llama", seed=2)
    tiny.model.save_pretrained(directory)
    tiny.tokenizer.save_pretrained(directory)
    data = tmp_path / "cases.json"
    data.write_text(json.dumps(CASES))
    monkeypatch.setitem(EDITORS, ZeroEditor.name, ZeroEditor)
    monkeypatch.setattr(ZeroEditor, "family", "parametric")
    out = tmp_path / "out" / "table.json"
    code = main(["--model", str(directory), "--home", str(tmp_path / "home"), "eval", "knowedit",
                 "--methods", "zero-test", "--data", str(data), "--n", "2", "--json", str(out),
                 "--fluency-tokens", "4", "--quiet"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "Locality (tf)" in printed and "zero-test" in printed
    written = json.loads(out.read_text())
    assert written["columns"]["zero-test"]["locality_em"] == 100.0 and written["n_edits"] == 2
    run = written["run"]  # enough to reproduce the numbers: the command, the weights, the software
    assert run["command"].startswith("editmind ") and "--methods zero-test" in run["command"]
    assert run["model_fingerprint"] == tiny.fingerprint() and run["n"] == 2 and run["start_case"] == 0
    assert run["complete"] is True and run["finished_utc"] >= run["started_utc"] and run["torch"]
    assert run["cpu_count"] >= 1 and len(run["load_average_at_start"]) == 3  # the keys the benchmarks write too
    code = main(["--model", str(directory), "--home", str(tmp_path / "home"), "eval", "knowedit", "--sequential",
                 "--checkpoints", "1", "--methods", "zero-test", "--data", str(data), "--n", "2", "--json", str(out),
                 "--no-fluency", "--quiet"])
    assert code == 0
    curve = json.loads(out.read_text())["methods"]["zero-test"]["curve"]
    assert [p["edits"] for p in curve] == [1.0, 2.0] and curve[0]["locality_tf"] == 100.0


def test_cli_errors_are_one_line(tmp_path, capsys):
    from editmind.apps.cli import main

    assert main(["eval", "knowedit", "--methods", "no-such-method", "--data", str(tmp_path / "x.json")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("editmind: error: unknown editing method") and err.count("\n") == 1
    data = tmp_path / "bad.json"
    data.write_text("[]")
    assert main(["eval", "knowedit", "--methods", ",", "--data", str(data)]) == 1
    assert "--methods is empty" in capsys.readouterr().err
    assert main(["eval", "knowedit", "--methods", "rome", "--sequential", "--checkpoints", "10,x", "--data", str(data)]) == 1
    assert "are not a list of edit counts" in capsys.readouterr().err


def test_sequential_checkpoints_trace_the_stream(model, records):
    curves = []
    table = evaluate_methods(model, [NoiseEditor(), ZeroEditor()], records, sequential=True, include_unedited=False,
                             config=EvalConfig(conventions=("tf",), fluency=False, show_progress=False, checkpoints=(1, 3, 9)),
                             on_checkpoint=lambda method, curve: curves.append((method, [p["edits"] for p in curve])))
    assert curves == [("noise-test", [1.0]), ("noise-test", [1.0, 3.0]), ("zero-test", [1.0]), ("zero-test", [1.0, 3.0])]
    noise, zero = (table.reports[0].curve, table.reports[1].curve)
    assert [p["edits"] for p in noise] == [1.0, 3.0, 4.0]  # the last point is the full measurement
    assert all(p["locality_tf"] == 100.0 for p in zero)
    assert noise[0]["locality_tf"] < 100.0 and noise[-1]["locality_tf"] == table.columns["noise-test"]["locality_tf"]
    assert json.loads(json.dumps(table.to_dict()))["methods"]["zero-test"]["curve"][1]["edits"] == 3.0
    with pytest.raises(EvaluationError, match="sequential run"):
        evaluate_methods(model, [ZeroEditor()], records, config=EvalConfig(checkpoints=(2,)))


def test_a_stream_keeps_one_weight_copy_per_module(model):
    """Restoring a stream only ever goes back to its start: deltas applied into one snapshot
    keep the first copy of each module, and restoring it gives the weights back bitwise."""
    from editmind.editors.base import WeightDelta
    from editmind.editors.deltas import apply_deltas

    first, second = model.layout.layers[0].mlp_out, model.layout.layers[1].mlp_out
    before = {ref.name: model.module(ref.name).weight.detach().clone() for ref in (first, second)}

    def noise(ref):
        return WeightDelta(module=ref.name, transposed=ref.transposed, dense=torch.randn(model.weight(ref).shape))

    snapshot = apply_deltas(model, [noise(first)])
    assert apply_deltas(model, [noise(first), noise(second)], snapshot) is snapshot
    assert list(snapshot.saved) == [first.name, second.name]
    assert torch.equal(snapshot.saved[first.name], before[first.name])  # the copy from before the first delta
    assert not torch.equal(model.module(first.name).weight, before[first.name])
    snapshot.restore()
    assert all(torch.equal(model.module(ref.name).weight, before[ref.name]) for ref in (first, second))


@pytest.mark.parametrize("mode", ["single", "sequential"])
def test_generalization_is_also_reported_over_the_wordings_an_edit_did_not_train_on(model, records, mode):
    """An editor that says it trained on a case's question: that probe counts in
    generalization but not in its "unseen wordings" part, and the trained share says so."""
    from editmind.editors.eval import metrics

    edits = [e for r in records for e in r.edits]
    questions = {e.request.subject: [p.question for p in e.generalization if p.kind == "question"] for e in edits}
    first = edits[0].request.subject

    class TrainsOnTheFirstQuestion(ZeroEditor):
        name = "trained-test"

        def compute(self, model, requests, progress=None):
            result = super().compute(model, requests)
            result.info["paraphrases"] = [questions[r.subject] if r.subject == first else ["Unrelated?"] for r in requests]
            return result

    table = evaluate_methods(model, [TrainsOnTheFirstQuestion()], records, mode=mode, config=FAST)
    report, unedited = table.columns["trained-test"], table.columns["unedited"]
    assert "generalization_unseen_tf" not in unedited  # nothing known about what it trained on
    shares, unseen = [], []
    for e in edits:
        seen = [e.request.subject == first and p.kind == "question" for p in e.generalization]
        shares.append(sum(seen) / len(seen))
        scores = [s for s, t in zip(metrics.token_accuracies(model, list(e.generalization)), seen) if not t]
        if scores:
            unseen.append(sum(scores) / len(scores))
    assert 0 < report["generalization_trained_share"] < 100
    assert report["generalization_trained_share"] == pytest.approx(100 * sum(shares) / len(shares))
    assert report["generalization_unseen_tf"] == pytest.approx(100 * sum(unseen) / len(unseen))
    assert "unseen wordings (tf)" in table.format()


def test_paraphrased_questions_are_scored_apart(model, tmp_path):
    from editmind.editors.eval import metrics
    from editmind.editors.eval.records import load_knowedit_records

    data = tmp_path / "cases.json"
    data.write_text(json.dumps(CASES))
    (tmp_path / "edit_paraphrases.json").write_text(json.dumps([
        {"edit": "The capital of France is Rome", "questions": ["Which city is the capital of France?"]}]))
    records = load_knowedit_records(data, n=4)
    table = evaluate_methods(model, [ZeroEditor()], records, config=EvalConfig(fluency=False, show_progress=False))
    probe = records[0].edits[0].paraphrased[0]
    expected = 100 * metrics.token_accuracies(model, [probe])[0]  # one edit has one: the mean is its score
    assert table.columns["zero-test"]["generalization_paraphrased_tf"] == pytest.approx(expected)
    assert table.columns["unedited"]["generalization_paraphrased_tf"] == pytest.approx(expected)
    assert "Paraphrased questions (tf)" in table.format()
    plain = evaluate_methods(model, [ZeroEditor()], build_records(CASES, n=4), config=EvalConfig(fluency=False, show_progress=False))
    assert "generalization_paraphrased_tf" not in plain.columns["zero-test"]
