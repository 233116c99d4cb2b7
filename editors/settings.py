"""Editor settings by name: `--set value.steps=10 --set projection=soft`.

Every editor's hyperparameters are one (possibly nested) dataclass. Users tune them from
the CLI and the benchmarks without writing Python, so a setting is a dotted field path and
a JSON value (a bare word is a string). A wrong name or a value of the wrong type is a
one-line error listing what exists, never a TypeError from deep inside `compute`.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Iterable, Mapping



def parse_settings(pairs: Iterable[str]) -> dict[str, Any]:
    """["value.steps=10", "projection=soft"] -> {"value.steps": 10, "projection": "soft"}."""
    from editmind.editors.base import EditRequestError

    settings: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name.strip():
            raise EditRequestError(f"setting {pair!r} is not FIELD=VALUE; write it like value.steps=10")
        try:
            settings[name.strip()] = json.loads(text)
        except json.JSONDecodeError:
            settings[name.strip()] = text
    return settings


def field_names(config: Any, prefix: str = "") -> list[str]:
    """Every settable dotted name of a config dataclass."""
    names = []
    for item in dataclasses.fields(config):
        value = getattr(config, item.name)
        if dataclasses.is_dataclass(value):
            names.extend(field_names(value, f"{prefix}{item.name}."))
        else:
            names.append(prefix + item.name)
    return names


def has_setting(config: Any, name: str) -> bool:
    return name in field_names(config)


def apply_settings(config: Any, settings: Mapping[str, Any]) -> Any:
    """A copy of `config` with the dotted settings applied (the original is untouched)."""
    for name, value in settings.items():
        config = _set(config, name.split("."), value, name, config)
    return config


def _set(config: Any, path: list[str], value: Any, name: str, root: Any) -> Any:
    from editmind.editors.base import EditRequestError

    known = {item.name for item in dataclasses.fields(config)}
    head = path[0]
    if head not in known:
        raise EditRequestError(f"unknown setting {name!r} for {type(root).__name__}; "
                               f"known: {', '.join(field_names(root))}")
    current = getattr(config, head)
    if len(path) > 1:
        if not dataclasses.is_dataclass(current):
            raise EditRequestError(f"unknown setting {name!r}: {head} has no fields")
        return dataclasses.replace(config, **{head: _set(current, path[1:], value, name, root)})
    if dataclasses.is_dataclass(current):
        if isinstance(value, type(current)):  # a whole config object, from Python
            return dataclasses.replace(config, **{head: value})
        if not isinstance(value, dict):
            raise EditRequestError(f"setting {name!r} is a group; set its fields, e.g. {name}.{dataclasses.fields(current)[0].name}=...")
        return dataclasses.replace(config, **{head: apply_settings(current, {k: v for k, v in value.items()})})
    return dataclasses.replace(config, **{head: _checked(current, value, name)})


def check_choices(config: Any, prefix: str = "") -> None:
    """Every field with `choices` metadata holds one of them, also in configs built in Python
    (`RomeConfig(key="avg")`), so a typo fails when the editor is made, not mid-edit."""
    from editmind.editors.base import EditRequestError

    for item in dataclasses.fields(config):
        value = getattr(config, item.name)
        if dataclasses.is_dataclass(value):
            check_choices(value, f"{prefix}{item.name}.")
            continue
        choices = item.metadata.get("choices")
        if choices is not None and value not in choices:
            raise EditRequestError(f"setting {prefix + item.name!r} must be one of {', '.join(map(str, choices))}; "
                                   f"got {json.dumps(value, default=str)}")


def _checked(current: Any, value: Any, name: str) -> Any:
    """`value`, if it fits the field's current value's type (None fields take anything)."""
    from editmind.editors.base import EditRequestError

    if current is None or value is None:
        return value
    if isinstance(current, bool):
        ok = isinstance(value, bool)
    elif isinstance(current, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(current, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(current, (list, tuple)):
        ok = isinstance(value, list)
        value = type(current)(value) if ok else value
    else:
        ok = isinstance(value, type(current))
    if not ok:
        raise EditRequestError(f"setting {name!r} expects a value of type {type(current).__name__} like {json.dumps(current, default=str)}, "
                               f"got {json.dumps(value, default=str)}")
    return value
