"""Teacher-forced scoring of a target continuation: the basis of every KnowEdit metric.

For a prompt and a target answer we feed `prompt + target` once and read, at every target
position, the log-probability the model gives the true next token and the token it would
have picked itself (argmax). EasyEdit's "accuracy" metrics are the fraction of target
tokens whose argmax matches; probabilities come from the summed log-probabilities.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch


@dataclass(frozen=True)
class TargetScore:
    prompt: str
    target: str
    target_ids: tuple[int, ...]
    token_logprobs: tuple[float, ...]
    argmax_ids: tuple[int, ...]
    # Per target position: how far (in nats) the model's top token is ahead of its runner-up.
    # A small gap is a near tie that any change to the weights may swap.
    top_margins: tuple[float, ...] = ()

    @property
    def logprob(self) -> float:
        return float(sum(self.token_logprobs))

    @property
    def mean_logprob(self) -> float:
        return self.logprob / max(1, len(self.token_logprobs))

    @property
    def prob(self) -> float:
        return math.exp(self.logprob)

    @property
    def token_accuracy(self) -> float:
        """Fraction of target tokens the model predicts itself (EasyEdit's convention)."""
        hits = sum(a == t for a, t in zip(self.argmax_ids, self.target_ids))
        return hits / max(1, len(self.target_ids))

    @property
    def exact(self) -> bool:
        return tuple(self.argmax_ids) == tuple(self.target_ids)


def join_prompt_target(prompt: str, target: str) -> tuple[str, str]:
    """The separator convention: one space between prompt and target unless one has it."""
    if not prompt or prompt[-1].isspace() or target[:1].isspace():
        return prompt, target
    return prompt, " " + target


def encode_prompt_target(tokenizer, prompt: str, target: str) -> tuple[list[int], list[int]]:
    """Token ids of the prompt and of the target as they appear after it.

    Tokenising the concatenation and splitting at the prompt's length keeps the target's
    tokens exactly those the model sees in context (tokenising the target alone can differ
    at the boundary); if the prompt's tokens are not a prefix, the target is tokenised alone.
    """
    prompt, target = join_prompt_target(prompt, target)
    prompt_ids = tokenizer(prompt, add_special_tokens=True)["input_ids"]
    full_ids = tokenizer(prompt + target, add_special_tokens=True)["input_ids"]
    if full_ids[: len(prompt_ids)] == prompt_ids and len(full_ids) > len(prompt_ids):
        return list(prompt_ids), list(full_ids[len(prompt_ids):])
    return list(prompt_ids), list(tokenizer(target, add_special_tokens=False)["input_ids"])


def pad_token_id(tokenizer) -> int:
    """The id to pad batches with (padding is masked, so any real token id works)."""
    for candidate in (tokenizer.pad_token_id, tokenizer.eos_token_id, 0):
        if candidate is not None:
            return int(candidate)
    return 0


def right_padded_logits(model, rows: Sequence[Sequence[int]]) -> torch.Tensor:
    """Float logits [B, T, V] of token rows batched with right padding (masked); with
    gradients, for the fine-tuning losses (ft.py, safety/sanitize.py)."""
    width = max(len(r) for r in rows)
    input_ids = torch.full((len(rows), width), pad_token_id(model.tokenizer), dtype=torch.long)
    attention = torch.zeros_like(input_ids)
    for i, row in enumerate(rows):
        input_ids[i, :len(row)] = torch.tensor(list(row))
        attention[i, :len(row)] = 1
    return model.model(input_ids=input_ids.to(model.device), attention_mask=attention.to(model.device)).logits.float()


@torch.no_grad()
def score_targets(
    model, tokenizer, prompts: Sequence[str], targets: Sequence[str], batch_size: int = 16
) -> list[TargetScore]:
    """Score each (prompt, target) pair; batched with right padding."""
    if len(prompts) != len(targets):
        raise ValueError(f"{len(prompts)} prompts but {len(targets)} targets")
    device = next(model.parameters()).device
    encoded = [encode_prompt_target(tokenizer, p, t) for p, t in zip(prompts, targets)]
    results: list[TargetScore] = []
    for start in range(0, len(encoded), batch_size):
        chunk = encoded[start : start + batch_size]
        rows = [p + t for p, t in chunk]
        width = max(len(r) for r in rows)
        input_ids = torch.full((len(rows), width), pad_token_id(tokenizer), dtype=torch.long)
        attention = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):
            input_ids[i, : len(row)] = torch.tensor(row)
            attention[i, : len(row)] = 1
        logits = model(input_ids=input_ids.to(device), attention_mask=attention.to(device)).logits  # [B, T, V]
        for i, (prompt_ids, target_ids) in enumerate(chunk):
            # Position j-1 predicts token j; the target occupies [len(prompt), len(prompt)+len(target)).
            positions = torch.arange(len(prompt_ids) - 1, len(prompt_ids) + len(target_ids) - 1, device=device)
            rows_logits = logits[i, positions].float().log_softmax(-1)  # [len(target), V]
            wanted = torch.tensor(target_ids, device=device)
            token_logprobs = rows_logits.gather(1, wanted[:, None]).squeeze(1)
            top = rows_logits.topk(2, dim=-1).values  # [len(target), 2]
            index = start + i
            results.append(
                TargetScore(
                    prompt=prompts[index],
                    target=targets[index],
                    target_ids=tuple(target_ids),
                    token_logprobs=tuple(token_logprobs.tolist()),
                    argmax_ids=tuple(rows_logits.argmax(-1).tolist()),
                    top_margins=tuple((top[:, 0] - top[:, 1]).tolist()),
                )
            )
    return results
