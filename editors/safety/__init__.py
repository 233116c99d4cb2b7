"""Safety workflows on the local model: sanitation (forget private facts), detox (DINM and a
gated refusal vector) and DAMA debiasing. Importing registers the `sanitize`, `dinm`, `steer`
and `dama` editors."""

from editmind.editors.safety.dama import DamaConfig, DamaEditor
from editmind.editors.safety.dinm import REFUSAL, DinmConfig, DinmEditor, SteerConfig, SteerEditor
from editmind.editors.safety.qa_files import QAItem, load_qa_file
from editmind.editors.safety.sanitize import SAFE_PHRASE, SanitizeConfig, SanitizeEditor

__all__ = ["DamaConfig", "DamaEditor", "DinmConfig", "DinmEditor", "QAItem", "REFUSAL", "SAFE_PHRASE", "SanitizeConfig",
           "SanitizeEditor", "SteerConfig", "SteerEditor", "load_qa_file"]
