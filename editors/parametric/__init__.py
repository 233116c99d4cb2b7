"""Parameter editors: ROME, MEMIT, FT-M/FT-L, AlphaEdit, GRACE (a side memory, grace.py). Importing registers them.

Shared pieces: `stats.py` (key second moments from self-generated text, cached),
`keys.py` (subject keys averaged over prefixes), `values.py` (the target value
optimisation), `layers.py` (default layers from the depth), `common.py`.
"""

from editmind.editors.parametric.alphaedit import AlphaEditConfig, AlphaEditEditor
from editmind.editors.parametric.grace import GraceConfig, GraceEditor
from editmind.editors.parametric.ft import FTConfig, FTLEditor, FTMEditor
from editmind.editors.parametric.memit import MemitConfig, MemitEditor
from editmind.editors.parametric.rome import RomeConfig, RomeEditor

__all__ = [
    "AlphaEditConfig", "AlphaEditEditor", "FTConfig", "FTLEditor", "FTMEditor", "GraceConfig", "GraceEditor",
    "MemitConfig", "MemitEditor", "RomeConfig", "RomeEditor",
]
