"""The model layer: load any local causal LM, find its editable parts, talk to it."""

from editmind.editors.model.home import resolve_home
from editmind.editors.model.layout import LayerModules, LinearRef, ModelLayout, discover_layout, math_weight
from editmind.editors.model.loading import DEFAULT_SPEC, load_model, wrap_model
from editmind.editors.model.local_model import LocalModel
from editmind.editors.model.scoring import TargetScore, score_targets

__all__ = [
    "DEFAULT_SPEC",
    "LayerModules",
    "LinearRef",
    "LocalModel",
    "ModelLayout",
    "TargetScore",
    "discover_layout",
    "load_model",
    "math_weight",
    "resolve_home",
    "score_targets",
    "wrap_model",
]
