"""Default edit layers, derived from the number of layers (never from the model's name).

Causal tracing (ROME, MEMIT) finds factual recall in the MLPs of the early-middle layers at
the subject's last token: GPT-2 XL layer 17 of 48, GPT-J layers 3-8 of 28, Llama-7B
layers 4-8 of 32. As fractions of depth that is ~15% for ROME's single layer and a window
of ~13%-28% for MEMIT. For SmolLM2-135M (30 layers) this gives ROME layer 4 (a probe edit
at layer 4 worked) and MEMIT layers 4-8; the layer sweep in benchmarks/ refines this.
"""

from __future__ import annotations

from editmind.editors.base import EditRequestError

ROME_DEPTH = 0.15
MEMIT_WINDOW = (0.13, 0.28)


def _at(fraction: float, num_layers: int) -> int:
    return min(num_layers - 1, max(0, round(fraction * (num_layers - 1))))


def rome_layer(num_layers: int) -> int:
    """The single layer ROME edits by default (~15% of the depth)."""
    return _at(ROME_DEPTH, num_layers)


def memit_layers(num_layers: int) -> list[int]:
    """The window of consecutive layers MEMIT/AlphaEdit spread an edit over."""
    start, end = _at(MEMIT_WINDOW[0], num_layers), _at(MEMIT_WINDOW[1], num_layers)
    return list(range(start, max(start, end) + 1))


def check_layers(layers: list[int], num_layers: int) -> list[int]:
    """The layers as a sorted list, or a one-line error naming the valid range."""
    bad = [layer for layer in layers if not 0 <= layer < num_layers]
    if bad or not layers:
        raise EditRequestError(f"edit layers {layers} are not valid for a model with {num_layers} layers; use 0..{num_layers - 1}")
    return sorted(set(layers))
