"""What the agent refuses to read as a turn: empty, too long, control characters, not English.

Each refusal is one line that says what was wrong and what to do; nothing is written.
The language check is deliberately simple (script + common function words): the rules
that read turns are written for English, and a turn they cannot read must not be guessed
into a fact. A name in another script inside an English sentence ("My friend is called
Łukasz") is fine; a whole sentence in another language is not.
"""

from __future__ import annotations

import re
import unicodedata

MAX_CHARS = 2000

_FOREIGN_WORDS = {
    # French, Spanish, German, Italian, Portuguese, Dutch function words that English does not share
    "est", "les", "des", "une", "du", "au", "aux", "avec", "pour", "dans", "je", "tu", "nous", "vous", "ils", "elle",
    "c'est", "qui", "quoi", "où", "ou", "merci", "bonjour", "oui", "pas", "très", "el", "los", "las", "es", "está",
    "esta", "por", "para", "con", "una", "yo", "qué", "que", "dónde", "donde", "gracias", "hola", "sí", "muy", "der", "pourquoi",
    "das", "und", "ist", "nicht", "ich", "wir", "ihr", "sie", "mit", "für", "wo", "wer", "danke", "bitte",
    "hallo", "ja", "nein", "sehr", "il", "di", "che", "sono", "grazie", "ciao", "dove", "chi", "perché", "não", "obrigado",
    "obrigada", "olá", "onde", "quem", "het", "een", "niet", "ik", "jij", "wij", "dank", "waar", "wie",
}
_ENGLISH_WORDS = {
    "the", "is", "are", "was", "what", "where", "who", "my", "i", "you", "and", "of", "to", "in", "it", "that", "how",
    "thanks", "please", "no", "yes", "not", "it's", "me", "your", "do", "does", "did", "can", "a", "an", "on", "for",
    "with", "this", "lives", "live", "called", "forget", "remember", "now", "actually",
}


def input_problem(text: object) -> str | None:
    """A one-line explanation of why `text` cannot be read as a turn, or None."""
    if not isinstance(text, str):
        return f"I can only read text; got {type(text).__name__}. Type your message as plain text."
    stripped = text.strip()
    if not stripped:
        return "Your message is empty; type a question, a correction, or /help."
    if len(stripped) > MAX_CHARS:
        return (f"Your message is {len(stripped):,} characters long; I read at most {MAX_CHARS:,}. "
                "Send one question or correction at a time. Nothing was stored.")
    controls = [c for c in stripped if unicodedata.category(c) in ("Cc", "Cf") and c not in "\t\n\r\u200d\ufe0f"]
    if controls:
        return (f"Your message contains {len(controls)} control character(s) (e.g. {ascii(controls[0])}); "
                "remove them and send it again. Nothing was stored.")
    letters = [c for c in stripped if c.isalpha()]
    if letters:
        non_latin = sum(1 for c in letters if not _latin(c))
        if non_latin / len(letters) > 0.5:
            return "I can only understand English for now; please write your message in English. Nothing was stored."
    words = re.findall(r"[^\W\d_]+(?:'[^\W\d_]+)?", stripped.lower())
    from editmind.agent.smalltalk import is_small_talk

    if len(words) >= 3 and not is_small_talk(stripped):  # "Merci beaucoup, au revoir!" is a goodbye, answered as one
        foreign = sum(w in _FOREIGN_WORDS for w in words)
        english = sum(w in _ENGLISH_WORDS for w in words)
        if foreign >= 2 and foreign > english:
            return "I can only understand English for now; please write your message in English. Nothing was stored."
    return None


def _latin(char: str) -> bool:
    try:
        return "LATIN" in unicodedata.name(char)
    except ValueError:
        return False
