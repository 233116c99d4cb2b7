"""The fact memory's user-facing failures, each a one-line `EditmindError`.

Subclasses let callers (the agent, the CLI) tell a bad request from a missing fact or from
a store that needs re-indexing, without parsing messages.
"""

from editmind.core.errors import EditmindError


class FactMemoryError(EditmindError):
    """Base class of every fact-memory failure."""


class InvalidInputError(FactMemoryError):
    """Text, ids, scopes or filters that the memory refuses (empty, too long, not UTF-8...)."""


class FactNotFoundError(FactMemoryError):
    """No fact with the requested id exists in this store."""


class EmbedderMismatchError(FactMemoryError):
    """The store's vectors were made by another embedder (name or dimension differ)."""


class StoreError(FactMemoryError):
    """The store on disk cannot be opened or written (locked, read-only, newer schema)."""
