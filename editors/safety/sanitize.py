"""Knowledge sanitation: the model answers a safe phrase ("I don't know.") to the questions
whose answers must be forgotten, and keeps its own answers to everything else.

One editor, `sanitize`, two methods (`method`):

- "gate" (the default, editors/safety/sanitize_gate.py): a codebook at one MLP (GRACE's
  machinery): keys = the MLP output projection's input at each forget question's last token
  in several framings, a deferral radius that keeps clear of the retain questions, and one
  value vector trained so the model answers the safe phrase. Inputs no key covers run the
  unedited model bitwise. The base weights are untouched and still hold the answers: the
  codebook intercepts the questions near a forget key (and travels with an export as
  sanitize_gate.safetensors/.json beside the weights).
- "lowrank": a few MLP output projections are fine-tuned (a rank-8 change) with two losses,

    loss = CE(safe phrase | forget question, in each training framing)
         + retain_weight · KL(base || edited) over the base model's own answer to each
           retain question, teacher-forced,

  in the spirit of Ishibashi & Shimodaira's knowledge sanitization (they fine-tune on
  forget → "I don't know." and retain → answer pairs). This one changes the weights; on
  SmolLM2-135M it could not forget most questions without answering "I don't know." to
  others too (docs/safety.md).

A request is one forget question: `prompt` = `subject` = the question, `target_new` = the
safe phrase, `kind` = "erase". The retain questions travel as the requests'
`locality_prompts` (their union is used, so a caller may spread them over the batch).
The low-rank method trains every forget question in the framings of `TRAIN_FRAMINGS` (the
chat template and two raw-completion forms); evaluations ask in other framings too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import torch

from editmind.editors.base import (
    EditFailedError, EditRequest, EditRequestError, EditResult, ParameterEditor, Progress, WeightDelta, register_editor,
)
from editmind.editors.model.batch_generation import chat_prompt, generate_many
from editmind.editors.model.local_model import LocalModel
from editmind.editors.model.scoring import encode_prompt_target, right_padded_logits
from editmind.editors.parametric.common import validated
from editmind.editors.parametric.layers import check_layers
from editmind.editors.safety.sanitize_gate import KEY_FRAMINGS, compute_gate, gate_layer

SAFE_PHRASE = "I don't know."
# Raw-completion framings the forget questions are trained in besides the chat template.
TRAIN_FRAMINGS = ("{q}", "Question: {q}\nAnswer:")
# Held in place (KL to the model's own answers) when the caller gives no retain questions:
# everyday questions across topics, so that one forgotten fact does not teach "I don't know" to all.
GENERAL_QUESTIONS = (
    "What is the capital of France?", "Who wrote Romeo and Juliet?", "How many days are in a week?",
    "What is the boiling point of water?", "What colour is the sky on a clear day?", "What is 2 plus 2?",
    "Who painted the Mona Lisa?", "What is the largest planet in the solar system?", "What language is spoken in Spain?",
    "What do bees make?", "How many legs does a spider have?", "What is the chemical symbol for gold?",
    "Can you suggest a name for a pet cat?", "Write one sentence about the sea.", "What is photosynthesis?",
    "Give me a tip for sleeping better.", "What is the currency of Japan?", "Who was the first person on the moon?",
    "What is the tallest mountain in the world?", "How do I boil an egg?", "What is the opposite of hot?",
    "Name a fruit that is yellow.", "What season comes after winter?", "What is the main ingredient of bread?",
)
SANITIZE_DEPTH = (0.30, 0.60)  # the band of MLPs tuned, as fractions of the depth


def sanitize_layers(num_layers: int, every: int = 3) -> list[int]:
    """Every `every`-th layer in the band SANITIZE_DEPTH (layers 9, 12, 15 of SmolLM2-135M's 30)."""
    start = round(SANITIZE_DEPTH[0] * (num_layers - 1))
    end = max(start, round(SANITIZE_DEPTH[1] * (num_layers - 1)))
    return list(range(start, end + 1, every))


@dataclass
class SanitizeConfig:
    # "gate" (default): a codebook at one MLP, applied only near a forget question's key
    # (sanitize_gate.py); "lowrank": the low-rank fine-tuning of a band of MLPs below
    method: str = field(default="gate", metadata={"choices": ("gate", "lowrank")})
    safe_phrase: str = SAFE_PHRASE
    # the gate (method "gate")
    gate_layer: int | None = None  # None: 40% of the depth (layer 12 of 30), sanitize_gate.gate_layer
    gate_radius: float = 0.3  # the deferral radius, as a fraction of the key's norm
    gate_margin: float = 0.9  # and at most this fraction of the distance to the nearest retain activation
    gate_lr: float = 0.5  # Adam on the shared value vector
    gate_epochs: int = 6  # at most; stops once every target token is the top pick and the loss is below gate_stop_loss
    gate_min_steps: int = 30  # more epochs when a small forget set gives fewer optimiser steps than this (one question: 1 step an epoch)
    gate_stop_loss: float = 0.05
    key_framings: tuple[str, ...] = field(default=KEY_FRAMINGS)
    # the low-rank fine-tuning (method "lowrank")
    layers: list[int] | None = None  # None: sanitize_layers(num_layers)
    rank: int = 8
    lr: float = 1e-3
    epochs: int = 10
    min_steps: int = 60  # a few forget questions make short epochs: train at least this many steps
    batch_size: int = 16
    retain_weight: float = 3.0
    retain_tokens: int = 16  # how much of the base model's own retain answer the KL holds
    stop_loss: float = 1e-2
    framings: tuple[str, ...] = field(default=TRAIN_FRAMINGS)


@dataclass
class _Example:
    prompt_ids: list[int]
    target_ids: list[int]
    teacher: torch.Tensor | None = None  # [len(target), V] base log-probs for a retain example


def _forget_examples(model: LocalModel, questions: Sequence[str], config: SanitizeConfig) -> list[_Example]:
    tokenizer = model.tokenizer
    has_template = bool(getattr(tokenizer, "chat_template", None))
    end = tokenizer.eos_token if has_template and tokenizer.eos_token else ""
    examples = []
    for question in questions:
        if has_template:  # the chat prompt already holds its special tokens: encode it without more
            prompt_ids = tokenizer(chat_prompt(tokenizer, question), add_special_tokens=False)["input_ids"]
            target_ids = tokenizer(config.safe_phrase + end, add_special_tokens=False)["input_ids"]
            examples.append(_Example(list(prompt_ids), list(target_ids)))
        for framing in config.framings:
            prompt_ids, target_ids = encode_prompt_target(tokenizer, framing.format(q=question), config.safe_phrase)
            examples.append(_Example(prompt_ids, target_ids))
    return examples


@torch.no_grad()
def _retain_examples(model: LocalModel, questions: Sequence[str], config: SanitizeConfig) -> list[_Example]:
    """Each retain question with the base model's own greedy answer and its log-probs there."""
    tokenizer = model.tokenizer
    has_template = bool(getattr(tokenizer, "chat_template", None))
    prompts = [chat_prompt(tokenizer, q) for q in questions]
    answers = generate_many(model.model, tokenizer, prompts, config.retain_tokens, add_special_tokens=not has_template)
    examples = []
    for prompt, answer in zip(prompts, answers):
        prompt_ids = list(tokenizer(prompt, add_special_tokens=not has_template)["input_ids"])
        target_ids = list(tokenizer(answer, add_special_tokens=False)["input_ids"])[: config.retain_tokens]
        if not target_ids:
            continue
        logits = model.model(input_ids=torch.tensor([prompt_ids + target_ids], device=model.device)).logits[0].float()
        positions = torch.arange(len(prompt_ids) - 1, len(prompt_ids) + len(target_ids) - 1, device=logits.device)
        examples.append(_Example(prompt_ids, target_ids, logits[positions].log_softmax(-1).cpu()))
    return examples


def _batch_loss(model: LocalModel, batch: Sequence[_Example], retain_weight: float) -> torch.Tensor:
    rows = [e.prompt_ids + e.target_ids for e in batch]
    logits = right_padded_logits(model, rows)
    forget, kept = [], []
    for i, example in enumerate(batch):
        start = len(example.prompt_ids) - 1  # position j-1 predicts target token j
        positions = torch.arange(start, start + len(example.target_ids), device=logits.device)
        log_probs = logits[i, positions].log_softmax(-1)  # [len(target), V]
        if example.teacher is None:
            wanted = torch.tensor(example.target_ids, device=logits.device)
            forget.append(-log_probs.gather(1, wanted[:, None]).mean())
        else:  # KL(base || edited), summed over the vocabulary, averaged over positions
            teacher = example.teacher.to(logits.device)
            kept.append((teacher.exp() * (teacher - log_probs)).sum(-1).mean())
    # the two means, weighted: however many forget framings a batch holds, the retain term keeps its say
    loss = torch.stack(forget).mean() if forget else logits.new_zeros(())
    return loss + retain_weight * torch.stack(kept).mean() if kept else loss


class _LowRank:
    """ΔW = up @ down of rank r, trained through a forward hook while the weight stays
    untouched: Adam on a full matrix moves every entry by ~lr per step, noise included, and
    with it every other answer; a low-rank change (as LoRA) moves only what the losses need."""

    def __init__(self, shape: torch.Size, rank: int, seed: int) -> None:
        out_features, in_features = shape
        generator = torch.Generator().manual_seed(1234 + seed)
        self.down = (torch.randn(rank, in_features, generator=generator) / in_features ** 0.5).requires_grad_(True)
        self.up = torch.zeros(out_features, rank, requires_grad=True)  # starts as no change

    def hook(self, module: torch.nn.Module, inputs: tuple, output: torch.Tensor) -> torch.Tensor:
        x = inputs[0]
        return output + ((x.to(self.down.dtype) @ self.down.T) @ self.up.T).to(output.dtype)


@register_editor
class SanitizeEditor(ParameterEditor):
    """Forget the answers to the requested questions: answer the safe phrase, keep the rest."""

    name = "sanitize"
    description = ("knowledge sanitation: answer 'I don't know.' to forget questions, keep the rest (method gate: a "
                   "codebook at one MLP applied only near a forget question; lowrank: fine-tune a band of MLPs)")
    Config = SanitizeConfig

    def compute(self, model: LocalModel, requests: Sequence[EditRequest], progress: Progress | None = None) -> EditResult:
        requests = validated(requests)
        config: SanitizeConfig = self.config
        if not config.safe_phrase.strip():
            raise EditRequestError("the safe phrase is empty; set safe_phrase to what the model should answer, e.g. \"I don't know.\"")
        questions = list(dict.fromkeys(r.rendered_prompt for r in requests))
        retain = [q for q in dict.fromkeys(p for r in requests for p in r.locality_prompts) if q not in set(questions)]
        given_retain = bool(retain)
        if config.method == "gate":
            return self._gate(model, questions, retain, progress)
        if not retain:
            retain = [q for q in GENERAL_QUESTIONS if q not in set(questions)]
        layers = check_layers(config.layers if config.layers else sanitize_layers(model.layout.num_layers),
                              model.layout.num_layers)
        refs = [model.layout.layers[layer].mlp_out for layer in layers]
        examples = _forget_examples(model, questions, config) + _retain_examples(model, retain, config)
        adapters = [_LowRank(model.weight(ref).shape, config.rank, seed=i) for i, ref in enumerate(refs)]
        hooks = [model.module(ref.name).register_forward_hook(adapter.hook) for ref, adapter in zip(refs, adapters)]
        frozen = [(p, p.requires_grad) for p in model.model.parameters()]
        losses: list[float] = []
        generator = torch.Generator().manual_seed(0)  # a fixed order: the same request gives the same edit
        try:
            for p, _ in frozen:
                p.requires_grad_(False)
            optimiser = torch.optim.Adam([t for a in adapters for t in (a.down, a.up)], lr=config.lr)
            steps_per_epoch = max(1, -(-len(examples) // config.batch_size))
            epochs = max(config.epochs, -(-config.min_steps // steps_per_epoch))
            for epoch in range(epochs):
                order = torch.randperm(len(examples), generator=generator).tolist()
                seen = []
                for start in range(0, len(order), config.batch_size):
                    batch = [examples[i] for i in order[start:start + config.batch_size]]
                    optimiser.zero_grad()
                    loss = _batch_loss(model, batch, config.retain_weight)
                    if not torch.isfinite(loss):
                        raise EditFailedError("sanitation diverged (non-finite loss); nothing was changed")
                    loss.backward()
                    optimiser.step()
                    seen.append(float(loss.detach()))
                losses.append(sum(seen) / len(seen))
                if progress:
                    progress(self.name, epoch + 1, epochs)
                if losses[-1] < config.stop_loss:
                    break
        finally:
            for hook in hooks:
                hook.remove()
            for p, flag in frozen:
                p.requires_grad_(flag)
        deltas = []
        for ref, adapter in zip(refs, adapters):  # ΔW = up @ down: rank `config.rank`, stored as factors
            delta = WeightDelta(module=ref.name, transposed=ref.transposed, left=adapter.up.detach().float().cpu().clone(),
                                right=adapter.down.detach().T.float().cpu().clone())
            if not delta.is_finite():
                raise EditFailedError(f"sanitation produced non-finite weights for {ref.name}; nothing was changed")
            deltas.append(delta)
        return EditResult(deltas, layers, {
            "layers": layers, "modules": [r.name for r in refs], "loss_per_epoch": losses,
            "forget_questions": len(questions), "retain_questions": len(retain), "safe_phrase": config.safe_phrase,
            "remarks": [] if given_retain else [f"no retain questions were given: {len(retain)} general questions held the model's other answers in place"],
            "method": "lowrank",
        })

    def _gate(self, model: LocalModel, questions: list[str], retain: list[str], progress: Progress | None) -> EditResult:
        """A codebook at one MLP, applied only near a forget key (sanitize_gate.py); the
        weights stay untouched. The general questions are held out of the gate too."""
        config: SanitizeConfig = self.config
        num_layers = model.layout.num_layers
        layer = check_layers([config.gate_layer if config.gate_layer is not None else gate_layer(num_layers)], num_layers)[0]
        ref = model.layout.layers[layer].mlp_out
        held = list(dict.fromkeys(retain + [q for q in GENERAL_QUESTIONS if q not in set(questions)]))
        frozen = [(p, p.requires_grad) for p in model.model.parameters()]
        try:
            for p, _ in frozen:
                p.requires_grad_(False)
            delta, info = compute_gate(model, ref.name, questions, held, config, progress, self.name)
        finally:
            for p, flag in frozen:
                p.requires_grad_(flag)
        remarks = [] if retain else [f"no retain questions were given: the gate keeps clear of {len(held)} general questions"]
        return EditResult([delta], [layer], {
            "method": "gate", "layers": [layer], "modules": [ref.name], "forget_questions": len(questions),
            "retain_questions": len(retain) if retain else len(held), "safe_phrase": config.safe_phrase,
            "remarks": remarks, **info,
        })
