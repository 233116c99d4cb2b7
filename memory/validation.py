"""Input checks: every public call validates everything before it writes anything.

Limits (documented in the README): fact text 1..2,000 characters after stripping (a fact
is a sentence or two; all-MiniLM-L6-v2 reads only the first 256 word pieces anyway); ids
and scopes 1..256 characters; subject/relation/object/source 1..500; metadata a JSON
object of at most 16 KiB. Text must be valid Unicode that encodes to UTF-8 (no lone
surrogates, which is how undecodable bytes arrive from a command line) and contain no
control characters other than tab and newline. Ids are compared byte for byte: no case
folding or Unicode normalisation, so a look-alike id is a different user, and ids with
surrounding whitespace are refused rather than silently trimmed.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

from editmind.memory.errors import InvalidInputError

MAX_TEXT_CHARS = 2000
MAX_ID_CHARS = 256
MAX_FIELD_CHARS = 500
MAX_METADATA_BYTES = 16 * 1024
MAX_K = 1000

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_METADATA_KEY = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")


def _preview(value: str) -> str:
    shown = value[:40].encode("unicode_escape").decode("ascii")
    return shown + ("..." if len(value) > 40 else "")


def _check_unicode(value: str, what: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInputError(
            f"{what} is not valid UTF-8 text (undecodable byte or lone surrogate at character {exc.start})"
        ) from None


def as_text(value: Any, what: str = "text") -> str:
    if isinstance(value, (bytes, bytearray)):
        try:
            value = bytes(value).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInputError(f"{what} is not valid UTF-8 (bad byte at offset {exc.start})") from None
    if not isinstance(value, str):
        raise InvalidInputError(f"{what} must be a string, got {type(value).__name__}")
    return value


def check_text(value: Any, what: str = "fact text", limit: int = MAX_TEXT_CHARS) -> str:
    """Stripped, non-empty, length-limited, UTF-8-encodable text without control characters."""
    value = as_text(value, what)
    _check_unicode(value, what)
    value = value.strip()
    if not value:
        raise InvalidInputError(f"{what} is empty")
    if len(value) > limit:
        raise InvalidInputError(f"{what} is {len(value)} characters; the limit is {limit}")
    match = _CONTROL.search(value)
    if match:
        raise InvalidInputError(f"{what} contains the control character {match.group()!r} at {match.start()}")
    return value


def check_id(value: Any, what: str = "user_id", required: bool = True) -> str | None:
    """An id or scope value, compared exactly; None only where not required."""
    if value is None:
        if required:
            raise InvalidInputError(f"{what} is required")
        return None
    value = as_text(value, what)
    _check_unicode(value, what)
    if not value:
        raise InvalidInputError(f"{what} is empty")
    if value != value.strip():
        raise InvalidInputError(f"{what} {_preview(value)!r} has leading or trailing whitespace")
    if len(value) > MAX_ID_CHARS:
        raise InvalidInputError(f"{what} is {len(value)} characters; the limit is {MAX_ID_CHARS}")
    if _CONTROL.search(value) or "\n" in value or "\t" in value:
        raise InvalidInputError(f"{what} {_preview(value)!r} contains control characters")
    return value


def check_field(value: Any, what: str) -> str | None:
    if value is None:
        return None
    return check_text(value, what, MAX_FIELD_CHARS)


def check_metadata(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInputError(f"metadata must be a JSON object (dict), got {type(value).__name__}")
    try:
        encoded = json.dumps(value, ensure_ascii=False, allow_nan=False)
        encoded.encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"metadata is not JSON-serialisable: {str(exc).splitlines()[0]}") from None
    if len(encoded.encode("utf-8")) > MAX_METADATA_BYTES:
        raise InvalidInputError(f"metadata is {len(encoded)} bytes as JSON; the limit is {MAX_METADATA_BYTES}")
    for key in value:
        if not isinstance(key, str):
            raise InvalidInputError("metadata keys must be strings")
    return json.loads(encoded)


def check_metadata_key(key: Any) -> str:
    if not isinstance(key, str) or not _METADATA_KEY.match(key):
        raise InvalidInputError(
            f"metadata filter key {key!r} is not allowed; use 1-64 letters, digits, '_' or '-'")
    return key


def check_k(k: Any) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise InvalidInputError(f"k must be an integer from 1 to {MAX_K}, got {k!r}")
    return k


def normalise(value: str | None) -> str | None:
    """The matching key for duplicates and conflicts: NFKC, case-folded, single spaces,
    no trailing sentence punctuation. Used for text and triples, never for ids."""
    if value is None:
        return None
    folded = unicodedata.normalize("NFKC", value).casefold()
    return " ".join(folded.split()).rstrip(" .!?;,")
