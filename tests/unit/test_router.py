"""The routing policy: personal facts never reach the weights; lasting world corrections are
consolidated in one batch and verified; failures stay in memory; superseding is linked."""

from dataclasses import dataclass, field

import pytest

from editmind.agent.router import PendingFact, Router, RouterConfig
from editmind.agent.turns import classify_turn
from editmind.editors.base import EditRequest
from editmind.editors.errors import EditmindError


def route(text, q=None, a=None):
    return Router().route(classify_turn(text, q, a))


def test_personal_facts_never_go_to_the_weights_even_when_permanent():
    r = route("My sister lives in Lyon.")
    assert (r.action, r.memory, r.weights, r.scope) == ("remember", True, "never", "personal")
    r = route("Remember permanently that my sister lives in Lyon.")
    assert r.weights == "never" and r.scope == "personal"


def test_world_correction_goes_to_memory_and_to_weights_only_when_lasting():
    r = route("No, it's Rome.", "Where is the Eiffel Tower?", "It is in Paris.")
    assert (r.action, r.memory, r.weights, r.scope) == ("correct", True, "never", "world")
    r = route("Remember permanently that the Eiffel Tower is in Rome.")
    assert (r.action, r.weights) == ("correct", "now")


def test_incomplete_correction_is_clarified_and_forget_mentions_sanitation():
    assert route("No, it's Rome.").action == "clarify"
    r = route("Forget my address.")
    assert r.action == "forget" and any("sanitation edit" in reason for reason in r.reasons)


def test_confirmations_and_batch_rule():
    router = Router(RouterConfig(confirmations_to_last=2, batch_size=3))
    assert router.weight_state(1, lasting=False) == "memory"
    assert router.weight_state(2, lasting=False) == "pending"
    assert router.weight_state(1, lasting=True) == "pending"
    assert router.weight_state(5, lasting=False, current="edited") == "edited"
    assert not router.consolidation_due(2, explicit=False)
    assert router.consolidation_due(3, explicit=False)
    assert router.consolidation_due(1, explicit=True)
    assert not router.consolidation_due(0, explicit=True)


def test_pick_method_prefers_memit_and_errors_clearly():
    router = Router()
    assert router.pick_method(["alphaedit", "memit", "rome"]) == "memit"
    assert router.pick_method(["alphaedit", "rome"]) == "alphaedit"
    with pytest.raises(EditmindError, match="no batch parameter editor"):
        router.pick_method(["rome"])


# --- consolidation against a recording journal (the journal is another package's edge) ---

@dataclass
class Record:
    id: str
    method: str
    requests: list
    supersedes: str | None = None
    undone: bool = False
    layers: list = field(default_factory=list)


class RecordingJournal:
    def __init__(self, fail=False):
        self.items: list[Record] = []
        self.fail = fail

    def records(self):
        return [r for r in self.items if not r.undone]

    def apply(self, method, requests, overrides=None, progress=None, supersedes=None):
        if self.fail:
            raise EditmindError("the edit blew up")
        record = Record(f"e{len(self.items)}", method, list(requests), supersedes)
        self.items.append(record)
        return record

    def undo(self, edit_id):
        next(r for r in self.items if r.id == edit_id).undone = True


def req(subject, target):
    return EditRequest(subject=subject, prompt="The {} is located in", target_new=target)


def test_consolidation_batches_verifies_and_flags_failures():
    journal = RecordingJournal()
    pending = [PendingFact("f1", req("Eiffel Tower", "Rome")), PendingFact("f2", req("Louvre", "Lyon"))]
    scores = {"Rome": 1.0, "Lyon": 0.0}
    seen = []
    result = Router().consolidate(journal, None, pending, ["memit"], lambda m, r: scores[r.target_new],
                                  progress=lambda *a: seen.append(a))
    assert len(journal.items) == 1 and len(journal.items[0].requests) == 2  # one batched edit
    assert result.succeeded == {"f1": 1.0} and result.failed == {"f2": 0.0}
    assert result.fact_edits == {"f1": "e0"} and result.edit_ids == ["e0"] and not result.undone
    assert seen and seen[-1] == ("consolidate", 2, 2)


def test_all_failed_batch_is_undone_and_raising_edit_leaves_facts_flagged():
    journal = RecordingJournal()
    result = Router().consolidate(journal, None, [PendingFact("f1", req("Eiffel Tower", "Rome"))], ["memit"],
                                  lambda m, r: 0.0)
    assert result.undone == ["e0"] and journal.records() == [] and result.failed == {"f1": 0.0}
    result = Router().consolidate(RecordingJournal(fail=True), None, [PendingFact("f1", req("X", "Y"))], ["memit"],
                                  lambda m, r: 1.0)
    assert result.failed == {"f1": 0.0} and "blew up" in result.error


def test_correcting_an_edited_fact_links_the_new_edit():
    journal = RecordingJournal()
    router = Router()
    router.consolidate(journal, None, [PendingFact("f1", req("Eiffel Tower", "Rome"))], ["memit"], lambda m, r: 1.0)
    result = router.consolidate(journal, None, [PendingFact("f2", req("Eiffel Tower", "Berlin")),
                                                PendingFact("f3", req("Louvre", "Lyon"))], ["memit"], lambda m, r: 1.0)
    by_subject = {r.requests[0].subject: r for r in journal.items[1:]}
    assert by_subject["Eiffel Tower"].supersedes == "e0"
    assert by_subject["Louvre"].supersedes is None
    assert len(result.edit_ids) == 2


def test_single_fact_falls_back_to_a_one_fact_method_only_when_alone():
    router = Router()
    assert router.pick_method(["rome"], n_facts=1) == "rome"
    with pytest.raises(EditmindError):
        router.pick_method(["rome"], n_facts=2)


def test_consolidation_switches_to_the_lifelong_editor_past_the_measured_threshold():
    router = Router(RouterConfig(lifelong_after_edits=4))
    available = ["grace", "memit", "rome"]
    assert router.pick_method(available, n_facts=2, edits_in_place=2) == "memit"  # 4 in place after: still batch
    assert router.pick_method(available, n_facts=2, edits_in_place=3) == "grace"  # 5 would be in place
    assert router.pick_method(["memit"], n_facts=2, edits_in_place=50) == "memit"  # no lifelong editor registered
    journal = RecordingJournal()
    for i in range(3):  # three active edits, one undone: three in place
        journal.items.append(Record(f"e{i}", "memit", [req(f"S{i}", "X")]))
    journal.items.append(Record("e3", "memit", [req("S3", "X")], undone=True))
    result = router.consolidate(journal, None, [PendingFact("f1", req("Louvre", "Lyon"))], available, lambda m, r: 1.0)
    assert result.method == "memit" and journal.items[-1].method == "memit"  # 3 + 1 = 4: not past it
    result = router.consolidate(journal, None, [PendingFact("f2", req("Eiffel Tower", "Rome"))], available, lambda m, r: 1.0)
    assert result.method == "grace" and journal.items[-1].method == "grace" and result.fact_edits == {"f2": journal.items[-1].id}
