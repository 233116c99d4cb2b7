"""Parameter editors on tiny random models: shapes, purity of compute, and effect.

Tiny random models cannot be pushed to confident predictions (their logits span a narrow
range), so the value optimisation runs with a loose clamp and no decay here: these tests
check the mechanics (the delta fits, compute leaves the model untouched, the applied delta
raises the target's probability); the real model's behaviour is in the integration tests.
"""

from __future__ import annotations

import pytest
import torch

from editmind.editors.base import EditRequest, EditRequestError, available_editors, get_editor
from editmind.editors.deltas import apply_deltas
from editmind.editors.model.testing import tiny_model
from editmind.editors.parametric.stats import StatsConfig
from editmind.editors.parametric.values import ValueConfig

pytestmark = pytest.mark.usefixtures("isolated_home")

REQUESTS = [
    EditRequest(subject="Eiffel Tower", prompt="Paris has the {}", target_new="Rome"),
    EditRequest(subject="Louvre", prompt="Where is the {}", target_new="Berlin"),
]


def fast_overrides(method: str) -> dict:
    if method in ("rome", "memit", "alphaedit"):
        return dict(
            stats=StatsConfig(n_tokens=128, sequences_per_chunk=4, tokens_per_sequence=32, show_progress=False),
            context={"n_prefixes": 2, "prefix_tokens": 4},  # fields: each method keeps its own default contexts
            value=ValueConfig(steps=8, weight_decay=0.0, clamp_norm_factor=100.0, kl_factor=0.0),
        )
    if method == "ft-m":
        return dict(steps=6, lr=1e-2)
    return dict(steps=3)


def _probs(model, requests):
    return [s.prob for s in model.score([r.rendered_prompt for r in requests], [r.target_new for r in requests])]


def test_all_five_methods_are_registered():
    assert {"rome", "memit", "ft-m", "ft-l", "alphaedit"} <= set(available_editors("parametric"))


CASES = [(m, a) for a in ("llama", "gpt2") for m in ("rome", "memit", "alphaedit", "ft-m", "ft-l")]
CASES += [("rome", "qwen2"), ("rome", "gpt_neox"), ("memit", "phi3"), ("rome", "gptj")]


@pytest.mark.parametrize("method,arch", CASES)
def test_edit_fits_leaves_model_unchanged_and_raises_target(method, arch):
    model = tiny_model(arch)
    requests = REQUESTS if method != "rome" or arch == "llama" else REQUESTS[:1]
    fingerprint = model.fingerprint()
    before = _probs(model, requests)
    result = get_editor(method, family="parametric", **fast_overrides(method)).compute(model, requests)
    assert model.fingerprint() == fingerprint, "compute must leave the model exactly as it was"
    assert result.layers and all(0 <= layer < model.layout.num_layers for layer in result.layers)
    for delta in result.deltas:
        ref = next(l.mlp_out for l in model.layout.layers if l.mlp_out.name == delta.module)
        assert tuple(delta.tensor().shape) == (ref.out_features, ref.in_features)
        assert delta.transposed == ref.transposed
        assert delta.is_finite()
    snapshot = apply_deltas(model, result.deltas)
    after = _probs(model, requests)
    snapshot.restore()
    if method == "ft-l":  # an L-infinity bound of 5e-4 per weight moves a tiny model very little
        assert all(a > b for a, b in zip(after, before)), (before, after)
    elif method == "alphaedit" and arch == "llama":
        # On a 64-wide random SwiGLU the self-generated keys span (almost) everything, so
        # the null space is tiny: the update must not *lower* the target; its projection
        # property is tested below.
        assert all(a >= b * 0.99 for a, b in zip(after, before)), (before, after)
    else:
        assert all(a > b * 1.2 for a, b in zip(after, before)), (method, arch, before, after)
    assert model.fingerprint() == fingerprint


def test_rank_one_methods_store_factors():
    model = tiny_model("llama")
    result = get_editor("rome", **fast_overrides("rome")).compute(model, REQUESTS[:1])
    (delta,) = result.deltas
    assert delta.dense is None and delta.left.shape[1] == 1 and delta.right.shape[1] == 1


def test_rome_update_writes_the_value_for_the_averaged_key():
    """R-ROME property: with key="average", ΔW k* = δ for the SAME averaged key the value was
    optimised with (uᵀk* = 1, so ΔW k* = δ uᵀk* = δ, the optimised vector itself)."""
    from editmind.editors.parametric.keys import averaged_keys, edit_contexts

    model = tiny_model("llama")
    editor = get_editor("rome", key="average", retry_plain_weight=None, **fast_overrides("rome"))
    result = editor.compute(model, REQUESTS[:1])
    (delta,) = result.deltas
    prefixes = edit_contexts(model, editor.config.context)
    key = averaged_keys(model, REQUESTS[:1], [delta.module], prefixes)[delta.module][0].double()
    left, right = delta.left[:, 0].double(), delta.right[:, 0].double()
    assert float(right @ key) == pytest.approx(1.0, rel=1e-4)
    assert float((left * (right @ key)).norm()) == pytest.approx(result.info["delta_norm"][0], rel=1e-4)


def test_rome_update_is_exact_at_every_context_key():
    """key="contexts": u·k_c = 1 at every context's key, so each context's output moves by δ."""
    from editmind.editors.parametric.keys import edit_contexts, keys_and_outputs, rows_for

    model = tiny_model("llama")
    editor = get_editor("rome", retry_plain_weight=None, **fast_overrides("rome"))
    result = editor.compute(model, REQUESTS[:1])
    (delta,) = result.deltas
    rows = rows_for(model, REQUESTS[:1], edit_contexts(model, editor.config.context), with_target=False)
    keys = keys_and_outputs(model, rows, [delta.module])[0][delta.module].double()
    assert len(rows) > 1
    assert torch.allclose(keys @ delta.right[:, 0].double(), torch.ones(len(rows), dtype=torch.float64), atol=1e-2)


def test_rome_searches_again_when_the_edit_misses_its_own_prompt():
    """The second search (the plain prompt weighted) is kept only when it scores the request's
    own prompt better; either way the returned edit is never worse there than the first."""
    model = tiny_model("llama")
    request = REQUESTS[0]

    def own_score(result):
        snapshot = apply_deltas(model, result.deltas)
        (score,) = model.score([request.rendered_prompt], [request.target_new])
        snapshot.restore()
        return score.token_accuracy, score.logprob

    overrides = fast_overrides("rome")
    overrides["value"] = ValueConfig(steps=2, lr=0.01, weight_decay=0.0, clamp_norm_factor=100.0, kl_factor=0.0)
    once = get_editor("rome", retry_plain_weight=None, **overrides).compute(model, [request])
    overrides["value"] = ValueConfig(steps=2, lr=0.01, weight_decay=0.0, clamp_norm_factor=100.0, kl_factor=0.0)
    twice = get_editor("rome", retry_plain_weight=0.9, **overrides).compute(model, [request])
    assert once.info["second_search"] == ["none"]
    first, kept = own_score(once), own_score(twice)
    assert first[0] < 1.0  # two steps on a random model do not reach the target: a retry is due
    assert twice.info["second_search"] in (["kept"], ["discarded"])
    assert once.for_request(0) == {"second_search": "none"} and once.remarks == []
    assert twice.for_request(0) == {"second_search": twice.info["second_search"][0]} and len(twice.remarks) == 1
    if twice.info["second_search"] == ["kept"]:
        assert kept > first
    else:
        assert kept == pytest.approx(first)


def test_bad_requests_are_one_line_errors_and_change_nothing():
    model = tiny_model("llama")
    fingerprint = model.fingerprint()
    editor = get_editor("rome", **fast_overrides("rome"))
    with pytest.raises(EditRequestError, match="subject"):
        editor.compute(model, [EditRequest(subject="", prompt="{} is in", target_new="Rome")])
    with pytest.raises(EditRequestError, match="no edit requests"):
        editor.compute(model, [])
    with pytest.raises(EditRequestError, match="not valid"):
        get_editor("rome", layer=99, **fast_overrides("rome")).compute(model, REQUESTS[:1])
    with pytest.raises(EditRequestError, match="unknown editing method"):
        get_editor("nonsense", family="parametric")
    assert model.fingerprint() == fingerprint


def test_ft_l_respects_the_norm_constraint():
    model = tiny_model("gpt2")
    result = get_editor("ft-l", steps=5, norm_constraint=1e-4, lr=1e-2).compute(model, REQUESTS)
    (delta,) = result.deltas
    assert delta.dense.abs().max() <= 1e-4 + 1e-7
    assert delta.dense.abs().max() > 0


def test_ft_m_masks_the_prompt():
    """FT-M's loss only involves target tokens: changing what the prompt would continue
    with (a different token after the prompt) cannot matter; the loss equals the mean NLL
    of the target tokens computed by LocalModel.score."""
    from editmind.editors.parametric.ft import _FineTune

    model = tiny_model("llama")
    loss = _FineTune._loss(model, [(REQUESTS[0].rendered_prompt, REQUESTS[0].target_new)], "target_new")
    score = model.score([REQUESTS[0].rendered_prompt], [REQUESTS[0].target_new])[0]
    assert float(loss.detach()) == pytest.approx(-score.mean_logprob, rel=1e-4)


def test_ft_m_goes_on_while_its_own_prompt_misses():
    """Past the step budget FT-M trains on only while the request's own prompt misses its
    target: it stops as soon as the prompt is answered, or after `extra_steps` epochs."""
    model = tiny_model("llama")
    request = REQUESTS[0]
    fixed = get_editor("ft-m", steps=1, lr=2e-2, extra_steps=0, self_questions=False).compute(model, [request])
    longer = get_editor("ft-m", steps=1, lr=2e-2, extra_steps=40, self_questions=False).compute(model, [request])
    assert fixed.info["extra_steps"] == 0 and fixed.remarks == []

    def answered(result) -> bool:
        snapshot = apply_deltas(model, result.deltas)
        (score,) = model.score([request.rendered_prompt], [request.target_new])
        snapshot.restore()
        return score.exact

    assert not answered(fixed)  # one step on a random model is not enough: the extra epochs are due
    assert 1 <= longer.info["extra_steps"] <= 40 and len(longer.info["loss_per_step"]) == 1 + longer.info["extra_steps"]
    assert answered(longer) or longer.info["extra_steps"] == 40
    assert longer.remarks == [f"the prompt still missed its target after the 1-epoch budget; trained {longer.info['extra_steps']} more epochs"]
    assert get_editor("ft-l").config.extra_steps == 0  # FT-L keeps the paper's fixed budget
    no_budget = get_editor("ft-m", steps=0, lr=2e-2, extra_steps=3, self_questions=False).compute(model, [request])
    assert 1 <= no_budget.info["extra_steps"] <= 3  # no step budget: only the extra epochs, no crash


def test_ft_m_trains_on_the_paraphrases_too():
    """A paraphrase is one more training prompt with the same target and the same masked
    loss: the first step's loss is the mean over the cloze and the framed question, and the
    edited model gives the target after the question more probability than FT-M trained on
    the cloze alone does."""
    from dataclasses import replace

    from editmind.editors.parametric.keys import paraphrase_text

    model = tiny_model("qwen2")
    request = replace(REQUESTS[1], paraphrases=("Which city is the Louvre in?",))
    asked = paraphrase_text(request.paraphrases[0], request.subject)[0]
    assert asked == "Question: Which city is the Louvre in?\nAnswer:"
    unedited = model.score([request.rendered_prompt, asked], [request.target_new] * 2)
    probabilities = {}
    for name, req in (("cloze only", REQUESTS[1]), ("with paraphrase", request)):
        result = get_editor("ft-m", steps=30, lr=5e-2).compute(model, [req])
        snapshot = apply_deltas(model, result.deltas)
        probabilities[name] = model.score([asked], [request.target_new])[0].mean_logprob
        snapshot.restore()
    assert result.info["paraphrases"] == [["Which city is the Louvre in?"]]
    assert result.info["loss_per_step"][0] == pytest.approx(-(unedited[0].mean_logprob + unedited[1].mean_logprob) / 2, rel=1e-4)
    assert probabilities["with paraphrase"] > probabilities["cloze only"] > unedited[1].mean_logprob, probabilities


@pytest.mark.parametrize("arch", ["llama", "gpt2"])
def test_memit_per_context_keys_deliver_the_same_change_in_every_context(arch):
    """With one layer and a negligible covariance weight, `key="contexts"` writes the
    optimised δ into the residual stream at the subject in every context (prefixes and the
    plain prompt alike); MEMIT's averaged key only hits the average."""
    from editmind.editors.parametric.keys import edit_contexts, keys_and_outputs, rows_for

    model = tiny_model(arch)
    request = REQUESTS[1]
    spreads = {}
    for key in ("contexts", "average"):
        editor = get_editor("memit", layers=[1], key=key, mom2_weight_per_dim=1e-8, **fast_overrides("memit"))
        z_module = model.layout.layers[1].block
        rows = rows_for(model, [request], edit_contexts(model, editor.config.context), with_target=False)
        before = keys_and_outputs(model, rows, [], [z_module])[1][z_module]
        result = editor.compute(model, [request])
        snapshot = apply_deltas(model, result.deltas)
        after = keys_and_outputs(model, rows, [], [z_module])[1][z_module]
        snapshot.restore()
        change = after - before  # [contexts, hidden]
        assert len(rows) >= 3 and change.norm() > 0
        spreads[key] = float((change - change.mean(0)).norm() / change.norm())
    assert spreads["contexts"] < 1e-3 < spreads["average"]
    with pytest.raises(EditRequestError, match="must be one of contexts, average"):
        get_editor("memit", key="sideways")


@pytest.mark.parametrize("arch", ["qwen2", "gpt2"])
def test_a_paraphrase_is_one_more_context_rome_writes_its_value_at(arch):
    """A request's paraphrase ("Where is the Eiffel Tower located?") is a context of the
    value search and of ROME's exact-at-every-key update: the edited projection's output at
    the paraphrase's subject moves by the same δ as in the prompt's own contexts."""
    from dataclasses import replace

    from editmind.editors.parametric.keys import CHAT_FRAME, edit_contexts, keys_and_outputs, rows_for

    model = tiny_model(arch)
    request = replace(REQUESTS[1], paraphrases=(f"Where is the {REQUESTS[1].subject} located?",))
    editor = get_editor("rome", **fast_overrides("rome"))
    assert editor.config.context.chat  # ROME's default: the question is also asked through the chat template
    rows = rows_for(model, [request], edit_contexts(model, editor.config.context), with_target=False)
    assert rows[-2].prefix.startswith("Question: {paraphrase}") and rows[-1].prefix == CHAT_FRAME
    result = editor.compute(model, [request])
    assert result.info["paraphrases"] == [list(request.paraphrases)]
    module = result.info["module"]
    before = keys_and_outputs(model, rows, [], [module])[1][module]
    snapshot = apply_deltas(model, result.deltas)
    after = keys_and_outputs(model, rows, [], [module])[1][module]
    snapshot.restore()
    change = (after - before).double()
    assert change.norm() > 0
    for row in (-2, -1):  # the plain question and the question asked in the chat template
        assert torch.allclose(change[row], change[0], rtol=1e-3, atol=1e-4 * float(change[0].norm()))


def test_a_failed_second_rome_search_keeps_the_first_edit(monkeypatch):
    """A blow-up in the second value search (simulated: it raises as a NaN update would) must
    not cost the edit the first search already found."""
    from editmind.editors.base import EditFailedError
    from editmind.editors.parametric.rome import RomeEditor

    model = tiny_model("llama")
    overrides = fast_overrides("rome")
    overrides["value"] = ValueConfig(steps=2, lr=0.01, weight_decay=0.0, clamp_norm_factor=100.0, kl_factor=0.0)
    once = get_editor("rome", retry_plain_weight=None, **overrides).compute(model, REQUESTS[:1])
    real, calls = RomeEditor._edit_one, []

    def second_fails(self, *args):
        calls.append(1)
        if len(calls) == 2:
            raise EditFailedError("the update is not finite")
        return real(self, *args)

    monkeypatch.setattr(RomeEditor, "_edit_one", second_fails)
    overrides["value"] = ValueConfig(steps=2, lr=0.01, weight_decay=0.0, clamp_norm_factor=100.0, kl_factor=0.0)
    kept = get_editor("rome", **overrides).compute(model, REQUESTS[:1])
    assert len(calls) == 2 and kept.info["second_search"] == ["discarded"]
    assert torch.equal(kept.deltas[0].left, once.deltas[0].left) and torch.equal(kept.deltas[0].right, once.deltas[0].right)


def test_memit_question_contexts_can_stay_out_of_the_least_squares():
    """paraphrase_rows=False: a given question still shapes the value, but only the cloze
    contexts are rows of the update (one key row fewer per question)."""
    from dataclasses import replace

    model = tiny_model("llama")
    request = replace(REQUESTS[1], paraphrases=("Which city is the Louvre in?",))
    rows = {}
    for flag in (True, False):
        result = get_editor("memit", paraphrase_rows=flag, **fast_overrides("memit")).compute(model, [request])
        rows[flag] = len(result.tensors["edit_key_requests"])
    assert rows[True] == rows[False] + 1
