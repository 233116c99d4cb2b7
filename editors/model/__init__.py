"""The model layer: load any local causal LM, find its editable parts, talk to it.

Names are imported lazily, so `editmind.editors.model.home` (which the memory uses) does
not pull in torch and transformers.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "resolve_home": "home",
    "LayerModules": "layout",
    "LinearRef": "layout",
    "ModelLayout": "layout",
    "discover_layout": "layout",
    "math_weight": "layout",
    "DEFAULT_SPEC": "loading",
    "load_model": "loading",
    "wrap_model": "loading",
    "LocalModel": "local_model",
    "TargetScore": "scoring",
    "score_targets": "scoring",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value
