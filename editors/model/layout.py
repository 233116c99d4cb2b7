"""Find the editable parts of any decoder-only transformer from its module structure.

Editors need to know, per layer, which module is the MLP's output projection (the
"down_proj" / "c_proj" / "fc_out" / "dense_4h_to_h" role that ROME and MEMIT rewrite),
which are its input projections, where attention is, where the layer list, final norm and
LM head are. EasyEdit keeps a YAML file per model name for this; here it is discovered
from shapes and module types, so an unseen model with a familiar structure just works.

The rules (no model-name matching anywhere):
- layer list: the `nn.ModuleList` of identical blocks holding the most parameters;
- hidden size: the input embedding's width;
- MLP: inside a block, the container whose direct children include an activation module
  and linear-like projections hidden -> I (one or two, or one fused hidden -> 2I) and
  I -> hidden with I != hidden; its output projection is the I -> hidden one;
- attention: the other container in the block with linear-like children reading the
  hidden state; its output projection is the one writing back hidden-sized vectors;
- final norm: a parameterised module beside the layer list with a weight of the hidden
  size that is not the embedding;
- LM head: `get_output_embeddings()`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from editmind.editors.errors import UnsupportedArchitectureError

try:  # GPT-2 style models store projections as Conv1D with a transposed weight.
    from transformers.pytorch_utils import Conv1D
except ImportError:  # pragma: no cover - transformers always ships it today
    Conv1D = ()  # type: ignore[assignment,misc]


@dataclass(frozen=True)
class LinearRef:
    """A linear-like projection: where it is and how its weight is laid out.

    `transposed` is True for GPT-2's Conv1D, whose weight is stored [in, out]; editors
    work with the [out, in] convention of `nn.Linear` and use `math_weight` to get a view.
    """

    name: str
    in_features: int
    out_features: int
    transposed: bool


@dataclass(frozen=True)
class LayerModules:
    index: int
    block: str
    attention: str
    attention_out: LinearRef
    mlp: str
    mlp_in: tuple[LinearRef, ...]
    mlp_out: LinearRef


@dataclass(frozen=True)
class ModelLayout:
    """The editable structure of one model, as module paths usable with `get_submodule`."""

    architecture: str
    hidden_size: int
    intermediate_size: int
    layers_path: str
    layers: tuple[LayerModules, ...]
    embedding: str
    final_norm: str
    lm_head: str
    tied_embeddings: bool

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    def to_dict(self) -> dict:
        """A JSON-friendly summary (for `editmind info --json`)."""
        first = self.layers[0]

        def pattern(name: str) -> str:
            prefix = f"{first.block}."
            return f"{self.layers_path}.{{i}}." + name[len(prefix):] if name.startswith(prefix) else name

        return {
            "layers": f"{self.layers_path}.{{i}}",
            "num_layers": self.num_layers,
            "hidden_size": self.hidden_size,
            "intermediate_size": self.intermediate_size,
            "mlp_out": pattern(first.mlp_out.name),
            "mlp_out_kind": "conv1d (weight [in, out])" if first.mlp_out.transposed else "linear (weight [out, in])",
            "mlp_in": [pattern(ref.name) for ref in first.mlp_in],
            "attention": pattern(first.attention),
            "attention_out": pattern(first.attention_out.name),
            "embedding": self.embedding,
            "final_norm": self.final_norm,
            "lm_head": self.lm_head,
            "tied_embeddings": self.tied_embeddings,
        }


def math_weight(model: nn.Module, ref: LinearRef) -> torch.Tensor:
    """The projection's weight as an [out, in] tensor sharing storage with the model."""
    weight = model.get_submodule(ref.name).weight
    return weight.T if ref.transposed else weight


def _linear_shape(module: nn.Module) -> tuple[int, int, bool] | None:
    """(in, out, transposed) for a linear-like module, else None."""
    if isinstance(module, nn.Linear):
        return module.in_features, module.out_features, False
    if Conv1D and isinstance(module, Conv1D):
        in_features, out_features = module.weight.shape
        return int(in_features), int(out_features), True
    return None


def _is_activation(module: nn.Module) -> bool:
    """Activation modules have no parameters and come from torch's or transformers' activations."""
    if any(True for _ in module.parameters(recurse=False)) or len(module._modules) > 0:
        return False
    origin = type(module).__module__
    return origin.startswith("torch.nn.modules.activation") or origin.startswith("transformers.activations")


def _linear_children(module: nn.Module, prefix: str) -> list[LinearRef]:
    refs = []
    for child_name, child in module.named_children():
        shape = _linear_shape(child)
        if shape is not None:
            refs.append(LinearRef(f"{prefix}.{child_name}", shape[0], shape[1], shape[2]))
    return refs


def _find_layer_list(model: nn.Module) -> tuple[str, nn.ModuleList]:
    best: tuple[int, str, nn.ModuleList] | None = None
    for name, module in model.named_modules():
        if not isinstance(module, nn.ModuleList) or len(module) == 0:
            continue
        if len({type(block) for block in module}) != 1:
            continue
        if not any(_linear_shape(m) is not None for m in module[0].modules()):
            continue
        size = sum(p.numel() for p in module.parameters())
        if best is None or size > best[0]:
            best = (size, name, module)
    if best is None:
        raise UnsupportedArchitectureError(
            "could not find the transformer layer list (an nn.ModuleList of identical blocks "
            "with linear projections); editmind supports decoder-only transformers"
        )
    return best[1], best[2]


def _find_mlp(block: nn.Module, block_name: str, hidden: int) -> tuple[str, tuple[LinearRef, ...], LinearRef]:
    candidates = []
    for rel_name, module in block.named_modules():
        if module is block:
            continue
        linears = _linear_children(module, f"{block_name}.{rel_name}")
        if len(linears) < 2 or not any(_is_activation(c) for c in module.children()):
            continue
        outs = [r for r in linears if r.out_features == hidden and r.in_features != hidden]
        for out in outs:
            inner = out.in_features
            ins = tuple(r for r in linears if r.in_features == hidden and r.out_features in (inner, 2 * inner))
            if ins:
                candidates.append((inner, f"{block_name}.{rel_name}", ins, out))
    if not candidates:
        raise UnsupportedArchitectureError(
            f"no MLP found in {block_name}: expected a module with an activation and projections "
            f"hidden({hidden}) -> I and I -> hidden({hidden}); mixture-of-experts blocks are not supported"
        )
    # Several candidates only happen with nested wrappers; the widest expansion is the MLP.
    inner, name, ins, out = max(candidates, key=lambda c: c[0])
    return name, ins, out


def _find_attention(block: nn.Module, block_name: str, hidden: int, mlp_name: str) -> tuple[str, LinearRef]:
    best: tuple[int, str, LinearRef] | None = None
    for rel_name, module in block.named_modules():
        full = f"{block_name}.{rel_name}"
        if module is block or full == mlp_name or full.startswith(mlp_name + ".") or mlp_name.startswith(full + "."):
            continue
        linears = _linear_children(module, full)
        readers = [r for r in linears if r.in_features == hidden]
        writers = [r for r in linears if r.out_features == hidden]
        if not readers or not writers or len(linears) < 2:
            continue
        # The output projection is the one whose input is not the hidden state, if any
        # (q/k/v read the hidden state); when all read it (o_proj: heads*dim == hidden),
        # the registration order puts it last.
        out = next((w for w in writers if w not in readers), writers[-1])
        if best is None or len(linears) > best[0]:
            best = (len(linears), full, out)
    if best is None:
        raise UnsupportedArchitectureError(
            f"no attention module found in {block_name}: expected projections reading and writing "
            f"hidden({hidden})-sized vectors"
        )
    return best[1], best[2]


def _find_final_norm(model: nn.Module, layers_path: str, hidden: int, embedding: nn.Module) -> str:
    parent_path = layers_path.rpartition(".")[0]
    parent = model.get_submodule(parent_path) if parent_path else model
    for child_name, child in parent.named_children():
        weight = getattr(child, "weight", None)
        if child is embedding or not isinstance(weight, torch.Tensor) or _linear_shape(child) is not None:
            continue
        if weight.dim() == 1 and weight.shape[0] == hidden:
            return f"{parent_path}.{child_name}" if parent_path else child_name
    raise UnsupportedArchitectureError(
        f"no final norm found beside {layers_path}: expected a module with a weight of size {hidden}"
    )


def _module_name(model: nn.Module, target: nn.Module, what: str) -> str:
    for name, module in model.named_modules():
        if module is target:
            return name
    raise UnsupportedArchitectureError(f"the model's {what} is not one of its submodules")


def discover_layout(model: nn.Module) -> ModelLayout:
    """Map a causal LM's structure; raises UnsupportedArchitectureError naming what is missing."""
    embedding = model.get_input_embeddings() if hasattr(model, "get_input_embeddings") else None
    if not isinstance(embedding, nn.Embedding):
        raise UnsupportedArchitectureError("no input embedding found (get_input_embeddings() returned nothing)")
    hidden = embedding.weight.shape[1]
    lm_head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    if lm_head is None:
        raise UnsupportedArchitectureError("no LM head found (get_output_embeddings() returned nothing)")

    layers_path, layer_list = _find_layer_list(model)
    layers = []
    for index, block in enumerate(layer_list):
        block_name = f"{layers_path}.{index}"
        mlp_name, mlp_in, mlp_out = _find_mlp(block, block_name, hidden)
        attention_name, attention_out = _find_attention(block, block_name, hidden, mlp_name)
        layers.append(LayerModules(index, block_name, attention_name, attention_out, mlp_name, mlp_in, mlp_out))

    config = getattr(model, "config", None)
    return ModelLayout(
        architecture=getattr(config, "model_type", type(model).__name__),
        hidden_size=hidden,
        intermediate_size=layers[0].mlp_out.in_features,
        layers_path=layers_path,
        layers=tuple(layers),
        embedding=_module_name(model, embedding, "input embedding"),
        final_norm=_find_final_norm(model, layers_path, hidden, embedding),
        lm_head=_module_name(model, lm_head, "LM head"),
        tied_embeddings=lm_head.weight.data_ptr() == embedding.weight.data_ptr(),
    )
