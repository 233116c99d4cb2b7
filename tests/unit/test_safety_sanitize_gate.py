"""The gated sanitation edit (editors/safety/sanitize_gate.py, the `sanitize` editor's default
method) on tiny random models: the gate opens on a forget key and not on a far one, the given
retain questions stay bitwise untouched, undo is bitwise, replay on reopen and the export
re-attach it, and bad settings are one-line errors."""

from __future__ import annotations

import json

import pytest
import torch

from editmind.apps.cli import main
from editmind.editors.base import EditRequestError, get_editor
from editmind.editors.journal import EditJournal
from editmind.editors.model.batch_generation import chat_prompt
from editmind.editors.model.testing import logits, tiny_model
from editmind.editors.safety.qa_files import QAItem
from editmind.editors.safety.sanitation import sanitation_requests
from editmind.editors.safety.sanitize_gate import EXPORT_JSON, EXPORT_TENSORS, GateDelta, GateMemory, question_end
from editmind.editors.side_memory import has_side_memory, memories

pytestmark = pytest.mark.usefixtures("one_torch_thread", "isolated_home")
FORGET = [QAItem("Where does Jane Roe live?", ("Elm Street",))]
RETAIN = [QAItem("What is the capital of France?"), QAItem("Who wrote the play Hamlet?")]
FAST = {"gate_epochs": 6}


def chat_logits(model, question: str) -> torch.Tensor:
    ids = model.tokenizer(chat_prompt(model.tokenizer, question), add_special_tokens=False, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        return model.model(input_ids=ids).logits.clone()


def the_memory(model) -> GateMemory:
    found = [m for m in memories(model).values() if isinstance(m, GateMemory)]
    assert len(found) == 1
    return found[0]


@pytest.mark.parametrize("arch", ["llama", "gpt2"])
def test_the_gate_opens_on_a_forget_key_and_not_on_a_far_one(tmp_path, arch):
    model = tiny_model(arch)
    requests = sanitation_requests(FORGET, RETAIN)
    journal = EditJournal.open(tmp_path, model)
    before_forget, before_retain = chat_logits(model, FORGET[0].question), [chat_logits(model, r.question) for r in RETAIN]
    before_score = model.score([requests[0].rendered_prompt], [requests[0].target_new])[0].mean_logprob
    record = journal.apply("sanitize", requests, overrides=FAST)
    assert record.method == "sanitize"
    memory = the_memory(model)
    keys, radii = memory.keys, memory.radii
    hit, nearest = memory.lookup(keys)
    assert bool(hit.all()) and torch.equal(nearest, torch.arange(len(keys)))  # each key opens its own gate
    direction = torch.randn(keys.shape, generator=torch.Generator().manual_seed(0))
    span = float(radii.max() + torch.cdist(keys, keys).max())
    far = keys + 3 * span * direction / direction.norm(dim=1, keepdim=True)
    assert not bool(memory.lookup(far)[0].any())  # farther from every key than any radius: closed
    # the forget question now goes another way; the retain questions (held out of the gate) bitwise not
    assert not torch.equal(chat_logits(model, FORGET[0].question), before_forget)
    assert all(torch.equal(chat_logits(model, r.question), b) for r, b in zip(RETAIN, before_retain))
    after_score = model.score([requests[0].rendered_prompt], [requests[0].target_new])[0].mean_logprob
    assert after_score > before_score  # the safe phrase became likelier for the forgotten question


def test_the_key_is_the_question_s_last_token_in_every_framing():
    model = tiny_model("llama")
    question = FORGET[0].question
    for text, special in ((chat_prompt(model.tokenizer, question), False), (question, True), (f"Question: {question}\nAnswer:", True)):
        ids, position = question_end(model.tokenizer, text, question, special)
        prefix = model.tokenizer.decode(ids[:position + 1])
        assert prefix.rstrip().endswith("live?") and not model.tokenizer.decode(ids[position + 1:]).startswith("?")


def test_radii_never_cover_a_given_retain_prompt():
    from editmind.editors.safety.sanitize_gate import _module, _states, framed

    model = tiny_model("llama")
    result = get_editor("sanitize", **FAST, gate_radius=10.0).compute(model, sanitation_requests(FORGET, RETAIN))
    (delta,) = result.deltas
    assert isinstance(delta, GateDelta) and result.info["radii_capped_by_retain"] == len(delta.keys)
    states = _states(model, _module(model, delta.module), [framed(model.tokenizer, "chat", r.question) for r in RETAIN])
    assert bool((torch.cdist(delta.keys, states).min(dim=1).values > delta.radii).all())
    assert not has_side_memory(model)  # compute alone attaches nothing


def test_undo_is_bitwise_and_replay_and_export_reattach(tmp_path):
    from editmind.editors.model.loading import load_model

    model = tiny_model("llama")
    base_state = {k: v.clone() for k, v in model.model.state_dict().items()}
    base = model.fingerprint()
    before = chat_logits(model, FORGET[0].question)
    journal = EditJournal.open(tmp_path / "home", model)
    record = journal.apply("sanitize", sanitation_requests(FORGET, RETAIN), overrides=FAST)
    edited = chat_logits(model, FORGET[0].question)
    assert model.fingerprint() == base  # the weights are untouched: the gate sits beside them
    fresh = tiny_model("llama")  # replay on the next start
    EditJournal.open(tmp_path / "home", fresh)
    assert torch.equal(chat_logits(fresh, FORGET[0].question), edited)
    out = journal.export(tmp_path / "export")
    assert (out / EXPORT_TENSORS).is_file() and json.loads((out / EXPORT_JSON).read_text())["format"].startswith("editmind-sanitize-gate")
    reloaded = load_model(str(out))
    assert torch.allclose(chat_logits(reloaded, FORGET[0].question), edited, atol=1e-5)
    journal.undo(record.id)
    assert not has_side_memory(model) and model.fingerprint() == base
    assert torch.equal(chat_logits(model, FORGET[0].question), before)
    assert all(torch.equal(v, base_state[k]) for k, v in model.model.state_dict().items())


def test_the_lowrank_method_stays_selectable():
    model = tiny_model("llama")
    result = get_editor("sanitize", method="lowrank", epochs=1).compute(model, sanitation_requests(FORGET, RETAIN))
    assert result.info["method"] == "lowrank" and not isinstance(result.deltas[0], GateDelta)


@pytest.mark.parametrize("settings,fragment", [
    ({"method": "filter"}, "must be one of gate, lowrank"),
    ({"gate_radius": "wide"}, "gate_radius"),
])
def test_bad_settings_are_one_line_errors(settings, fragment):
    with pytest.raises(EditRequestError, match=fragment) as raised:
        get_editor("sanitize", **settings)
    assert "\n" not in str(raised.value)


def test_cli_method_flag_and_bad_input_are_one_line(tiny_dir, tmp_path, capsys):
    forget = tmp_path / "forget.json"
    forget.write_text(json.dumps([{"question": "Where does Jane Roe live?", "answer": "Elm Street"}]))
    base = ["--model", str(tiny_dir), "--home", str(tmp_path / "home")]
    code = main([*base, "sanitize", "--forget", str(forget), "--set", "gate_layer=99", "--no-eval"])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "layer" in err
    code = main([*base, "sanitize", "--forget", str(forget), "--method", "lowrank", "--set", "epochs=1", "--no-eval"])
    assert code == 0 and "lowrank" in capsys.readouterr().out
    bad = tmp_path / "bad.json"
    bad.write_text('{"a": 1}')
    code = main([*base, "sanitize", "--forget", str(bad)])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "holds no list" in err


def test_a_single_forget_question_still_gets_the_minimum_number_of_steps(tmp_path):
    # one question is 6 framed rows, one batch an epoch: gate_epochs alone would train 6 steps,
    # too few for the default model to say the safe phrase ("forget where Jane Roe lives" in chat)
    model = tiny_model("llama")
    journal = EditJournal.open(tmp_path, model)
    record = journal.apply("sanitize", sanitation_requests(FORGET, RETAIN),
                           overrides={"gate_epochs": 2, "gate_min_steps": 12, "gate_stop_loss": 0.0})
    assert len(record.info["loss_per_epoch"]) == 12
