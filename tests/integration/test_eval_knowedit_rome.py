"""The KnowEdit evaluator end to end on the real default model with real ROME edits."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_rome_on_two_dev_edits_moves_the_answer_keeps_locality_and_restores(default_model, shared_data):
    from editmind.editors.base import available_editors
    from editmind.editors.eval.knowedit import EvalConfig, evaluate_methods
    from editmind.editors.eval.records import RecordConfig, load_knowedit_records

    if "rome" not in available_editors("parametric"):
        pytest.fail("ROME is not registered (editors/parametric)")
    records = load_knowedit_records(shared_data / "mquake" / "mquake_hard_dev.json", n=2,
                                    config=RecordConfig(locality_per_case=3))
    fingerprint = default_model.fingerprint()
    table = evaluate_methods(default_model, ["rome"], records, mode="single",
                             config=EvalConfig(fluency_tokens=16, show_progress=False))
    assert default_model.fingerprint() == fingerprint  # every edit was restored bitwise
    rome, unedited = table.columns["rome"], table.columns["unedited"]
    assert rome["failed_edits"] == 0
    # the new targets are (almost) never what the unedited model says; ROME makes them likelier
    assert unedited["reliability_tf"] < 50
    assert rome["reliability_tf"] >= unedited["reliability_tf"] + 25
    assert rome["reliability_em"] >= 50  # at least one of the two greedy continuations now starts with the target
    per_edit = table.reports[-1].per_edit
    assert len(per_edit) == 2
    assert rome["reliability_tf"] == pytest.approx(100 * sum(r["reliability_tf"] for r in per_edit) / 2)
    # unrelated prompts of other cases keep most of the unedited model's predictions
    assert rome["locality_tf"] >= 70
    assert rome["fluency"] > 0.8 * unedited["fluency"]
    assert "Edit Succ. (tf)" in table.format()
