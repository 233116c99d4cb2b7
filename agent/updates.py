"""Which stored personal facts a new personal statement updates when their keys differ.

Memory supersedes by (subject, relation) key, and the key comes from a pattern. People
update their facts in words no pattern keys the same way: "we relocated the shop to Mercer
Row" after "our shop is on Tanner Street", "Saoirse left, our new drummer is Lucan" after
"our drummer is called Saoirse", "we moved again, we're in Castlecombe now" after "we live
in Thornbury". Left alone, both versions stay active and the old one keeps being answered.

A stored fact is updated when the new statement

- is about the same thing: the same owned noun ("shop", "drummer", "seat" in "my season
  ticket seat"), with no modifier that tells two of them apart ("older sister" is not
  "younger sister"); or, for facts about the user themselves, the same attribute class
  (where they live, where they work, what they drive, their name);
- sets a compatible attribute: the same class, or one side states no class ("our shop is
  on Tanner Street" is compatible with "relocated"); "my sister lives in Leeds" is not
  updated by "my sister is a nurse now";
- and says that something changed: a change word ("now", "moved", "new", "left",
  "switched", "anymore", "actually", ...) or the old value named again ("Lorenzo left").

What a statement lists rather than sets ("I like jazz") has no attribute class and never
updates anything: liking rock as well is not liking jazz less.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Sequence

from editmind.agent.personal import canonical
from editmind.agent.turns import Statement, normalise

_CHANGE = re.compile(
    r"\b(?:now|nowadays|these days|new|newly|moved|moving|relocated|relocating|switched|changed|swapped|left|quit|sold|"
    r"replaced|renamed|anymore|any more|no longer|instead|actually|again|since|became|become|upgraded|got a new|"
    r"started at|joined|took over|correction|i was wrong|i said|i meant|not \w+ but|retired)\b")

# attribute classes, by the words that set them
_CLASS_WORDS: tuple[tuple[str, str], ...] = (
    ("name", r"\b(?:name|name's|names|called|named|renamed|call (?:him|her|it|them|me))\b"),
    ("live", r"\b(?:live|lives|living|lived|reside|resides|stay|stays|staying|based|home)\b"
             r"|\b(?:moved|move|moving|relocated|relocating)(?=\s+(?:to|in|into|out|away|back|house|home|again|over|abroad|"
             r"recently|last|this|a\b)|[\s,.!]*$|,)"
             r"|\b(?i:i'm|i am|we're|we are|he's|she's|they're|he is|she is|they are|is|'s) (?:now |currently )?in [A-Z]"),
    ("work", r"\b(?:work|works|working|worked|job|jobs|employer|employed|hired|intern|interning|teach|teaches|teaching|lecture|lectures|"
             r"position|post|role|firm|career)\b"
             # "drives a bus for Greyline Coaches", "cooks at Luca's": a trade done for a named employer
             r"|\b(?!(?:is|was|has|does|goes|lives|stays|plays|studies|attends)\b)[a-z]+s\s+(?:an?\s+|the\s+)?(?:[a-z]+\s+)?(?:for|at)\s+(?-i:[A-Z])"
             r"|\b(?i:i'm|i am|he's|she's|he is|she is) (?:now )?at [A-Z]"
             r"|\b(?i:i'm|i am|im|he's|she's|he is|she is) (?:now )?an? [a-z]+ (?:at|for) [A-Z]"),
    ("drive", r"\b(?:drive|drives|driving|drove|car|cars|vehicle|truck|lorry|ute|van|motorbike|motorcycle|scooter)\b"),
    ("school", r"\b(?:school|schools|attend|attends|study|studies|studying|uni|university|college)\b"),
    ("team", r"\b(?:play|plays|playing|played) for\b|\b(?:team|teams|club|clubs|squad|side)\b"
             r"|\b(?:i'm|i am|he's|she's|he is|she is) (?:now )?(?:on|with) the [A-Z]"),
)
# kinds of a thing the user may name instead of the thing ("my kelpie" is "my dog")
_KINDS = {
    "dog": ("kelpie", "heeler", "labrador", "lab", "retriever", "poodle", "beagle", "collie", "terrier", "spaniel", "pug",
            "husky", "dachshund", "corgi", "greyhound", "whippet", "boxer", "bulldog", "rottweiler", "doberman", "shepherd",
            "alsatian", "chihuahua", "schnauzer", "pointer", "setter", "mutt", "puppy", "pup", "doggo", "doggy", "staffie"),
    "cat": ("kitten", "kitty", "tabby", "siamese", "persian", "moggy", "ragdoll", "tomcat"),
    "car": ("ute", "truck", "van", "hatchback", "sedan", "suv", "motor", "wagon"),
    "bird": ("parrot", "budgie", "cockatoo", "canary", "parakeet", "cockatiel"),
}
_KIND_OF = {breed: kind for kind, breeds in _KINDS.items() for breed in breeds}
_RELATION_CLASS = {"name": "name", "lives in": "live", "works at": "work", "drives": "drive", "goes to": "school",
                   "age": "age", "occupation": "occupation", "grade": "school", "born in": "born"}
_GENERIC = frozenset({"is", ""})
_NOUN_STOP = frozenset({"own", "old", "new", "current", "latest", "usual", "whole", "first", "last", "other", "one", "only", "bad", "mistake", "fault",
                        "god", "goodness", "gosh", "word", "apologies", "dear", "friend", "pleasure", "memory", "mind"})


def attribute_classes(text: str) -> set[str]:
    """The attribute classes a sentence sets by its words ("moved to Leeds": live)."""
    return {name for name, pattern in _CLASS_WORDS if re.search(pattern, text)}


def relation_class(relation: str) -> str | None:
    """The attribute class of a personal relation key ("lives in": live)."""
    return _RELATION_CLASS.get(relation.lower())


def sets_own_attribute(fact: Any, relation: str) -> bool:
    """An unkeyed sentence of the user's about themselves that sets the attribute `relation`
    keys ("I'm a nurse at St Olave's" sets "works at"): what no pattern keyed still answers
    "where do I work?" and is what "forget where I work" names."""
    wanted = relation_class(relation)
    return bool(wanted and not getattr(fact, "subject", None) and re.match(r"^(?:i|i'm|i am|we|we're)\b", fact.text.lower())
                and wanted in attribute_classes(fact.text))


def _owned_nouns(lower: str) -> list[tuple[str, ...]]:
    """The user's own things a statement names, each as its canonical words ("my season
    ticket seat" -> ("season", "ticket", "seat")); a following verb or preposition ends one."""
    found = []
    for m in re.finditer(r"\b(?:my|our|the)\s+((?:[a-z][a-z-]*(?:'s)?\s+){0,2}?[a-z][a-z-]*)"
                         r"(?='s\b|'\s|\s+(?:is|are|was|were|has|have|had|got|just|now|moved|left|lives?|works?|goes|go|"
                         r"called|named|to|in|at|on|from|for|with|and|but|became|studies|plays|teaches|attends|drives|"
                         r"[a-z]+ed|,)\b|[\s,.!?]*$|,)", lower):
        words = tuple(w for w in canonical(m.group(1).replace("'s", "")).split() if w not in _NOUN_STOP)
        if words:
            found.append(words)
    return found


# an owned noun that names an attribute of the user, not a thing of theirs: "my school's
# Dunley Academy" is where the user goes to school, as "I'm at Westbrook High now" is
_OWN_ATTRIBUTE_NOUNS = frozenset({"school", "job", "work", "workplace", "employer", "team", "club", "uni", "university",
                                  "college", "address", "home", "house", "flat", "apartment", "car", "office"})


def _with_me(things: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """An attribute noun of the user's ("my school") is also about the user."""
    return things + [("me",)] if any(len(t) == 1 and t[0] in _OWN_ATTRIBUTE_NOUNS for t in things) else things


def _things(lower: str, first_person: bool) -> list[tuple[str, ...]]:
    """What a statement is about: the user's own things ("my sister"), else the user when it
    speaks in the first person ("i play for the Harlow Hornets": "the Harlow Hornets" is
    what the user plays for, not a thing of theirs). "I changed suppliers" is about the
    user's supplier."""
    nouns = _owned_nouns(lower) + [(canonical(m.group(1)),) for m in re.finditer(
        r"\b(?:changed|switched|swapped)\s+([a-z]{3,}?)s\b(?!\s+(?:to|for)\b)", lower)
        if canonical(m.group(1)) not in _OWN_ATTRIBUTE_NOUNS]
    owned = re.search(r"\b(?:my|our)\s+[a-z]", lower)
    speaker = re.search(r"\b(?:i|we|i'm|we're|i've|we've|i'd|im)\b", lower)
    if owned and not (first_person and speaker and speaker.start() < owned.start()):
        return _with_me(nouns)  # "my sister moved": about her; "I now teach at X, for my sins": about the user
    return nouns + [("me",)] if first_person else nouns


def _thing(subject: str | None) -> tuple[str, ...] | None:
    if not subject:
        return None
    if subject == "me":
        return ("me",)
    if subject.startswith("my "):
        return tuple(canonical(subject[3:]).split())
    return None


def _same_thing(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """One head noun, and the modifiers of one among the other's ("seat" and "season ticket
    seat"; not "older sister" and "younger sister")."""
    if not a or not b or _KIND_OF.get(a[-1], a[-1]) != _KIND_OF.get(b[-1], b[-1]):
        return False
    return set(a[:-1]) <= set(b[:-1]) or set(b[:-1]) <= set(a[:-1])


def _fact_view(fact: Any) -> tuple[list[tuple[str, ...]], set[str]]:
    """What a stored fact is about and which attribute classes it sets."""
    text = normalise(fact.text).lower()
    thing = _thing(getattr(fact, "subject", None))
    relation = (getattr(fact, "relation", None) or "").lower()
    things = _with_me([thing]) if thing else _things(text, re.match(r"^(?:i|we)\b", text) is not None)
    classes = ({_RELATION_CLASS[relation]} if relation in _RELATION_CLASS else set()) or attribute_classes(fact.text)
    if thing and len(thing) == 1 and thing[0] in _OWN_ATTRIBUTE_NOUNS and relation in ("name", "is", ""):
        classes = classes | attribute_classes(thing[0])  # "My school's Marsh Lane Academy": the school is the value
    return things, classes


def _names_old_value(text: str, fact: Any) -> bool:
    """The new statement names the old value again ("Lorenzo left", "not at Kestrel anymore")."""
    value = getattr(fact, "object", None) or ""
    words = [w for w in re.findall(r"[A-Z][\w&'-]{2,}|\d{2,}", value or fact.text) if w.lower() not in ("the", "my", "our")]
    return any(re.search(r"\b" + re.escape(w) + r"\b", text) for w in words)


def updated_facts(text: str, statement: Statement | None, stored: Iterable[Any]) -> list[Any]:
    """The stored facts (active, personal) that `text` updates; see the module docstring."""
    lower = normalise(text).lower()
    new_thing = _thing(statement.subject) if statement else None
    nouns = _owned_nouns(lower)
    first_person = re.search(r"\b(?:i|we|i'm|we're|i've|we've)\b", lower) is not None
    new_things = _with_me([new_thing]) if new_thing else _things(lower, first_person)
    relation = (statement.relation.lower() if statement else "")
    new_classes = ({_RELATION_CLASS[relation]} if relation in _RELATION_CLASS else set()) or attribute_classes(text)
    changed = bool(_CHANGE.search(lower))
    out = []
    for fact in stored:
        if statement is not None and getattr(fact, "subject", None) == statement.subject and \
                (getattr(fact, "relation", None) or "") == statement.relation:
            continue  # the memory's own key rule supersedes it
        things, classes = _fact_view(fact)
        if not any(_same_thing(a, b) for a in new_things for b in things):
            continue
        about_me = ("me",) in new_things and ("me",) in things
        if about_me and not (new_classes & classes):
            continue  # "I like rock now" does not update "I live in Porto": about the user, the class must match
        if new_classes and classes and not (new_classes & classes):
            continue  # "my sister is a nurse now" does not update where she lives
        if relation not in _GENERIC and (getattr(fact, "relation", None) or "") not in _GENERIC \
                and _RELATION_CLASS.get(relation) != _RELATION_CLASS.get((fact.relation or "").lower()) and not (new_classes & classes):
            continue
        if changed or _names_old_value(text, fact):
            out.append(fact)
    return out


def personal_facts(facts: Sequence[Any]) -> list[Any]:
    """The user's active facts about themselves: what an update may replace (never a world fact)."""
    out = []
    for fact in facts:
        meta = getattr(fact, "metadata", None) or {}
        if getattr(fact, "status", "active") == "active" and (meta.get("scope") == "personal" or getattr(fact, "source", "") == "personal"):
            out.append(fact)
    return out
