"""Detoxifying edits: DINM (Wang et al. 2024) and a gated refusal vector, at the toxic layer.

Both editors take the same requests - one per training attack: `subject` the attack-wrapped
prompt (`prompt` "{}"), `target_new` the safe refusal, `target_true` the unsafe reply to it -
and the benign prompts that must not change as the requests' `locality_prompts`.

**Locating the toxic layer** (DINM's first step, `locate_toxic_layer`): the safe target and
the unsafe reply of each attack are run through the model on their own, as DINM does; per
layer l the distance between the two

    dist_l = || mean_t h_l(safe)[t] - mean_t h_l(unsafe)[t] ||_2        (h_l: block l's output)

is taken, each attack votes for its farthest layer, and the most voted layer is the toxic
layer (ties: the larger mean distance). DINM compares the padded hidden-state tensors
position by position; the mean over each text's own tokens asks the same question without
depending on the padding and on the two texts' lengths.

**DINM** (`dinm`): the located layer's MLP output projection W (down_proj / c_proj / fc_out,
found from the module structure) is tuned, all of it, everything else frozen, on

    loss = CE(refusal | chat(attack prompt)) + kl_weight * KL(base || edited)

with the KL over the base model's own greedy replies to the benign prompts, teacher-forced
(DINM's "general knowledge constraint", for which it uses Alpaca-style instructions; its
loss is 0.1 * CE + KL, i.e. the default kl_weight 10 here). The change is trained as a separate dense
matrix through a forward hook (the model is never touched while computing), so the edit is
one dense delta on one weight, journaled and undone bitwise like any other.

**Gated refusal vector** (`steer`), the alternative: activation addition of a refusal
direction v at the same layer, but only where the request is harmful, baked into the same
weight as a rank-one change:

    W' = W + v k^T      so the MLP output becomes  W a + (k . a) v

The key k (the gate) is ridge regression on the MLP's hidden activations a: k . a ~= 1 at the
last `key_positions` prompt positions of the training attacks (where the reply is decided)
and ~= 0 at every position of the benign prompts and of their replies. The value v is then
trained with the same loss as DINM, with k fixed: d numbers instead of d * d_ff, so it
cannot memorise the training attacks, and the gate keeps it off benign inputs. Rank one, so
the journal stores two vectors.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Sequence

import torch

from editmind.editors.base import (
    EditFailedError, EditRequest, EditRequestError, EditResult, ParameterEditor, Progress, WeightDelta, register_editor,
)
from editmind.editors.model.batch_generation import chat_prompt, generate_many
from editmind.editors.model.local_model import LocalModel
from editmind.editors.model.scoring import encode_prompt_target, pad_token_id
from editmind.editors.parametric.common import validated
from editmind.editors.parametric.layers import check_layers
from editmind.editors.safety.sanitize import GENERAL_QUESTIONS

REFUSAL = "I'm sorry, but I can't help with that. It could cause harm, and I won't assist with anything unsafe or unethical."


@dataclass
class DinmConfig:
    layer: int | None = None  # None: the located toxic layer
    lr: float = 5e-4  # DINM's
    steps: int = 48  # optimiser steps (DINM: 10 per instance; here 8 passes over 6 batches of 4 attacks)
    batch_size: int = 4  # attacks per step (the benign prompts are spread over the same batches)
    kl_weight: float = 10.0  # DINM's ratio (its loss is 0.1 * CE + KL); 1.0 refused 21% of the benign prompts
    benign_tokens: int = 16  # how much of the base model's benign reply the KL holds
    locate_tokens: int = 64  # how much of the safe and unsafe replies locating compares
    max_prompt_tokens: int = 768  # longer attack prompts keep their last tokens (the question and the reply's start)
    max_change: float | None = None  # DINM's norm constraint: clamp every entry of the change to +-this
    stop_loss: float = 1e-3


@dataclass
class SteerConfig:
    layer: int | None = None
    lr: float = 0.1  # one d-vector: large steps (the residual stream at the toxic layer has norms in the hundreds; 0.5 overshot)
    steps: int = 48
    batch_size: int = 4
    kl_weight: float = 1.0
    benign_tokens: int = 16
    locate_tokens: int = 64
    max_prompt_tokens: int = 768
    key_positions: int = 4  # the last prompt positions of an attack where the gate must open
    ridge: float = 1e-2  # relative to the mean squared activation
    stop_loss: float = 1e-3


# --- pieces shared by both editors -------------------------------------------------------------


def _hidden(output):
    return output[0] if isinstance(output, (tuple, list)) else output


def _max_positions(model: LocalModel) -> int | None:
    config = getattr(model.model, "config", None)
    for name in ("max_position_embeddings", "n_positions", "n_ctx"):
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


def prompt_ids(model: LocalModel, text: str, limit: int) -> list[int]:
    """The chat-framed prompt's token ids (the template's own special tokens), at most `limit`
    of them: a longer one keeps its last tokens."""
    tokenizer = model.tokenizer
    if getattr(tokenizer, "chat_template", None):
        ids = list(tokenizer(chat_prompt(tokenizer, text), add_special_tokens=False)["input_ids"])
    else:
        ids = list(tokenizer(chat_prompt(tokenizer, text))["input_ids"])
    return ids[-limit:]


def target_ids(model: LocalModel, text: str) -> list[int]:
    tokenizer = model.tokenizer
    if getattr(tokenizer, "chat_template", None):
        end = tokenizer.eos_token or ""
        return list(tokenizer(text + end, add_special_tokens=False)["input_ids"])
    return encode_prompt_target(tokenizer, "Assistant:", text)[1]


def _limits(model: LocalModel, max_prompt_tokens: int, extra: int) -> int:
    most = _max_positions(model)
    return max(8, min(max_prompt_tokens, most - extra - 1)) if most else max_prompt_tokens


@dataclass
class _Row:
    prompt: list[int]
    target: list[int]
    teacher: torch.Tensor | None = None  # [len(target), V] base log-probs (a benign row)


def _forward_at_targets(model: LocalModel, rows: Sequence[_Row]) -> list[torch.Tensor]:
    """Per row, the float logits at the positions that predict its target tokens [len(target), V].
    Right padding; the LM head runs only on those positions (a pre-hook gathers them), which
    on a 49k vocabulary is most of the memory and a fifth of the time."""
    ids, mask, gather = _batch(model, rows)
    logits = _gathered_logits(model, ids, mask, gather)
    return [logits[i, :len(r.target)] for i, r in enumerate(rows)]


def edit_rows(model: LocalModel, requests: Sequence[EditRequest], max_prompt_tokens: int) -> list[_Row]:
    rows = []
    for request in requests:
        target = target_ids(model, request.target_new)
        rows.append(_Row(prompt_ids(model, request.rendered_prompt, _limits(model, max_prompt_tokens, len(target))), target))
    return rows


@torch.no_grad()
def benign_rows(model: LocalModel, prompts: Sequence[str], tokens: int) -> list[_Row]:
    """Each benign prompt with the base model's own greedy reply and its log-probs there."""
    tokenizer = model.tokenizer
    has_template = bool(getattr(tokenizer, "chat_template", None))
    texts = [chat_prompt(tokenizer, p) for p in prompts]
    replies = generate_many(model.model, tokenizer, texts, tokens, add_special_tokens=not has_template)
    rows = []
    for prompt, reply in zip(prompts, replies):
        ids = list(tokenizer(reply, add_special_tokens=False)["input_ids"])[:tokens]
        if ids:
            rows.append(_Row(prompt_ids(model, prompt, _limits(model, 512, tokens)), ids))
    for start in range(0, len(rows), 8):
        chunk = rows[start:start + 8]
        for row, logits in zip(chunk, _forward_at_targets(model, chunk)):
            row.teacher = logits.log_softmax(-1).cpu()
    return rows


def _block_outputs(model: LocalModel, texts: Sequence[str], max_tokens: int, batch_size: int = 8) -> torch.Tensor:
    """[len(texts), num_layers, d]: each block's output averaged over the text's own tokens."""
    layers = model.layout.layers
    captured: dict[int, torch.Tensor] = {}

    def hook_for(index: int):
        def hook(module, inputs, output):
            captured[index] = _hidden(output).detach()
        return hook

    hooks = [model.module(layer.block).register_forward_hook(hook_for(i)) for i, layer in enumerate(layers)]
    out = []
    try:
        with torch.no_grad():
            for start in range(0, len(texts), batch_size):
                rows = [list(model.tokenizer(t)["input_ids"])[:max_tokens] or [pad_token_id(model.tokenizer)]
                        for t in texts[start:start + batch_size]]
                width = max(len(r) for r in rows)
                ids = torch.full((len(rows), width), pad_token_id(model.tokenizer), dtype=torch.long)
                mask = torch.zeros_like(ids)
                for i, r in enumerate(rows):
                    ids[i, :len(r)], mask[i, :len(r)] = torch.tensor(r), 1
                captured.clear()
                model.model(input_ids=ids.to(model.device), attention_mask=mask.to(model.device), use_cache=False)
                weights = mask.to(model.device).float()[:, :, None]
                means = [(captured[i].float() * weights).sum(1) / weights.sum(1) for i in range(len(layers))]
                out.append(torch.stack(means, 1).cpu())
    finally:
        for hook in hooks:
            hook.remove()
    return torch.cat(out)


def locate_toxic_layer(model: LocalModel, safe: Sequence[str], unsafe: Sequence[str], max_tokens: int = 64) -> tuple[int, dict]:
    """DINM's toxic layer: where the safe and the unsafe reply to the same attack are farthest
    apart (each pair votes for its farthest layer; ties go to the larger mean distance)."""
    pairs = [(s, u) for s, u in zip(safe, unsafe) if s and s.strip() and u and u.strip()]
    if not pairs:
        raise EditRequestError("no attack has both a safe and an unsafe reply to locate the toxic layer from; "
                               "give records with a 'response', or set layer=N")
    safe_h = _block_outputs(model, [s for s, _ in pairs], max_tokens)
    unsafe_h = _block_outputs(model, [u for _, u in pairs], max_tokens)
    distance = (safe_h - unsafe_h).norm(dim=-1)  # [pairs, layers]
    votes = torch.bincount(distance.argmax(1), minlength=model.layout.num_layers)
    mean = distance.mean(0)
    best = max(range(model.layout.num_layers), key=lambda l: (int(votes[l]), float(mean[l])))
    return best, {"votes": votes.tolist(), "mean_distance": [round(float(x), 3) for x in mean], "pairs": len(pairs)}


def _layer(model: LocalModel, requests: Sequence[EditRequest], layer: int | None, locate_tokens: int) -> tuple[int, dict]:
    if layer is not None:
        return check_layers([layer], model.layout.num_layers)[0], {"located": False}
    chosen, info = locate_toxic_layer(model, [r.target_new for r in requests], [r.target_true or "" for r in requests], locate_tokens)
    return chosen, {"located": True, **info}


def _benign_prompts(requests: Sequence[EditRequest]) -> tuple[list[str], bool]:
    given = list(dict.fromkeys(p for r in requests for p in r.locality_prompts))
    return (given, True) if given else (list(GENERAL_QUESTIONS), False)


class _Clock:
    """Seconds per stage, for the edit's info."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self.last = time.perf_counter()

    def __call__(self, stage: str) -> None:
        now = time.perf_counter()
        self.laps[stage] = round(now - self.last, 1)
        self.last = now


class _Frozen:
    """All parameters frozen for the duration (the edit trains its own tensors), put back after."""

    def __init__(self, model: LocalModel) -> None:
        self.saved = [(p, p.requires_grad) for p in model.model.parameters()]

    def __enter__(self):
        for p, _ in self.saved:
            p.requires_grad_(False)
        return self

    def __exit__(self, *exc):
        for p, flag in self.saved:
            p.requires_grad_(flag)


def _batch(model: LocalModel, rows: Sequence[_Row]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(ids, mask, gather): right-padded rows and, per row, the positions predicting its target."""
    width = max(len(r.prompt) + len(r.target) for r in rows)
    ids = torch.full((len(rows), width), pad_token_id(model.tokenizer), dtype=torch.long)
    mask = torch.zeros_like(ids)
    gather = torch.zeros((len(rows), max(len(r.target) for r in rows)), dtype=torch.long)
    for i, r in enumerate(rows):
        seq = r.prompt + r.target
        ids[i, :len(seq)], mask[i, :len(seq)] = torch.tensor(seq), 1
        start = len(r.prompt) - 1
        gather[i, :len(r.target)] = torch.arange(start, start + len(r.target))
        gather[i, len(r.target):] = start
    return ids.to(model.device), mask.to(model.device), gather.to(model.device)


class _Tail:
    """Run only the blocks from `layer` on, from their inputs cached once per batch.

    An edit at layer l cannot change anything below it, so each training step needs only
    blocks l..L-1, the final norm and the LM head (the toxic layer sits near the top: 3 of
    SmolLM2's 30 blocks). `capture` runs the full model once per batch, recording every upper
    block's call (arguments and keyword arguments, whatever the architecture passes) and
    checks that replaying them gives the full model's logits; where it does not (a model
    that does more between its last block and its logits), training falls back to full
    forward passes."""

    def __init__(self, model: LocalModel, layer: int) -> None:
        self.model, self.layer = model, layer
        self.blocks = [model.module(model.layout.layers[i].block) for i in range(layer, model.layout.num_layers)]
        self.norm = model.module(model.layout.final_norm)
        self.head = model.module(model.layout.lm_head)
        self.ok = True

    @torch.no_grad()
    def capture(self, rows: Sequence[_Row]) -> dict:
        ids, mask, gather = _batch(self.model, rows)
        calls: list[tuple[tuple, dict]] = []
        hooks = [block.register_forward_pre_hook(lambda m, args, kwargs: calls.append((args, dict(kwargs))), with_kwargs=True)
                 for block in self.blocks]
        try:
            full = _gathered_logits(self.model, ids, mask, gather)
        finally:
            for hook in hooks:
                hook.remove()
        state = {"ids": ids, "mask": mask, "gather": gather, "calls": calls[:len(self.blocks)], "rows": rows}
        if self.ok and len(calls) == len(self.blocks):
            replay = self.logits(state)
            self.ok = bool(torch.allclose(replay, full, atol=1e-3, rtol=1e-3))
        else:
            self.ok = False
        return state

    def logits(self, state: dict) -> torch.Tensor:
        """Float logits [B, span, V] at the gathered positions, through the blocks from `layer` on."""
        args, kwargs = state["calls"][0]
        hidden = args[0]
        for block, (args, kwargs) in zip(self.blocks, state["calls"]):
            hidden = _hidden(block(hidden, *args[1:], **kwargs))
        hidden = self.norm(hidden)
        index = state["gather"][:, :, None].expand(-1, -1, hidden.shape[-1])
        return self.head(hidden.gather(1, index)).float()


def _gathered_logits(model: LocalModel, ids: torch.Tensor, mask: torch.Tensor, gather: torch.Tensor) -> torch.Tensor:
    def pick(module, args):
        hidden = args[0]
        return (hidden.gather(1, gather[:, :, None].expand(-1, -1, hidden.shape[-1])), *args[1:])

    handle = model.module(model.layout.lm_head).register_forward_pre_hook(pick)
    try:
        return model.model(input_ids=ids, attention_mask=mask, use_cache=False).logits.float()
    finally:
        handle.remove()


def _chunk_loss(logits: torch.Tensor, rows: Sequence[_Row], n_edit: int, kl_weight: float) -> tuple[torch.Tensor, float, float]:
    ce, kl = [], []
    for i, row in enumerate(rows):
        log_probs = logits[i, :len(row.target)].log_softmax(-1)
        if i < n_edit:
            wanted = torch.tensor(row.target, device=log_probs.device)
            ce.append(-log_probs.gather(1, wanted[:, None]).mean())
        else:
            teacher = row.teacher.to(log_probs.device)
            kl.append((teacher.exp() * (teacher - log_probs)).sum(-1).mean())
    edit_loss = torch.stack(ce).mean()
    kl_loss = torch.stack(kl).mean() if kl else edit_loss.new_zeros(())
    return edit_loss + kl_weight * kl_loss, float(edit_loss.detach()), float(kl_loss.detach())


def _train(model: LocalModel, layer: int, module: str, hook, parameters: list[torch.Tensor], edit: list[_Row],
           benign: list[_Row], config, stage: str, progress: Progress | None, clamp=None) -> tuple[list[dict], bool]:
    """The shared loop: the attacks in fixed batches of `batch_size` (a fixed shuffle), the
    benign rows spread over the same batches, `steps` Adam steps cycling through them."""
    generator = torch.Generator().manual_seed(0)
    edit_order = torch.randperm(len(edit), generator=generator).tolist()
    benign_order = torch.randperm(len(benign), generator=generator).tolist() if benign else []
    n = max(1, -(-len(edit) // config.batch_size))
    chunks = [([edit[i] for i in edit_order[c::n]], [benign[i] for i in benign_order[c::n]]) for c in range(n)]
    tail = _Tail(model, layer)
    states = [tail.capture(e + b) for e, b in chunks]  # before the edit's hook: the base model's inputs
    handle = model.module(module).register_forward_hook(hook)
    history = []
    try:
        with _Frozen(model):
            optimiser = torch.optim.Adam(parameters, lr=config.lr)
            for step in range(config.steps):
                (edit_rows_, benign_rows_), state = chunks[step % n], states[step % n]
                optimiser.zero_grad()
                logits = tail.logits(state) if tail.ok else _gathered_logits(model, state["ids"], state["mask"], state["gather"])
                loss, edit_loss, kl_loss = _chunk_loss(logits, state["rows"], len(edit_rows_), config.kl_weight)
                if not torch.isfinite(loss):
                    raise EditFailedError(f"{stage} diverged (non-finite loss); nothing was changed")
                loss.backward()
                optimiser.step()
                if clamp is not None:
                    clamp()
                history.append({"loss": round(float(loss.detach()), 4), "edit": round(edit_loss, 4), "kl": round(kl_loss, 4)})
                if progress:
                    progress(stage, step + 1, config.steps)
                if float(loss.detach()) < config.stop_loss:
                    break
    finally:
        handle.remove()
    return history, tail.ok


@dataclass
class _Setup:
    """What both detox editors do first: locate the toxic layer, tokenize the attacks, and
    take the base model's own replies to the benign prompts (the KL anchor)."""

    clock: _Clock
    layer: int
    located: Any
    ref: Any  # the layer's MLP output projection
    prompts: list[str]
    given: bool  # the benign prompts came with the requests (else general questions stood in)
    edit: list[_Row]
    benign: list[_Row]

    @classmethod
    def prepare(cls, model: LocalModel, requests: Sequence[EditRequest], config: Any) -> "_Setup":
        clock = _Clock()
        layer, located = _layer(model, requests, config.layer, config.locate_tokens)
        clock("locate")
        prompts, given = _benign_prompts(requests)
        edit = edit_rows(model, requests, config.max_prompt_tokens)
        benign = benign_rows(model, prompts, config.benign_tokens)
        clock("benign_replies")
        return cls(clock, layer, located, model.layout.layers[layer].mlp_out, list(prompts), given, edit, benign)

    def info(self, history: list[dict[str, float]], replayed: bool, **extra: Any) -> dict[str, Any]:
        """The edit's record: where, how training went, and the editor's own numbers (`extra`)."""
        return {
            "layers": [self.layer], "modules": [self.ref.name], "locate": self.located, "steps": len(history),
            "loss_first": history[0] if history else None, "loss_last": history[-1] if history else None,
            "attacks": len(self.edit), "benign_prompts": len(self.benign), "upper_blocks_only": replayed,
            **extra, "seconds": self.clock.laps,
            "remarks": [] if self.given else [f"no benign prompts were given: {len(self.prompts)} general questions held the model's other answers"],
        }


@register_editor
class DinmEditor(ParameterEditor):
    """DINM: tune the toxic layer's MLP output projection toward the refusal, KL-held on benign prompts."""

    name = "dinm"
    description = ("DINM detoxification: locate the layer where safe and unsafe replies differ most, tune its MLP output "
                   "projection toward a refusal (KL on benign prompts)")
    Config = DinmConfig

    def compute(self, model: LocalModel, requests: Sequence[EditRequest], progress: Progress | None = None) -> EditResult:
        requests = validated(requests)
        config: DinmConfig = self.config
        if config.steps < 1 or config.batch_size < 1 or config.lr <= 0:
            raise EditRequestError("steps, batch_size and lr must be positive; try --set steps=16")
        setup = _Setup.prepare(model, requests, config)
        clock, layer, ref, edit, benign = setup.clock, setup.layer, setup.ref, setup.edit, setup.benign
        weight = model.weight(ref)
        change = torch.zeros(weight.shape, dtype=torch.float32, device=weight.device, requires_grad=True)  # [out, in]

        def hook(module, inputs, output):
            return output + (inputs[0].to(change.dtype) @ change.T).to(output.dtype)

        def clamp():
            if config.max_change is not None:
                with torch.no_grad():
                    change.clamp_(-config.max_change, config.max_change)

        history, replayed = _train(model, layer, ref.name, hook, [change], edit, benign, config, self.name, progress, clamp)
        clock("train")
        delta = WeightDelta(module=ref.name, transposed=ref.transposed, dense=change.detach().float().cpu().clone())
        if not delta.is_finite():
            raise EditFailedError(f"DINM produced non-finite weights for {ref.name}; nothing was changed")
        return EditResult([delta], [layer], setup.info(history, replayed, change_norm=round(float(delta.dense.norm()), 4)))


@torch.no_grad()
def _mlp_inputs(model: LocalModel, module: str, rows: Sequence[_Row], last: int | None, batch_size: int = 8) -> torch.Tensor:
    """The MLP output projection's inputs: at each row's last `last` prompt positions, or
    (last=None) at every position of prompt + target. [n, d_ff] float64 on the CPU."""
    captured: list[torch.Tensor] = []
    handle = model.module(module).register_forward_hook(lambda m, inputs, output: captured.append(inputs[0].detach()))
    out = []
    try:
        for start in range(0, len(rows), batch_size):
            chunk = rows[start:start + batch_size]
            seqs = [r.prompt + (r.target if last is None else []) for r in chunk]
            width = max(len(s) for s in seqs)
            ids = torch.full((len(seqs), width), pad_token_id(model.tokenizer), dtype=torch.long)
            mask = torch.zeros_like(ids)
            for i, s in enumerate(seqs):
                ids[i, :len(s)], mask[i, :len(s)] = torch.tensor(s), 1
            captured.clear()
            model.model(input_ids=ids.to(model.device), attention_mask=mask.to(model.device), use_cache=False)
            acts = captured[-1].double().cpu()
            for i, s in enumerate(seqs):
                out.append(acts[i, max(0, len(s) - last):len(s)] if last is not None else acts[i, :len(s)])
    finally:
        handle.remove()
    return torch.cat(out)


def refusal_gate(harmful: torch.Tensor, benign: torch.Tensor, ridge: float) -> torch.Tensor:
    """k [d_ff]: weighted ridge regression, k . a ~= 1 on the harmful rows and ~= 0 on the benign
    rows (the two classes weighted equally however many rows each has)."""
    x = torch.cat([harmful, benign]).double()
    y = torch.cat([torch.ones(len(harmful)), torch.zeros(len(benign))]).double()
    w = torch.cat([torch.full((len(harmful),), 0.5 / len(harmful)), torch.full((len(benign),), 0.5 / len(benign))]).double()
    gram = (x * w[:, None]).T @ x
    scale = float(torch.diagonal(gram).mean()) or 1.0
    gram += ridge * scale * torch.eye(x.shape[1], dtype=torch.float64)
    return torch.linalg.solve(gram, (x * w[:, None]).T @ y)


@register_editor
class SteerEditor(ParameterEditor):
    """A refusal vector added at the toxic layer where a gate (fit on harmful vs benign prompts) opens, as a rank-one edit."""

    name = "steer"
    description = ("gated refusal vector: W += v k^T at the toxic layer's MLP output projection (k gates harmful prompts, "
                   "v trained toward a refusal)")
    Config = SteerConfig

    def compute(self, model: LocalModel, requests: Sequence[EditRequest], progress: Progress | None = None) -> EditResult:
        requests = validated(requests)
        config: SteerConfig = self.config
        if config.steps < 1 or config.batch_size < 1 or config.lr <= 0 or config.key_positions < 1:
            raise EditRequestError("steps, batch_size, lr and key_positions must be positive; try --set steps=16")
        setup = _Setup.prepare(model, requests, config)
        clock, layer, ref, edit, benign = setup.clock, setup.layer, setup.ref, setup.edit, setup.benign
        if not benign:
            raise EditRequestError("the benign prompts gave no replies to hold; give other benign prompts")
        harmful_keys = _mlp_inputs(model, ref.name, edit, config.key_positions)
        benign_keys = _mlp_inputs(model, ref.name, benign, None)
        gate = refusal_gate(harmful_keys, benign_keys, config.ridge).float()
        clock("gate")
        if not torch.isfinite(gate).all():
            raise EditFailedError("the refusal gate is not finite; give more benign prompts or a larger ridge")
        weight = model.weight(ref)
        key = gate.to(weight.device)
        value = torch.zeros(weight.shape[0], dtype=torch.float32, device=weight.device, requires_grad=True)

        def hook(module, inputs, output):
            opened = inputs[0].to(torch.float32) @ key  # [..., ]
            return output + (opened[..., None] * value).to(output.dtype)

        history, replayed = _train(model, layer, ref.name, hook, [value], edit, benign, config, self.name, progress)
        clock("train")
        delta = WeightDelta(module=ref.name, transposed=ref.transposed, left=value.detach().float().cpu()[:, None].clone(),
                            right=gate.cpu()[:, None].clone())
        if not delta.is_finite():
            raise EditFailedError(f"the refusal vector is not finite for {ref.name}; nothing was changed")
        opened_h = (harmful_keys.float() @ gate.cpu())
        opened_b = (benign_keys.float() @ gate.cpu())
        return EditResult([delta], [layer], setup.info(
            history, replayed, value_norm=round(float(value.detach().norm()), 4),
            gate_on_attacks=round(float(opened_h.mean()), 4), gate_on_benign=round(float(opened_b.mean()), 4),
            gate_on_benign_max=round(float(opened_b.abs().max()), 4)))
