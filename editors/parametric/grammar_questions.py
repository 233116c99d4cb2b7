"""Questions written from the edit's statement by a few rules of English word order.

The base model's own rewrites (questions.py) are often good, but a 135M model sometimes asks
with the wrong question word ("Who is George W. Bush a citizen of?"), asks about something
else ("Who created rugby union?" for "rugby union was created in the country of"), or writes
nothing usable. A statement template in the usual knowledge-probe shapes can be turned into
its question without a model:

- "The capital of {} is"                    -> "What is the capital of Germany?"
- "The company that produced {} is"         -> "Which company produced Ford GT?"
- "{} is located in the continent of"       -> "Which continent is India located in?"
- "{} was founded by"                       -> "Who was SpaceX founded by?"
- "{} plays the position of"                -> "Which position does Alberto Aquilani play?"
- "{} works in the field of"                -> "Which field does Carl Sagan work in?"

Every shape gives a "What" and a "Who" form unless a noun names the answer's kind ("the
continent of" -> "Which continent"); questions.grammar_question takes a "Which" form as it is
and lets the model pick between the others (questions.answer_scores), not this module. A
template in none of these shapes gives no question.
Only the template and the subject are read.
"""

from __future__ import annotations

import re

COPULAS = ("is", "was", "are", "were")
_PREPOSITIONS = "in|with|of|at|on|to|for|from|by|as|into|under"
# "...<participle> <prep> the <noun> of" at the end: the noun names what is asked for.
_KIND_OF = re.compile(rf"^(?P<head>.*?)\s*(?:\b(?P<prep>{_PREPOSITIONS})\s+)?the (?P<kind>[a-z]+(?: [a-z]+)?) of$")
# "The <noun> that/which/who <clause> is" at the start.
_RELATIVE = re.compile(r"^[Tt]he (?P<kind>[a-z]+(?: [a-z]+)?) (?:that|which|who) (?P<clause>.+)$")


def grammar_questions(template: str, subject: str) -> list[str]:
    """The questions the statement template ("{}" for the subject) answers, or [] for a shape
    these rules do not know. Each question names the subject verbatim and ends with "?"."""
    words = template.strip().split()
    if "{}" not in template or len(words) < 2 or words[-1] in ("a", "an", "the"):  # "{} is a": no relation to ask about
        return []
    if words[-1] in COPULAS and words[0] != "{}":
        return _ends_with_copula(" ".join(words[:-1]), words[-1], subject)
    first_copula = next((i for i, w in enumerate(words) if w in COPULAS), None)
    if first_copula and "{}" in " ".join(words[:first_copula]):
        return _subject_copula(" ".join(words[:first_copula]), words[first_copula], " ".join(words[first_copula + 1:]), subject)
    if words[0] == "{}" and len(words) > 2 and re.fullmatch(r"[a-z]+s", words[1]):
        return _subject_verb(_base_form(words[1]), " ".join(words[2:]), subject)
    return []


def _ends_with_copula(body: str, copula: str, subject: str) -> list[str]:
    """"The capital of {} is" -> "What is the capital of X?"; "X's child is" -> "Who is X's child?"."""
    lowered = _lowered(body.replace("{}", subject))
    questions = [f"What {copula} {lowered}?", f"Who {copula} {lowered}?"]
    relative = _RELATIVE.match(body)
    if relative:
        questions.insert(0, f"Which {relative['kind']} {relative['clause'].replace('{}', subject)}?")
    return questions


def _subject_copula(phrase: str, copula: str, rest: str, subject: str) -> list[str]:
    """"{} is located in the continent of" -> "Which continent is X located in?"; the
    subject's phrase may be longer ("The headquarters of {} is located in the city of")."""
    if not rest:
        return []
    filled = _lowered(phrase.replace("{}", subject))
    kind = _KIND_OF.match(rest)
    if kind and kind["head"]:
        tail = " ".join(w for w in (kind["head"], kind["prep"]) if w)
        return [f"Which {kind['kind']} {copula} {filled} {tail}?"]
    return [f"What {copula} {filled} {rest}?", f"Who {copula} {filled} {rest}?"]


def _lowered(text: str) -> str:
    """"The headquarters of X" -> "the headquarters of X" inside a question."""
    return text[0].lower() + text[1:] if re.match(r"(The|A|An) ", text) else text


def _subject_verb(verb: str, rest: str, subject: str) -> list[str]:
    """"{} plays the position of" -> "Which position does X play?"."""
    kind = _KIND_OF.match(rest)
    if kind:
        tail = " ".join(w for w in (verb, kind["head"], kind["prep"]) if w)
        return [f"Which {kind['kind']} does {subject} {tail}?"]
    return [f"What does {subject} {verb} {rest}?", f"Who does {subject} {verb} {rest}?"]


def _base_form(verb: str) -> str:
    """The plain form of a third-person verb: "plays" -> "play", "carries" -> "carry",
    "teaches" -> "teach"."""
    if verb.endswith("ies") and len(verb) > 4:
        return verb[:-3] + "y"
    if re.search(r"(ss|sh|ch|x|z|o)es$", verb):
        return verb[:-2]
    return verb[:-1]
