"""The one exception type users see.

Everything that can go wrong because of what a user asked for (a bad path, an unknown
model, an edit that cannot be applied) raises an `EditmindError` with a one-line message
that names the problem and what to do. The CLI prints that line; anything else is a bug.
The memory's and the editors' error classes subclass it.
"""


class EditmindError(Exception):
    """A user-facing failure whose message is one actionable line."""
