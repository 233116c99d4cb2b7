"""Personal facts: the key a fact about the user is stored under, and the question that asks it.

Memory supersedes a fact by its (subject, relation) key, so "I live in Berlin" and later
"I moved to Porto" must land on the same key, and so must "my dog is called Rex" and
"actually my dog's name is Max". The keys are plain words: the subject is the user's own
thing as they name it ("my dog", "my sister", or "me"), the relation one of a few
canonical attributes (``name``, ``lives in``, ``works at``, ``age``, ``occupation``) or
``is`` for anything else said with a copula ("my favourite colour is green"). Statements
that list things rather than set an attribute ("I like jazz", "I'm allergic to nuts") get
no key: they are stored as text and never replace one another.
"""

from __future__ import annotations

import re

from editmind.agent.turns import Statement, normalise

_OWNED = r"my (?P<n>[a-z][a-z' -]{0,40}?)"
_OBJECT = r"(?P<o>[^,;!?]+?)"
_END = r"(?:\s+(?:now|these days|nowadays|currently|actually|anymore|any more|again|too))*[\s.!]*$"
_LIVE_VERBS = (r"(?:lives|live|is living|are living|am living|'s living|'m living|now lives|now live|moved|has moved|"
               r"have moved|'ve moved|just moved|recently moved|relocated|has relocated|is based|am based|'m based|"
               r"is staying|am staying|'m staying|resides|reside)")
_WORK_VERBS = (r"(?:works|work|is working|am working|'m working|are working|started working|now works|now work|"
               r"got a job|has a job|have a job|just started|started a new job|is employed|am employed|'m employed|is interning|'m interning)")

# (pattern on the lower-cased statement, subject (None: "my <n>"), relation)
_PATTERNS: tuple[tuple[str, str | None, str], ...] = (
    (r"^(?:my name is|my name's|i'm called|i am called|call me|i go by|you can call me|people call me) " + _OBJECT + _END, "me", "name"),
    (r"^(?:the name of " + _OWNED + r" is|" + _OWNED.replace("<n>", "<n2>") + r"(?:'s| s|s) name is|"
     + _OWNED.replace("<n>", "<n3>") + r"(?:'s| is| are| s)? (?:called|named)) " + _OBJECT + _END, None, "name"),
    (r"^(?:i have|i've got|i got|we have|i own) (?:an? |two |three )?(?P<n4>[a-z][a-z -]{0,30}?) (?:called|named) " + _OBJECT + _END, None, "name"),
    (r"^" + _OWNED + r" " + _LIVE_VERBS + r" (?:in|to|at|near|out in|over in) (?:the city of )?" + _OBJECT + _END, None, "lives in"),
    (r"^(?:i|we) " + _LIVE_VERBS + r" (?:in|to|at|near|out in|over in) (?:the city of )?" + _OBJECT + _END, "me", "lives in"),
    (r"^(?:i'm|i am|im|we're) (?:living|staying|based) (?:in|at) " + _OBJECT + _END, "me", "lives in"),
    (r"^(?:my home|home) is (?:in )?" + _OBJECT + _END, "me", "lives in"),
    (r"^" + _OWNED + r" " + _WORK_VERBS + r" (?:at|for|in|with) " + _OBJECT + _END, None, "works at"),
    (r"^i " + _WORK_VERBS + r" (?:at|for|in|with) " + _OBJECT + _END, "me", "works at"),
    (r"^(?:i'm|i am|im) (?P<o>\d{1,3})(?: years old| yrs old| years| yo| now)?" + _END, "me", "age"),
    (r"^" + _OWNED + r" (?:is|just turned|turned) (?P<o>\d{1,3})(?: years old| yrs old| years| yo)?" + _END, None, "age"),
    (r"^(?:i work as|i'm working as|i am working as) (?:an? )?" + _OBJECT + _END, "me", "occupation"),
    (r"^(?:i'm|i am|im) (?:an? )(?P<o>[a-z][a-z -]{1,30}?)(?: by (?:profession|trade))?" + _END, "me", "occupation"),
    (r"^(?:i was born on|my birthday is on|my birthday is|my birthday's) " + _OBJECT + _END, "my birthday", "is"),
    (r"^(?:i was born in) " + _OBJECT + _END, "me", "born in"),
    (r"^" + _OWNED + r" (?:is|are|was|'s) (?:in|at) " + _OBJECT + _END, None, "lives in"),
    (r"^" + _OWNED + r" (?:is|are|was|'s) " + _OBJECT + _END, None, "is"),
)
_COMPILED = tuple((re.compile(p), s, r) for p, s, r in _PATTERNS)


_SYNONYMS = {"favourite": "favorite", "fav": "favorite", "fave": "favorite", "favorit": "favorite", "mum": "mom",
             "mommy": "mom", "mother": "mom", "daddy": "dad", "father": "dad", "hubby": "husband", "bf": "boyfriend",
             "gf": "girlfriend", "bday": "birthday", "b-day": "birthday", "colour": "color", "neighbour": "neighbor"}


def canonical(noun: str) -> str:
    """One spelling per key word, so "my fav band" and "my favourite band" are one key."""
    return " ".join(_SYNONYMS.get(w, w) for w in noun.split())


def _owner(match: re.Match) -> str:
    for name in ("n", "n2", "n3", "n4"):
        if match.groupdict().get(name):
            return "my " + canonical(match.group(name).strip())
    return "me"


def _restore(fragment: str, original: str) -> str:
    index = original.lower().find(fragment.lower())
    return original[index:index + len(fragment)] if index >= 0 else fragment


def parse_personal(text: str) -> Statement | None:
    """The (subject, relation, object) key of a statement about the user, or None."""
    original = re.split(r"\s*[,;]\s+(?=(?:we|i|he|she|they|and|but|so|because|since|it|which|who)\b)|\s+(?:because|since)\s+",
                        text.strip(), maxsplit=1)[0].rstrip(".!")
    lower = normalise(original).lower().rstrip(".!")
    lower = re.sub(r"^(?:and|also|oh|so|well|btw|fyi)[, ]+", "", lower)
    for pattern, subject, relation in _COMPILED:
        match = pattern.match(lower)
        if not match:
            continue
        obj = match.group("o").strip(" .,'\"")
        obj = re.sub(r"^(?:the city of|the town of)\s+", "", obj)
        if not obj or obj in _PRONOUNS:
            continue
        owner = subject if subject is not None else _owner(match)
        return Statement(owner, relation, _restore(obj, original))
    return None


_PRONOUNS = frozenset({"it", "that", "this", "there", "here", "them", "him", "her", "they", "one", "something", "so", "too"})

# --- questions about the user ------------------------------------------------------------

_Q_PATTERNS: tuple[tuple[str, str | None, str | None], ...] = (
    (r"^(?:what(?:'s| is| was)|tell me|remind me(?: of)?|do you (?:know|remember)) my name$|^who am i$|^what am i called$", "me", "name"),
    (r"^(?:what(?:'s| is| was)|tell me|remind me(?: of)?|do you (?:know|remember)) (?:the name of " + _OWNED + r"|"
     + _OWNED.replace("<n>", "<n2>") + r"(?:'s| s|s) name)$", None, "name"),
    (r"^(?:what(?:'s| is| was)|how is|how's) " + _OWNED + r" (?:called|named)$|^what do i call " + _OWNED.replace("<n>", "<n2>") + r"$",
     None, "name"),
    (r"^(?:where|in which city|which city|what city|in what city|which country|what country) (?:does|did|do|is) " + _OWNED
     + r" (?:live|living|stay|staying|based|reside|live now|move to|moved to)$", None, "lives in"),
    (r"^where(?:'s| is) " + _OWNED + r"(?: living| based| staying| now| these days)?$", None, "lives in"),
    (r"^(?:where|in which city|which city|what city|which country) (?:do|did|am) (?:i|we) (?:live|living|stay|staying|based|reside|move to|moved to)$",
     "me", "lives in"),
    (r"^where(?:'s| is) (?:my home|home)$", "me", "lives in"),
    (r"^(?:where|for whom|for which company|which company|what company) (?:does|did|is) " + _OWNED + r" (?:work|working)(?: for| at)?$",
     None, "works at"),
    (r"^(?:where|for whom|which company|what company) (?:do|did|am) i (?:work|working)(?: for| at)?$|^who do i work for$", "me", "works at"),
    (r"^how old (?:am i|is " + _OWNED + r")$", None, "age"),
    (r"^what (?:do i do|is my job|is my occupation|is my profession|do i do for (?:a living|work))$", "me", "occupation"),
    (r"^(?:when(?:'s| is| was)) (?:my birthday|i born)$|^when was i born$", "my birthday", "is"),
    (r"^where was i born$", "me", "born in"),
    (r"^(?:what(?:'s| is| are| was)|who(?:'s| is| are)|when(?:'s| is)|which is|tell me|remind me(?: of)?|do you (?:know|remember)) "
     + _OWNED + r"$", None, "is"),
)
_Q_COMPILED = tuple((re.compile(p), s, r) for p, s, r in _Q_PATTERNS)

_FAMILY = (r"(?:mom|mum|mommy|mother|dad|daddy|father|wife|husband|son|daughter|sister|brother|grandma|grandpa|"
           r"granny|boyfriend|girlfriend|partner|fiance|fiancee|wifey|hubby|kids|kid|baby|aunt|uncle|cousin|boss)")
_PERSONAL_Q = re.compile(
    r"\bmy\b|\b" + _FAMILY + r"(?:'s|s)\s+\w+|^(?:where|what|when|who|how|which)\b.*\b(?:do|did|am|was|have|had)\s+i\s+(?:live|work|do|study|like|love|own|have|"
    r"called|named|allergic|born|tell|say|said|told)\b|\bwho am i\b|\bhow old am i\b|\bwhat did i (?:say|tell)\b|"
    r"\bwhat do you (?:know|remember) about me\b|\bwhat am i\b|^(?:do|did) i (?:have|own|live|work|like|love|study)\b|"
    r"^am i (?:married|allergic|single|\d+)\b"
)
_GENERAL_FIRST_PERSON = re.compile(r"\b(?:should|can|could|would|might|must|shall)\s+i\b|\bhow (?:do|can|should|could) i\b|"
                                   r"\bwhy (?:do|did|am|can't) i\b|\bdo i need\b|"
                                   r"\bi forgot my\b|\bmy (?:computer|phone|laptop|code|password|account)\b.*\b(?:how|what|why|fix|help)\b")


_PETS = r"(?:dog|doggy|puppy|cat|kitty|kitten|hamster|parrot|fish|rabbit|bunny|horse|bird|turtle|pet|guinea pig|snake|lizard)"
_OWN_FRAGMENT = re.compile(r"^(?:what(?:'s| is) )?(?:the )?(?:" + _PETS + "|" + _FAMILY + r")(?:'s|s)? (?:name|called|birthday|age|job|address)$")


def is_personal_question(question: str) -> bool:
    """A question whose answer only the user's own memory can hold ("what's my dog called?",
    "where do I live?"), as opposed to a general one in the first person ("how do I reset my
    password?"). Nobody else's facts and no model can answer the first kind."""
    lower = normalise(question).lower().strip(" ?!.")
    if _OWN_FRAGMENT.match(lower):
        return True  # "cats name?", "moms birthday": one of the user's own, without "my"
    return bool(_PERSONAL_Q.search(lower)) and not _GENERAL_FIRST_PERSON.search(lower)


def parse_personal_question(question: str) -> tuple[str, str] | None:
    """(subject, relation) asked about by a question about the user, or None."""
    lower = normalise(question).lower().strip(" ?!.")
    lower = re.sub(r"^(?:and|so|ok|okay|hey|please|um|uh|remind me|quick question)[, ]+", "", lower)
    lower = re.sub(r"\s+(?:again|now|these days|currently|please)$", "", lower)
    for pattern, subject, relation in _Q_COMPILED:
        match = pattern.match(lower)
        if match:
            return (subject if subject is not None else _owner(match)), relation  # type: ignore[return-value]
    return None


_PRONOUN_SUBJECT = re.compile(r"^(?:no,?\s+|actually,?\s+|well,?\s+)?(?P<p>she|he|they|it|her|his|their)(?P<v>'s|'re|\s)", re.I)


def resolve_pronoun(text: str, last_question: str | None) -> str:
    """'she moved to Nice' after 'where does my sister live?' -> 'my sister moved to Nice'.
    Only a pronoun at the front, only when the last question named one of the user's own."""
    if not last_question:
        return text
    asked = parse_personal_question(last_question)
    owner = asked[0] if asked and asked[0].startswith("my ") else None
    if owner is None:
        found = re.search(r"\bmy ([a-z]+(?:'s [a-z]+)?)", normalise(last_question).lower())
        owner = "my " + found.group(1) if found else None
    match = _PRONOUN_SUBJECT.match(text.strip())
    if not owner or not match:
        return text
    rest = text.strip()[match.end():]
    if match.group("p").lower() in ("her", "his", "their"):  # "her name is Maria" -> "My mom's name is Maria"
        return f"{owner[0].upper()}{owner[1:]}'s {rest}".replace("  ", " ")
    verb = {"'s": " is", "'re": " is"}.get(match.group("v"), " ")
    resolved = f"{owner[0].upper()}{owner[1:]}{verb}{'' if verb == ' ' else ' '}{rest}".replace("  ", " ")
    return resolved


def render_personal(subject: str, relation: str, value: str) -> str:
    """A stored sentence for a key and a value, in the user's voice ("My sister lives in Nice.")."""
    owner = "I" if subject == "me" else subject[0].upper() + subject[1:]
    me = subject == "me"
    text = {
        "name": "My name is {v}" if me else "{o}'s name is {v}",
        "lives in": "I live in {v}" if me else "{o} lives in {v}",
        "works at": "I work at {v}" if me else "{o} works at {v}",
        "age": "I am {v} years old" if me else "{o} is {v} years old",
        "occupation": "I am {a} {v}" if me else "{o} is {a} {v}",
        "born in": "I was born in {v}" if me else "{o} was born in {v}",
    }.get(relation, "{o} is {v}")
    article = "an" if value[:1].lower() in "aeiou" else "a"
    value = re.sub(r"^(?:in|at|for|an?)\s+", "", value.strip(" .!")) if relation != "is" else value.strip(" .!")
    return text.format(o=owner, v=value, a=article) + "."


def answer_as_statement(answer: str, question: str) -> str:
    """A short answer to a question about the user as the statement it makes: "in krakow"
    after "where was i born?" -> "I was born in krakow."; without a known key the question
    and the answer are kept together so the stored text says what it is about."""
    answer = re.sub(r"^(?:yes|yeah|yep|no|nope|well|um|uh|oh|it's|its|it is|that's|that is)[,!.]?\s+", "", answer.strip(),
                    flags=re.I).strip(" .!")
    asked = parse_personal_question(question)
    if asked and answer and len(answer.split()) <= 6:
        return render_personal(asked[0], asked[1], answer)
    q = question.strip().rstrip("?")
    return f"{answer[0].upper() + answer[1:] if answer else answer} (answering: {q}?)"
