"""The network the value optimisation runs on: the model itself, or a bfloat16 copy of it.

On a CPU, ~80% of a ROME edit is matrix products in the value optimisation (up to 25
forward and backward passes through the layers above the edit). A CPU with native bf16
matrix instructions (AVX512-BF16) multiplies bf16 about twice as fast as fp32 (measured on
this project's 2-core machine: 1.15 ms against 2.5 ms for [256x576]@[576x1536]), so the
optimisation runs on a bf16 copy of the network: fp32 δ, fp32 loss, bf16 weights, which is
ordinary mixed-precision training. Autocast would recast every frozen weight on every
step (it caches casts only for weights that require grad) and gained ~10%. PyTorch's
flash-attention kernel is slow backwards in bf16 on a CPU (3.1 ms a call against 0.6 ms in
fp32), so attention on the copy uses the plain matrix-product form (`attention_kernels`).

It is opt-in (`ValueConfig.precision`, default "model"): on the same 24 dev edits it cost
ROME ~4 points of reliability and of generalization (see values.py).

Only the search for δ moves to bf16. The keys, the base outputs, the residuals and the
closed-form update are computed on the model in its own precision, and the model itself is
never touched: the copy is refreshed from its weights before each optimisation, so earlier
(or temporarily applied) edits are always in it.
"""

from __future__ import annotations

import contextlib
import copy
import weakref

import torch

from editmind.editors.model.local_model import LocalModel

PRECISIONS = ("auto", "model", "bfloat16")
_COPIES: "weakref.WeakKeyDictionary[torch.nn.Module, torch.nn.Module]" = weakref.WeakKeyDictionary()


def cpu_has_native_bf16() -> bool:
    try:
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_precision(model: LocalModel, precision: str) -> torch.dtype | None:
    """The dtype to optimise in, or None for the model as it is.

    "auto" picks bf16 only for an fp32 model on a CPU with native bf16 products (elsewhere
    bf16 is emulated and slower, and on a GPU fp32 is already fast for these sizes)."""
    if precision not in PRECISIONS:
        from editmind.editors.base import EditRequestError

        raise EditRequestError(f"unknown value precision {precision!r}; use one of {', '.join(PRECISIONS)}")
    if precision == "model" or model.dtype != torch.float32:
        return None
    if precision == "auto" and not (model.device.type == "cpu" and cpu_has_native_bf16()):
        return None
    return torch.bfloat16


def optimisation_network(model: LocalModel, precision: str) -> torch.nn.Module:
    """The module to run the value optimisation on (see the module docstring)."""
    dtype = resolve_precision(model, precision)
    if dtype is None:
        return model.model
    network = _COPIES.get(model.model)
    if network is None or next(network.parameters()).dtype != dtype:
        network = copy.deepcopy(model.model)
        # Parameters only: buffers such as rotary frequencies keep their precision.
        for parameter in network.parameters():
            parameter.data = parameter.data.to(dtype)
            parameter.requires_grad_(False)
        network.eval()
        _COPIES[model.model] = network
    else:
        with torch.no_grad():
            for copied, live in zip(network.parameters(), model.model.parameters()):
                copied.copy_(live)
    return network


def attention_kernels(network: torch.nn.Module) -> contextlib.AbstractContextManager:
    """The scaled-dot-product attention kernels to run `network` under (see the docstring)."""
    parameter = next(network.parameters())
    if parameter.dtype == torch.bfloat16 and parameter.device.type == "cpu":
        from torch.nn.attention import SDPBackend, sdpa_kernel

        return sdpa_kernel([SDPBackend.MATH])
    return contextlib.nullcontext()
