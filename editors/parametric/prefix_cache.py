"""Run the value optimisation's rows from the subject's last token on; the text before it once.

The value search adds δ at the subject's last token of every row. Under causal attention
nothing before that token depends on δ, so every optimisation step recomputed the same
prefix (random context, "The", the subject's first tokens) through every layer, forwards
and backwards. Here that part of each row is run once, without gradients, and kept as the
attention cache; each step then runs only the "live" tokens: the subject's last token, the
rest of the prompt and the target (on SmolLM2, ~6 of ~18 tokens a row).

The rows of one request are packed side by side into one sequence, with a block-diagonal
causal mask that keeps each row to its own tokens, and explicit position ids that keep every
token at its own position. Padded to a rectangle, a request's rows were ~40% padding (the
question frame's row is longer than the others), and on a CPU a step costs in proportion
to the tokens it runs: with packing (and without the unscored last target token) a ROME edit
went from a median 11.3 s to 8.4 s on 2 cores (knowedit_speed_packed_n100.json). Requests
optimised together (MEMIT's groups) are one sequence each, so attention stays per request.

The loss and its gradient are the same as on the full rows (tests/unit/test_parametric_pieces.py
checks it on llama, qwen2, gpt2 and gpt_neox layouts).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from editmind.editors.model.local_model import LocalModel
from editmind.editors.model.scoring import pad_token_id
from editmind.editors.parametric.keys import Row


@dataclass
class PackedRows:
    past_ids: torch.Tensor  # [S, P]: each sequence's rows' text before the subject's last token, back to back
    live_ids: torch.Tensor  # [S, L]: each row from its subject's last token on, back to back
    past_positions: torch.Tensor  # [S, P]: every token's position in its own row
    live_positions: torch.Tensor  # [S, L]
    past_real: torch.Tensor  # [S, P] bool: a real token, not padding
    live_real: torch.Tensor  # [S, L] bool
    past_mask: torch.Tensor  # [S, 1, P, P] bool: query may attend to key
    live_mask: torch.Tensor  # [S, 1, L, P + L] bool
    sequence: torch.Tensor  # [rows]: the sequence holding each row
    live_start: torch.Tensor  # [rows]: where the row's live part (its subject's last token) starts there

    @property
    def past_length(self) -> int:
        return self.past_ids.shape[1]

    def at(self, rows: torch.Tensor, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Indices into [S, L, ...] of position `positions` of each row's live part."""
        return self.sequence[rows], self.live_start[rows] + positions


def pack_rows(model: LocalModel, rows: Sequence[Row], sequence_of: Sequence[int]) -> PackedRows:
    """Rows cut at their subject's last token and packed, row i into sequence sequence_of[i]."""
    n_sequences = max(sequence_of) + 1
    members: list[list[int]] = [[] for _ in range(n_sequences)]
    for i, s in enumerate(sequence_of):
        members[s].append(i)
    past_width = max(sum(rows[i].subject_index for i in m) for m in members)
    live_width = max(sum(len(rows[i].ids) - rows[i].subject_index for i in m) for m in members)
    pad = pad_token_id(model.tokenizer)
    # Every token's row; padding gets an id of its own (negative) so it attends only to itself.
    past_group = -1 - torch.arange(n_sequences * past_width).view(n_sequences, past_width)
    live_group = -1 - n_sequences * past_width - torch.arange(n_sequences * live_width).view(n_sequences, live_width)
    past_ids = torch.full((n_sequences, past_width), pad, dtype=torch.long)
    live_ids = torch.full((n_sequences, live_width), pad, dtype=torch.long)
    past_positions = torch.zeros((n_sequences, past_width), dtype=torch.long)
    live_positions = torch.zeros((n_sequences, live_width), dtype=torch.long)
    sequence = torch.tensor(list(sequence_of), dtype=torch.long)
    live_start = torch.zeros(len(rows), dtype=torch.long)
    for s, member_rows in enumerate(members):
        past_at = past_width - sum(rows[i].subject_index for i in member_rows)  # pasts end flush right
        live_at = 0
        for i in member_rows:
            row = rows[i]
            cut, live = row.subject_index, len(row.ids) - row.subject_index
            past_ids[s, past_at: past_at + cut] = torch.tensor(row.ids[:cut], dtype=torch.long)
            past_positions[s, past_at: past_at + cut] = torch.arange(cut)
            past_group[s, past_at: past_at + cut] = i
            live_ids[s, live_at: live_at + live] = torch.tensor(row.ids[cut:], dtype=torch.long)
            live_positions[s, live_at: live_at + live] = cut + torch.arange(live)
            live_group[s, live_at: live_at + live] = i
            live_start[i] = live_at
            past_at += cut
            live_at += live
    # Same row, and the key not after the query in the concatenation past + live.
    past_index, live_index = torch.arange(past_width), past_width + torch.arange(live_width)
    past_mask = (past_group[:, :, None] == past_group[:, None, :]) & (past_index[None, None, :] <= past_index[None, :, None])
    keys = torch.cat([past_group, live_group], dim=1)
    key_index = torch.arange(past_width + live_width)
    live_mask = (live_group[:, :, None] == keys[:, None, :]) & (key_index[None, None, :] <= live_index[None, :, None])
    device = model.device
    return PackedRows(past_ids.to(device), live_ids.to(device), past_positions.to(device), live_positions.to(device),
                      (past_group >= 0).to(device), (live_group >= 0).to(device), past_mask[:, None].to(device),
                      live_mask[:, None].to(device), sequence.to(device), live_start.to(device))


def additive_mask(allowed: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """0 where attention is allowed, the dtype's minimum elsewhere: the form both the eager
    and the scaled-dot-product attention of transformers accept as a ready 4D mask."""
    return torch.zeros(allowed.shape, dtype=dtype, device=allowed.device).masked_fill(~allowed, torch.finfo(dtype).min)


class PrefixCache:
    """One network's attention cache of the rows' pasts, and the live forward against it."""

    def __init__(self, network: torch.nn.Module, packed: PackedRows):
        self.packed = packed
        self.cache = None
        self.saved: list[tuple[torch.Tensor, torch.Tensor]] = []
        self.cache_argument = _cache_argument(network.base_model)
        dtype = next(network.parameters()).dtype
        self.live_mask = additive_mask(packed.live_mask, dtype)
        if packed.past_length:
            from transformers import DynamicCache

            self.cache = DynamicCache(config=network.config)  # filled in place by the forward
            with torch.no_grad():
                network.base_model(input_ids=packed.past_ids, attention_mask=additive_mask(packed.past_mask, dtype),
                                   position_ids=packed.past_positions, use_cache=True,
                                   **{self.cache_argument: self.cache})
            self.saved = [(layer.keys, layer.values) for layer in self.cache.layers]

    def last_hidden(self, network: torch.nn.Module, head: torch.nn.Linear | None) -> torch.Tensor:
        """[S, L, hidden]: the live tokens' final hidden states, not yet projected onto
        the vocabulary. The loss needs logits at a handful of positions (the targets, the
        essence prompt's last token); projecting every position onto SmolLM2's 49k words
        was ~20% of each step. Without a plain linear `head`: the full logits [S, L, vocab]."""
        packed = self.packed
        call = network.base_model if head is not None else network
        cached = {self.cache_argument: self.cache, "use_cache": True} if self.cache is not None else {}
        try:
            output = call(input_ids=packed.live_ids, attention_mask=self.live_mask, position_ids=packed.live_positions,
                          **cached)
        finally:
            # Forget this step's live keys and values (the forward appended them in place).
            for layer, (keys, values) in zip(self.cache.layers if self.cache is not None else [], self.saved):
                layer.keys, layer.values = keys, values
        return output.last_hidden_state if head is not None else output.logits


def _cache_argument(network: torch.nn.Module) -> str:
    """The forward's name for the attention cache: `cache` in newer transformers 5 releases,
    `past_key_values` before."""
    import inspect

    return "cache" if "cache" in inspect.signature(network.forward).parameters else "past_key_values"
