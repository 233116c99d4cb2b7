"""GRACE, the side-memory lifelong editor, on tiny models: effect, purity, bitwise undo through
the journal (one edit of many too), replay on reopen, and the export's two readers."""

from __future__ import annotations

import json

import pytest
import torch

from editmind.editors.base import EditRequest, get_editor
from editmind.editors.deltas import apply_deltas
from editmind.editors.journal import EditJournal
from editmind.editors.model.testing import logits, tiny_model
from editmind.editors.parametric.grace import EXPORT_JSON, EXPORT_TENSORS, GraceDelta, codebook_size
from editmind.editors.side_memory import has_side_memory

pytestmark = pytest.mark.usefixtures("isolated_home")

ARCHS = ("llama", "qwen2", "gpt2")
REQUESTS = [
    EditRequest(subject="Eiffel Tower", prompt="Paris has the {}", target_new="Rome"),
    EditRequest(subject="Louvre", prompt="Where is the {}", target_new="Rome"),  # one-token targets: a tiny random
    # model's narrow logits do not let one vector carry a later token within the test's steps
    EditRequest(subject="Colosseum", prompt="Shakespeare wrote the {}", target_new="Paris"),
]
UNRELATED = "Danielle Darrieux speaks French. Apple was founded by Steve Jobs."
# layer 1 of the tiny models' 4: a multi-token target needs layers after the codebook (at the last
# layer the replaced output reaches only the next token, not the target's later ones)
FAST = {"steps": 40, "self_questions": False, "layer": 1}


def state(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.model.state_dict().items()}


def assert_same_state(a, b) -> None:
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name


def top_target(model, request: EditRequest) -> float:
    return model.score([request.rendered_prompt], [request.target_new])[0].token_accuracy


@pytest.mark.parametrize("arch", ARCHS)
def test_edit_makes_target_top_and_leaves_unrelated_logits_bitwise(arch):
    model = tiny_model(arch)
    fingerprint, unrelated = model.fingerprint(), logits(model, UNRELATED)
    result = get_editor("grace", **FAST).compute(model, [REQUESTS[0]])
    assert model.fingerprint() == fingerprint and not has_side_memory(model)  # compute is pure
    [delta] = result.deltas
    assert isinstance(delta, GraceDelta) and delta.module == model.layout.layers[result.layers[0]].mlp_out.name
    snapshot = apply_deltas(model, result.deltas)
    assert top_target(model, REQUESTS[0]) == 1.0  # every target token is the top pick
    assert torch.equal(logits(model, UNRELATED), unrelated)  # no key covers it: bitwise the unedited logits
    assert model.fingerprint() == fingerprint  # no weight changed
    snapshot.restore()
    assert not has_side_memory(model) and torch.equal(logits(model, REQUESTS[0].rendered_prompt + " Rome"),
                                                      logits(tiny_model(arch), REQUESTS[0].rendered_prompt + " Rome"))


@pytest.mark.parametrize("arch", ARCHS)
def test_journal_undo_is_bitwise_and_undoing_one_keeps_the_rest(tmp_path, arch):
    model = tiny_model(arch)
    texts = [r.rendered_prompt + " " + r.target_new for r in REQUESTS] + [UNRELATED]
    base_logits, base_state = [logits(model, t) for t in texts], state(model)
    journal = EditJournal.open(tmp_path, model)
    records = []
    after = []
    for request in REQUESTS:
        records.append(journal.apply("grace", [request], overrides=FAST))
        after.append([logits(model, t) for t in texts])
    assert records[0].modules == [model.layout.layers[records[0].layers[0]].mlp_out.name]
    assert all(top_target(model, r) == 1.0 for r in REQUESTS)
    # undo the middle edit: its prompt is back to the unedited logits, the others keep theirs
    journal.undo(records[1].id)
    now = [logits(model, t) for t in texts]
    assert torch.equal(now[1], base_logits[1])
    assert torch.equal(now[0], after[2][0]) and torch.equal(now[2], after[2][2])
    assert torch.equal(now[3], base_logits[3])
    # undo the last edit: bitwise the state after the first edit alone
    journal.undo(records[2].id)
    assert all(torch.equal(a, b) for a, b in zip([logits(model, t) for t in texts], after[0]))
    journal.undo(records[0].id)
    assert all(torch.equal(a, b) for a, b in zip([logits(model, t) for t in texts], base_logits))
    assert_same_state(state(model), base_state)
    assert not has_side_memory(model)


def test_reopen_replays_the_codebook(tmp_path):
    model = tiny_model("llama")
    journal = EditJournal.open(tmp_path, model)
    for request in REQUESTS[:2]:
        journal.apply("grace", [request], overrides=FAST)
    edited = [logits(model, r.rendered_prompt) for r in REQUESTS[:2]]
    keys = codebook_size(model)
    stored = json.loads(next(p for p in (tmp_path / "journal").glob("*.json") if p.name != "index.json").read_text())
    assert stored["method"] == "grace"
    fresh = tiny_model("llama")
    EditJournal.open(tmp_path, fresh)
    assert codebook_size(fresh) == keys
    assert all(torch.equal(logits(fresh, r.rendered_prompt), e) for r, e in zip(REQUESTS[:2], edited))


def test_export_loads_in_transformers_and_editmind_reattaches(tmp_path):
    from transformers import AutoModelForCausalLM

    from editmind.editors.model.loading import load_model

    model = tiny_model("llama")
    base = logits(model, REQUESTS[0].rendered_prompt)
    journal = EditJournal.open(tmp_path / "home", model)
    journal.apply("grace", [REQUESTS[0]], overrides=FAST)
    edited = logits(model, REQUESTS[0].rendered_prompt)
    out = journal.export(tmp_path / "export")
    assert (out / EXPORT_TENSORS).is_file() and (out / EXPORT_JSON).is_file()
    assert json.loads((out / "editmind_edits.json").read_text())["side_memories"] == [EXPORT_TENSORS, EXPORT_JSON]
    plain = AutoModelForCausalLM.from_pretrained(str(out)).eval()  # the base weights, without the codebook
    ids = model.tokenizer(REQUESTS[0].rendered_prompt, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        assert torch.allclose(plain(input_ids=ids).logits, base, atol=1e-5)
    reloaded = load_model(str(out))
    assert codebook_size(reloaded) == codebook_size(model)
    assert torch.allclose(logits(reloaded, REQUESTS[0].rendered_prompt), edited, atol=1e-5)
    assert top_target(reloaded, REQUESTS[0]) == 1.0


def test_conflicting_targets_split_radii_and_same_target_expands():
    model = tiny_model("llama")
    editor = get_editor("grace", **FAST)
    first = editor.compute(model, [REQUESTS[0]]).deltas[0]
    conflict = GraceDelta(module=first.module, owner="b", keys=first.keys + 1e-3, values=-first.values, radii=first.radii,
                          labels=("Berlin",))
    same = GraceDelta(module=first.module, owner="c", keys=first.keys + 1e-3, values=first.values, radii=first.radii,
                      labels=first.labels)
    snapshot = apply_deltas(model, [first, same])
    assert codebook_size(model) == 1  # same answer: the existing key's radius covers the new one
    snapshot.restore()
    snapshot = apply_deltas(model, [first, conflict])
    from editmind.editors.side_memory import memories

    memory = memories(model)[first.module]
    distance = float(torch.linalg.vector_norm(conflict.keys[0] - first.keys[0]))
    assert memory.size == 2 and float(memory.radii.max()) <= distance / 2 + 1e-6  # split: neither covers the other
    snapshot.restore()
    assert not has_side_memory(model)
