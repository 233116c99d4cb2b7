"""Values: the vector that, written at the subject's last token, makes the model say the target.

A delta δ (one per request) is added to one module's output at the subject's last token in
every context (random prefix + prompt + target), and optimised with Adam to maximise the
target's log-probability, as ROME/MEMIT do. Two regularisers keep the edit specific:
- a KL term on "<subject> is a" keeps what the model believes the subject *is* (its
  "essence") close to the unedited distribution;
- weight decay on ||δ||² relative to the original output's norm, and a hard clamp of ||δ||
  to `clamp_norm_factor` times that norm, stop the vector from growing without bound.
The weights are frozen and only δ is a leaf, so autograd only runs through the layers
after the hooked one. Several requests are optimised together in one batch (each with its
own δ; the losses are independent, so this equals optimising them one by one).

Each step runs only the rows' tokens from the subject's last one on; the text before it,
which δ cannot reach, is computed once and kept as the attention cache (prefix_cache.py).

ROME hooks the MLP output projection (its update must reproduce v = out + δ there);
MEMIT/AlphaEdit hook the whole block (the residual stream z at the last edit layer).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Sequence

import torch

from editmind.editors.base import EditFailedError, EditRequest, Progress
from editmind.editors.model.local_model import LocalModel
from editmind.editors.parametric.keys import Row, _output_tensor, is_frame, keys_and_outputs, rows_for
from editmind.editors.parametric.precision import PRECISIONS, attention_kernels, optimisation_network
from editmind.editors.parametric.prefix_cache import PrefixCache, pack_rows

ESSENCE_TEMPLATE = "{} is a"


@dataclass
class ValueConfig:
    """Optimisation of the target value (ROME's defaults; MEMIT/AlphaEdit override a few)."""

    steps: int = 25
    lr: float = 0.5
    lr_end: float | None = None  # None: a constant lr; else linear from lr to lr_end at the last step
    kl_factor: float = 0.0625
    weight_decay: float = 0.5
    clamp_norm_factor: float = 4.0
    early_stop_loss: float = 0.05  # on the mean per-token target NLL
    group_size: int = 8
    # The clamp and the decay are relative to the original output's norm at the subject.
    # Where that norm is far below the module's usual scale (SmolLM2's layer-4 MLP gives
    # "Miranda Otto" a norm of 0.5 against ~7 for most subjects), the ball is too small to
    # hold any edit (NLL 6.4 after 25 steps). With this on, the scale is at least the
    # median output norm over all the optimisation rows' tokens.
    norm_floor: bool = True
    # "model" (the default): the search runs on the model in its own precision. "auto": on a
    # bf16 copy where the CPU has native bf16 products (a ROME edit 8.4 s -> 5.4 s on 2
    # cores), else as "model"; "bfloat16": always on the copy (precision.py). Opt-in because
    # it cost edit quality: on the same 24 dev edits ROME reliability 89.8 vs 94.0 and
    # generalization 39.3 vs 43.8 tf (knowedit_quality_rome_{mixed,fp32}_n36.json). A subject
    # whose MLP output is tiny ("Miranda Otto") ended at P(target) 0.23 against 0.48.
    precision: str = field(default="model", metadata={"choices": PRECISIONS})
    # On a bf16 copy, the last steps (and the stopping test) run on the model itself, so δ
    # is finished in the precision it is used in (that lifted "Miranda Otto" from 0.15).
    full_precision_steps: int = 3
    # The share of the target loss on the framed contexts (the question frame); None: every
    # context counts the same (see context_weights).
    frame_weight: float | None = None
    # The share of the target loss on the edit's own prompt with no prefix (the cloze that
    # reliability asks); None: it counts like any other context. With three question
    # contexts, a few held-out edits learnt the questions and not their own cloze ("Canada
    # is located in the continent of" -> "Asia"). 0.3 lifted ROME's edit success on 24
    # held-out edits 93.1 -> 95.5 but lowered it on the first 100 dev edits 95.7 -> 94.9
    # (reliability 99.5, generalization 90.4; knowedit_quality_rome_grammar_plain03_*.json).
    # On 100 held-out edits (cases 200+) it gave 94.8 against 92.1 tf and 87.0 against 85.5
    # em, while on the dev 100 em it lost 93.0 -> 90.5: over the 200 edits a wash (tf +0.9,
    # em -0.5; knowedit_quality_rome{,_plain03}_heldout200_n100.json), so it stays opt-in for
    # every edit; ROME uses it in a second search for the edits that miss their own prompt
    # (RomeConfig.retry_plain_weight).
    plain_weight: float | None = None


@dataclass
class ValueResult:
    delta: torch.Tensor  # [n_requests, d]: the optimised change of the module's output
    base: torch.Tensor  # [n_requests, d]: the module's original output at the subject (plain prompt)
    losses: list[float]  # the final per-request target NLL (mean per token)
    steps: int
    # Per group of requests optimised together: its worst target NLL at each step (how fast
    # the search converges; the early stop ends a curve).
    curves: list[list[float]] = field(default_factory=list)

    def reported_curves(self) -> list[list[float]]:
        """The curves rounded for an edit's JSON-friendly info."""
        return [[round(x, 4) for x in curve] for curve in self.curves]


def _essence_rows(model: LocalModel, requests: Sequence[EditRequest]) -> list[Row]:
    essence = [EditRequest(subject=r.subject, prompt=ESSENCE_TEMPLATE, target_new="x") for r in requests]
    return rows_for(model, essence, [""], with_target=False)


def optimise_values(
    model: LocalModel,
    module: str,
    requests: Sequence[EditRequest],
    prefixes: Sequence[str],
    config: ValueConfig,
    progress: Progress | None = None,
) -> ValueResult:
    """δ for every request at `module`'s output (see the module docstring)."""
    deltas, bases, losses, steps, curves = [], [], [], 0, []
    network = optimisation_network(model, config.precision)
    groups = [list(range(i, min(i + config.group_size, len(requests)))) for i in range(0, len(requests), config.group_size)]
    for group in groups:
        result = _optimise_group(model, network, module, [requests[i] for i in group], prefixes, config)
        deltas.append(result.delta)
        bases.append(result.base)
        losses.extend(result.losses)
        steps = max(steps, result.steps)
        curves.extend(result.curves)
        if progress:
            progress("optimising target values", group[-1] + 1, len(requests))
    return ValueResult(torch.cat(deltas), torch.cat(bases), losses, steps, curves)


def _optimise_group(model: LocalModel, network: torch.nn.Module, module: str, requests: Sequence[EditRequest],
                    prefixes: Sequence[str], config: ValueConfig) -> ValueResult:
    n = len(requests)
    rewrite = rows_for(model, requests, prefixes, with_target=True)
    # The original output at the subject in each request's plain prompt, in the model's
    # own precision (the optimisation may run on a bf16 copy).
    plain = [row for row in rewrite if row.prefix == ""]
    base_value = keys_and_outputs(model, plain, [], [module])[1][module].to(model.device)
    essence = _essence_rows(model, requests)
    rows = rewrite + essence
    # A rewrite row's last target token is never an input whose prediction is scored, so the
    # search runs without it; each row from its subject's last token on (prefix_cache.py).
    packed = pack_rows(model, [replace(row, ids=row.ids[:-1]) for row in rewrite] + essence, [row.request for row in rows])
    row_request = torch.tensor([row.request for row in rows], device=model.device)

    # Target positions, counted in the live part: logits at position j-1 predict token j.
    target_positions, target_tokens, target_rows = [], [], []
    for i, row in enumerate(rewrite):
        for j, token in enumerate(row.target_ids):
            target_rows.append(i)
            target_positions.append(row.prompt_length + j - 1 - row.subject_index)
            target_tokens.append(token)
    target_rows_t = torch.tensor(target_rows, device=model.device)
    target_positions_t = torch.tensor(target_positions, device=model.device)
    target_tokens_t = torch.tensor(target_tokens, device=model.device)
    tokens_per_row = torch.tensor([len(row.target_ids) for row in rewrite], device=model.device, dtype=torch.float32)
    rewrite_request = row_request[: len(rewrite)]
    row_weight = context_weights(rewrite, n, config.frame_weight, config.plain_weight).to(model.device)  # sums to 1 per request
    essence_last = torch.tensor([len(row.ids) - 1 - row.subject_index for row in essence], device=model.device)
    n_targets = len(target_tokens)
    scored_rows = torch.cat([target_rows_t, len(rewrite) + torch.arange(n, device=model.device)])
    scored = packed.at(scored_rows, torch.cat([target_positions_t, essence_last]))
    subjects = (packed.sequence, packed.live_start)  # every row's first live token

    hidden = _module_width(model, module)
    delta = torch.zeros(n, hidden, device=model.device, requires_grad=True)
    # The median output norm over all rows' tokens (norm_floor), from the past and the first
    # live forward of the network that runs the first step.
    past_norms: dict[int, torch.Tensor] = {}
    typical: list[float] = []
    live = [False]

    def hook(network_index, mod, inputs, output):
        tensor = _output_tensor(output)
        if not live[0]:
            past_norms[network_index] = tensor.detach().float().norm(dim=-1)[packed.past_real]
            return output
        if not typical:
            norms = tensor.detach().float().norm(dim=-1)[packed.live_real]
            typical.append(float(torch.cat([past_norms.get(network_index, norms[:0]), norms]).median()))
        edited = tensor.index_put(subjects, delta[row_request].to(tensor.dtype), accumulate=True)
        return (edited,) + tuple(output[1:]) if isinstance(output, tuple) else edited

    optimiser = torch.optim.Adam([delta], lr=config.lr)
    networks = list(dict.fromkeys([network, model.model]))  # the search's, then the model's own
    frozen = [(p, p.requires_grad) for net in networks for p in net.parameters()]
    for parameter, _ in frozen:
        parameter.requires_grad_(False)
    handles = [net.get_submodule(module).register_forward_hook(lambda *args, k=k: hook(k, *args))
               for k, net in enumerate(networks)]
    heads = [vocabulary_head(net) for net in networks]
    caches: list[PrefixCache] = []
    finish_from = config.steps - config.full_precision_steps + 1  # the first step on the model itself
    current = 0
    initial_essence = None
    step = 0
    per_request = torch.full((n,), float("inf"))
    curve: list[float] = []
    try:
        for net in networks:  # the pasts, once per network
            with attention_kernels(net):
                caches.append(PrefixCache(net, packed))
        live[0] = True
        for step in range(1, config.steps + 1):
            if step >= finish_from:
                current = len(networks) - 1
            optimiser.zero_grad()
            head = heads[current]
            with attention_kernels(networks[current]):
                hidden_states = caches[current].last_hidden(networks[current], head)
            # One pass over the vocabulary head for the targets and the essence prompts: on a
            # CPU each pass (forwards and backwards) costs a read of the whole 49k x d matrix.
            log_probs = _logits_at(hidden_states, scored, head).float().log_softmax(-1)
            essence_logp = log_probs[n_targets:]
            token_nll = -log_probs[:n_targets].gather(1, target_tokens_t[:, None]).squeeze(1)
            row_nll = torch.zeros(len(rewrite), device=model.device).index_add_(0, target_rows_t, token_nll) / tokens_per_row
            request_nll = torch.zeros(n, device=model.device).index_add_(0, rewrite_request, row_nll * row_weight)
            if initial_essence is None:
                initial_essence = essence_logp.detach()
            kl = (initial_essence.exp() * (initial_essence - essence_logp)).sum(-1)
            base_norm = base_value.norm(dim=-1).clamp(min=1e-6)
            if config.norm_floor:
                base_norm = base_norm.clamp(min=typical[0])
            decay = delta.norm(dim=-1) ** 2 / base_norm**2
            loss_per_request = request_nll + config.kl_factor * kl + config.weight_decay * decay
            per_request = request_nll.detach().cpu()
            curve.append(float(per_request.max()))
            if not torch.isfinite(loss_per_request).all():
                raise EditFailedError("the value optimisation diverged (non-finite loss); nothing was changed")
            # Stop once every target is predicted (its NLL, not the regularised total, is
            # below the threshold): the remaining steps would only trade decay for KL. On a
            # bf16 copy that is confirmed on the model itself from the next step on.
            if float(request_nll.detach().max()) < config.early_stop_loss:
                if current == len(networks) - 1:
                    break
                finish_from = step + 1
            if step == config.steps:
                break
            loss_per_request.sum().backward()
            if config.lr_end is not None and config.steps > 1:
                for group in optimiser.param_groups:
                    group["lr"] = config.lr + (config.lr_end - config.lr) * (step - 1) / (config.steps - 1)
            optimiser.step()
            with torch.no_grad():  # project back into the ball ||δ|| <= clamp * ||original||
                limit = config.clamp_norm_factor * base_norm
                norms = delta.norm(dim=-1).clamp(min=1e-12)
                delta.mul_(torch.where(norms > limit, limit / norms, torch.ones_like(norms))[:, None])
    finally:
        for handle in handles:
            handle.remove()
        for parameter, flag in frozen:
            parameter.requires_grad_(flag)
    result = delta.detach().float().cpu()
    if not torch.isfinite(result).all():
        raise EditFailedError("the value optimisation produced non-finite values; nothing was changed")
    return ValueResult(result, base_value.cpu(), [float(x) if math.isfinite(float(x)) else float("inf") for x in per_request], step, [curve])


def context_weights(rows: Sequence[Row], n_requests: int, frame_weight: float | None,
                    plain_weight: float | None = None) -> torch.Tensor:
    """[rows]: each rewrite row's share of its request's target NLL.

    Equal shares by default. With `frame_weight`, the framed rows (the question frame)
    share that fraction and the prefixed rows the rest, so one question frame among six
    cloze contexts is not outvoted: on SmolLM2 the mean NLL reached its stopping point
    while the frame's answer still lost to "<|im_end|>"."""
    framed = torch.tensor([is_frame(row.prefix) for row in rows])
    request = torch.tensor([row.request for row in rows])
    weights = torch.ones(len(rows))
    if frame_weight is not None:
        n_framed = torch.bincount(request[framed], minlength=n_requests).float()
        n_plain = torch.bincount(request[~framed], minlength=n_requests).float()
        has_both = (n_framed > 0) & (n_plain > 0)
        share = torch.where(framed, frame_weight / n_framed[request].clamp(min=1), (1 - frame_weight) / n_plain[request].clamp(min=1))
        weights = torch.where(has_both[request], share, weights)
    totals = torch.zeros(n_requests).index_add_(0, request, weights)
    weights = weights / totals[request]
    if plain_weight is not None:  # the plain prompt takes its share, the others keep their proportions
        plain = torch.tensor([row.prefix == "" for row in rows])
        plain_total = torch.zeros(n_requests).index_add_(0, request, torch.where(plain, weights, 0.0))
        rest_total = 1 - plain_total
        has_both = (plain_total > 0) & (rest_total > 0)
        scaled = torch.where(plain, weights * plain_weight / plain_total[request].clamp(min=1e-12),
                             weights * (1 - plain_weight) / rest_total[request].clamp(min=1e-12))
        weights = torch.where(has_both[request], scaled, weights)
    return weights


def vocabulary_head(network: torch.nn.Module) -> torch.nn.Linear | None:
    """The output projection when logits are just a linear map of the final hidden states,
    else None (logit soft-capping or scaling: then the full forward is used)."""
    config = network.config
    if getattr(config, "final_logit_softcapping", None) or getattr(config, "logit_scale", None) not in (None, 1, 1.0):
        return None
    head = network.get_output_embeddings()
    return head if isinstance(head, torch.nn.Linear) and network.base_model is not network else None


def _logits_at(states: torch.Tensor, where: tuple[torch.Tensor, torch.Tensor], head: torch.nn.Linear | None) -> torch.Tensor:
    """[picks, vocab]: logits at `PackedRows.at` indices of `PrefixCache.last_hidden`'s output."""
    picked = states[where]
    return head(picked) if head is not None else picked


def _module_width(model: LocalModel, module: str) -> int:
    """The width of the module's output: an MLP projection's out features, or the hidden size."""
    target = model.module(module)
    for ref in (layer.mlp_out for layer in model.layout.layers):
        if ref.name == module:
            return ref.out_features
    del target
    return model.layout.hidden_size
