"""Everything that changes what the model says: the model layer, parameter editors,
retrieval editors, safety workflows, the edit journal and the evaluator."""

from editmind.editors.errors import EditmindError

__all__ = ["EditmindError"]
