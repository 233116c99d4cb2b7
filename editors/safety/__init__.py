"""Safety workflows on the local model: sanitation (forget private facts). Importing registers
the `sanitize` editor."""

from editmind.editors.safety.qa_files import QAItem, load_qa_file
from editmind.editors.safety.sanitize import SAFE_PHRASE, SanitizeConfig, SanitizeEditor

__all__ = ["QAItem", "SAFE_PHRASE", "SanitizeConfig", "SanitizeEditor", "load_qa_file"]
