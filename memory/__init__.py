"""The per-user fact memory: facts in SQLite (with history), vectors in per-user FAISS
indexes, conflict (supersede) and duplicate rules, real deletion and redaction.

    from editmind.memory import FactMemory
    mem = FactMemory()                       # files under <home>/memory/
    mem.add("The Eiffel Tower is in Rome", user_id="alice",
            subject="Eiffel Tower", relation="{} is located in", object="Rome")
    mem.search("where is the eiffel tower", user_id="alice", k=5)
"""

from editmind.memory.embedders import Embedder, HashEmbedder, MiniLMEmbedder, default_embedder
from editmind.memory.errors import (
    EmbedderMismatchError,
    FactMemoryError,
    FactNotFoundError,
    InvalidInputError,
    StoreError,
)
from editmind.memory.index import IndexConfig
from editmind.memory.records import AddResult, Fact, HistoryEvent, SearchResult
from editmind.memory.store import FactMemory, MemoryConfig
from editmind.memory.validation import MAX_ID_CHARS, MAX_METADATA_BYTES, MAX_TEXT_CHARS

__all__ = [
    "AddResult", "EmbedderMismatchError", "Embedder", "Fact", "FactMemory", "FactMemoryError", "FactNotFoundError",
    "HashEmbedder", "HistoryEvent", "IndexConfig", "InvalidInputError", "MAX_ID_CHARS", "MAX_METADATA_BYTES",
    "MAX_TEXT_CHARS", "MemoryConfig", "MiniLMEmbedder", "SearchResult", "StoreError", "default_embedder",
]
