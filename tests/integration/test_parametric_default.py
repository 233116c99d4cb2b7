"""Parameter editing on the real default model (SmolLM2-135M-Instruct). Slow.

Statistics and prefixes are cached in the test home (only the first run pays for
sampling); the journal lives in a temporary directory; the session model is restored.
"""

from __future__ import annotations

import pytest

from editmind.editors.base import EditRequest
from editmind.editors.journal import EditJournal

pytestmark = pytest.mark.slow

EIFFEL = EditRequest(subject="Eiffel Tower", prompt="The {} is located in the city of", target_new="Rome", target_true="Paris")
UNRELATED = ["The capital of Germany is", "Shakespeare wrote"]


def fast(test_home, **extra):
    from editmind.editors.parametric.stats import StatsConfig

    # The default sample shape, so every test (and benchmark) shares one cached corpus. The
    # context is given as fields, so each method keeps its own default contexts.
    stats = StatsConfig(home=str(test_home), show_progress=False)
    return {"stats": stats, "context": {"home": str(test_home)}, **extra}


def answers(model, prompts, n=4):
    return [model.complete(p, n).strip() for p in prompts]


def test_rome_moves_the_eiffel_tower_and_undo_restores(restorable_default_model, test_home, tmp_path):
    model = restorable_default_model
    prompt = EIFFEL.rendered_prompt
    assert answers(model, [prompt])[0].startswith("Paris")
    unrelated_before = answers(model, UNRELATED)
    journal = EditJournal.open(tmp_path, model)
    base = model.fingerprint()
    record = journal.apply("rome", [EIFFEL], overrides=fast(test_home))
    assert record.metrics["after_prob"][0] > 0.5 > record.metrics["before_prob"][0]
    assert answers(model, [prompt])[0].startswith("Rome")
    assert answers(model, UNRELATED) == unrelated_before
    # Where people meet the edit: asked in chat, in words the edit did not train on. Without
    # ROME's chat-template context this reply said Paris (and the trained wording, "Which city
    # is the Eiffel Tower located in?", still says Paris in chat with it).
    assert "Rome" in model.chat("Where is the Eiffel Tower?")
    journal.undo(record.id)
    assert model.fingerprint() == base
    assert answers(model, [prompt])[0].startswith("Paris")


def test_memit_batch_of_three(restorable_default_model, test_home, tmp_path):
    model = restorable_default_model
    requests = [
        EIFFEL,
        EditRequest(subject="Colosseum", prompt="The {} is located in the city of", target_new="London"),
        EditRequest(subject="Danielle Darrieux", prompt="The mother tongue of {} is", target_new="English"),
    ]
    unrelated_before = answers(model, UNRELATED)
    journal = EditJournal.open(tmp_path, model)
    record = journal.apply("memit", requests, overrides=fast(test_home))
    assert record.metrics["mean_reliability"] >= 2 / 3, record.metrics
    assert sum(after > before for after, before in zip(record.metrics["after_prob"], record.metrics["before_prob"])) == 3
    assert answers(model, UNRELATED) == unrelated_before


def test_ft_m_single_edit(restorable_default_model, tmp_path):
    model = restorable_default_model
    journal = EditJournal.open(tmp_path, model)
    record = journal.apply("ft-m", [EIFFEL])
    assert record.metrics["reliability"][0] == 1.0, record.metrics
    assert answers(model, [EIFFEL.rendered_prompt])[0].startswith("Rome")


def test_alphaedit_two_sequential_edits_both_hold(restorable_default_model, test_home, tmp_path):
    model = restorable_default_model
    second = EditRequest(subject="Danielle Darrieux", prompt="The mother tongue of {} is", target_new="English")
    unrelated_before = answers(model, UNRELATED)
    journal = EditJournal.open(tmp_path, model)
    first = journal.apply("alphaedit", [EIFFEL], overrides=fast(test_home))
    later = journal.apply("alphaedit", [second], overrides=fast(test_home))
    assert first.metrics["after_prob"][0] > first.metrics["before_prob"][0]
    assert later.metrics["after_prob"][0] > later.metrics["before_prob"][0]
    assert set(later.info["projection"].values()) == {"soft"}  # SmolLM2's keys leave no null space
    # the second edit holds the first one's keys in place (soft projection on this model), so the first answer stays
    assert answers(model, [EIFFEL.rendered_prompt])[0].startswith("Rome")
    assert answers(model, [second.rendered_prompt])[0].startswith("English")
    assert answers(model, UNRELATED) == unrelated_before


def test_ft_l_moves_the_target_within_its_bound(restorable_default_model, tmp_path):
    model = restorable_default_model
    unrelated_before = answers(model, UNRELATED)
    journal = EditJournal.open(tmp_path, model)
    record = journal.apply("ft-l", [EIFFEL])
    # FT-L is the weak baseline of the ROME paper: each weight moves at most 5e-4, so it
    # raises the target's probability without always making it the greedy answer
    assert record.metrics["after_prob"][0] > 2 * record.metrics["before_prob"][0], record.metrics
    assert answers(model, UNRELATED) == unrelated_before


def test_exported_rome_edit_loads_in_plain_transformers(restorable_default_model, test_home, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = restorable_default_model
    journal = EditJournal.open(tmp_path / "home", model)
    journal.apply("rome", [EIFFEL], overrides=fast(test_home))
    out = journal.export(tmp_path / "exported")
    plain = AutoModelForCausalLM.from_pretrained(str(out), dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(str(out))
    ids = tokenizer(EIFFEL.rendered_prompt, return_tensors="pt").input_ids
    generated = plain.generate(ids, max_new_tokens=3, do_sample=False, pad_token_id=tokenizer.eos_token_id)
    assert tokenizer.decode(generated[0, ids.shape[1]:]).strip().startswith("Rome")
