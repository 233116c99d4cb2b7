import math

import pytest
import torch

from editmind.editors.base import EditRequest
from editmind.editors.eval import metrics
from editmind.editors.eval.records import Probe
from editmind.editors.model.scoring import encode_prompt_target
from editmind.editors.model.testing import tiny_model

from test_eval_records import one_torch_thread  # noqa: F401  (autouse fixture)


@pytest.fixture(scope="module")
def model():
    return tiny_model("llama", seed=0)


@pytest.fixture(scope="module")
def broken():
    """The same tiny model with every weight perturbed: it must disagree with `model`."""
    damaged = tiny_model("llama", seed=0)
    generator = torch.Generator().manual_seed(123)
    with torch.no_grad():
        for parameter in damaged.model.parameters():
            parameter.add_(torch.randn(parameter.shape, generator=generator) * 2.0)
    return damaged


def test_answer_matching_rules():
    # cloze: the continuation must START with the answer, at a word boundary, case/punctuation-insensitive
    assert metrics.answer_matches(" Rome, the capital", ["Rome"])
    assert metrics.answer_matches(" the U.S.A. and more", ["United States", "the U.S.A."])
    assert not metrics.answer_matches(" Romeo and Juliet", ["Rome"])
    assert not metrics.answer_matches(" in Rome", ["Rome"])
    assert not metrics.answer_matches("\nRome", ["Paris"])
    # only the first line counts
    assert not metrics.answer_matches(" Paris\nRome", ["Rome"], kind="question")
    # question: the answer may appear anywhere in the first line, as whole words
    assert metrics.answer_matches(" It is in Rome.", ["Rome"], kind="question")
    assert not metrics.answer_matches(" It is in Romeville.", ["Rome"], kind="question")
    assert metrics.normalize("  Washington, D.C.!") == "washington d c"


def test_ngram_entropy_by_hand():
    # "a b a b": bigrams ab, ba, ab -> H2 = H(2/3, 1/3); trigrams aba, bab -> H3 = 1 bit
    h2 = -(2 / 3 * math.log2(2 / 3) + 1 / 3 * math.log2(1 / 3))
    expected = (2 / 3 * h2 + 4 / 3 * 1.0) / 2
    assert metrics.ngram_entropy("a b a b") == pytest.approx(expected)
    # a repeated word has zero entropy; text shorter than a bigram scores 0
    assert metrics.ngram_entropy("the the the the the") == 0.0
    assert metrics.ngram_entropy("word") == 0.0
    # punctuation is a token of its own
    assert metrics.ngram_entropy("a, b") == pytest.approx((2 / 3 * 1.0 + 4 / 3 * 0.0) / 2)


def test_reliability_is_teacher_forced_token_accuracy(model):
    request = EditRequest(subject="Eiffel Tower", prompt="The {} is located in", target_new="the city of Paris")
    prompt_ids, target_ids = encode_prompt_target(model.tokenizer, request.rendered_prompt, request.target_new)
    hits = 0
    with torch.no_grad():  # one forward pass per target token, the obvious way
        for j, token in enumerate(target_ids):
            logits = model.model(input_ids=torch.tensor([prompt_ids + target_ids[:j]])).logits[0, -1]
            hits += int(logits.argmax()) == token
    assert metrics.reliability(model, request) == hits / len(target_ids)


def test_exact_match_uses_the_greedy_continuation(model):
    probe_prompt = "Shakespeare wrote"
    said = model.complete(probe_prompt, max_new_tokens=4)
    first_word = metrics.normalize(said).split(" ")[0]
    hit = Probe(probe_prompt, ("zzz-not-it", first_word), "cloze")
    miss = Probe(probe_prompt, ("zzz-not-it",), "cloze")
    assert metrics.exact_matches(model, [hit, miss]) == [1.0, 0.0]
    assert metrics.exact_matches(model, [hit], texts=[" nothing like it"]) == [0.0]


def test_chat_match_reads_the_chat_templated_reply_to_the_bare_question(model):
    question = "Where is the Eiffel Tower?"
    reply = model.chat(question, max_new_tokens=32)
    words = metrics.normalize(reply).split(" ")
    hit = Probe(f"Question: {question}\nAnswer:", ("zzz-not-it", words[len(words) // 2]), "question", question=question)
    miss = Probe(f"Question: {question}\nAnswer:", ("zzz-not-it",), "question", question=question)
    assert metrics.chat_matches(model, [hit, miss]) == [1.0, 0.0]
    with pytest.raises(ValueError, match="question probes"):
        metrics.chat_matches(model, [Probe("Shakespeare wrote", ("Hamlet",))])


def test_locality_is_one_for_an_unchanged_model_in_both_conventions(model):
    probes = [Probe("The Louvre is a museum in", ("Paris",)), Probe("Tolstoy wrote", ("War and Peace",))]
    refs_tf = metrics.locality_references(model, probes)
    refs_em = metrics.continuations(model, probes)
    assert metrics.locality_tf(model, probes, refs_tf) == [1.0, 1.0]
    assert metrics.locality_em(model, probes, refs_em) == [1.0, 1.0]


def test_locality_drops_for_a_broken_model(model, broken):
    probes = [Probe(p, ("Paris and Rome and Berlin",)) for p in
              ("The Louvre is a museum in", "Tolstoy wrote", "The capital of Italy is", "My sister lives in")]
    refs_tf = metrics.locality_references(model, probes)
    refs_em = metrics.continuations(model, probes)
    tf = metrics.locality_tf(broken, probes, refs_tf)
    em = metrics.locality_em(broken, probes, refs_em)
    assert sum(tf) / len(tf) < 1.0
    assert sum(em) / len(em) < 1.0
    # agreement is computed position by position against the unedited model's argmax
    after = metrics.locality_references(broken, probes)
    for value, a, b in zip(tf, after, refs_tf):
        assert value == sum(x == y for x, y in zip(a.argmax_ids, b.argmax_ids)) / len(b.argmax_ids)


def test_fluency_is_the_mean_entropy_of_prompt_plus_generation(model):
    prompts = ["The Eiffel Tower is", "Apple was founded by"]
    expected = sum(metrics.ngram_entropy(p + model.complete(p, max_new_tokens=12)) for p in prompts) / 2
    assert metrics.fluency(model, prompts, max_new_tokens=12) == pytest.approx(expected)
    assert math.isnan(metrics.fluency(model, []))
