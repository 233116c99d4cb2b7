"""Where editmind keeps its state (model cache, memory, journal)."""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "EDITMIND_HOME"


def resolve_home(home: str | os.PathLike[str] | None = None) -> Path:
    """`home` if given, else $EDITMIND_HOME, else ~/.editmind (created on demand)."""
    chosen = home if home is not None else os.environ.get(HOME_ENV) or "~/.editmind"
    path = Path(chosen).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path
