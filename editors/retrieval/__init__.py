"""Retrieval editing: answer with edited facts brought in at question time, weights untouched.

    from editmind.editors.base import get_editor
    from editmind.editors.retrieval import ListFactSource, MemoryFactSource

    source = MemoryFactSource(memory, user_id="alice")        # or ListFactSource([...])
    editor = get_editor("hopwalk", family="retrieval")         # ice, ike, mello, pokemqa, hopwalk
    result = editor.answer(model, "Where is the Eiffel Tower?", source)
    result.answer, result.trace.to_dict()

Importing this package registers the editors.
"""

from editmind.editors.retrieval.base import Hop, RetrievalAnswer, RetrievalEditor, Trace
from editmind.editors.retrieval.memory_source import MemoryFactSource
from editmind.editors.retrieval.source import FactSource, ListFactSource, RetrievedFact, fact_text
from editmind.editors.retrieval import hopwalk, ice, ike, mello, pokemqa  # noqa: F401  (registers)

__all__ = [
    "FactSource", "Hop", "ListFactSource", "MemoryFactSource", "RetrievalAnswer", "RetrievalEditor",
    "RetrievedFact", "Trace", "fact_text",
]
