"""Run the value optimisation's rows from the subject's last token on; the text before it once.

The value search adds δ at the subject's last token of every row. Under causal attention
nothing before that token depends on δ, so every optimisation step recomputed the same
prefix (random context, "The", the subject's first tokens) through every layer, forwards
and backwards. Here that part of each row is run once, without gradients, and kept as the
attention cache; each step then runs only the "live" tokens: the subject's last token, the
rest of the prompt and the target (on SmolLM2, ~6 of ~18 tokens a row). The loss and its
gradient are the same as on the full rows (tests/unit/test_parametric_pieces.py checks it
on llama, qwen2, gpt2 and gpt_neox layouts).

Rows differ in where the subject ends, so the pasts are left-padded to one length and the
live parts right-padded; explicit position ids keep every real token at its own position.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from editmind.editors.model.local_model import LocalModel
from editmind.editors.parametric.keys import Row
from editmind.editors.model.scoring import pad_token_id


@dataclass
class SplitRows:
    past_ids: torch.Tensor  # [rows, P]: tokens before the subject's last one, left-padded
    live_ids: torch.Tensor  # [rows, Q]: from the subject's last token on, right-padded
    attention: torch.Tensor  # [rows, P + Q]: 1 where a real token is
    past_positions: torch.Tensor  # [rows, P]
    live_positions: torch.Tensor  # [rows, Q]

    @property
    def past_length(self) -> int:
        return self.past_ids.shape[1]

    @property
    def past_attention(self) -> torch.Tensor:
        return self.attention[:, : self.past_length]

    @property
    def live_attention(self) -> torch.Tensor:
        return self.attention[:, self.past_length:]


def split_rows(model: LocalModel, rows: Sequence[Row]) -> SplitRows:
    """Each row cut at its subject's last token (the first live token)."""
    pad = pad_token_id(model.tokenizer)
    past_width = max(row.subject_index for row in rows)
    live_width = max(len(row.ids) - row.subject_index for row in rows)
    n = len(rows)
    past_ids = torch.full((n, past_width), pad, dtype=torch.long)
    live_ids = torch.full((n, live_width), pad, dtype=torch.long)
    attention = torch.zeros((n, past_width + live_width), dtype=torch.long)
    past_positions = torch.zeros((n, past_width), dtype=torch.long)
    live_positions = torch.zeros((n, live_width), dtype=torch.long)
    for i, row in enumerate(rows):
        s, live = row.subject_index, len(row.ids) - row.subject_index
        if s:
            past_ids[i, past_width - s:] = torch.tensor(row.ids[:s])
            past_positions[i, past_width - s:] = torch.arange(s)
            attention[i, past_width - s: past_width] = 1
        live_ids[i, :live] = torch.tensor(row.ids[s:])
        live_positions[i] = s + torch.arange(live_width)  # padding continues the count: harmless
        attention[i, past_width: past_width + live] = 1
    device = model.device
    return SplitRows(past_ids.to(device), live_ids.to(device), attention.to(device), past_positions.to(device),
                     live_positions.to(device))


class PrefixCache:
    """One network's attention cache of the rows' pasts, and the live forward against it."""

    def __init__(self, network: torch.nn.Module, split: SplitRows):
        self.split = split
        self.cache = None
        self.saved: list[tuple[torch.Tensor, torch.Tensor]] = []
        self.cache_argument = _cache_argument(network.base_model)
        if split.past_length:
            from transformers import DynamicCache

            self.cache = DynamicCache(config=network.config)  # filled in place by the forward
            with torch.no_grad():
                network.base_model(input_ids=split.past_ids, attention_mask=split.past_attention,
                                   position_ids=split.past_positions, use_cache=True,
                                   **{self.cache_argument: self.cache})
            self.saved = [(layer.keys, layer.values) for layer in self.cache.layers]

    def last_hidden(self, network: torch.nn.Module, head: torch.nn.Linear | None) -> torch.Tensor:
        """[rows, Q, hidden]: the live tokens' final hidden states, not yet projected onto
        the vocabulary. The loss needs logits at a handful of positions (the targets, the
        essence prompt's last token); projecting every position onto SmolLM2's 49k words
        was ~20% of each step. Without a plain linear `head`: the full logits [rows, Q, vocab]."""
        split = self.split
        call = network.base_model if head is not None else network
        cached = {self.cache_argument: self.cache, "use_cache": True} if self.cache is not None else {}
        try:
            output = call(input_ids=split.live_ids, attention_mask=split.attention, position_ids=split.live_positions,
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
