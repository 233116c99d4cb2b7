"""Where editmind keeps its state, and where the shared evaluation data is.

Never relative to the current directory: a command run from another folder finds the same
files.
"""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "EDITMIND_HOME"
SHARED_DATA_ENV = "EDITMIND_SHARED_DATA"


def resolve_home(home: str | os.PathLike[str] | None = None) -> Path:
    """`home` if given, else $EDITMIND_HOME, else ~/.editmind (created on demand)."""
    chosen = home if home is not None else os.environ.get(HOME_ENV) or "~/.editmind"
    path = Path(chosen).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def repository_root() -> Path:
    """The folder holding the package's top-level folders (agent/, memory/, editors/, apps/,
    core/): the checkout for a source or editable install."""
    return Path(__file__).resolve().parent.parent


def shared_data_dir() -> Path:
    """The evaluation data: $EDITMIND_SHARED_DATA if set, else ../shared/data next to the
    repository (`repository_root().parent / "shared" / "data"`), whatever the current directory."""
    chosen = os.environ.get(SHARED_DATA_ENV)
    if chosen:
        return Path(chosen).expanduser().resolve()
    return repository_root().parent / "shared" / "data"
