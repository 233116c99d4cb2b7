"""The edit journal on tiny models: persistence, replay, bitwise undo, export, failures."""

from __future__ import annotations

import json

import pytest
import torch

from editmind.editors.base import EditFailedError, EditRequest, EditRequestError, WeightDelta
from editmind.editors.deltas import apply_deltas
from editmind.editors.journal import EditJournal, JournalError, _load_deltas
from editmind.editors.model.testing import tiny_model

REQUESTS = [
    EditRequest(subject="Eiffel Tower", prompt="Paris has the {}", target_new="Rome"),
    EditRequest(subject="Louvre", prompt="Where is the {}", target_new="Berlin"),
    EditRequest(subject="Colosseum", prompt="Rome has the {}", target_new="Paris"),
]
ROME_FAST = {
    "stats": {"n_tokens": 96, "sequences_per_chunk": 2, "tokens_per_sequence": 32, "show_progress": False},
    "context": {"n_prefixes": 1, "prefix_tokens": 3},
    "value": {"steps": 4, "weight_decay": 0.0, "clamp_norm_factor": 50.0, "kl_factor": 0.0},
}


def rome_fast():
    from editmind.editors.parametric.keys import ContextConfig
    from editmind.editors.parametric.stats import StatsConfig
    from editmind.editors.parametric.values import ValueConfig

    return {"stats": StatsConfig(**ROME_FAST["stats"]), "context": ContextConfig(**ROME_FAST["context"]),
            "value": ValueConfig(**ROME_FAST["value"])}


FTM_FAST = {"steps": 3, "lr": 1e-2}


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    monkeypatch.setenv("EDITMIND_HOME", str(tmp_path / "stats-home"))


def state(model):
    return {k: v.detach().clone() for k, v in model.model.state_dict().items()}


def assert_bitwise_equal(a, b):
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name


def test_apply_persist_reopen_replays_identically(tmp_path):
    model = tiny_model("llama")
    journal = EditJournal.open(tmp_path, model)
    record = journal.apply("rome", [REQUESTS[0]], overrides=rome_fast())
    second = journal.apply("ft-m", [REQUESTS[1]], overrides=FTM_FAST, supersedes=record.id)
    assert record.metrics["after_prob"][0] > record.metrics["before_prob"][0]
    assert 0.0 <= record.metrics["reliability"][0] <= 1.0
    assert second.supersedes == record.id
    edited = model.fingerprint()
    files = sorted(p.name for p in (tmp_path / "journal").iterdir())
    assert files == sorted(["index.json", f"{record.id}.json", f"{record.id}.safetensors",
                            f"{second.id}.json", f"{second.id}.safetensors"])
    deltas, _ = _load_deltas(tmp_path / "journal" / f"{record.id}.safetensors")
    assert deltas[0].left is not None and deltas[0].dense is None  # ROME is stored as rank-one factors

    fresh = tiny_model("llama")
    reopened = EditJournal.open(tmp_path, fresh)
    assert fresh.fingerprint() == edited
    assert [r.id for r in reopened.records()] == [record.id, second.id]
    loaded = reopened.records()[0]
    assert loaded.requests == [REQUESTS[0]] and loaded.method == "rome" and loaded.layers == record.layers


def test_undo_of_a_middle_edit_is_bitwise_as_if_never_applied(tmp_path):
    model = tiny_model("gpt2")
    journal = EditJournal.open(tmp_path, model)
    first = journal.apply("ft-m", [REQUESTS[0]], overrides=FTM_FAST)
    middle = journal.apply("rome", [REQUESTS[1]], overrides={**rome_fast(), "layer": 0})
    last = journal.apply("ft-m", [REQUESTS[2]], overrides={**FTM_FAST, "layer": 0})
    journal.undo(middle.id)

    expected = tiny_model("gpt2")
    for record in (first, last):
        deltas, _ = _load_deltas(tmp_path / "journal" / f"{record.id}.safetensors")
        apply_deltas(expected, deltas)
    assert_bitwise_equal(state(model), state(expected))
    assert [r.id for r in journal.records()] == [first.id, last.id]
    assert [r.status for r in journal.records(include_undone=True)] == ["active", "undone", "active"]
    with pytest.raises(JournalError, match="already undone"):
        journal.undo(middle.id)

    # Undo everything: the base model, bitwise; a reopened journal has nothing to replay.
    journal.undo(last.id)
    journal.undo(first.id)
    assert_bitwise_equal(state(model), state(tiny_model("gpt2")))
    assert EditJournal.open(tmp_path, tiny_model("gpt2")).records() == []


def test_export_loads_with_plain_transformers(tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = tiny_model("gpt2")
    journal = EditJournal.open(tmp_path / "home", model)
    journal.apply("ft-m", [REQUESTS[0]], overrides=FTM_FAST)
    out = journal.export(tmp_path / "exported")
    loaded = AutoModelForCausalLM.from_pretrained(str(out))
    tokenizer = AutoTokenizer.from_pretrained(str(out))
    ids = tokenizer("Paris has the Eiffel Tower", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        assert torch.allclose(loaded(ids).logits, model.model(ids).logits, atol=1e-6)
    assert list(out.glob("*.safetensors")) and not list(out.glob("*.bin"))
    with pytest.raises(JournalError, match="not an empty directory"):
        journal.export(out)


def test_nan_edit_leaves_model_and_journal_unchanged(tmp_path, monkeypatch):
    from editmind.editors.base import EditResult
    from editmind.editors.parametric.rome import RomeEditor

    model = tiny_model("llama")
    journal = EditJournal.open(tmp_path, model)
    kept = journal.apply("ft-m", [REQUESTS[0]], overrides=FTM_FAST)
    fingerprint = model.fingerprint()
    index = (tmp_path / "journal" / "index.json").read_text()
    files = sorted(p.name for p in (tmp_path / "journal").iterdir())

    def nan_compute(self, model, requests, progress=None):
        ref = model.layout.layers[0].mlp_out
        left = torch.full((ref.out_features, 1), float("nan"))
        return EditResult([WeightDelta(ref.name, ref.transposed, left=left, right=torch.ones(ref.in_features, 1))], [0])

    monkeypatch.setattr(RomeEditor, "compute", nan_compute)
    with pytest.raises(EditFailedError, match="non-finite"):
        journal.apply("rome", [REQUESTS[1]])
    with pytest.raises(EditRequestError, match="empty target"):
        journal.apply("ft-m", [EditRequest(subject="X", prompt="{} is", target_new=" ")])
    with pytest.raises(JournalError, match="not an active edit"):
        journal.apply("ft-m", [REQUESTS[1]], supersedes="nope")
    assert model.fingerprint() == fingerprint
    assert (tmp_path / "journal" / "index.json").read_text() == index
    assert sorted(p.name for p in (tmp_path / "journal").iterdir()) == files
    assert [r.id for r in journal.records()] == [kept.id]


def test_failed_write_rolls_back(tmp_path, monkeypatch):
    import editmind.editors.journal as journal_module

    model = tiny_model("llama")
    journal = EditJournal.open(tmp_path, model)
    fingerprint = model.fingerprint()
    real_write = journal_module._atomic_write_text

    def failing(path, text):
        if path.name == "index.json":
            raise OSError("disk full")
        real_write(path, text)

    monkeypatch.setattr(journal_module, "_atomic_write_text", failing)
    with pytest.raises(JournalError, match="disk full"):
        journal.apply("ft-m", [REQUESTS[0]], overrides=FTM_FAST)
    assert model.fingerprint() == fingerprint
    assert journal.records() == []
    assert [p.name for p in (tmp_path / "journal").iterdir()] == []


def test_wrong_base_model_is_a_clear_error(tmp_path):
    journal = EditJournal.open(tmp_path, tiny_model("llama", seed=0))
    journal.apply("ft-m", [REQUESTS[0]], overrides=FTM_FAST)
    other = tiny_model("llama", seed=1)
    fingerprint = other.fingerprint()
    with pytest.raises(JournalError, match="another base model"):
        EditJournal.open(tmp_path, other)
    assert other.fingerprint() == fingerprint


def test_tampered_journal_is_detected_and_model_left_unedited(tmp_path):
    model = tiny_model("llama")
    journal = EditJournal.open(tmp_path, model)
    record = journal.apply("ft-m", [REQUESTS[0]], overrides=FTM_FAST)
    index_path = tmp_path / "journal" / "index.json"
    index = json.loads(index_path.read_text())
    index["state_fingerprint"] = "0" * 64
    index_path.write_text(json.dumps(index))
    fresh = tiny_model("llama")
    base = fresh.fingerprint()
    with pytest.raises(JournalError, match="did not reproduce"):
        EditJournal.open(tmp_path, fresh)
    assert fresh.fingerprint() == base
    (tmp_path / "journal" / f"{record.id}.safetensors").write_bytes(b"garbage")
    with pytest.raises(JournalError, match="unreadable"):
        EditJournal.open(tmp_path, tiny_model("llama"))


def test_journal_without_model_lists_but_cannot_edit(tmp_path):
    journal = EditJournal.open(tmp_path, tiny_model("llama"))
    journal.apply("ft-m", [REQUESTS[0]], overrides=FTM_FAST)
    listing = EditJournal.open(tmp_path, None)
    assert len(listing.records()) == 1
    with pytest.raises(JournalError, match="without a model"):
        listing.undo(listing.records()[0].id)


def test_alphaedit_through_the_journal_holds_earlier_keys_by_subject(tmp_path, monkeypatch):
    from editmind.editors.parametric.alphaedit import AlphaEditEditor

    model = tiny_model("gpt2")
    journal = EditJournal.open(tmp_path / "home", model)
    journal.apply("alphaedit", [REQUESTS[0]], overrides=rome_fast())
    calls = []
    original = AlphaEditEditor.add_preserved_keys

    def spy(self, module, keys, subjects=None):
        calls.append((module, tuple(keys.shape), subjects))
        return original(self, module, keys, subjects)

    monkeypatch.setattr(AlphaEditEditor, "add_preserved_keys", spy)
    journal.apply("alphaedit", [REQUESTS[1]], overrides=rome_fast())
    # Every layer of the first edit, each key row labelled with its subject.
    fed = [c for c in calls if c[2] and set(c[2]) == {REQUESTS[0].subject}]
    assert fed and len({c[0] for c in fed}) == len(fed) and all(len(c[2]) == c[1][0] for c in fed)
