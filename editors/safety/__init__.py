"""Safety workflows on the local model: sanitation (forget private facts) and DAMA debiasing.
Importing registers the `sanitize` and `dama` editors."""

from editmind.editors.safety.dama import DamaConfig, DamaEditor
from editmind.editors.safety.qa_files import QAItem, load_qa_file
from editmind.editors.safety.sanitize import SAFE_PHRASE, SanitizeConfig, SanitizeEditor

__all__ = ["DamaConfig", "DamaEditor", "QAItem", "SAFE_PHRASE", "SanitizeConfig", "SanitizeEditor", "load_qa_file"]
