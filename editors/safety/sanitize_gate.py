"""Gated sanitation: a codebook at one MLP that makes the model answer the safe phrase to the
forget questions, and leaves every other input bitwise untouched.

The low-rank fine-tuning of sanitize.py changes the model for every input; on SmolLM2-135M it
could not forget most questions without also saying "I don't know." to many others. Here the
change is applied only where the input is near a forget question (GRACE's idea, Hartvigsen et
al. 2023, reusing editors/parametric/grace.py's codebook machinery):

- key: the input of the MLP output projection at a middle layer (40% of the depth, layer 12 of
  SmolLM2-135M's 30), at the forget question's *last token* ("?"), in each key framing
  (`KEY_FRAMINGS`: the chat template, the two raw framings sanitize.py trains on, and three
  chat framings with a generic request before the question). The question's last token sees
  only the text up to it, so a prompt that adds words after the question (the chat template's
  turn markers, "Please answer in a few words.", a multiple-choice list) has exactly the key
  of the bare question; words before it move the key somewhat (the deferral radius covers
  some of that).
- radius (the deferral radius): `gate_radius` x the key's norm, but never more than
  `gate_margin` x the distance from the key to the nearest activation of a retain question
  (the given retain questions, and the general questions, at every position of their chat
  prompt): no retain prompt the edit was shown is covered.
- value: ONE vector for the whole edit, substituted for the projection's output at a covered
  position, trained (Adam, teacher-forced cross-entropy) so that every forget question in
  every key framing continues with the safe phrase. One shared vector, not one per question:
  it is a trigger for "I don't know.", not a memorised answer per question, and it carries
  to framings it was not trained in.

At inference every position's projection input is compared with the keys (Euclidean); where
the nearest key is within its radius the output there is the value, elsewhere the layer runs
as usual. Unlike GRACE's codebook, entries are never merged or split (GRACE grows or halves
radii when keys meet, which would let a forget key's ball swallow a retain question): the
codebook is the plain union of the attached edits' entries.

What this is and is not: the base weights are unchanged and still hold the answers; the
codebook intercepts the questions that come near a forget key. An export (EditJournal.export)
writes the base weights (transformers loads them as the unedited model, which answers
the forget questions again) and, beside them, `sanitize_gate.safetensors` (keys, values,
radii) + `sanitize_gate.json` (format, module, labels); `load_model(<dir>)` in editmind
re-attaches the gate.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, ClassVar, Sequence

import torch

from editmind.editors.base import EditFailedError, Progress
from editmind.editors.model.batch_generation import chat_prompt
from editmind.editors.model.local_model import LocalModel
from editmind.editors.model.scoring import encode_prompt_target, pad_token_id
from editmind.editors.parametric.grace import GraceDelta, GraceMemory, _module
from editmind.editors.side_memory import memories, register_side_kind

EXPORT_TENSORS = "sanitize_gate.safetensors"
EXPORT_JSON = "sanitize_gate.json"
EXPORT_FORMAT = "editmind-sanitize-gate/1"
GATE_DEPTH = 0.40  # the layer of the gate, as a fraction of the depth (12 of 30)
# The framings whose question-last-token activation becomes a key (and in which the value is
# trained): "chat" is the question in the model's chat template; the raw ones are sanitize.py's
# TRAIN_FRAMINGS; the chat ones with a request before the question are generic ("tell me").
KEY_FRAMINGS = ("chat", "{q}", "Question: {q}\nAnswer:", "chat:Tell me this: {q}", "chat:I have a question. {q}",
                "chat:Please answer: {q}")


def gate_layer(num_layers: int) -> int:
    return round(GATE_DEPTH * (num_layers - 1))


@register_side_kind
@dataclass
class GateDelta(GraceDelta):
    """One sanitation edit's gate entries at `module`: keys [n, in], values [n, out], radii [n]."""

    kind: ClassVar[str] = "sanitize_gate"

    def _clash(self, model) -> None:
        memory = memories(model).get(self.module)
        if memory is not None and not isinstance(memory, GateMemory):
            raise EditFailedError(f"a {type(memory).__name__} already sits at {self.module}; "
                                  "give the sanitation gate another layer (--set gate_layer=N)")

    def check(self, model) -> None:
        super().check(model)
        self._clash(model)

    @classmethod
    def memory_type(cls) -> type["GateMemory"]:
        return GateMemory

    def attach(self, model) -> None:
        self._clash(model)
        super().attach(model)


@dataclass
class GateMemory(GraceMemory):
    """GRACE's codebook and hook, without its merge/split rule: the union of the entries."""

    export_name: ClassVar[str] = EXPORT_TENSORS
    export_json: ClassVar[str] = EXPORT_JSON
    export_format: ClassVar[str] = EXPORT_FORMAT
    export_what: ClassVar[str] = "sanitation gate"
    export_header: ClassVar[dict[str, str]] = {
        "method": "sanitize (gate)",
        "how": "the base weights in this directory are unchanged by the sanitation gate and still hold the "
               "forgotten answers; load the directory with editmind (load_model(<dir>)) to re-attach the gate "
               "as a forward hook on its module"}

    def _insert(self, delta: GraceDelta) -> None:
        self._log.append((self.size, []))
        keys, values = delta.keys.float(), delta.values.float()
        if self.keys is not None:
            keys, values = torch.cat([self.keys, keys.to(self.keys.device)]), torch.cat([self.values, values.to(self.values.device)])
        self.keys, self.values = keys, values
        self._radii.extend(delta.radii.float().tolist())
        self.labels.extend(delta.labels)


def framed(tokenizer, framing: str, question: str) -> tuple[str, bool]:
    """(the text, whether the tokenizer should add its special tokens) of one key framing."""
    has_template = bool(getattr(tokenizer, "chat_template", None))
    if framing == "chat" or framing.startswith("chat:"):
        asked = question if framing == "chat" else framing[len("chat:"):].format(q=question)
        return chat_prompt(tokenizer, asked), not has_template
    return framing.format(q=question), True


def question_end(tokenizer, text: str, question: str, add_special_tokens: bool) -> tuple[list[int], int]:
    """The token ids of `text` and the index of the token that holds the question's last character."""
    end = text.rfind(question) + len(question)
    if end < len(question):
        raise EditFailedError("a sanitation key framing lost its question; nothing was changed")
    try:
        encoded = tokenizer(text, add_special_tokens=add_special_tokens, return_offsets_mapping=True)
        for i, (a, b) in enumerate(encoded["offset_mapping"]):
            if a <= end - 1 < b:
                return list(encoded["input_ids"]), i
    except (NotImplementedError, TypeError, ValueError):  # a slow tokenizer has no offsets
        pass
    ids = list(tokenizer(text, add_special_tokens=add_special_tokens)["input_ids"])
    prefix = tokenizer(text[:end], add_special_tokens=add_special_tokens)["input_ids"]
    return ids, min(len(prefix), len(ids)) - 1


@dataclass
class _Row:
    prompt_ids: list[int]
    target_ids: list[int]
    key_position: int


def _rows(model: LocalModel, questions: Sequence[str], framings: Sequence[str], safe_phrase: str) -> list[_Row]:
    tokenizer = model.tokenizer
    end = tokenizer.eos_token if getattr(tokenizer, "chat_template", None) and tokenizer.eos_token else ""
    rows = []
    for question in questions:
        for framing in framings:
            text, special = framed(tokenizer, framing, question)
            ids, position = question_end(tokenizer, text, question, special)
            if framing == "chat" or framing.startswith("chat:"):
                target = list(tokenizer(safe_phrase + end, add_special_tokens=False)["input_ids"])
            else:  # a raw completion: the phrase joined to the prompt as the scorer joins targets
                prompt_ids, target = encode_prompt_target(tokenizer, text, safe_phrase)
                if prompt_ids != ids[:len(prompt_ids)] or len(prompt_ids) != len(ids):
                    ids = prompt_ids
                    position = min(position, len(ids) - 1)
            rows.append(_Row(ids, target, position))
    return rows


def _padded(model: LocalModel, rows: Sequence[_Row]) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(r.prompt_ids) + len(r.target_ids) for r in rows)
    input_ids = torch.full((len(rows), width), pad_token_id(model.tokenizer), dtype=torch.long)
    attention = torch.zeros_like(input_ids)
    for i, r in enumerate(rows):
        row = r.prompt_ids + r.target_ids
        input_ids[i, :len(row)] = torch.tensor(row)
        attention[i, :len(row)] = 1
    return input_ids.to(model.device), attention.to(model.device)


class _Inject:
    """Reads the module's input/output at (row, position) pairs and, once `value` is set,
    substitutes it for the output there."""

    def __init__(self, rows: torch.Tensor, positions: torch.Tensor) -> None:
        self.rows, self.positions = rows, positions
        self.inputs: torch.Tensor | None = None
        self.outputs: torch.Tensor | None = None
        self.value: torch.Tensor | None = None

    def __call__(self, module, args, output):
        if self.value is None:
            self.inputs = args[0][self.rows, self.positions].detach().float()
            self.outputs = output[self.rows, self.positions].detach().float()
            return None
        out = output.clone()
        out[self.rows, self.positions] = self.value.to(out.dtype).expand(len(self.rows), -1)
        return out


@torch.no_grad()
def _states(model: LocalModel, module: torch.nn.Module, texts: Sequence[tuple[str, bool]]) -> torch.Tensor:
    """The module's input at every position of every text, stacked [N, in]."""
    found: list[torch.Tensor] = []

    def grab(mod, args, output):
        found.append(args[0][0].detach().float())

    handle = module.register_forward_hook(grab)
    try:
        for text, special in texts:
            ids = model.tokenizer(text, add_special_tokens=special)["input_ids"]
            model.model(input_ids=torch.tensor([ids], device=model.device))
    finally:
        handle.remove()
    return torch.cat(found) if found else torch.zeros(0, 0)


def compute_gate(model: LocalModel, module_name: str, questions: Sequence[str], retain: Sequence[str], config,
                 progress: Progress | None = None, name: str = "sanitize") -> tuple[GateDelta, dict[str, Any]]:
    """The gate delta for `questions` (see the module docstring); `config` is a SanitizeConfig."""
    module = _module(model, module_name)
    framings = tuple(config.key_framings)
    rows = _rows(model, questions, framings, config.safe_phrase)
    # keys: one forward pass per batch, reading the projection's input at each row's question end
    keys = []
    for start in range(0, len(rows), config.batch_size):
        batch = rows[start:start + config.batch_size]
        inject = _Inject(torch.arange(len(batch), device=model.device), torch.tensor([r.key_position for r in batch], device=model.device))
        handle = module.register_forward_hook(inject)
        try:
            with torch.no_grad():
                input_ids, attention = _padded(model, batch)
                model.model(input_ids=input_ids, attention_mask=attention)
        finally:
            handle.remove()
        keys.append(inject.inputs.cpu())
        if start == 0:
            warm = inject.outputs.mean(0).cpu()
    keys_t = torch.cat(keys)
    norms = torch.linalg.vector_norm(keys_t, dim=1)
    radii = config.gate_radius * norms
    # never cover a retain prompt the edit was shown: at most gate_margin x the distance to its nearest activation
    nearest_retain = torch.full_like(radii, float("inf"))
    if retain:
        texts = [framed(model.tokenizer, "chat", q) for q in retain]
        for start in range(0, len(texts), 16):
            states = _states(model, module, texts[start:start + 16]).cpu()
            if states.numel():
                nearest_retain = torch.minimum(nearest_retain, torch.cdist(keys_t, states).min(dim=1).values)
        radii = torch.minimum(radii, config.gate_margin * nearest_retain)
    # the value: one vector, trained so that every forget row continues with the safe phrase
    value = torch.nn.Parameter(warm.clone().to(model.device))
    optimiser = torch.optim.Adam([value], lr=config.gate_lr)
    generator = torch.Generator().manual_seed(0)
    losses: list[float] = []
    hit_rate = 0.0
    # a small forget set ("forget where Jane Roe lives": 6 rows, one batch) still gets gate_min_steps steps
    epochs = max(config.gate_epochs, -(-config.gate_min_steps // max(1, -(-len(rows) // config.batch_size))))
    for epoch in range(epochs):
        order = torch.randperm(len(rows), generator=generator).tolist()
        seen, hits, total = [], 0, 0
        for start in range(0, len(order), config.batch_size):
            batch = [rows[i] for i in order[start:start + config.batch_size]]
            inject = _Inject(torch.arange(len(batch), device=model.device), torch.tensor([r.key_position for r in batch], device=model.device))
            inject.value = value
            handle = module.register_forward_hook(inject)
            try:
                input_ids, attention = _padded(model, batch)
                logits = model.model(input_ids=input_ids, attention_mask=attention).logits
            finally:
                handle.remove()
            target_rows = torch.cat([torch.full((len(r.target_ids),), i) for i, r in enumerate(batch)]).to(model.device)
            positions = torch.cat([torch.arange(len(r.prompt_ids) - 1, len(r.prompt_ids) + len(r.target_ids) - 1)
                                   for r in batch]).to(model.device)
            wanted = torch.cat([torch.tensor(r.target_ids) for r in batch]).to(model.device)
            picked = logits[target_rows, positions].float()
            loss = torch.nn.functional.cross_entropy(picked, wanted)
            if not torch.isfinite(loss):
                raise EditFailedError("the sanitation gate's value diverged (non-finite loss); nothing was changed")
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            seen.append(float(loss.detach()))
            hits += int((picked.argmax(-1) == wanted).sum())
            total += len(wanted)
        losses.append(sum(seen) / len(seen))
        hit_rate = hits / max(1, total)
        if progress:
            progress(name, epoch + 1, epochs)
        if losses[-1] < config.gate_stop_loss and hit_rate == 1.0:
            break
    value = value.detach().float().cpu()
    delta = GateDelta(module=module_name, owner=uuid.uuid4().hex, keys=keys_t.contiguous(),
                      values=value.expand(len(rows), -1).clone(), radii=radii.float().contiguous(),
                      labels=tuple([config.safe_phrase.strip()] * len(rows)))
    if not delta.is_finite():
        raise EditFailedError(f"the sanitation gate produced non-finite entries for {module_name}; nothing was changed")
    capped = int((radii < config.gate_radius * norms).sum())
    info = {"gate_keys": len(rows), "key_framings": list(framings), "loss_per_epoch": losses,
            "target_token_accuracy": round(hit_rate, 4), "value_norm": round(float(value.norm()), 3),
            "radius_relative_mean": round(float((radii / norms).mean()), 4),
            "radii_capped_by_retain": capped}
    return delta, info
