"""GRACE: a lifelong editor that writes into a codebook beside one MLP (Hartvigsen et al. 2023).

The base weights stay untouched. At one layer's MLP output projection (the down-projection
role, found by the layout discovery) a codebook holds entries (key, value, radius, label):

- key: the projection's *input* activation at the last token of the edit prompt;
- value: a vector of the projection's output size, trained by a few Adam steps so that,
  substituted for the projection's output at that token, the model continues with the
  target (teacher-forced cross-entropy on the target tokens);
- radius (the deferral radius epsilon): at inference every position's input is compared
  with the keys (Euclidean); where the nearest key is within its radius the projection's
  output at that position is replaced by the key's value, elsewhere the layer runs as usual
  (so an input no key covers gets bitwise the unedited output);
- label: the target string.

A new entry meets the codebook as in the paper: if the nearest key is farther than the sum
of both radii it is added; if it is closer and has the same label, the nearest key's radius
grows to cover the new key (no new key); if its label conflicts, both radii become half the
distance (the new key is added). Here the radius a new key starts with is `epsilon` times its
own norm (one setting for any model's activation scale) rather than one absolute number.

Integration (see editors/side_memory.py): an edit is a `GraceDelta`, a side-memory delta that
attaches its entries to the layer's `GraceMemory` (a forward hook; no weight and no
state_dict entry changes). The memory's codebook is rebuilt from the ordered list of attached
deltas by the rule above, so undoing any one edit gives bitwise the codebook of a history
without it. The journal persists each delta in its safetensors file (keys, values, radii) and
the labels in JSON; replay on reopen re-attaches them in order.

Export: `EditJournal.export` writes the plain HF directory of the base weights (plus any weight
edits) and, beside it, `grace_codebook.safetensors` + `grace_codebook.json`. transformers
loads the directory as the unedited base model; `editmind` (load_model on the directory)
re-attaches the codebook.

Limit by design: a paraphrase whose last-token activation is not within a key's radius does
not get the edit. Paraphrases given with the request (and, with `self_questions`, the base
model's own question for the statement) add keys sharing the edit's value.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Sequence

import torch
from safetensors.torch import load_file, save_file

from editmind.editors.base import EditFailedError, EditRequest, EditResult, ParameterEditor, Progress, register_editor
from editmind.editors.model.local_model import LocalModel
from editmind.editors.model.scoring import encode_prompt_target, pad_token_id
from editmind.editors.parametric.common import validated
from editmind.editors.parametric.keys import filled_paraphrase, paraphrase_text
from editmind.editors.parametric.layers import check_layers, grace_layer
from editmind.editors.side_memory import SideMemory, SideMemoryDelta, memories, register_side_kind

EXPORT_TENSORS = "grace_codebook.safetensors"
EXPORT_JSON = "grace_codebook.json"
EXPORT_FORMAT = "editmind-grace/1"
_SPLIT_MARGIN = 1e-5


@dataclass
class GraceConfig:
    layer: int | None = None  # None: ~85% of the depth, layer 25 of 30 (layers.grace_layer)
    epsilon: float = 0.1  # the edit prompt's key: its deferral radius, as a fraction of the key's norm
    paraphrase_epsilon: float = 0.3  # the radius of the keys of paraphrases / self-questions (same units)
    lr: float = 1.0  # Adam on the value vector (EasyEdit's GRACE uses 1.0 too)
    steps: int = 60  # at most; stops once every target token is the top pick and the loss is below stop_loss
    stop_loss: float = 0.5
    paraphrases: bool = True  # a request's paraphrases become more keys sharing its value
    self_questions: bool = True  # the base model's own questions for the statement too (questions.py)


@register_side_kind
@dataclass
class GraceDelta(SideMemoryDelta):
    """One edit's codebook entries at `module`: keys [n, in], values [n, out], radii [n]."""

    kind: ClassVar[str] = "grace"
    keys: torch.Tensor | None = None
    values: torch.Tensor | None = None
    radii: torch.Tensor | None = None
    labels: tuple[str, ...] = ()

    def side_tensors(self) -> dict[str, torch.Tensor]:
        return {"keys": self.keys, "values": self.values, "radii": self.radii}

    def side_meta(self) -> dict[str, Any]:
        return {"labels": list(self.labels)}

    @classmethod
    def from_saved(cls, module, owner, tensors, meta) -> "GraceDelta":
        return cls(module=module, owner=owner, keys=tensors["keys"], values=tensors["values"], radii=tensors["radii"],
                   labels=tuple(meta.get("labels", ())))

    def check(self, model) -> None:
        module = _module(model, self.module)
        in_features, out_features = _shape(module)
        if self.keys.shape[1] != in_features or self.values.shape[1] != out_features:
            raise EditFailedError(f"GRACE entries of width {tuple(self.keys.shape[1:])}/{tuple(self.values.shape[1:])} "
                                  f"do not fit {self.module} ({in_features} -> {out_features})")

    @classmethod
    def memory_type(cls) -> type["GraceMemory"]:
        """The memory this kind of delta attaches to (and whose export files it loads)."""
        return GraceMemory

    def attach(self, model) -> None:
        table = memories(model)
        memory = table.get(self.module)
        if memory is None:
            memory = table[self.module] = self.memory_type()(self.module)
        memory.extend(model, self)

    def detach(self, model) -> None:
        memory = memories(model).get(self.module)
        if memory is not None:
            memory.remove(model, self)

    @classmethod
    def load_export(cls, directory: Path) -> list["GraceDelta"]:
        files = cls.memory_type()
        meta_path, tensor_path = directory / files.export_json, directory / files.export_name
        if not meta_path.is_file():
            return []
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("format") != files.export_format:
            raise EditFailedError(f"{meta_path} is not a {files.export_what} of format {files.export_format}")
        tensors = load_file(str(tensor_path))
        deltas = []
        for entry in meta["deltas"]:
            prefix = entry["prefix"]
            deltas.append(cls.from_saved(entry["module"], entry["owner"],
                                         {k: tensors[f"{prefix}.{k}"] for k in ("keys", "values", "radii")}, entry))
        return deltas


def _module(model, name: str) -> torch.nn.Module:
    return getattr(model, "model", model).get_submodule(name)


def _shape(module: torch.nn.Module) -> tuple[int, int]:
    weight = module.weight
    if isinstance(module, torch.nn.Linear):
        return int(weight.shape[1]), int(weight.shape[0])
    return int(weight.shape[0]), int(weight.shape[1])  # Conv1D: [in, out]


@dataclass
class GraceMemory(SideMemory):
    """The codebook at one module, rebuilt from its attached deltas in order (module docstring)."""

    export_name: ClassVar[str] = EXPORT_TENSORS
    export_json: ClassVar[str] = EXPORT_JSON
    export_format: ClassVar[str] = EXPORT_FORMAT
    export_what: ClassVar[str] = "GRACE codebook"  # for the wrong-format error
    export_header: ClassVar[dict[str, str]] = {
        "method": "grace",
        "how": "the base model's weights are in this directory unchanged by GRACE; load it with "
               "editmind (load_model(<dir>)) to re-attach this codebook as a forward hook on each module"}
    keys: torch.Tensor | None = None
    values: torch.Tensor | None = None
    radii: torch.Tensor | None = None
    labels: list[str] = field(default_factory=list)
    handle: Any = None
    _radii: list[float] = field(default_factory=list)  # the radii as Python floats while inserting
    # per attached delta: (keys before it, [(index, radius before) for each radius it changed]),
    # so detaching the last one reverts exactly its own steps without a rebuild
    _log: list[tuple[int, list[tuple[int, float]]]] = field(default_factory=list)

    def rebuild(self, model) -> None:
        """The codebook from scratch: every attached delta's entries inserted in order."""
        self.keys = self.values = self.radii = None
        self.labels = []
        self._radii = []
        self._log = []
        for delta in self.attached:
            self._insert(delta)
        self._install(model)

    def remove(self, model, delta: "GraceDelta") -> None:
        """Detach one delta: the last one by reverting its own steps, any other by a rebuild
        of the rest (both give bitwise the codebook of a history without it)."""
        if self.attached and (self.attached[-1] is delta or self.attached[-1].owner == delta.owner):
            self.attached.pop()
            size, changed = self._log.pop()
            for index, radius in reversed(changed):
                self._radii[index] = radius
            self.keys = self.keys[:size] if size else None
            self.values = self.values[:size] if size else None
            del self._radii[size:]
            del self.labels[size:]
            self._install(model)
            return
        self.attached = [d for d in self.attached if d is not delta and d.owner != delta.owner]
        self.rebuild(model)

    def extend(self, model, delta: "GraceDelta") -> None:
        """Insert one more delta's entries (the same steps a rebuild takes for it, so the
        codebook is bitwise the one a rebuild of the whole list gives)."""
        self.attached.append(delta)
        self._insert(delta)
        self._install(model)

    def _insert(self, delta: "GraceDelta") -> None:
        changed: list[tuple[int, float]] = []
        self._log.append((self.size, changed))
        for key, value, radius, label in zip(delta.keys.float(), delta.values.float(), delta.radii.float().tolist(), delta.labels):
            if self.keys is not None:
                distances = torch.linalg.vector_norm(self.keys - key.to(self.keys.device), dim=1)
                nearest = int(distances.argmin())
                distance = float(distances[nearest])
                if distance <= radius + self._radii[nearest]:
                    changed.append((nearest, self._radii[nearest]))
                    if self.labels[nearest] == label:  # same answer: the nearest key's radius covers the new key
                        self._radii[nearest] = max(self._radii[nearest], distance)
                        continue
                    self._radii[nearest] = distance / 2 - _SPLIT_MARGIN  # conflicting answers: split the distance
                    radius = distance / 2
            self.keys = key[None] if self.keys is None else torch.cat([self.keys, key[None].to(self.keys.device)])
            self.values = value[None] if self.values is None else torch.cat([self.values, value[None].to(self.values.device)])
            self._radii.append(radius)
            self.labels.append(label)

    def _install(self, model) -> None:
        module = _module(model, self.module)
        if self.keys is None:
            if self.handle is not None:
                self.handle.remove()
                self.handle = None
            memories(model).pop(self.module, None)
            return
        device = module.weight.device
        self.keys, self.values = self.keys.to(device), self.values.to(device)
        self.radii = torch.tensor(self._radii, dtype=torch.float32, device=device)
        if self.handle is None:
            self.handle = module.register_forward_hook(self._hook)

    @property
    def size(self) -> int:
        return 0 if self.keys is None else int(self.keys.shape[0])

    def lookup(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """For flat inputs [N, in]: (which rows a key covers [N] bool, the nearest key [N])."""
        distances = torch.cdist(inputs.float(), self.keys, compute_mode="donot_use_mm_for_euclid_dist")
        nearest_distance, nearest = distances.min(dim=1)
        return nearest_distance <= self.radii[nearest], nearest

    def _hook(self, module, args, output):
        if self.keys is None or not args:
            return None
        inputs = args[0]
        flat = inputs.reshape(-1, inputs.shape[-1])
        with torch.no_grad():
            hit, nearest = self.lookup(flat)
        if not bool(hit.any()):
            return None  # nothing covered: the layer's own output, untouched
        out = output.clone()
        view = out.view(-1, out.shape[-1])
        view[hit] = self.values[nearest[hit]].to(view.dtype)
        return out

    def export(self, model, directory: Path) -> list[str]:
        """Add this memory's deltas to the export files (several memories share them)."""
        meta_path, tensor_path = directory / self.export_json, directory / self.export_name
        meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {
            "format": self.export_format, "method": self.export_header["method"], "deltas": [], "how": self.export_header["how"]}
        tensors = load_file(str(tensor_path)) if tensor_path.is_file() else {}
        for delta in self.attached:
            prefix = f"d{len(meta['deltas'])}"
            for name, tensor in delta.side_tensors().items():
                tensors[f"{prefix}.{name}"] = tensor.detach().cpu().contiguous()
            meta["deltas"].append({"prefix": prefix, "module": delta.module, "owner": delta.owner, **delta.side_meta()})
        save_file(tensors, str(tensor_path))
        meta_path.write_text(json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf-8")
        return [self.export_name, self.export_json]


def codebook_size(model) -> int:
    """Keys in all GRACE memories of this model."""
    return sum(m.size for m in memories(model).values() if isinstance(m, GraceMemory))


def _training_prompts(model: LocalModel, request: EditRequest, config: GraceConfig) -> list[tuple[str, str | None]]:
    """(text, the paraphrase it came from) for the edit prompt, then each paraphrase."""
    prompts: list[tuple[str, str | None]] = [(request.rendered_prompt, None)]
    if config.paraphrases or config.self_questions:
        extra = request
        if config.self_questions:
            from editmind.editors.parametric.questions import with_self_questions

            extra = with_self_questions(model, [request])[0]
        paraphrases = extra.paraphrases if config.paraphrases else extra.paraphrases[len(request.paraphrases):]
        for paraphrase in paraphrases:
            text = paraphrase_text(paraphrase, request.subject)[0]
            if text not in [t for t, _ in prompts]:
                prompts.append((text, filled_paraphrase(paraphrase, request.subject)[0]))
    return prompts


class _Capture:
    """A forward hook that reads (and optionally overrides) the module at given positions."""

    def __init__(self, rows: torch.Tensor, positions: torch.Tensor) -> None:
        self.rows, self.positions = rows, positions
        self.inputs: torch.Tensor | None = None
        self.outputs: torch.Tensor | None = None
        self.value: torch.Tensor | None = None

    def __call__(self, module, args, output):
        self.inputs = args[0][self.rows, self.positions].detach()
        self.outputs = output[self.rows, self.positions].detach()
        if self.value is None:
            return None
        out = output.clone()
        out[self.rows, self.positions] = self.value.to(out.dtype).expand(len(self.rows), -1)
        return out


@register_editor
class GraceEditor(ParameterEditor):
    name = "grace"
    Config = GraceConfig
    description = "GRACE: a codebook of keys with deferral radii at one MLP; base weights untouched (lifelong editing)"
    supports_batch = True

    def compute(self, model: LocalModel, requests: Sequence[EditRequest], progress: Progress | None = None) -> EditResult:
        requests = validated(requests)
        config: GraceConfig = self.config
        num_layers = model.layout.num_layers
        layer = check_layers([config.layer if config.layer is not None else grace_layer(num_layers)], num_layers)[0]
        ref = model.layout.layers[layer].mlp_out
        module = model.module(ref.name)
        frozen = [(p, p.requires_grad) for p in model.model.parameters()]
        deltas, per_request = [], []
        try:
            for p, _ in frozen:
                p.requires_grad_(False)
            for done, request in enumerate(requests, start=1):
                prompts = _training_prompts(model, request, config)
                delta, info = self._one(model, module, ref.name, request, prompts, config)
                deltas.append(delta)
                per_request.append(info)
                if progress:
                    progress(self.name, done, len(requests))
        finally:
            for p, flag in frozen:
                p.requires_grad_(flag)
        return EditResult(deltas, [layer], {"layer": layer, "module": ref.name, "per_request": per_request,
                                            "epsilon": config.epsilon, "paraphrase_epsilon": config.paraphrase_epsilon,
                                            "paraphrases": [info["questions"] for info in per_request],
                                            "keys": sum(info["keys"] for info in per_request)})

    @staticmethod
    def _one(model: LocalModel, module, name: str, request: EditRequest, prompts: list[tuple[str, str | None]], config: GraceConfig):
        questions = [q for _, q in prompts[1:] if q]
        prompts = [text for text, _ in prompts]
        encoded = [encode_prompt_target(model.tokenizer, p, request.target_new) for p in prompts]
        rows = [p + t for p, t in encoded]
        width = max(len(r) for r in rows)
        input_ids = torch.full((len(rows), width), pad_token_id(model.tokenizer), dtype=torch.long)
        attention = torch.zeros_like(input_ids)
        for i, row in enumerate(rows):
            input_ids[i, :len(row)] = torch.tensor(row)
            attention[i, :len(row)] = 1
        input_ids, attention = input_ids.to(model.device), attention.to(model.device)
        key_rows = torch.arange(len(rows), device=model.device)
        key_positions = torch.tensor([len(p) - 1 for p, _ in encoded], device=model.device)
        target_rows = torch.cat([torch.full((len(t),), i) for i, (_, t) in enumerate(encoded)]).to(model.device)
        target_positions = torch.cat([torch.arange(len(p) - 1, len(p) + len(t) - 1) for p, t in encoded]).to(model.device)
        wanted = torch.cat([torch.tensor(t) for _, t in encoded]).to(model.device)

        capture = _Capture(key_rows, key_positions)
        handle = module.register_forward_hook(capture)
        losses: list[float] = []
        try:
            with torch.no_grad():
                model.model(input_ids=input_ids, attention_mask=attention)
            keys = capture.inputs.float().clone()
            value = torch.nn.Parameter(capture.outputs.float().mean(0).clone())  # warm start
            capture.value = value
            optimiser = torch.optim.Adam([value], lr=config.lr)
            hit = False
            for _ in range(config.steps):
                logits = model.model(input_ids=input_ids, attention_mask=attention).logits.float()
                picked = logits[target_rows, target_positions]
                loss = torch.nn.functional.cross_entropy(picked, wanted)
                if not torch.isfinite(loss):
                    raise EditFailedError("GRACE's value training diverged (non-finite loss); nothing was changed")
                losses.append(float(loss.detach()))
                hit = bool((picked.argmax(-1) == wanted).all())
                if hit and losses[-1] < config.stop_loss:
                    break
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
        finally:
            handle.remove()
        value = value.detach().float()
        scale = torch.tensor([config.epsilon] + [config.paraphrase_epsilon] * (len(rows) - 1))
        radii = scale * torch.linalg.vector_norm(keys.cpu(), dim=1)
        delta = GraceDelta(module=name, owner=uuid.uuid4().hex, keys=keys.cpu(), values=value.expand(len(rows), -1).clone().cpu(),
                           radii=radii.cpu(), labels=tuple([request.target_new.strip()] * len(rows)))
        if not delta.is_finite():
            raise EditFailedError(f"GRACE produced non-finite entries for {name}; nothing was changed")
        return delta, {"keys": len(rows), "steps": len(losses), "loss": losses[-1] if losses else None,
                       "all_top": hit, "prompts": prompts, "questions": questions}
