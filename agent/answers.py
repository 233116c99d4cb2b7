"""From a question and the user's facts to the fact that answers it, and the sentence that says so.

Three rules keep an answer honest:

- A stored fact answers a question only when it is *about what was asked*: the same
  (subject, relation) key, or the same subject with the relation's words in the question.
  "Where was the CEO of Apple born?" is not answered by "The CEO of Apple is Satya
  Nadella": that fact names the person, and the question is about the person's birthplace
  (`nested_rewrite` turns it into "Where was Satya Nadella born?" for the model).
- An answer is a sentence: the fact said back to the user ("Your dog is called Rex."),
  never a fragment of it.
- A question about the user that no fact answers gets "I don't know", never a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Sequence

from editmind.agent.personal import is_personal_question, parse_personal_question
from editmind.agent.turns import _sentence, parse_question

_STOP = frozenset("""a an the of in on at to for from by with and or is are was were be been being do does did have has had
what whats what's where wheres where's who whos who's whom whose when which why how tell me please can could would you your
it its it's that this there their they them my i i'm me we our now again currently these days today still actually
know remember called named name s about any some just really last latest current present recent reigning""".split())
_LEAD = frozenset({"run", "lead", "led", "head", "manag", "manager", "chair", "chairs", "direct", "director", "coach", "captain",
                   "conduct", "conductor", "govern", "governor", "mayor", "organist", "bishop", "editor", "dean",
                   "ceo", "chief", "executive", "president", "chairman", "leader", "boss", "principal", "owner"})


@dataclass(frozen=True)
class Match:
    """The fact an answer rests on, and why it was chosen (for the trace and /why)."""

    fact: Any
    why: str


def content_words(text: str) -> set[str]:
    from editmind.agent.personal import canonical

    words = re.findall(r"[a-z0-9]+", canonical(text.lower().replace("'s", "")))
    return {_stem(canonical(w)) for w in words if w not in _STOP and len(w) > 1}


def _stem(word: str) -> str:
    for suffix in ("ing", "ies", "es", "ed", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


_PERSON = {"my": "your", "i": "you", "i'm": "you're", "me": "you", "our": "your", "we": "you", "mine": "yours",
           "myself": "yourself", "i've": "you've", "us": "you", "am": "are", "i'd": "you'd", "i'll": "you'll", "we're": "you're"}


def to_second_person(text: str) -> str:
    """The user's own statement said back to them ("My sister lives in Lyon" -> "Your sister...")."""
    def swap(match: re.Match) -> str:
        word = match.group(0)
        new = _PERSON[word.lower()]
        if word.lower() == "am" and not re.search(r"\bi\s+$", text[:match.start()].lower()):
            return word  # only "I am" becomes "you are"
        if word == "I" and match.start() > 0:
            return new
        return new[0].upper() + new[1:] if word[0].isupper() else new

    said = re.sub(r"\b(?:" + "|".join(re.escape(k) for k in sorted(_PERSON, key=len, reverse=True)) + r")\b", swap, text,
                  flags=re.I)
    said = re.sub(r"\byou was\b", "you were", said, flags=re.I)
    return sentence(said)


def sentence(text: str) -> str:
    """`text` as a sentence, without the "(answering: ...)" note a stored answer may carry."""
    return _sentence(re.sub(r"\s*\(answering: .*\)\s*$", "", text.strip()))


def _key(fact: Any) -> tuple[str, str]:
    return ((fact.subject or "").casefold().strip(), (fact.relation or "").casefold().strip())


def same_attribute(stored: str, asked: str) -> bool:
    """"What's my favourite band?" asks "is"; "my favourite band is Radiohead" is keyed as its name."""
    return stored == asked or {stored, asked} == {"is", "name"}


def match_personal(question: str, facts: Sequence[Any]) -> Match | None:
    """The user's fact that answers a question about the user, or None."""
    asked = parse_personal_question(question)
    personal = [f for f in facts if (getattr(f, "metadata", None) or {}).get("scope") != "world"]
    if asked:
        from editmind.agent.personal import same_owner

        subject, relation = asked[0].casefold(), asked[1].casefold()
        exact = [f for f in personal if same_attribute(_key(f)[1], relation) and same_owner(_key(f)[0], subject)]
        if exact:
            return Match(exact[-1], f"stored as {asked[0]} / {asked[1]}: what the question asks")
        same_subject = [f for f in personal if same_owner(_key(f)[0], subject)]
        if len(same_subject) == 1 and relation == "is":
            return Match(same_subject[0], f"the only fact about {asked[0]}")
    personal_question = is_personal_question(question)
    if asked:  # a fact stored under another attribute of the same thing never answers ("where does my manager live?")
        personal = [f for f in personal if not f.subject or (f.relation or "").casefold() in ("is", asked[1].casefold())
                    or same_attribute((f.relation or "").casefold(), asked[1].casefold())]
    words = content_words(question)
    from editmind.agent.updates import sets_own_attribute

    asked_about_me = asked[1] if asked and asked[0] == "me" else None
    best, best_score = None, 0.0
    for fact in personal:
        overlap = words & content_words(fact.text)
        owner = (fact.subject or "").casefold()
        # the question must name the fact's own thing ("dog" for "my dog") and one more word, or its key
        names_owner = bool(owner.startswith("my ") and content_words(owner) and content_words(owner) <= words)
        # "where do I work?" and an unkeyed "I'm a nurse at St Olave's": the sentence sets that attribute
        sets_it = bool(asked_about_me and sets_own_attribute(fact, asked_about_me))
        score = len(overlap) + (1.0 if names_owner else 0.0) + (1.5 if sets_it else 0.0)
        if (overlap or sets_it) and (score >= 2 or personal_question) and score > best_score:
            best, best_score = fact, score
    if best is not None:
        return Match(best, "shares the question's words: " + ", ".join(sorted(words & content_words(best.text))))
    return None


def match_world(question: str, facts: Sequence[Any]) -> Match | None:
    """A world fact whose (subject, relation) is what the question asks, or None."""
    asked = parse_question(question)
    world = [f for f in facts if f.subject and f.relation and f.object]
    if asked:
        key = (asked[0].casefold().strip(), asked[1].casefold().strip())
        for fact in reversed(world):
            if _key(fact) == key:
                return Match(fact, f"stored for '{fact.relation.format(fact.subject)}': what the question asks")
    words = content_words(question)
    for fact in reversed(world):
        subject_words = content_words(fact.subject)
        relation_words = content_words(fact.relation.replace("{}", " ")) - {"locat"}
        if not subject_words or not subject_words <= words:
            continue
        rest = words - subject_words
        if rest and {_stem(w) for w in rest} <= _LEAD and (relation_words & _LEAD):
            return Match(fact, f"about {fact.subject}; the question asks who leads it and {fact.relation.format('it')} says so")
        located = "located" in fact.relation and re.match(r"^\s*where\b", question.lower())
        if (relation_words and relation_words <= rest and len(rest - relation_words) == 0) or (located and not rest):
            return Match(fact, f"about {fact.subject}, and the question names its relation")
    return None


def nested_rewrite(question: str, facts: Sequence[Any]) -> tuple[str, Any] | None:
    """A question that names a stored fact's description inside a question about something
    else: "Where was the CEO of Apple born?" with "The CEO of Apple is Satya Nadella" ->
    ("Where was Satya Nadella born?", that fact). None when no description is named or the
    question asks for the description itself."""
    lower = question.lower()
    for fact in facts:
        if not (fact.subject and fact.relation and fact.object) or "{}" not in fact.relation:
            continue
        phrase = re.sub(r"\s+(?:is|are|was|were)$", "", fact.relation.format(fact.subject)).strip()
        phrase = re.sub(r"^the\s+", "", phrase, flags=re.I)
        if not re.search(r"\bof\b", phrase):
            continue  # only descriptions ("the CEO of Apple") stand for the entity they name
        found = re.search(r"(?:\bthe\s+)?" + re.escape(phrase.lower()) + r"\b", lower)
        if not found:
            continue
        rest = (lower[:found.start()] + " " + lower[found.end():])
        if not content_words(rest):
            continue  # "who is the CEO of Apple?" asks the fact itself
        rewritten = question[:found.start()] + fact.object + question[found.end():]
        return rewritten, fact
    return None


def unknown_reply(question: str) -> str:
    return ("I don't know: you haven't told me that (or you asked me to forget it). "
            "Tell me and I'll remember it.")


__all__ = ["Match", "content_words", "is_personal_question", "match_personal", "match_world", "nested_rewrite",
           "sentence", "to_second_person", "unknown_reply"]
