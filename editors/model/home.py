"""Where editmind keeps its state (model cache, memory, journal).

The function lives in the bottom layer (`editmind.core.paths`, which the memory uses too);
it stays importable from here."""

from editmind.core.paths import HOME_ENV, resolve_home

__all__ = ["HOME_ENV", "resolve_home"]
