"""Default edit layers, derived from the number of layers (never from the model's name).

Causal tracing (ROME, MEMIT) finds factual recall in the MLPs of the early-middle layers at
the subject's last token: GPT-2 XL layer 17 of 48, GPT-J layers 3-8 of 28, Llama-7B
layers 4-8 of 32. As fractions of depth that is ~15% for one layer and a window of
~13%-28% for MEMIT, which FT-M and MEMIT/AlphaEdit use.

ROME's own default is shallower, ~7% (layer 2 of SmolLM2-135M's 30), because the layer
sweep on the dev edits says so twice: on the first 24, edit success 75.7 / 77.7 / 71.0 /
68.9 / 73.9 tf at layers 1 / 2 / 3 / 4 / 6 with locality 96.3 / 97.7 / 97.3 / 97.9 / 97.4
(knowedit_sweep_n24.json, knowedit_sweep_n24_layers13.json), and on the first 8
generalization 52.1 / 36.5 / 50.0 at layers 2 / 4 / 6.
With fluency, on the same 24 edits: reliability 99.0 vs 94.0, generalization 56.5 vs 43.8,
locality 96.4 vs 97.4, fluency 458 vs 447 (unedited 467) for layer 2 vs 4
(knowedit_quality_rome_{layer2,fp32}_n36.json).
"""

from __future__ import annotations

from editmind.editors.base import EditRequestError

ROME_DEPTH = 0.07
FINE_TUNE_DEPTH = 0.15
MEMIT_WINDOW = (0.13, 0.28)
# GRACE keys on a late MLP (EasyEdit edits layer 27 of Llama-2-7B's 32). On SmolLM2-135M the
# last-token input of the MLP output projection told one question's two wordings (the data's
# and PokeMQA's) from every other edit's question 88% of the time at layer 25, 19% at layer 19
# and 15% at layer 10 (26 dev edits); so ~85% of the depth, layer 25 of 30.
GRACE_DEPTH = 0.85


def _at(fraction: float, num_layers: int) -> int:
    return min(num_layers - 1, max(0, round(fraction * (num_layers - 1))))


def rome_layer(num_layers: int) -> int:
    """The single layer ROME edits by default (~7% of the depth, see the module docstring)."""
    return _at(ROME_DEPTH, num_layers)


def fine_tune_layer(num_layers: int) -> int:
    """The MLP layer FT-M/FT-L train by default (~15%, where it was measured)."""
    return _at(FINE_TUNE_DEPTH, num_layers)


def memit_layers(num_layers: int) -> list[int]:
    """The window of consecutive layers MEMIT/AlphaEdit spread an edit over."""
    start, end = _at(MEMIT_WINDOW[0], num_layers), _at(MEMIT_WINDOW[1], num_layers)
    return list(range(start, max(start, end) + 1))


def grace_layer(num_layers: int) -> int:
    """The MLP layer GRACE keeps its codebook at by default (~85% of the depth, see GRACE_DEPTH)."""
    return _at(GRACE_DEPTH, num_layers)


def check_layers(layers: list[int], num_layers: int) -> list[int]:
    """The layers as a sorted list, or a one-line error naming the valid range."""
    bad = [layer for layer in layers if not 0 <= layer < num_layers]
    if bad or not layers:
        raise EditRequestError(f"edit layers {layers} are not valid for a model with {num_layers} layers; use 0..{num_layers - 1}")
    return sorted(set(layers))
