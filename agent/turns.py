"""Understanding a user turn: what kind it is, and the edit a correction asks for.

Rules, not a model: on this CPU budget a 135M model is not a reliable classifier, and
rules are fast, inspectable and testable. Their precision/recall is measured on the
hand-labelled set `benchmarks/data/turns.jsonl` by `benchmarks/turns_bench.py`.

Turn types and the triggers that decide them, checked in this order:

``command``        a leading "/" (``/edits``, ``/undo ID``, ``/why``, ``/user NAME``,
                   ``/remember``, ``/forget``, ``/help``); or an imperative addressed to the
                   agent itself: undo / revert / roll back; show or list edits; why did you
                   say that / show the trace; switch user; reset / start over / quit / help;
                   and "remember this permanently" / "make that permanent" when nothing but a
                   pronoun follows (``command="lasting"``). "Remember permanently that X is Y"
                   is instead the statement "X is Y" with ``lasting=True``.
``forget``         a leading (after politeness: please, can you, I want you to...) forget /
                   delete / erase / remove / wipe / scrub / purge / unlearn / clear / drop /
                   get rid of; or "don't / stop remember(ing) / keep / store". "Don't forget
                   that..." is NOT a forget request (it is a statement to remember).
``question``       ends with "?"; or starts with a wh-word, an auxiliary verb ("is", "does",
                   "can you"...), a request for information ("tell me", "explain", "name",
                   "remind me", "I wonder", "I'd like to know"...).
``personal_fact``  a declarative whose core (after markers like "no,", "actually", "FYI",
                   "remember that", "I think") speaks about the user: I / my / me / we / our;
                   or a bare pronoun statement ("she moved to Nice") when the agent's last
                   exchange was about the user ("where does my sister live?").
``correction``     any other declarative about the world: it corrects the agent's last
                   answer ("no, it's Rome", "actually the CEO is X") or states an update
                   ("the Eiffel Tower is in Rome now"). A world statement the user makes is
                   treated as the user's correction of what the model believes.
``other``          small talk (thanks, ok, hello): answered, never stored.

Words are matched after a light typo repair (one edit away from a trigger word of five or
more letters, and a few common apostrophe-less forms like "its", "thats", "im").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from editmind.editors.base import EditRequest

TurnType = Literal["question", "personal_fact", "correction", "forget", "command", "other"]
TURN_TYPES: tuple[str, ...] = ("question", "personal_fact", "correction", "forget", "command")

# --- normalisation ------------------------------------------------------------------

_APOSTROPHES = {
    "its": "it's", "thats": "that's", "whats": "what's", "wheres": "where's", "whos": "who's", "im": "i'm",
    "dont": "don't", "isnt": "isn't", "youre": "you're", "ive": "i've", "id": "i'd", "didnt": "didn't",
    "doesnt": "doesn't", "hows": "how's", "pls": "please", "plz": "please",
}
_TRIGGER_WORDS = (
    "forget", "delete", "remove", "erase", "remember", "permanently", "permanent", "where", "which", "what",
    "address", "sister", "brother", "actually", "correction", "incorrect", "wrong", "undo", "revert", "switch",
    "please", "capital", "located", "written",
)


def _one_edit_apart(a: str, b: str) -> bool:
    """Damerau distance <= 1 (one insertion, deletion, substitution or transposition)."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diffs = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
        if len(diffs) == 1:
            return True
        return len(diffs) == 2 and diffs[1] == diffs[0] + 1 and a[diffs[0]] == b[diffs[1]] and a[diffs[1]] == b[diffs[0]]
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1:] == short for i in range(len(long)))


# real words one edit away from a trigger word: never "repaired"
_REAL_WORDS = frozenset({"there", "these", "those", "whose", "forgot", "remote", "removed", "deleted", "erased",
                         "whats", "wrote", "wring", "cleared", "capitals", "locates", "writer", "pleased", "pleaser"})


def _repair_word(word: str) -> str:
    lower = word.lower()
    if lower in _APOSTROPHES:
        return _APOSTROPHES[lower]
    if len(lower) >= 4 and lower not in _TRIGGER_WORDS and lower not in _REAL_WORDS and lower.isalpha():
        for trigger in _TRIGGER_WORDS:
            if len(trigger) >= 5 and _one_edit_apart(lower, trigger):
                return trigger
            if len(trigger) == 4 and len(lower) == 4 and sorted(lower) == sorted(trigger) and _one_edit_apart(lower, trigger):
                return trigger
    return lower


def normalise(text: str) -> str:
    """Lower-case, typographic quotes/dashes unified, typos near trigger words repaired."""
    text = text.strip().replace("\u2019", "'").replace("\u2014", ",").replace("\u2013", ",").replace(" - ", ", ")
    return re.sub(r"[A-Za-z']+", lambda m: _repair_word(m.group(0)), text).strip()


# --- data -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Statement:
    """A fact as subject + cloze relation ("{} is located in") + object."""

    subject: str
    relation: str
    object: str

    @property
    def text(self) -> str:
        return f"{self.relation.format(self.subject)} {self.object}."


@dataclass(frozen=True)
class Correction:
    """What a correction asks for. Fields the turn did not give are None (the agent asks)."""

    subject: str | None
    relation: str | None
    target_new: str | None
    target_true: str | None = None
    # The question the correction answers, when it names the subject: a weight edit takes it
    # as a paraphrase, so the edited model answers that very question (also in chat).
    question: str | None = None

    @property
    def complete(self) -> bool:
        return bool(self.subject and self.relation and self.target_new)

    @property
    def text(self) -> str:
        if not self.complete:
            return ""
        return Statement(self.subject, self.relation, self.target_new).text  # type: ignore[arg-type]

    def missing(self) -> list[str]:
        return [name for name in ("subject", "relation", "target_new") if not getattr(self, name)]

    def to_edit_request(self, user_id: str | None = None, lasting: bool = True) -> EditRequest:
        if not self.complete:
            from editmind.editors.base import EditRequestError

            raise EditRequestError(f"the correction is missing its {', '.join(self.missing())}; say it as a full sentence")
        return EditRequest(
            subject=self.subject, prompt=self.relation, target_new=self.target_new,  # type: ignore[arg-type]
            target_true=self.target_true, user_id=user_id, lasting=lasting,
            paraphrases=(self.question,) if self.question else (),
        ).validate()

    def to_dict(self) -> dict[str, Any]:
        return {"subject": self.subject, "relation": self.relation, "target_new": self.target_new,
                "target_true": self.target_true, "text": self.text, "question": self.question}


@dataclass(frozen=True)
class Turn:
    type: TurnType
    text: str
    trigger: str  # the rule that decided the type (for /why and debugging)
    content: str = ""  # the statement / forget target / command argument, markers stripped
    correction: Correction | None = None
    statement: Statement | None = None  # a parsed personal fact, when the sentence fits a pattern
    command: str | None = None  # undo, edits, why, user, lasting, remember, forget, help, reset, quit
    argument: str = ""
    lasting: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type, "text": self.text, "trigger": self.trigger, "content": self.content,
            "correction": self.correction.to_dict() if self.correction else None,
            "statement": self.statement.text if self.statement else None,
            "command": self.command, "argument": self.argument, "lasting": self.lasting,
        }


# --- patterns ---------------------------------------------------------------------------

_POLITE = r"(?:(?:ok(?:ay)?|so|hey|hi|well|hmm+|please|kindly|now|just|and)[,!.]?\s+)*"
_ASK_PREFIX = (
    r"(?:please\s+|can you\s+|could you\s+|would you\s+|will you\s+|i want you to\s+|i'd like you to\s+|"
    r"i would like you to\s+|you should\s+|you must\s+|go ahead and\s+)*"
)
_LASTING = r"(?:permanent(?:ly)?|forever|for good|for ever|into (?:the|your) (?:model|weights)|to (?:the|your) weights|in(?:to)? (?:the|your) model|in your weights)"
_LASTING_VERBS = r"(?:remember|keep|save|store|make|commit|burn|write|learn|memori[sz]e|put)"
_FORGET_VERBS = r"(?:forget|delete|erase|remove|wipe|scrub|purge|unlearn|clear|drop|get rid of|discard|disregard)"
_QUESTION_START = (
    r"(?:what(?:'s|s)?|where(?:'s)?|who(?:'s|m|se)?|when|which|why|how(?:'s)?|whats|is|are|was|were|do|does|did|"
    r"can|could|would|will|should|shall|has|have|had|isn't|aren't|wasn't|didn't|doesn't|may|might|"
    r"tell me|explain|describe|name|list|summari[sz]e|translate|define|compare|remind me|give me|show me how|"
    r"i wonder|i'm wondering|wondering|i'd like to know|i would like to know|i want to know|i'm curious|"
    r"curious|any idea|do you know|in which|in what|at what|on which|from which|to which)\b"
)
_SMALL_TALK = r"^(?:thanks?(?: you)?|thank you(?: very much)?|ok(?:ay)?|cool|great|nice|hello|hi|hey|good (?:morning|evening|night)|bye|goodbye|yes|yeah|sure|lol|:\))[.! ]*$"
_FIRST_PERSON = r"\b(?:i|i'm|i've|i'd|i'll|me|my|mine|myself|we|we're|we've|our|ours|us)\b"
_THIRD_PRONOUN = r"^(?:it|she|he|they|that|this|its|it's|she's|he's|they're)\b"

# Markers stripped from the front of a statement; those in _CORRECTION_MARKERS also say
# "the agent was wrong".
_CORRECTION_MARKERS = (
    r"no+\b", r"nope\b", r"nah\b", r"not quite\b", r"not true\b", r"not anymore\b", r"not any more\b",
    r"wrong answer\b", r"wrong\b", r"incorrect\b", r"actually\b", r"correction\b", r"update\b", r"mistake\b",
    r"that's (?:not (?:right|correct|true)|wrong|incorrect|outdated|false|old news)\b",
    r"that is (?:not (?:right|correct|true)|wrong|incorrect|outdated|false)\b", r"that changed\b",
    r"you're (?:wrong|mistaken)\b", r"you are (?:wrong|mistaken)\b", r"you got it wrong\b", r"you're incorrect\b",
)
_SOFT_MARKERS = (
    r"i think\b", r"i believe\b", r"i'm (?:pretty |quite |fairly )?sure\b", r"i am (?:pretty |quite )?sure\b",
    r"fyi\b", r"by the way\b", r"btw\b", r"for the record\b", r"just so you know\b", r"note that\b",
    r"please note that\b", r"keep in mind(?: that)?\b", r"remember(?: that)?\b", r"please remember(?: that)?\b",
    r"don't forget(?: that)?\b", r"do not forget(?: that)?\b", r"never forget(?: that)?\b", r"hmm+\b", r"well\b",
    r"so\b", r"ok(?:ay)?\b", r"oh\b", r"see\b", r"that\b(?= )",
    # an affirmation before a statement ("Yes, the Eiffel Tower is in Rome"); only when
    # punctuation follows, so "Right now ..." or "True Detective is ..." keep their first word
    r"(?:yes|yeah|yep|yup|right|correct|exactly|indeed|sure|true)\b(?=\s*[,;:.!\-])",
    r"(?:right now|currently|nowadays|these days)\b",
)
_TRAILING_NOISE = r"(?:[\s,;:.!]+(?:now|actually|anymore|any more|these days|nowadays|though|please|instead|then))+[\s.!]*$"


def _strip_front(text: str) -> tuple[str, bool]:
    """Remove leading markers; return the core and whether a correction marker was seen."""
    corrected = False
    core = text.strip()
    while True:
        for pattern in _CORRECTION_MARKERS + _SOFT_MARKERS:
            match = re.match(r"^" + pattern + r"[\s,;:.!\-]*", core)
            if match and match.end() > 0 and (core[match.end():] or pattern in _CORRECTION_MARKERS):
                if pattern in _CORRECTION_MARKERS:
                    corrected = True
                core = core[match.end():]
                break
        else:
            return core.strip(" ,;:.!"), corrected


def _clean_entity(text: str) -> str:
    text = re.sub(_TRAILING_NOISE, "", text.strip(), flags=re.I)
    text = re.split(r"\s*[,;.!?]\s+|\s*[;!?]|\s+(?:and|but|which|who|where|because|so)\s+|[.,]$", text, maxsplit=1)[0]
    text = re.sub(r"^(?:the city of|the town of|the country of)\s+", "", text, flags=re.I)
    return text.strip(" .,;:!?\"'")


def _clean_subject(text: str) -> str:
    text = _clean_entity(text)
    return re.sub(r"^(?:the|a|an)\s+", "", text, flags=re.I).strip()


def _restore_case(fragment: str, original: str) -> str:
    """`fragment` was found in the lower-cased text; return it as the user wrote it."""
    if not fragment:
        return fragment
    index = original.lower().find(fragment.lower())
    return original[index:index + len(fragment)] if index >= 0 else fragment


_PASSIVE_VERBS = {"wrote": "written", "written": "written", "founded": "founded", "painted": "painted",
                  "invented": "invented", "discovered": "discovered", "directed": "directed", "built": "built",
                  "designed": "designed", "composed": "composed", "created": "created", "owned": "owned",
                  "developed": "developed", "made": "made", "sung": "sung", "sang": "sung", "owns": "owned"}
_LOCATION = r"(?:is|was|are|were|'s|stands|sits|lies)\s+(?:now\s+|currently\s+|actually\s+|still\s+)?(?:located\s+|situated\s+|based\s+|found\s+)?(?:now\s+)?in"

_STATEMENT_PATTERNS: tuple[tuple[str, Any], ...] = (
    # "the R of S is O"  -> "The R of {} is"
    (r"^(?:the\s+)?(?P<rel>[a-z][a-z ]*?)\s+of\s+(?P<subj>.+?)\s+(?:is|was|are)\s+(?:now\s+|actually\s+|currently\s+)?(?:no longer\s+.+?,\s*(?:it's|it is)\s+)?(?P<obj>.+)$",
     lambda m: "The " + m.group("rel") + " of {} is"),
    # "S's R is O"  -> "The R of {} is"
    (r"^(?P<subj>.+?)'s\s+(?P<rel>[a-z][a-z ]*?)\s+(?:is|was)\s+(?:now\s+|actually\s+|currently\s+)?(?:no longer\s+.+?,\s*(?:it's|it is)\s+)?(?P<obj>.+)$",
     lambda m: "The " + m.group("rel") + " of {} is"),
    # "O is the R of S" / "O is the R now" (subject from context)
    (r"^(?P<obj>.+?)\s+is\s+(?:now\s+)?the\s+(?P<rel>[a-z]+)(?:\s+of\s+(?P<subj>.+?))?(?:\s+now)?$",
     lambda m: "The " + m.group("rel") + " of {} is"),
    # "S is no longer in X; it is in O"
    (r"^(?P<subj>.+?)\s+(?:is|isn't|is not)\s+(?:no longer\s+)?in\s+.+?(?:any ?more)?[,;]\s*(?:it's|it is)\s+(?:now\s+)?in\s+(?P<obj>.+)$",
     lambda m: "{} is located in"),
    (r"^(?P<subj>.+?)\s+" + _LOCATION + r"\s+(?P<obj>.+)$", lambda m: "{} is located in"),
    (r"^(?P<subj>.+?)\s+(?:has\s+(?:been\s+)?|was\s+|is\s+being\s+)?(?:moved|relocated)\s+to\s+(?P<obj>.+)$",
     lambda m: "{} is located in"),
    (r"^(?P<subj>.+?)\s+(?:was|is|were)\s+(?:actually\s+|really\s+|originally\s+)?(?P<verb>[a-z]+)\s+by\s+(?P<obj>.+)$",
     lambda m: "{} was " + _PASSIVE_VERBS.get(m.group("verb"), m.group("verb")) + " by"),
    (r"^(?P<subj>.+?)\s+(?:actually\s+|really\s+|now\s+)?(?P<verb>speaks|lives|works|plays|studies)\s+(?:in\s+|at\s+|for\s+)?(?P<obj>.+)$",
     lambda m: "{} " + m.group("verb") + {"lives": " in", "works": " at", "studies": " at"}.get(m.group("verb"), "")),
    # "O wrote/founded S" -> "{} was written/founded by"
    (r"^(?P<obj>.+?)\s+(?:actually\s+|really\s+)?(?P<verb>wrote|founded|painted|invented|discovered|directed|built|designed|composed|created|owns)\s+(?P<subj>.+)$",
     lambda m: "{} was " + _PASSIVE_VERBS[m.group("verb")] + " by"),
    (r"^(?P<subj>.+?)\s+(?:is|are|was)\s+(?:now\s+|actually\s+)?(?P<obj>.+)$", lambda m: "{} is"),
)


def parse_statement(text: str) -> Statement | None:
    """Subject, cloze relation and object of a simple factual sentence, or None.

    A leading article moves into the relation ("The {} is located in" for "the Eiffel
    Tower"), so the subject is the bare name that memory and the editors key on."""
    original = text.strip().rstrip(".!")
    lower = normalise(original).lower().rstrip(".!")
    for pattern, relation in _STATEMENT_PATTERNS:
        match = re.match(pattern, lower)
        if not match:
            continue
        subj = match.groupdict().get("subj") or ""
        obj = _clean_entity(match.group("obj"))
        if not obj:
            continue
        rel = relation(match)
        subject = _clean_subject(subj)
        article = re.match(r"^(the)\s+", subj.strip())
        if article and rel.startswith("{}"):
            rel = "The " + rel
        return Statement(_restore_case(subject, original), _restore_case_relation(rel, original), _restore_case(obj, original))
    return None


def _restore_case_relation(relation: str, original: str) -> str:
    """Relations are rebuilt from lower-case text; keep acronyms like CEO as the user wrote them."""
    words = [(_restore_case(w, original) if w.lower() not in {"the", "of", "is", "{}"} and len(w) <= 4 else w)
             for w in relation.split(" ")]
    return " ".join(words)


_QUESTION_PATTERNS: tuple[tuple[str, Any], ...] = (
    (r"^(?:what|who|which)(?:'s|\s+is|\s+was|\s+are)\s+(?:the\s+)?(?:current\s+|present\s+)?(?P<rel>[a-z][a-z ]*?)\s+of\s+(?P<subj>.+)$",
     lambda m: "The " + m.group("rel") + " of {} is"),
    (r"^(?:what|who|which)(?:'s|\s+is|\s+was)\s+(?P<subj>.+?)'s\s+(?P<rel>[a-z ]+)$", lambda m: "The " + m.group("rel") + " of {} is"),
    (r"^where(?:'s|\s+is|\s+was|\s+are)\s+(?P<subj>.+?)(?:\s+located|\s+situated|\s+now|\s+based)*$", lambda m: "{} is located in"),
    (r"^(?:in\s+)?(?:which|what)\s+(?:city|country|town|place|continent)\s+is\s+(?P<subj>.+?)(?:\s+located|\s+in|\s+situated)*$",
     lambda m: "{} is located in"),
    (r"^where\s+(?:does|did|do)\s+(?P<subj>.+?)\s+(?P<verb>live|work|study)$",
     lambda m: "{} " + {"live": "lives in", "work": "works at", "study": "studies at"}[m.group("verb")]),
    (r"^who\s+(?P<verb>wrote|founded|painted|invented|discovered|directed|built|designed|composed|created|owns)\s+(?P<subj>.+)$",
     lambda m: "{} was " + _PASSIVE_VERBS[m.group("verb")] + " by"),
    (r"^(?:what|which)\s+language\s+(?:does|did)\s+(?P<subj>.+?)\s+speak$", lambda m: "{} speaks"),
)


def parse_question(question: str) -> tuple[str, str] | None:
    """(subject, relation) asked about by a simple factual question, or None."""
    original = question.strip().rstrip("?.! ")
    lower = normalise(original).lower().rstrip("?.! ")
    lower = re.sub(r"^(?:and|so|ok|hey|please|tell me|do you know|can you tell me)[, ]+", "", lower)
    for pattern, relation in _QUESTION_PATTERNS:
        match = re.match(pattern, lower)
        if match:
            subj_raw = match.group("subj").strip()
            rel = relation(match)
            if re.match(r"^(the)\s+", subj_raw) and rel.startswith("{}"):
                rel = "The " + rel
            return _restore_case(_clean_subject(subj_raw), original), _restore_case_relation(rel, original)
    return None


def answer_entity(answer: str, subject: str | None = None) -> str | None:
    """The entity an answer gives: the object of its first sentence if it parses, else its
    first capitalised phrase that is not part of the subject."""
    if not answer.strip():
        return None
    first = re.split(r"(?<=[.!?])\s+", answer.strip())[0]
    statement = parse_statement(first)
    if statement and statement.object and (not subject or subject.lower() not in statement.object.lower()):
        return statement.object
    skip = set((subject or "").lower().split()) | {"the", "it", "i", "yes", "no", "you", "your"}
    for match in re.finditer(r"\b[A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)*", first):
        words = [w for w in match.group(0).split() if w.lower() not in skip]
        if words:
            return " ".join(words)
    return None


# --- classification ---------------------------------------------------------------------


def _command(lower: str, original: str) -> Turn | None:
    if lower.startswith("/"):
        name, _, argument = lower[1:].partition(" ")
        argument = original.strip()[len(name) + 2:].strip()
        return Turn("command", original, "slash", content=argument, command=name, argument=argument)
    body = re.sub(r"^" + _POLITE, "", lower).rstrip(" .!")
    if re.match(r"^(?:undo|revert|roll ?back)\b", body):
        found = re.search(r"\b(?:edit|change)\s+([\w-]*\d[\w-]*|[0-9a-f]{4,})\b", body)
        return Turn("command", original, "undo", command="undo", argument=found.group(1) if found else "")
    if re.match(r"^(?:show|list|display|print|see)\b(?:\s+(?:me|all|my|the|your|of))*\s+(?:edits?|edit history|changes|history)\b", body):
        return Turn("command", original, "list edits", command="edits")
    if re.match(r"^(?:why did you (?:say|answer|think)|show (?:me )?(?:the )?(?:trace|facts you used|sources|reasoning))", body):
        return Turn("command", original, "why", command="why")
    user = re.match(r"^switch\s+(?:to\s+)?user(?:\s+to)?\s+(\w+)|^switch to\s+(\w+)$", body)
    if user:
        name = user.group(1) or user.group(2)
        return Turn("command", original, "switch user", command="user", argument=name)
    if re.match(r"^(?:reset(?: the conversation)?|start over|new conversation|clear (?:the )?history)$", body):
        return Turn("command", original, "reset", command="reset")
    if body in ("quit", "exit", "bye bye", "stop"):
        return Turn("command", original, "quit", command="quit")
    if body in ("help", "what can you do", "commands"):
        return Turn("command", original, "help", command="help")
    if re.search(_LASTING, body) and re.search(r"\b" + _LASTING_VERBS + r"\b", body):
        rest = re.sub(r"\b" + _LASTING_VERBS + r"\b|" + _LASTING + r"|\b(?:please|in|the|model|it|this|that|these|those|thing|for me|to)\b|[.,!:]", " ", body)
        rest = re.sub(r"\b(?:correction|edit|fact|change|update)s?\b", " ", rest)
        if not rest.strip() or re.fullmatch(r"(?:[\w']+\s*){1,4}", rest.strip()) and not re.search(r"\b(?:is|are|was|lives?|wrote)\b", rest):
            return Turn("command", original, "make lasting", command="lasting", lasting=True)
    return None


def _forget(lower: str, original: str) -> Turn | None:
    body = re.sub(r"^" + _POLITE, "", lower)
    if re.match(r"^(?:don't|do not|never)\s+forget\b", body):
        return None
    match = re.match(r"^" + _ASK_PREFIX + _FORGET_VERBS + r"\b\s*(?P<rest>.*)$", body)
    negative = re.match(r"^(?:please\s+)?(?:don't|do not|stop|never|i don't want you to|i do not want you to)\s+"
                        r"(?:remember(?:ing)?|keep(?:ing)?|stor(?:e|ing)|sav(?:e|ing))\b\s*(?P<rest>.*)$", body)
    found = match or negative
    if not found:
        return None
    rest = found.group("rest")
    rest = re.sub(r"\s*(?:from|in|out of)\s+(?:your|the)\s+memory\b|\bplease\b|[?.!]+$", "", rest).strip(" ,")
    rest = re.sub(r"^(?:about|that|what i (?:said|told you) about|everything about|the fact that|the fact about)\s+", "", rest)
    return Turn("forget", original, "forget verb" if match else "don't remember", content=_restore_case(rest, original))


def _is_question(lower: str) -> str | None:
    if lower.rstrip().endswith("?"):
        return "question mark"
    body = re.sub(r"^" + _POLITE, "", lower).lstrip(" ,")
    if re.match(r"^" + _QUESTION_START, body):
        return "question word"
    return None


def _about_user(text: str) -> bool:
    return bool(re.search(_FIRST_PERSON, text))


def classify_turn(message: str, last_question: str | None = None, last_answer: str | None = None) -> Turn:
    """The type of `message` given the previous exchange, with what it carries."""
    original = message.strip()
    lower = normalise(original).lower()
    if not lower:
        return Turn("other", original, "empty")
    turn = _command(lower, original) or _forget(lower, original)
    if turn:
        return turn
    trigger = _is_question(lower)
    if trigger:
        return Turn("question", original, trigger, content=original)
    if re.match(_SMALL_TALK, lower):
        return Turn("other", original, "small talk")

    lasting = bool(re.search(r"\b" + _LASTING + r"\b", lower))
    cleaned = re.sub(r"\b(?:remember|keep|store|save)\s+" + _LASTING + r"(?:\s+that)?\b", "remember that", lower) if lasting else lower
    core, corrected = _strip_front(cleaned)
    core_original = _restore_case(core, original) if core else original
    # hedges ("I think ...", "you're wrong, ...") are stripped; what remains decides personal vs world
    if _about_user(core):
        statement = parse_statement(core_original)
        return Turn("personal_fact", original, "first person", content=_sentence(core_original), statement=statement, lasting=lasting)
    context = " ".join(filter(None, (last_question, last_answer)))
    if re.match(_THIRD_PRONOUN, core) and context and re.search(_FIRST_PERSON + r"|\byour?\b", context.lower()):
        return Turn("personal_fact", original, "pronoun about the user's last topic", content=_sentence(core_original), lasting=lasting)
    correction = extract_correction(original, last_question, last_answer)
    trigger = "correction marker" if corrected else ("short answer after an answer" if last_answer else "world statement")
    return Turn("correction", original, trigger, content=correction.text or _sentence(core_original),
                correction=correction, lasting=lasting)


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


# --- correction extraction --------------------------------------------------------------


def _split_new_old(core: str) -> tuple[str, str | None]:
    """'not X, Y' / 'Y, not X' / 'X is wrong, it is Y' / "it's not X, it's Y" -> (Y part, X)."""
    patterns = (
        r"^(?:it's|it is|it was)\s+not\s+(?P<old>.+?)[,;]\s*(?:it's|it is|it was|but)\s+(?P<new>.+)$",
        r"^not\s+(?P<old>.+?)[,;]\s*(?:but\s+)?(?P<new>.+)$",
        r"^(?P<new>.+?)[,;]\s*not\s+(?P<old>.+)$",
        r"^(?P<old>.+?)\s+is\s+(?:wrong|incorrect)[,;]\s*(?P<new>.+)$",
        r"^(?P<pre>.+?)\s+no longer\s+(?:in\s+)?(?P<old>.+?)[,;]\s*(?:it's|it is)\s+(?P<new>.+)$",
    )
    for pattern in patterns:
        match = re.match(pattern, core, flags=re.I)
        if match:
            new = match.group("new")
            if "pre" in match.groupdict() and match.group("pre"):
                new = f"{match.group('pre')} {new}"
            return new.strip(), _clean_entity(match.group("old"))
    return core, None


def _bare_answer(core: str) -> str | None:
    """'it's Rome' / 'the answer is Rome' / 'Rome' / 'it was X' / 'X wrote it' -> the answer."""
    patterns = (
        r"^(?:the (?:right |correct )?answer (?:is|should be)|it (?:should|must) be|it's been moved to|it has been moved to|"
        r"it was moved to|it moved to|she speaks|he speaks|they speak|it was|it's|it is|that's|that is)\s+(?:in\s+|now\s+)*(?P<ans>.+)$",
        r"^(?P<ans>.+?)\s+(?:wrote|founded|painted|invented|made|built)\s+(?:it|that|this)$",
        r"^(?P<ans>.+?)\s+is\s+the\s+[a-z]+(?:\s+now)?$",
        r"^(?P<ans>[^\s].{0,40}?)$",
    )
    for pattern in patterns:
        match = re.match(pattern, core, flags=re.I)
        if match:
            answer = _clean_entity(match.group("ans"))
            if answer and len(answer.split()) <= 5:
                return answer
    return None


def extract_correction(message: str, last_question: str | None = None, last_answer: str | None = None) -> Correction:
    """The edit a correction asks for: subject + relation from the sentence when it is a full
    statement, else from the last question; the new target from the sentence; the old
    target from "not X" in the sentence, else from the agent's last answer."""
    original = message.strip()
    core, _ = _strip_front(normalise(original).lower())
    core = re.sub(r"^(?:you're wrong|you are wrong|that's wrong|that is wrong)[,;:.!\s]+", "", core)
    core = re.sub(_TRAILING_NOISE, "", core).strip(" .!")
    new_part, old = _split_new_old(core)
    new_original = _restore_case(new_part, original)
    asked = parse_question(last_question) if last_question else None
    statement = parse_statement(new_original)
    if statement and re.fullmatch(r"(?:the\s+)?(?:right\s+|correct\s+|real\s+)?answer", statement.subject.lower()):
        statement = None  # "the answer is Rome" is a bare answer, not a fact about "answer"
    subject = relation = target = None
    if statement and asked and statement.relation in ("{} is", "The {} is") and statement.subject.lower() in asked[1].lower():
        subject, relation, target = asked[0], asked[1], statement.object  # "the CEO is X" after "who is the CEO of Y?"
    elif statement and not re.match(_THIRD_PRONOUN, statement.subject.lower()) and statement.subject:
        subject, relation, target = statement.subject, statement.relation, statement.object
        if asked and relation.lower().endswith(" of {} is") and asked[0].lower() == subject.lower():
            relation = asked[1]
    elif statement and asked and statement.relation.startswith("The ") and " of {} is" in statement.relation:
        subject, relation, target = asked[0], statement.relation, statement.object  # "X is the CEO now"
    elif statement and asked:  # "it is in Rome" / "she speaks English": subject from the question
        subject, relation, target = asked[0], asked[1], statement.object
    else:
        target = _bare_answer(new_original.lower())
        target = _restore_case(target, original) if target else None
        if asked:
            subject, relation = asked
    if relation and relation.startswith("The ") and subject and asked and asked[0].lower() == subject.lower():
        relation = asked[1]
    if target and old is None and last_answer:
        old = answer_entity(last_answer, subject)
    if old is not None:
        old = _restore_case(old, original) if old.lower() in original.lower() else old
    if old and target and old.lower() == target.lower():
        old = None
    question = last_question.strip() if last_question and subject and subject in last_question else None
    return Correction(subject or None, relation or None, target or None, old or None, question)
