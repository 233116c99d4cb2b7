"""Shared parametric pieces: layers, statistics cache, subject keys, AlphaEdit's projector."""

from __future__ import annotations

import pytest
import torch

from editmind.editors.base import EditRequest, EditRequestError, get_editor
from editmind.editors.model.testing import tiny_model
from editmind.editors.model.generation import render_chat
from editmind.editors.parametric import stats as stats_module
from editmind.editors.parametric.alphaedit import null_space_projector
from editmind.editors.parametric.keys import (
    CHAT_FRAME, PARAPHRASE_FRAME, ContextConfig, context_prefixes, edit_contexts, keys_after_subject, keys_and_outputs, rows_for, token_index_before,
)
from editmind.editors.parametric.layers import check_layers, fine_tune_layer, memit_layers, rome_layer
from editmind.editors.parametric.stats import StatsConfig, second_moments
from editmind.editors.parametric.values import ValueConfig

SMALL = StatsConfig(n_tokens=96, sequences_per_chunk=2, tokens_per_sequence=32, show_progress=False)


def test_default_layers_follow_the_depth():
    assert rome_layer(30) == 2 and fine_tune_layer(30) == 4
    assert memit_layers(30) == [4, 5, 6, 7, 8]
    assert rome_layer(48) == 3 and fine_tune_layer(48) == 7 and memit_layers(28)[0] == 4
    assert memit_layers(4) == [0, 1] and rome_layer(1) == 0 == fine_tune_layer(1)
    with pytest.raises(EditRequestError, match="0..3"):
        check_layers([4], 4)


def test_statistics_are_cached_with_their_sample_count(tmp_path):
    model = tiny_model("gpt2")
    config = StatsConfig(**{**SMALL.__dict__, "home": str(tmp_path)})
    module = model.layout.layers[1].mlp_out.name
    stats_module._MEMORY.clear()  # another test may have computed the same statistic in this process
    first = second_moments(model, [module], config)[module]
    assert first.shape == (64, 64) and torch.allclose(first, first.T, atol=1e-6)
    assert torch.linalg.eigvalsh(first.double()).min() > -1e-6  # a second moment is PSD
    stats_module._MEMORY.clear()
    files = list(tmp_path.glob("stats/*/*.safetensors"))
    assert {f.name for f in files} == {"corpus.safetensors", f"{module}.n96.safetensors"}
    from safetensors.torch import load_file

    stored = load_file(str(next(f for f in files if f.name.startswith(module))))
    assert int(stored["count"]) == 96
    again = second_moments(model, [module], config)[module]
    assert torch.equal(first, again)
    # A different sample count is recomputed, from the same (grown) corpus.
    stats_module._MEMORY.clear()
    more = second_moments(model, [module], StatsConfig(**{**config.__dict__, "n_tokens": 160}))[module]
    assert not torch.equal(more, first)
    assert int(load_file(str(tmp_path.glob(f"stats/*/{module}.n160.safetensors").__next__()))["count"]) == 160
    # ... and stored beside the first count's file, which stays valid.
    stats_module._MEMORY.clear()
    assert torch.equal(second_moments(model, [module], config)[module], first)


def test_each_statistics_corpus_has_its_own_sample_and_cache(tmp_path):
    model = tiny_model("llama")
    module = model.layout.layers[1].mlp_out.name
    neutral = StatsConfig(**{**SMALL.__dict__, "home": str(tmp_path)})
    encyclopedic = StatsConfig(**{**neutral.__dict__, "corpus": "encyclopedic"})
    stats_module._MEMORY.clear()
    first = second_moments(model, [module], neutral)[module]
    other = second_moments(model, [module], encyclopedic)[module]
    assert not torch.allclose(first, other)  # other openings, other text, other keys
    names = {f.name for f in tmp_path.glob("stats/*/*.safetensors")}
    assert names == {"corpus.safetensors", f"{module}.n96.safetensors",
                     "corpus.encyclopedic.safetensors", f"{module}.encyclopedic.n96.safetensors"}
    stats_module._MEMORY.clear()  # from the files, each corpus gets its own statistic back
    assert torch.equal(second_moments(model, [module], neutral)[module], first)
    assert torch.equal(second_moments(model, [module], encyclopedic)[module], other)
    with pytest.raises(EditRequestError, match="setting 'corpus' must be one of neutral, encyclopedic; got \"wiki\""):
        second_moments(model, [module], StatsConfig(**{**neutral.__dict__, "corpus": "wiki"}))


def test_subject_last_token_is_found():
    model = tiny_model("llama")
    text = "Paris has the Eiffel Tower in it"
    ids, index = token_index_before(model.tokenizer, text, text.index("Tower") + len("Tower"))
    decoded_upto = model.tokenizer.decode(ids[: index + 1])
    assert decoded_upto.endswith("Tower")
    request = EditRequest(subject="Eiffel Tower", prompt="Paris has the {} in it", target_new="Rome")
    (row,) = rows_for(model, [request], [""], with_target=True)
    assert model.tokenizer.decode(row.ids[: row.subject_index + 1]).endswith("Tower")
    assert model.tokenizer.decode(row.ids[row.prompt_length:]).strip() == "Rome"


def test_context_prefixes_are_cached_and_include_the_plain_prompt(tmp_path):
    model = tiny_model("llama")
    config = ContextConfig(n_prefixes=3, prefix_tokens=4, home=str(tmp_path))
    prefixes = context_prefixes(model, config)
    assert prefixes[0] == "" and len(prefixes) == 4
    assert all("{" not in p and "}" not in p for p in prefixes)
    assert list(tmp_path.glob("stats/*/prefixes-3x4.json"))


def test_a_frame_wraps_the_prompt_and_keeps_the_subject_and_target_in_place(tmp_path):
    model = tiny_model("llama")
    config = ContextConfig(n_prefixes=2, prefix_tokens=3, home=str(tmp_path), frames=("Question: {}?\nAnswer:",), chat=True)
    contexts = edit_contexts(model, config)
    assert contexts[0] == "" and contexts[-3:] == ["Question: {}?\nAnswer:", PARAPHRASE_FRAME, CHAT_FRAME] and len(contexts) == 6
    request = EditRequest(subject="Eiffel Tower", prompt="{} is located in", target_new="Rome")
    rows = rows_for(model, [request], contexts, with_target=True)
    assert len(rows) == 4  # a request without paraphrases has no paraphrase row
    row = rows[-1]
    prompt = model.tokenizer.decode(row.ids[: row.prompt_length], skip_special_tokens=True)
    assert prompt.strip() == "Question: Eiffel Tower is located in?\nAnswer:"
    assert model.tokenizer.decode(row.ids[: row.subject_index + 1], skip_special_tokens=True).endswith("Tower")
    assert model.tokenizer.decode(row.ids[row.prompt_length:]).strip() == "Rome"
    # No frames: the contexts are exactly the prefixes (the classic ROME setting).
    assert edit_contexts(model, ContextConfig(n_prefixes=2, prefix_tokens=3, home=str(tmp_path), frames=(), chat=True)) == contexts[:3] + [PARAPHRASE_FRAME, CHAT_FRAME]


def test_each_paraphrase_is_a_row_with_its_own_subject_position(tmp_path):
    model = tiny_model("qwen2")
    contexts = edit_contexts(model, ContextConfig(n_prefixes=1, prefix_tokens=3, home=str(tmp_path), chat=True))
    request = EditRequest(subject="Eiffel Tower", prompt="{} is located in", target_new="Rome",
                          paraphrases=("Where is the Eiffel Tower located?", "The city of the {} is", "no subject here?"))
    rows = rows_for(model, [request], contexts, with_target=True)
    question, statement, chat = rows[-3], rows[-2], rows[-1]  # the paraphrase without the subject is skipped
    assert len(rows) == 6 and question.prefix == statement.prefix == PARAPHRASE_FRAME
    decode = lambda row, end: model.tokenizer.decode(row.ids[:end], skip_special_tokens=True).strip()
    assert decode(question, question.prompt_length) == "Question: Where is the Eiffel Tower located?\nAnswer:"
    assert decode(statement, statement.prompt_length) == "The city of the Eiffel Tower is"
    assert decode(question, question.subject_index + 1).endswith("Tower")
    assert decode(statement, statement.subject_index + 1).endswith("Tower")
    assert model.tokenizer.decode(question.ids[question.prompt_length:]).strip() == "Rome"
    # The question is asked in the chat template too (a statement is not), the assistant's
    # reply starting with the edit's prompt; the key is read where the reply names the subject.
    assert chat.prefix == CHAT_FRAME
    rendered = render_chat(model.tokenizer, [{"role": "user", "content": "Where is the Eiffel Tower located?"}])
    assert model.tokenizer.decode(chat.ids[:chat.prompt_length]) == rendered + "Eiffel Tower is located in"
    assert model.tokenizer.decode(chat.ids[chat.prompt_length:]).strip() == "Rome"
    assert model.tokenizer.decode(chat.ids[:chat.subject_index + 1]) == rendered + "Eiffel Tower"
    no_chat = ContextConfig(n_prefixes=1, prefix_tokens=3, home=str(tmp_path), chat=False)
    assert CHAT_FRAME not in edit_contexts(model, no_chat)


def test_self_questions_keep_only_a_question_that_names_the_subject(monkeypatch):
    from editmind.editors.parametric import questions

    assert questions.is_usable("Where is the Eiffel Tower located?", "Eiffel Tower")
    assert not questions.is_usable("Where is it located?", "Eiffel Tower")
    assert not questions.is_usable("The Eiffel Tower is located in", "Eiffel Tower")
    model = tiny_model("gpt2")
    request = EditRequest(subject="Eiffel Tower", prompt="{} is located in", target_new="Rome")
    given = EditRequest(subject="Louvre", prompt="{} is located in", target_new="Rome", paraphrases=("Where is the Louvre?",))
    asked = ("Where is the Eiffel Tower located?", "Which city is the Eiffel Tower in?")
    monkeypatch.setattr(questions, "self_questions", lambda *args: asked)
    done = questions.with_self_questions(model, [request, given])
    assert done[0].paraphrases == asked and done[1] == given  # given paraphrases are not replaced
    monkeypatch.setattr(questions, "self_questions", lambda *args: ())
    assert questions.with_self_questions(model, [request]) == [request]


def test_self_questions_keep_the_best_round_trips_above_the_floor(monkeypatch):
    """Candidates from every shot set, deduplicated, ordered by how likely the statement is
    as their answer; one below the floor, or one that does not name the relation, is dropped."""
    from editmind.editors.parametric import questions

    model = tiny_model("llama")
    request = EditRequest(subject="Serbia", prompt="{} is located in the continent of", target_new="Asia")
    written = iter(["Which continent borders Serbia?", "Which continent is Serbia located in?"] * 2)
    scores = {"Which continent borders Serbia?": -3.0, "Which continent is Serbia located in?": -1.0}

    class Generates:  # the shot prompts' greedy continuations (one batch), without a trained model
        def __call__(self, input_ids, **kwargs):
            answers = [model.tokenizer(" " + next(written) + "\n", add_special_tokens=False)["input_ids"] for _ in input_ids]
            newline = model.tokenizer("\n", add_special_tokens=False)["input_ids"]
            width = max(len(a) for a in answers)
            rows = [a + newline * (width - len(a)) for a in answers]  # past its stop a row runs on
            return torch.cat([input_ids, torch.tensor(rows, device=input_ids.device)], dim=1)

    monkeypatch.setattr(model.model, "generate", Generates())
    monkeypatch.setattr(questions, "_positions", lambda model: 10**6)
    monkeypatch.setattr(questions, "answer_scores", lambda model, asked, statement: [scores[q] for q in asked])
    monkeypatch.setattr(questions, "grammar_question", lambda model, request: None)  # the model's questions only
    questions._CACHE.clear()
    assert questions.self_questions(model, request) == ("Which continent is Serbia located in?",)
    questions._CACHE.clear()
    scores["Where is Serbia located?"] = -0.5  # above the floor and the better one: first
    written = iter(["Where is Serbia located?", "Which continent is Serbia located in?"] * 2)
    assert questions.self_questions(model, request) == ("Where is Serbia located?", "Which continent is Serbia located in?")
    questions._CACHE.clear()
    scores["What is the capital of Serbia?"] = -0.1  # the best round trip, but another relation
    written = iter(["What is the capital of Serbia?", "Which continent is Serbia located in?"] * 2)
    assert questions.self_questions(model, request) == ("Which continent is Serbia located in?",)
    assert questions.other_relation_questions(model, request) == ("What is the capital of Serbia?",)
    assert questions.self_questions(model, request, name_relation=False) == (
        "What is the capital of Serbia?", "Which continent is Serbia located in?")
    questions._CACHE.clear()


@pytest.mark.parametrize("question, statement, subject, asks", [
    ("Which continent is Serbia located in?", "Serbia is located in the continent of", "Serbia", True),
    ("What is the capital of Serbia?", "Serbia is located in the continent of", "Serbia", False),
    ("Who is the developer of Aqua?", "Aqua was developed by", "Aqua", True),
    ("What is the country of citizenship of Raila Odinga?", "Raila Odinga is a citizen of", "Raila Odinga", True),
    ("Who is the CEO of Google?", "The chief executive officer of Google is", "Google", True),
    ("Which country is Spain?", "The official language of Spain is", "Spain", False),
    ("Who is the father of Ozzy Osbourne?", "Ozzy Osbourne is married to", "Ozzy Osbourne", False),
    ("What is Canada?", "Canada is located in the continent of", "Canada", False),
    ("What is the Eiffel Tower?", "The Eiffel Tower is a", "Eiffel Tower", True),  # no relation word to ask
    # the subject's own words do not count: "Official" names the subject, not the relation
    ("Who owns Official Records?", "Official Records was published by", "Official Records", False),
])
def test_a_self_question_must_name_the_statements_relation(question, statement, subject, asks):
    from editmind.editors.parametric.questions import asks_the_relation

    assert asks_the_relation(question, statement, subject) is asks


def test_round_trip_is_the_statements_mean_log_probability_after_the_question():
    from editmind.editors.parametric import questions
    from editmind.editors.parametric.keys import PARAPHRASE_FRAME

    model = tiny_model("qwen2")
    question, statement = "Where is the Eiffel Tower?", "The Eiffel Tower is located in"
    tokenizer = model.tokenizer
    context = tokenizer(PARAPHRASE_FRAME.format(paraphrase=question))["input_ids"]
    answer = tokenizer(" " + statement, add_special_tokens=False)["input_ids"]
    ids = torch.tensor([context + answer], device=model.device)
    with torch.no_grad():
        log_probs = model.model(input_ids=ids).logits[0].float().log_softmax(-1)
    expected = sum(log_probs[len(context) - 1 + i, token].item() for i, token in enumerate(answer)) / len(answer)
    assert questions.answer_scores(model, [question], statement)[0] == pytest.approx(expected, abs=1e-5)


def test_null_space_projector_kills_the_preserved_directions():
    torch.manual_seed(0)
    basis, _ = torch.linalg.qr(torch.randn(16, 16, dtype=torch.float64))
    spectrum = torch.tensor([10.0] * 10 + [1e-6] * 6, dtype=torch.float64)
    cov = basis @ torch.diag(spectrum) @ basis.T
    projector = null_space_projector(cov, threshold=1e-2)
    assert torch.allclose(projector @ projector, projector, atol=1e-8)
    assert projector @ basis[:, 0] == pytest.approx(torch.zeros(16, dtype=torch.float64), abs=1e-8)
    assert torch.allclose(projector @ basis[:, 12], basis[:, 12], atol=1e-8)


def test_alphaedit_update_leaves_preserved_keys_alone_and_remembers_edits(tmp_path):
    model = tiny_model("gpt2")
    editor = get_editor(
        "alphaedit", stats=StatsConfig(**{**SMALL.__dict__, "home": str(tmp_path)}),
        context=ContextConfig(n_prefixes=1, prefix_tokens=3, home=str(tmp_path)), projection="hard",
    )
    request = EditRequest(subject="Louvre", prompt="Where is the {}", target_new="Berlin")
    result = editor.compute(model, [request])
    assert set(result.info["projection"].values()) == {"hard"}
    for delta in result.deltas:
        cov = second_moments(model, [delta.module], editor.config.stats)[delta.module].double()
        eigenvalues, eigenvectors = torch.linalg.eigh(cov)
        preserved = eigenvectors[:, eigenvalues >= editor.config.null_threshold * eigenvalues.clamp(min=0).mean()]
        change = delta.tensor().double()
        # ΔW acting on the preserved subspace is (numerically) zero, on the rest it is not.
        assert (change @ preserved).norm() <= 1e-6 * max(1.0, change.norm().item())
    assert set(editor.preserved) == {d.module for d in result.deltas}
    first = {m: g.clone() for m, g in editor.preserved.items()}
    second = editor.compute(model, [request])
    first_module = second.deltas[0].module  # its keys do not depend on the other layers' updates
    assert torch.allclose(editor.preserved[first_module], 2 * first[first_module], rtol=1e-5)
    assert all(torch.trace(editor.preserved[m]) > torch.trace(first[m]) for m in first)


def test_a_subject_with_a_tiny_module_output_still_gets_room_to_move(one_torch_thread):
    """The clamp ball is relative to the original output at the subject; when that output
    is near zero (as SmolLM2 gives some names), the floor at the module's median output
    norm keeps the edit possible."""
    from editmind.editors.parametric.values import ValueConfig, optimise_values

    model = tiny_model("llama")
    ref = model.layout.layers[1].mlp_out
    request = EditRequest(subject="Miranda Otto", prompt="{} is a citizen of", target_new="Spain")
    row = rows_for(model, [request], [""], with_target=True)[0]
    # The module sees whole prompts (the base output) and, in the search, the rows from the
    # subject's last token on (prefix_cache.py): where the subject is depends on which.
    subject_at = {len(row.ids): row.subject_index, len(row.ids) - row.subject_index: 0}
    assert row.subject_index not in subject_at  # the cached past is told apart by its length

    def shrink_at_subject(module, inputs, output):  # the subject's output becomes 1% of its size
        output = output.clone()
        if output.shape[1] in subject_at:
            output[:, subject_at[output.shape[1]]] *= 1e-2
        return output

    handle = model.module(ref.name).register_forward_hook(shrink_at_subject)
    try:
        config = ValueConfig(steps=5, clamp_norm_factor=1.0, early_stop_loss=0.0)
        without = optimise_values(model, ref.name, [request], [""], replace_config(config, norm_floor=False))
        with_floor = optimise_values(model, ref.name, [request], [""], config)
    finally:
        handle.remove()
    base = float(without.base[0].norm())
    assert float(without.delta[0].norm()) <= base * 1.0001  # stuck inside the tiny ball
    assert float(with_floor.delta[0].norm()) > 10 * base  # the floor lets it move


def replace_config(config, **changes):
    import dataclasses

    return dataclasses.replace(config, **changes)


def test_the_rome_update_is_exact_at_every_context_key_with_the_least_c_norm():
    from editmind.editors.parametric.rome import exact_at_every_key

    torch.manual_seed(0)
    d, contexts = 16, 5
    a = torch.randn(d, d, dtype=torch.float64)
    cov = a @ a.T + 0.1 * torch.eye(d, dtype=torch.float64)
    base = torch.randn(d, dtype=torch.float64)
    keys = base + 0.3 * torch.randn(contexts, d, dtype=torch.float64)  # similar keys, as a subject in contexts
    u = exact_at_every_key(torch.linalg.inv(cov), keys, ridge=0.0)
    assert torch.allclose(keys @ u, torch.ones(contexts, dtype=torch.float64), atol=1e-8)
    # any other u' with the same constraints costs more in the C-norm (what ROME minimises)
    null = torch.linalg.svd(keys).Vh[contexts:]  # directions with keys @ v = 0
    other = u + null.T @ torch.randn(d - contexts, dtype=torch.float64)
    assert torch.allclose(keys @ other, torch.ones(contexts, dtype=torch.float64), atol=1e-8)
    assert other @ cov @ other > u @ cov @ u
    # one context: the classic ROME factor C⁻¹k / (kᵀC⁻¹k)
    single = exact_at_every_key(torch.linalg.inv(cov), keys[:1], ridge=0.0)
    expected = torch.linalg.solve(cov, keys[0]) / (keys[0] @ torch.linalg.solve(cov, keys[0]))
    assert torch.allclose(single, expected, atol=1e-10)


def test_alphaedit_soft_projection_is_memit_plus_the_earlier_edits_keys(tmp_path):
    """Without a null space (a full-rank key spectrum) "auto" takes the soft limit: MEMIT's
    covariance-weighted update, plus every earlier edit's keys held in place."""
    torch.manual_seed(0)
    editor = get_editor("alphaedit", projection="auto", min_null_fraction=0.25, stats=StatsConfig(n_tokens=64))
    memit = get_editor("memit")
    d = 12
    basis = torch.linalg.qr(torch.randn(d, d, dtype=torch.float64))[0]
    full_rank = basis @ torch.diag(torch.linspace(1.0, 2.0, d, dtype=torch.float64)) @ basis.T
    keys, residual = torch.randn(2, d, dtype=torch.float64), torch.randn(2, 5, dtype=torch.float64)
    assert editor.projection_for("m", full_rank) == "soft"
    left, right = editor.solve(None, "m", keys, residual, full_rank)
    m_left, m_right = memit.solve(None, "m", keys, residual, full_rank)
    assert torch.allclose(left @ right.T, m_left @ m_right.T, atol=1e-10)
    # An earlier edit's key: the new update leaves its output (nearly) where it was,
    # where MEMIT's update moves it.
    earlier = torch.randn(1, d, dtype=torch.float64)
    editor.add_preserved_keys("m", earlier * 30)
    left, right = editor.solve(None, "m", keys, residual, full_rank)
    moved = (left @ right.T @ earlier.T).norm()
    assert moved < 0.05 * (m_left @ m_right.T @ earlier.T).norm()
    # A spectrum with a real null space (half the eigenvalues ~0) is projected hard.
    half = basis @ torch.diag(torch.cat([torch.full((d // 2,), 1e-9), torch.ones(d // 2)]).double()) @ basis.T
    assert editor.projection_for("m", half) == "hard"
    # ... unless C came from fewer tokens than twice its width: then that "null space" is
    # mostly what the sample missed.
    assert get_editor("alphaedit", stats=StatsConfig(n_tokens=16)).projection_for("m", half) == "soft"
    with pytest.raises(EditRequestError, match="hard, soft, auto"):
        get_editor("alphaedit", projection="sideways")


@pytest.mark.parametrize("arch", ["llama", "gpt2"])
def test_the_bf16_optimisation_copy_follows_the_live_weights_and_never_touches_them(arch):
    from editmind.editors.base import WeightDelta
    from editmind.editors.parametric.common import temporarily_applied
    from editmind.editors.parametric.precision import optimisation_network

    model = tiny_model(arch)
    fingerprint = model.fingerprint()
    network = optimisation_network(model, "bfloat16")
    assert network is not model.model and {p.dtype for p in network.parameters()} == {torch.bfloat16}
    assert all(b.dtype == c.dtype for b, c in zip(network.buffers(), model.model.buffers()))  # rotary stays fp32
    ref = model.layout.layers[1].mlp_out
    change = WeightDelta(module=ref.name, transposed=ref.transposed, dense=torch.full((ref.out_features, ref.in_features), 0.5))
    with temporarily_applied(model, [change]):
        refreshed = optimisation_network(model, "bfloat16")
        assert refreshed is network  # one copy per model, refreshed in place
        live = model.module(ref.name).weight
        assert torch.equal(refreshed.get_submodule(ref.name).weight, live.to(torch.bfloat16))
    assert model.fingerprint() == fingerprint
    assert optimisation_network(model, "model") is model.model
    with pytest.raises(EditRequestError, match="auto, model, bfloat16"):
        optimisation_network(model, "fp8")


def test_values_found_in_bf16_match_the_full_precision_ones():
    """Mixed precision changes the search's arithmetic, not its answer."""
    from editmind.editors.parametric.keys import edit_contexts
    from editmind.editors.parametric.values import ValueConfig, optimise_values

    model = tiny_model("llama")
    module = model.layout.layers[1].mlp_out.name
    prefixes = edit_contexts(model, ContextConfig(n_prefixes=2, prefix_tokens=4))
    request = EditRequest(subject="Eiffel Tower", prompt="Paris has the {}", target_new="Rome")
    found = {}
    for precision in ("model", "bfloat16"):
        config = ValueConfig(steps=8, weight_decay=0.0, clamp_norm_factor=100.0, kl_factor=0.0, precision=precision)
        found[precision] = optimise_values(model, module, [request], prefixes, config)
    full, half = found["model"], found["bfloat16"]
    assert torch.equal(full.base, half.base)  # the base output is read from the model itself
    assert torch.cosine_similarity(full.delta, half.delta).item() > 0.95
    assert half.losses[0] == pytest.approx(full.losses[0], rel=0.02)


def test_the_finishing_steps_run_on_the_model_itself():
    """With every step a finishing step, the bf16 copy is never used: δ equals fp32's bitwise."""
    from editmind.editors.parametric.keys import edit_contexts
    from editmind.editors.parametric.values import ValueConfig, optimise_values

    model = tiny_model("llama")
    module = model.layout.layers[1].mlp_out.name
    prefixes = edit_contexts(model, ContextConfig(n_prefixes=1, prefix_tokens=4))
    request = EditRequest(subject="Eiffel Tower", prompt="Paris has the {}", target_new="Rome")
    common = dict(steps=5, weight_decay=0.0, clamp_norm_factor=100.0, kl_factor=0.0)
    full = optimise_values(model, module, [request], prefixes, ValueConfig(precision="model", **common))
    finished = optimise_values(model, module, [request], prefixes,
                               ValueConfig(precision="bfloat16", full_precision_steps=5, **common))
    mixed = optimise_values(model, module, [request], prefixes,
                            ValueConfig(precision="bfloat16", full_precision_steps=0, **common))
    assert torch.equal(full.delta, finished.delta) and full.losses == finished.losses
    assert not torch.equal(full.delta, mixed.delta)


def test_alphaedit_releases_the_keys_of_the_subject_it_edits_again(tmp_path):
    """Holding a subject's key in place and writing a new value at it are one row with two
    targets; an edit about an already edited subject holds only the other subjects' keys."""
    model = tiny_model("gpt2")
    editor = get_editor(
        "alphaedit", stats=StatsConfig(**{**SMALL.__dict__, "home": str(tmp_path)}),
        context=ContextConfig(n_prefixes=1, prefix_tokens=3, home=str(tmp_path)),
        value=ValueConfig(steps=3, weight_decay=0.0, clamp_norm_factor=100.0, kl_factor=0.0),
    )
    louvre = EditRequest(subject="Louvre", prompt="Where is the {}", target_new="Berlin")
    tower = EditRequest(subject="Eiffel Tower", prompt="The {} is in", target_new="Rome")
    editor.compute(model, [louvre])
    module = next(iter(editor.preserved))
    louvre_only = editor.preserved[module].clone()
    editor.compute(model, [tower])
    both = editor.preserved[module]
    editor._subjects = {"louvre"}
    assert torch.allclose(editor.held(module), both - louvre_only, atol=1e-6 * float(both.abs().max()))
    editor._subjects = {"eiffel tower"}
    assert torch.allclose(editor.held(module), louvre_only, atol=1e-6 * float(both.abs().max()))
    editor._subjects = {"notre dame"}
    assert torch.equal(editor.held(module), both)
    editor.config.release_same_subject = False
    editor._subjects = {"louvre"}
    assert torch.equal(editor.held(module), both)
    # Batched requests: each request's rows are filed under its own subject.
    editor.add_preserved_keys("m", torch.ones(4, 3), ["A", "B"])
    assert [len(editor.preserved_by_subject["m"][s]) for s in ("a", "b")] == [1, 1]
    assert editor.preserved_by_subject["m"]["a"][0].shape == (2, 3)


@pytest.mark.parametrize("arch", ["llama", "qwen2", "gpt2", "gpt_neox"])
def test_the_prefix_cache_gives_the_full_rows_loss_and_gradient(arch):
    """The value search runs each row from the subject's last token on, the text before it
    cached once and the rows packed side by side: the scores and δ's gradient must equal a
    forward over the whole rows, one padded row each."""
    from editmind.editors.parametric.keys import Row, batch_rows
    from editmind.editors.parametric.prefix_cache import PrefixCache, pack_rows
    from editmind.editors.parametric.values import _logits_at, vocabulary_head

    model = tiny_model(arch)
    module = model.layout.layers[1].mlp_out.name
    width = model.layout.layers[1].mlp_out.out_features
    prefixes = edit_contexts(model, ContextConfig(n_prefixes=2, prefix_tokens=4))
    request = EditRequest(subject="Eiffel Tower", prompt="Paris has the {}", target_new="Rome")
    rows = rows_for(model, [request], prefixes, with_target=True)
    # A row whose subject is its first token: an empty past.
    rows.append(Row(ids=rows[0].ids[-5:], subject_index=0, request=0, prompt_length=3, target_ids=rows[0].ids[-2:], prefix=""))
    assert len({row.subject_index for row in rows}) > 2  # pasts of several lengths
    # Two sequences of different total lengths (as two requests optimised together), so
    # both the pasts and the live parts are padded.
    sequence_of = [0, 1, 1, 0, 0][: len(rows)]
    assert len(rows) == 5
    picks = [(i, j) for i, row in enumerate(rows) for j in range(row.subject_index, len(row.ids))]
    head = vocabulary_head(model.model)
    assert head is not None
    torch.manual_seed(0)
    device = next(model.model.parameters()).device  # EDITMIND_TEST_DEVICE may put the tiny model on a GPU
    delta = (torch.randn(len(rows), width) * 3).to(device)  # a different δ per row, so a row's δ leaking into another shows

    def scores(packed: bool) -> tuple[torch.Tensor, torch.Tensor]:
        leaf = delta.clone().requires_grad_(True)
        if packed:
            parts = pack_rows(model, rows, sequence_of)
            where_subject = (parts.sequence, parts.live_start)
        else:
            ids, attention = batch_rows(model, rows)
            where_subject = (torch.arange(len(rows), device=device), torch.tensor([row.subject_index for row in rows], device=device))
        live = [False]

        def hook(mod, inputs, output):
            return output.index_put(where_subject, leaf, accumulate=True) if live[0] else output

        handle = model.model.get_submodule(module).register_forward_hook(hook)
        try:
            if packed:
                cache = PrefixCache(model.model, parts)
                live[0] = True
                states = cache.last_hidden(model.model, head)
                again = cache.last_hidden(model.model, head)  # the cache is reusable step after step
                assert torch.allclose(states, again, atol=1e-6)
                where = parts.at(torch.tensor([i for i, _ in picks], device=device),
                                 torch.tensor([j - rows[i].subject_index for i, j in picks], device=device))
            else:
                live[0] = True
                full = model.model(input_ids=ids, attention_mask=attention).logits  # the plain forward
                where = torch.tensor([i for i, _ in picks], device=device), torch.tensor([j for _, j in picks], device=device)
        finally:
            handle.remove()
        # The search projects only the scored positions onto the vocabulary (vocabulary_head).
        logits = _logits_at(states, where, head) if packed else full[where]
        logits.log_softmax(-1)[:, :7].sum().backward()
        return logits.detach(), leaf.grad

    full_logits, full_grad = scores(packed=False)
    packed_logits, packed_grad = scores(packed=True)
    assert torch.isfinite(packed_logits).all()
    assert torch.allclose(packed_logits, full_logits, atol=1e-4)
    assert torch.allclose(packed_grad, full_grad, atol=1e-4, rtol=1e-3)


def test_the_value_search_reports_its_curve_and_decays_its_lr_only_when_asked(one_torch_thread):
    from editmind.editors.parametric.values import ValueConfig, optimise_values

    model = tiny_model("qwen2")
    module = model.layout.layers[1].mlp_out.name
    request = EditRequest(subject="Eiffel Tower", prompt="Paris has the {}", target_new="Rome")
    common = dict(steps=6, early_stop_loss=0.0)
    constant = optimise_values(model, module, [request], [""], ValueConfig(**common))
    same = optimise_values(model, module, [request], [""], ValueConfig(lr_end=0.5, **common))
    decayed = optimise_values(model, module, [request], [""], ValueConfig(lr_end=0.0, **common))
    assert torch.equal(constant.delta, same.delta)  # lr_end == lr is the constant schedule
    assert not torch.equal(constant.delta, decayed.delta)
    curve = constant.curves[0]
    assert len(curve) == constant.steps == 6 and curve[-1] == pytest.approx(constant.losses[0])
    assert curve[-1] < curve[0]


def test_context_weights_give_the_question_frame_its_share_only_when_asked():
    from editmind.editors.parametric.keys import Row
    from editmind.editors.parametric.values import context_weights

    def row(request, context):
        return Row(ids=[1, 2], subject_index=0, request=request, prompt_length=1, target_ids=[2], prefix=context)

    frame = "Question: {}?\nAnswer:"
    rows = [row(0, ""), row(0, "Once. "), row(0, "Then. "), row(0, frame), row(1, ""), row(1, "Once. ")]
    equal = context_weights(rows, 2, None)
    assert torch.allclose(equal, torch.tensor([0.25, 0.25, 0.25, 0.25, 0.5, 0.5]))
    half = context_weights(rows, 2, 0.5)
    assert torch.allclose(half, torch.tensor([1 / 6, 1 / 6, 1 / 6, 0.5, 0.5, 0.5]))  # request 1 has no frame
    plain = context_weights(rows, 2, None, plain_weight=0.4)
    assert torch.allclose(plain, torch.tensor([0.4, 0.2, 0.2, 0.2, 0.4, 0.6]))
    both = context_weights(rows, 2, 0.5, plain_weight=0.4)  # the others keep their proportions
    assert torch.allclose(both, torch.tensor([0.4, 0.12, 0.12, 0.36, 0.4, 0.6]))


def test_keys_after_the_subject_are_the_prompts_remaining_tokens():
    model = tiny_model("llama")
    request = EditRequest(subject="Eiffel Tower", prompt="The {} is located in", target_new="Rome")
    rows = rows_for(model, [request], ["", "Question: {}?\nAnswer:"], with_target=False)
    module = model.layout.layers[1].mlp_out.name
    trailing = keys_after_subject(model, rows, [module])[module]
    assert trailing.shape[0] == sum(row.prompt_length - row.subject_index - 1 for row in rows) > 0
    seen = []
    handle = model.module(module).register_forward_pre_hook(lambda m, inputs: seen.append(inputs[0][0]))
    with torch.no_grad():
        model.model(input_ids=torch.tensor([rows[0].ids]))
    handle.remove()
    after = seen[0][rows[0].subject_index + 1: rows[0].prompt_length]
    assert torch.allclose(trailing[: len(after)], after.float(), atol=1e-5)


@pytest.mark.parametrize("method", ["memit", "alphaedit"])
def test_holding_the_relation_keeps_the_update_off_the_tokens_after_the_subject(tmp_path, method):
    model = tiny_model("llama")
    request = EditRequest(subject="Eiffel Tower", prompt="The {} is located in", target_new="Rome")
    common = dict(stats=StatsConfig(**{**SMALL.__dict__, "home": str(tmp_path)}), layers=[1, 2],
                  context=ContextConfig(n_prefixes=1, prefix_tokens=3, home=str(tmp_path)),
                  value=ValueConfig(steps=3, weight_decay=0.0, clamp_norm_factor=100.0, kl_factor=0.0))
    rows = rows_for(model, [request], [""], with_target=False)
    module = model.layout.layers[1].mlp_out.name  # the first layer: its keys do not see the update
    trailing = keys_after_subject(model, rows, [module])[module].double()
    subject = keys_and_outputs(model, rows, [module])[0][module].double()
    moved = {}
    for hold in (0.0, 1e4):
        delta = get_editor(method, hold_relation=hold, **common).compute(model, [request]).deltas[0]
        assert delta.module == module
        change = delta.tensor().double()
        moved[hold] = ((change @ trailing.T).norm() / (change @ subject.T).norm()).item()
    assert moved[1e4] < 0.1 * moved[0.0]


def test_contrast_subjects_are_parsed_from_a_generated_list_and_cached(tmp_path, monkeypatch):
    from editmind.editors.parametric import contrast

    text = "1. **Harry Styles** (singer)\n2. London (United Kingdom)\n3. a lower-case item\n4. Area 51\n5. The Witcher: a game\nNot an item"
    assert contrast.list_items(text) == ["Harry Styles", "London", "The Witcher"]
    model = tiny_model("qwen2")
    monkeypatch.setattr(contrast, "_generate", lambda model, n: ["Paris", "Ada Lovelace"][:n])
    assert contrast.contrast_subjects(model, 2, str(tmp_path)) == ["Paris", "Ada Lovelace"]
    contrast._CACHE.clear()
    monkeypatch.setattr(contrast, "_generate", lambda model, n: pytest.fail("the cached list was not used"))
    assert contrast.contrast_subjects(model, 2, str(tmp_path)) == ["Paris", "Ada Lovelace"]
    assert contrast.contrast_subjects(model, 0, str(tmp_path)) == []


def test_other_subjects_in_the_edited_template_are_held(tmp_path, monkeypatch):
    """With the relation before the subject, another subject's key at its last token is
    held by `hold_relation` (through the contrast subjects), not only the tokens after it."""
    from editmind.editors.parametric import contrast

    monkeypatch.setattr(contrast, "_generate", lambda model, n: ["Paris", "Ada Lovelace", "Tokyo"][:n])
    model = tiny_model("qwen2")
    request = EditRequest(subject="Eiffel Tower", prompt="The city that holds the {}", target_new="Rome")
    other = EditRequest(subject="Tokyo", prompt="The city that holds the {}", target_new="Rome")
    common = dict(stats=StatsConfig(**{**SMALL.__dict__, "home": str(tmp_path)}), layers=[1, 2],
                  context=ContextConfig(n_prefixes=1, prefix_tokens=3, home=str(tmp_path)),
                  value=ValueConfig(steps=3, weight_decay=0.0, clamp_norm_factor=100.0, kl_factor=0.0))
    module = model.layout.layers[1].mlp_out.name
    rows = rows_for(model, [request, other], [""], with_target=False)
    keys = keys_and_outputs(model, rows, [module])[0][module].double()
    moved = {}
    for hold in (0.0, 1e4):
        change = get_editor("memit", hold_relation=hold, contrast_subjects=3, **common).compute(model, [request]).deltas[0].tensor().double()
        assert change.shape[1] == keys.shape[1]
        moved[hold] = ((change @ keys[1]).norm() / (change @ keys[0]).norm()).item()
    assert moved[1e4] < 0.3 * moved[0.0]
