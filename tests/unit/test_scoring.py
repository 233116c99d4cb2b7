import math

import torch

from editmind.editors.model.scoring import encode_prompt_target


def _direct_logprobs(model, prompt, target):
    """Score one pair the slow, obvious way: one forward pass per target token."""
    prompt_ids, target_ids = encode_prompt_target(model.tokenizer, prompt, target)
    logprobs, argmax, margins = [], [], []
    ids = list(prompt_ids)
    with torch.no_grad():
        for token in target_ids:
            logits = model.model(input_ids=torch.tensor([ids])).logits[0, -1]
            logprobs.append(float(logits.log_softmax(-1)[token]))
            argmax.append(int(logits.argmax()))
            ranked = logits.float().log_softmax(-1).sort(descending=True).values
            margins.append(float(ranked[0] - ranked[1]))
            ids.append(token)
    return target_ids, logprobs, argmax, margins


def test_batched_scores_match_direct_computation(tiny):
    prompts = ["The Eiffel Tower is located in", "Shakespeare wrote", "The capital of Italy is"]
    targets = ["Paris", "Hamlet and War and Peace", "Rome"]
    scores = tiny.score(prompts, targets, batch_size=2)  # padding inside a batch, and two batches
    for score, prompt, target in zip(scores, prompts, targets):
        ids, logprobs, argmax, margins = _direct_logprobs(tiny, prompt, target)
        assert score.target_ids == tuple(ids)
        assert len(ids) >= 1
        for got, want in zip(score.token_logprobs, logprobs):
            assert math.isclose(got, want, abs_tol=1e-4)
        assert score.argmax_ids == tuple(argmax)
        assert len(score.top_margins) == len(ids) and all(m >= 0 for m in score.top_margins)
        for got, want in zip(score.top_margins, margins):  # the top token's lead over the runner-up
            assert math.isclose(got, want, abs_tol=1e-4)
        assert math.isclose(score.logprob, sum(logprobs), abs_tol=1e-3)
        expected_accuracy = sum(a == t for a, t in zip(argmax, ids)) / len(ids)
        assert score.token_accuracy == expected_accuracy


def test_target_tokens_follow_prompt_with_one_space(tiny):
    prompt_ids, target_ids = encode_prompt_target(tiny.tokenizer, "The capital of Italy is", "Rome")
    joined = tiny.tokenizer.decode(prompt_ids + target_ids)
    assert joined.endswith("is Rome")
    assert tiny.tokenizer.decode(target_ids) == " Rome"


def test_fingerprint_changes_with_any_weight(tiny):
    before = tiny.fingerprint()
    assert before == tiny.fingerprint()
    ref = tiny.layout.layers[0].mlp_out
    with torch.no_grad():
        tiny.weight(ref)[0, 0] += 1e-3
    assert tiny.fingerprint() != before
