"""The one exception type users see.

Everything that can go wrong because of what a user asked for (a bad path, an unknown
model, an edit that cannot be applied) raises an `EditmindError` with a one-line message
that names the problem and what to do. The CLI prints that line; anything else is a bug.
`EditmindError` itself lives in the bottom layer (`editmind.core.errors`), so the memory
raises the same class without importing the editors; it stays importable from here.
"""

from editmind.core.errors import EditmindError

__all__ = ["EditmindError", "ModelLoadError", "UnsupportedArchitectureError"]


class ModelLoadError(EditmindError):
    """The requested model could not be found, fetched or read."""


class UnsupportedArchitectureError(EditmindError):
    """The model's module structure has no recognisable MLP/attention/layer list."""
