"""DAMA debiasing: take the gender-stereotype subspace out of the MLP outputs of a few layers.

Limisiewicz et al. (2024) find, from prompts such as "The nurse said that", the directions
in which a layer's MLP would have to move to make the model continue with "he" rather than
"she", and project them out of the layer: W <- (I - P) W, with P the orthogonal projection
on those directions. The layer can then no longer write a he/she preference, whatever the
profession; the pronoun a sentence states ("The actress said that she...") still reaches
the output through attention and the embeddings, which the projection leaves alone.

Per layer l and prompt i (output side, as the issue asks; shapes for SmolLM2-135M):

    h_i  = MLP_l output at the prompt's last token                       [d = 576]
    c_i  = d/dh_i (log p(he | prompt) - log p(she | prompt))            [d]
           - the he-minus-she contrast of DAMA's value vectors (v_he - v_she), to first
             order: one normalised gradient step towards each pronoun differs by c_i
    U    = top-`rank` right singular vectors of C = [c_1 .. c_N]          [d, rank]
    W'   = (I - U U^T) W          (W the MLP output projection, [d, d_ff])

The delta -U (U^T W) has rank `rank` and is stored as two factors, so the journal keeps it
small and undo restores the weight bitwise. The contrast needs only the prompts, not their
stereotype scores: those are for measuring (editors/eval/bias.py), as in the paper.

A request is one prompt: `subject` the profession phrase ("The nurse"), `prompt` the template
("{} said that"), `target_new` the neutral pronoun, `kind` "erase".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from editmind.editors.base import (
    EditFailedError, EditRequest, EditRequestError, EditResult, ParameterEditor, Progress, WeightDelta, register_editor,
)
from editmind.editors.model.local_model import LocalModel
from editmind.editors.model.scoring import pad_token_id
from editmind.editors.parametric.common import validated
from editmind.editors.parametric.layers import check_layers

PRONOUNS = (" he", " she")
DAMA_DEPTH = (0.65, 0.90)  # the band of layers, as fractions of the depth (the paper: 21-29 of LLaMA-7B's 32)


def dama_layers(num_layers: int) -> list[int]:
    """The layers in DAMA_DEPTH: 19..26 of SmolLM2-135M's 30."""
    start = round(DAMA_DEPTH[0] * (num_layers - 1))
    end = max(start, round(DAMA_DEPTH[1] * (num_layers - 1)))
    return list(range(start, end + 1))


@dataclass
class DamaConfig:
    layers: list[int] | None = None  # None: dama_layers(num_layers)
    rank: int = 8  # directions removed per layer
    batch_size: int = 32
    max_prompts: int = 2048  # prompts the contrast is taken over (the first ones; the rest are ignored)


def pronoun_ids(tokenizer) -> tuple[int, int]:
    """The first token of " he" and of " she" (one token each in most vocabularies; where a
    tokenizer splits them, their first tokens still tell them apart)."""
    he, she = (tokenizer(word, add_special_tokens=False)["input_ids"] for word in PRONOUNS)
    if not he or not she or he[0] == she[0]:
        raise EditRequestError("the tokenizer does not tell ' he' from ' she' by their first token; DAMA cannot be measured on it")
    return int(he[0]), int(she[0])


def _batches(model: LocalModel, prompts: Sequence[str], size: int):
    tokenizer = model.tokenizer
    for start in range(0, len(prompts), size):
        rows = [tokenizer(p)["input_ids"] for p in prompts[start:start + size]]
        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), pad_token_id(tokenizer), dtype=torch.long)
        mask = torch.zeros_like(ids)
        for i, row in enumerate(rows):
            ids[i, :len(row)], mask[i, :len(row)] = torch.tensor(row), 1
        yield ids.to(model.device), mask.to(model.device), torch.tensor([len(r) - 1 for r in rows], device=model.device)


def contrasts(model: LocalModel, prompts: Sequence[str], layers: Sequence[int], batch_size: int = 32,
              progress: Progress | None = None) -> dict[int, torch.Tensor]:
    """C per layer [N, d]: the gradient of log p(he) - log p(she) at the last prompt token
    with respect to that layer's MLP output, all layers in one backward pass."""
    he, she = pronoun_ids(model.tokenizer)
    refs = {layer: model.layout.layers[layer].mlp_out for layer in layers}
    captured: dict[int, torch.Tensor] = {}

    def hook_for(layer: int):
        def hook(module, inputs, output):
            leaf = output.detach().requires_grad_(True)  # a leaf per layer: one backward gives every layer's gradient
            captured[layer] = leaf
            return leaf
        return hook

    out: dict[int, list[torch.Tensor]] = {layer: [] for layer in layers}
    hooks = [model.module(ref.name).register_forward_hook(hook_for(layer)) for layer, ref in refs.items()]
    frozen = [(p, p.requires_grad) for p in model.model.parameters()]
    total = -(-len(prompts) // batch_size)
    try:
        for p, _ in frozen:
            p.requires_grad_(False)
        for step, (ids, mask, last) in enumerate(_batches(model, prompts, batch_size)):
            captured.clear()
            logits = model.model(input_ids=ids, attention_mask=mask).logits.float()
            rows = torch.arange(len(ids), device=ids.device)
            log_probs = logits[rows, last].log_softmax(-1)
            (log_probs[:, he] - log_probs[:, she]).sum().backward()
            for layer in layers:
                grad = captured[layer].grad
                if grad is None:
                    raise EditFailedError(f"layer {layer}'s MLP output does not reach the next-token logits; pick other layers")
                out[layer].append(grad[rows, last].float().cpu())
            if progress:
                progress("dama", step + 1, total)
    finally:
        for hook in hooks:
            hook.remove()
        for p, flag in frozen:
            p.requires_grad_(flag)
    return {layer: torch.cat(chunks) for layer, chunks in out.items()}


def stereotype_subspace(contrast: torch.Tensor, rank: int) -> torch.Tensor:
    """U [d, rank]: the orthonormal directions the contrasts span most (uncentred SVD: the
    shared he-minus-she direction is the point, not the variation around it)."""
    _, _, vh = torch.linalg.svd(contrast.double(), full_matrices=False)
    return vh[:rank].T.float().contiguous()


@register_editor
class DamaEditor(ParameterEditor):
    """Remove the gender-stereotype subspace from the MLP outputs of a band of layers."""

    name = "dama"
    description = "DAMA debiasing: project the he/she contrast subspace (from profession prompts) out of MLP output projections"
    Config = DamaConfig

    def compute(self, model: LocalModel, requests: Sequence[EditRequest], progress: Progress | None = None) -> EditResult:
        requests = validated(requests)
        config: DamaConfig = self.config
        if config.rank < 1 or config.rank >= model.layout.hidden_size:
            raise EditRequestError(f"rank {config.rank} must be between 1 and {model.layout.hidden_size - 1}; try --set rank=8")
        prompts = list(dict.fromkeys(r.rendered_prompt for r in requests))[: config.max_prompts]
        if len(prompts) < config.rank:
            raise EditRequestError(f"{len(prompts)} distinct prompts cannot span {config.rank} directions; give more prompts or a lower rank")
        layers = check_layers(config.layers if config.layers else dama_layers(model.layout.num_layers), model.layout.num_layers)
        contrast = contrasts(model, prompts, layers, config.batch_size, progress)
        deltas, kept = [], []
        for layer in layers:
            ref = model.layout.layers[layer].mlp_out
            u = stereotype_subspace(contrast[layer], config.rank)  # [d, r]
            weight = model.weight(ref).detach().float().cpu()  # [d, d_ff]
            delta = WeightDelta(module=ref.name, transposed=ref.transposed, left=-u, right=(weight.T @ u).contiguous())
            if not delta.is_finite():
                raise EditFailedError(f"DAMA produced non-finite weights for {ref.name}; nothing was changed")
            deltas.append(delta)
            # how much of the contrast the removed directions carry: near 1 means one shared direction
            energy = contrast[layer].double().pow(2).sum()
            kept.append(round(float((contrast[layer].double() @ u.double()).pow(2).sum() / energy), 4) if energy > 0 else 0.0)
        return EditResult(deltas, layers, {
            "layers": layers, "modules": [model.layout.layers[l].mlp_out.name for l in layers], "rank": config.rank,
            "prompts": len(prompts), "contrast_share_removed": kept,
        })
