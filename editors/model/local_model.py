"""`LocalModel`: one loaded causal LM with its tokenizer and discovered layout.

This is the object every editor, evaluator and the agent receive. It is deliberately thin:
the model and tokenizer are plain transformers objects, and the helpers below are the
handful of I/O operations all of editmind needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Sequence

import torch

from editmind.editors.model import generation
from editmind.editors.model.fingerprint import weights_fingerprint
from editmind.editors.model.layout import LinearRef, ModelLayout, math_weight
from editmind.editors.model.scoring import TargetScore, score_targets


@dataclass
class LocalModel:
    model: torch.nn.Module
    tokenizer: object
    layout: ModelLayout
    spec: str
    name: str
    source: str = ""
    _base_fingerprint: str | None = field(default=None, repr=False)

    # --- facts about the model -------------------------------------------------
    @property
    def num_parameters(self) -> int:
        seen: set[int] = set()
        total = 0
        for parameter in self.model.parameters():  # tied weights are counted once
            if parameter.data_ptr() not in seen:
                seen.add(parameter.data_ptr())
                total += parameter.numel()
        return total

    @property
    def dtype(self) -> torch.dtype:
        return next(self.model.parameters()).dtype

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def fingerprint(self) -> str:
        """SHA-256 of the current weights (recomputed: edits change it)."""
        return weights_fingerprint(self.model)

    def module(self, name: str) -> torch.nn.Module:
        return self.model.get_submodule(name)

    def weight(self, ref: LinearRef) -> torch.Tensor:
        """[out, in] view of a projection's weight, whatever its storage layout."""
        return math_weight(self.model, ref)

    # --- I/O ---------------------------------------------------------------------
    def complete(self, prompt: str, max_new_tokens: int = 32) -> str:
        return generation.complete(self.model, self.tokenizer, prompt, max_new_tokens)

    def chat(self, conversation: str | Sequence[dict], max_new_tokens: int = 128, system: str | None = None) -> str:
        return generation.chat(self.model, self.tokenizer, conversation, max_new_tokens, system)

    def stream_chat(
        self, conversation: str | Sequence[dict], max_new_tokens: int = 128, system: str | None = None
    ) -> Iterator[str]:
        return generation.stream_chat(self.model, self.tokenizer, conversation, max_new_tokens, system)

    def score(self, prompts: Sequence[str], targets: Sequence[str], batch_size: int = 16) -> list[TargetScore]:
        return score_targets(self.model, self.tokenizer, prompts, targets, batch_size)

    def describe(self) -> dict:
        """What `editmind info` reports."""
        return {
            "model": self.name,
            "spec": self.spec,
            "source": self.source,
            "architecture": self.layout.architecture,
            "num_layers": self.layout.num_layers,
            "num_parameters": self.num_parameters,
            "dtype": str(self.dtype).removeprefix("torch."),
            "device": str(self.device),
            "editable_modules": self.layout.to_dict(),
        }
