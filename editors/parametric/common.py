"""Small pieces every parametric editor shares: validation, temporary application, ranks."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Sequence

import torch

from editmind.editors.base import EditFailedError, EditRequest, EditRequestError, WeightDelta
from editmind.editors.deltas import apply_deltas
from editmind.editors.model.local_model import LocalModel
from editmind.editors.model.scoring import TargetScore


def validated(requests: Sequence[EditRequest]) -> list[EditRequest]:
    """The requests, each checked; an empty batch is an error too."""
    requests = list(requests)
    if not requests:
        raise EditRequestError("no edit requests given")
    for request in requests:
        if not isinstance(request, EditRequest):
            raise EditRequestError(f"expected EditRequest objects, got {type(request).__name__}")
        request.validate()
    return requests


@contextmanager
def temporarily_applied(model: LocalModel, deltas: Sequence[WeightDelta]) -> Iterator[None]:
    """Apply deltas for the duration of the block and put the weights back bitwise after,
    also on errors: methods that edit layer by layer (MEMIT) or edit by edit (ROME batches)
    measure the next step on the partly edited model, yet `compute` must leave it unchanged."""
    snapshot = apply_deltas(model, deltas)
    try:
        yield
    finally:
        snapshot.restore()


def rank_one(module: str, transposed: bool, left: torch.Tensor, right: torch.Tensor) -> WeightDelta:
    """A rank-one delta left ⊗ right ([out], [in]), checked for finiteness."""
    delta = WeightDelta(module=module, transposed=transposed, left=left.reshape(-1, 1).float(), right=right.reshape(-1, 1).float())
    if not delta.is_finite():
        raise EditFailedError(f"the update for {module} is not finite; nothing was changed")
    return delta


def regularised(matrix: torch.Tensor, ridge: float) -> torch.Tensor:
    """matrix + ridge · mean eigenvalue · I: a scale-free ridge for a second-moment matrix
    estimated from fewer samples than it has dimensions (or nearly so)."""
    d = matrix.shape[0]
    scale = torch.trace(matrix).clamp(min=1e-12) / d
    return matrix + ridge * scale * torch.eye(d, dtype=matrix.dtype)


def own_prompt_scores(model: LocalModel, requests: Sequence[EditRequest]) -> list[TargetScore]:
    """Each request's own prompt scoring its target on the model as it is now: what
    `editmind edit` reports as reliability, and what ROME and FT-M check before they finish."""
    return model.score([r.rendered_prompt for r in requests], [r.target_new for r in requests])
