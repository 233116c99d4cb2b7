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

TurnType = Literal["question", "personal_fact", "correction", "forget", "command", "chitchat"]
TURN_TYPES: tuple[str, ...] = ("question", "chitchat", "personal_fact", "correction", "forget", "command")

# --- normalisation ------------------------------------------------------------------

_APOSTROPHES = {
    "its": "it's", "thats": "that's", "whats": "what's", "wheres": "where's", "whos": "who's", "im": "i'm",
    "dont": "don't", "isnt": "isn't", "youre": "you're", "ive": "i've", "didnt": "didn't",
    "doesnt": "doesn't", "hows": "how's", "pls": "please", "plz": "please", "u": "you", "ur": "your", "hes": "he's",
    "shes": "she's", "theyre": "they're", "cant": "can't", "wont": "won't", "arent": "aren't", "wasnt": "wasn't",
    "havent": "haven't", "wheres": "where's", "whos": "who's", "thx": "thanks", "abt": "about", "ppl": "people",
    "hav": "have", "hve": "have", "wat": "what", "wats": "what's", "wut": "what", "wht": "what", "whr": "where", "caled": "called", "calld": "called", "clled": "called", "naemd": "named", "nmaed": "named", "teh": "the",
    "wrk": "work", "wrks": "works", "wrking": "working", "liv": "live", "lvs": "lives", "nme": "name", "nam": "name",
    "mums": "mum's", "dads": "dad's",
}
_TRIGGER_WORDS = (
    "forget", "delete", "remove", "erase", "remember", "permanently", "permanent", "where", "which", "what",
    "address", "sister", "brother", "actually", "correction", "incorrect", "wrong", "undo", "revert", "switch",
    "please", "capital", "located", "written", "right", "exactly", "correct", "thanks",
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
                         "whats", "wrote", "wring", "cleared", "capitals", "locates", "writer", "pleased", "pleaser",
                         "calls", "caller", "cello", "names", "namer", "nights", "might", "sight", "tight", "light", "fight",
                         "eight", "rights", "thank", "night", "wright", "bright", "thanked", "correcting", "corrects",
                         "here", "were", "wear", "hers", "witch", "chat", "that", "sisters", "brothers", "removes", "remover",
                         "deletes", "forgets", "remembers", "erases", "eraser", "switch", "twitch", "swatch", "switches",
                         "wrongs", "prong", "located", "relocate", "dressed", "address", "undone", "under", "revered",
                         "actual", "pleas", "plead", "lease", "wrath", "whet", "wheat", "wreath", "rifle"})


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
    return word  # unchanged words keep their case: "Dunmore Foxes" is a name


def normalise(text: str) -> str:
    """Typographic quotes/dashes unified, typos near trigger words repaired ("im" -> "i'm");
    words left alone keep their case, so callers lower-case where they match patterns."""
    text = text.strip().replace("\u2019", "'").replace("\u2014", ",").replace("\u2013", ",").replace(" - ", ", ")
    text = re.sub(r"\b[Ii]d (?=(?:like|love|rather|prefer|be|have|want)\b)", "i'd ", text)
    text = re.sub(r"\b([Ii]|[Ww]e) (?:am|are) (?=(?:have|has|live|work|study|own|drive|go|speak)\b)", r"\1 ", text)  # "I am have a dog"
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
    small_talk: str = ""  # chitchat: its kind (thanks, greeting, agreement...), which picks the reply
    confirm: str = ""  # a correction the agent must confirm before writing it: why

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type, "text": self.text, "trigger": self.trigger, "content": self.content,
            "correction": self.correction.to_dict() if self.correction else None,
            "statement": self.statement.text if self.statement else None,
            "command": self.command, "argument": self.argument, "lasting": self.lasting,
            "small_talk": self.small_talk, "confirm": self.confirm,
        }


# --- patterns ---------------------------------------------------------------------------

_POLITE = (r"(?:(?:ok(?:ay)?|so|hey|hi|well|hmm+|please|kindly|now|just|and|also|wait|oh|ah|um+|uh+|yeah|yes|lol|btw|"
           r"quick q(?:uestion)?|one more thing|on second thought|actually|no|nvm|never mind|alright|right|sorry|oops|bruh|dude|"
           r"yo|man|welp|aw+|ok so|alright so|right so|hiya|hello|abeg|biko|please o|oya|jor)[,!.:]?\s+)*")
_ASK_PREFIX = (
    r"(?:please\s+|(?:would|could|will|can) you (?:please |kindly )?(?:be )?(?:so kind as|good enough|kind enough|so good as) to\s+|"
    r"can you\s+|could you\s+|would you\s+|will you\s+|i want you to\s+|i'd like you to\s+|"
    r"i would like you to\s+|you should\s+|you must\s+|go ahead and\s+|you can\s+|you may\s+|feel free to\s+|"
    r"kindly\s+|could you kindly\s+|would you kindly\s+|could you please\s+|can you please\s+|would you please\s+|"
    r"please could you\s+|i'd like you to\s+|i'd appreciate it if you (?:would|could)\s+|"
    r"i need you to\s+|i want to\s+|can we\s+|let's\s+|lets\s+|just\s+|"
    r"i(?:'d| would| should)? be (?:obliged|grateful|thankful|glad|happy|pleased|delighted) if you(?:'d| would| could| can| will)?\s+|"
    r"(?:would|do) you mind\s+|if you (?:would|could) (?:be so kind as to\s+)?)*"
)
_LASTING = r"(?:permanent(?:ly)?|forever|for good|for ever|into (?:the|your) (?:model|weights)|to (?:the|your) weights|in(?:to)? (?:the|your) model|in your weights)"
_LASTING_VERBS = r"(?:remember|keep|save|store|make|commit|burn|write|learn|memori[sz]e|put|lock|pin|cement|seal|bake|set)"
_FORGET_VERBS = (r"(?:forget|forgetting|unremember|delete|erase|remove|wipe|scrub|purge|unlearn|clear|drop|get rid of|discard|disregard|scrap|bin|"
                 r"scratch|ditch|toss|lose|nuke|take back|throw away|throw out|wipe out)")
_QUESTION_START = (
    r"(?:what(?:'s|s)?|where(?:'s)?|who(?:'s|m|se)?|when|which|why|how(?:'s)?|whats|is|are|am i|was|were|do|does|did|"
    r"can|could|would|will|should|shall|has|have|had|isn't|aren't|wasn't|didn't|doesn't|may|might|"
    r"tell me|explain|describe|name|list|summari[sz]e|translate|define|compare|remind me|give me|show me how|"
    r"i'd love to know|i would love to know|i'd be curious to know|i'd like to find out|"
    r"i wonder|i'm wondering|wondering|i'd like to know|i would like to know|i want to know|i'm curious|"
    r"curious|any idea|do you know|in which|in what|at what|on which|from which|to which)\b"
)
_SMALL_TALK = r"^(?:thanks?(?: you)?|thank you(?: very much)?|ok(?:ay)?|cool|great|nice|hello|hi|hey|good (?:morning|evening|night)|bye|goodbye|yes|yeah|sure|lol|:\))[.! ]*$"
_FIRST_PERSON = r"\b(?:i|i'm|i've|i'd|i'll|me|my|mine|myself|we|we're|we've|our|ours|us)\b"
_THIRD_PRONOUN = r"^(?:it|she|he|they|that|this|its|it's|she's|he's|they're)\b"

# Markers stripped from the front of a statement; those in _CORRECTION_MARKERS also say
# "the agent was wrong".
_CORRECTION_MARKERS = (
    r"no+\b", r"nope\b", r"nah\b", r"naw\b", r"nae\b", r"nay\b", r"nup\b", r"na\b(?=[,.! ])",
    r"(?:quick|small|one|a|just a|slight) correction\b", r"correction\b", r"not quite\b", r"not true\b", r"not anymore\b", r"not any more\b",
    r"wrong answer\b", r"wrong\b", r"incorrect\b", r"actually\b", r"correction\b", r"update\b", r"mistake\b",
    r"that's (?:not (?:right|correct|true)|wrong|incorrect|outdated|false|old news)\b", r"outdated\b", r"old news\b",
    r"that's old\b", r"not so\b", r"false\b", r"untrue\b", r"nuh uh\b", r"no no\b",
    r"that is (?:not (?:right|correct|true)|wrong|incorrect|outdated|false)\b", r"that changed\b",
    r"you're (?:wrong|mistaken)\b", r"though\b", r"tho\b", r"but\b", r"you are (?:wrong|mistaken)\b", r"you got it wrong\b", r"you're incorrect\b",
)
_SOFT_MARKERS = (
    r"i think\b", r"i believe\b", r"i'm (?:pretty |quite |fairly )?sure\b", r"i am (?:pretty |quite )?sure\b", r"(?:pretty|fairly|quite) sure\b",
    r"(?:i think |i believe )?you'll find(?: that)?\b", r"erm+\b", r"er\b(?=,)", r"for (?:your|the) (?:records?|reference|info)\b",
    r"incidentally\b", r"for what it's worth\b", r"it's (?:perhaps |probably |maybe )?worth (?:noting|mentioning|saying)(?: that)?\b", r"i reckon\b", r"reckon\b", r"i guess\b", r"i suppose\b", r"i'm told\b", r"i am told\b", r"i was told\b", r"i heard\b",
    r"i've heard\b", r"i could be wrong,? but\b", r"i might be wrong,? but\b", r"correct me if i'm wrong,? but\b",
    r"if i remember (?:right|correctly)\b", r"as far as i know\b", r"afaik\b", r"iirc\b", r"i'm fairly certain\b",
    r"bruh\b", r"dude\b", r"mate\b", r"lol\b", r"on reflection\b", r"sorry\b", r"oops\b", r"my bad\b", r"whoops\b", r"heads up\b", r"psst\b", r"just fyi\b",
    r"i (?:quite |completely |totally |almost )?forg[eo]t to (?:say|mention|tell you)(?: that)?\b",
    r"i (?:meant|wanted|forgot) to (?:say|mention|tell you)(?: that)?\b", r"i should (?:say|mention|tell you)(?: that)?\b",
    r"i should have said\b", r"i (?:ought to|must|have to|need to|want to|wanted to|should) (?:tell you|let you know|inform you|say|mention|add)(?: that)?\b",
    r"you (?:should|ought to|might want to|may want to) know(?: that)?\b", r"let me tell you(?: that)?\b", r"hang on\b", r"hold up\b", r"one sec(?:ond)?\b",
    r"oh and\b", r"and also\b", r"also\b",
    r"ngl\b", r"tbh\b", r"honestly\b", r"lowkey\b", r"highkey\b", r"basically\b", r"fr\b(?= )", r"real talk\b", r"fun fact\b",
    r"side note\b", r"random(?:ly)?(?: but| question| fact)?\b(?=[ ,:])", r"quick update\b", r"anyway(?:s)?\b", r"so yeah\b", r"plus\b",
    r"fyi\b", r"by the way\b", r"btw\b", r"for the record\b", r"just so you know\b", r"note that\b",
    r"please note that\b", r"please note\b", r"i(?:'d| would| should) like you to (?:remember|know|note)(?: that)?\b",
    r"i want you to (?:remember|know|note)(?: that)?\b", r"(?:can|could|would) you (?:please )?remember(?: that)?\b",
    r"make a note(?: that)?\b", r"note down(?: that)?\b", r"take note(?: that)?\b", r"for future reference\b", r"note\b(?= i)", r"just so you know\b", r"for your information\b", r"keep in mind(?: that)?\b", r"remember(?: that)?\b", r"please remember(?: that)?\b",
    r"don't forget(?: that)?\b", r"do not forget(?: that)?\b", r"never forget(?: that)?\b", r"hmm+\b", r"well\b",
    r"so\b", r"ok(?:ay)?\b", r"oh\b", r"oh,? and\b", r"see\b", r"that\b(?= )", r"wait\b", r"hold on\b", r"um+\b", r"uh+\b", r"ah+\b",
    # an affirmation before a statement ("Yes, the Eiffel Tower is in Rome"); only when
    # punctuation follows, so "Right now ..." or "True Detective is ..." keep their first word
    r"(?:yes|yeah|yep|yup|right|correct|exactly|indeed|sure|true)\b(?=\s*[,;:.!\-])",
    r"(?:right now|currently|presently|nowadays|these days)\b", r"now\b(?=\s)",
)
_TRAILING_NOISE = (r"(?:[\s,;:.!]+(?:not (?:as|what) you (?:said|stated|claimed|wrote|thought|suggested|say)|now|actually|anymore|any more|these days|nowadays|though|tho|please|pls|instead|then|"
                   r"again|lol+|haha+|lmao|tbh|obviously|of course|i think|i believe|right|ok|okay|btw|fyi|dude|man|mate))+[\s.!?]*$")


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
    text = re.split(r"\s*(?:[,;!?]|(?<!\b\w)(?<!\bmr)(?<!\bmrs)(?<!\bms)(?<!\bdr)(?<!\bst)(?<!\bprof)(?<!\bjr)(?<!\bsr)\.)\s+|\s*[;!?]|\s+(?:but|which|who|where|because|so)\s+|"
                    r"\s+and\s+(?=(?:i|it|it's|he|she|they|we|you|that|this|is|was|so|then)\b)|[.,]$", text, maxsplit=1, flags=re.I)[0]
    text = re.sub(_TRAILING_NOISE, "", text, flags=re.I)  # "Alan Pertwee now, old Frank stepped down": after the cut too
    text = re.sub(r"^(?:the city of|the town of|the country of)\s+", "", text, flags=re.I)
    return text.strip(" .,;:!?\"'")


def _clean_subject(text: str) -> str:
    text = _clean_entity(text)
    text = re.sub(r"\s+(?:in|at|on|from|located|situated|based)$", "", text, flags=re.I)  # "which town is the Gilded Crumb in"
    return re.sub(r"^(?:the|a|an)\s+", "", text, flags=re.I).strip()


def _restore_case(fragment: str, original: str) -> str:
    """`fragment` was found in the lower-cased text; return it as the user wrote it."""
    if not fragment:
        return fragment
    index = original.lower().find(fragment.lower())
    if index >= 0:
        return original[index:index + len(fragment)]
    repaired = normalise(original)  # "im on the Dunmore Foxes" was repaired to "i'm on the dunmore foxes"
    index = repaired.lower().find(fragment.lower())
    if index >= 0:
        return repaired[index:index + len(fragment)]
    cased = {w.lower(): w for w in re.findall(r"[\w'&.-]+", original) if w != w.lower()}  # word by word, as a last resort
    return re.sub(r"[\w'&.-]+", lambda m: cased.get(m.group(0), m.group(0)) if m.group(0) == m.group(0).lower() else m.group(0), fragment)


_PASSIVE_VERBS = {"wrote": "written", "written": "written", "founded": "founded", "painted": "painted",
                  "invented": "invented", "discovered": "discovered", "directed": "directed", "built": "built",
                  "designed": "designed", "composed": "composed", "created": "created", "owned": "owned",
                  "developed": "developed", "made": "made", "sung": "sung", "sang": "sung", "owns": "owned"}
_LOCATION = r"(?:is|was|are|were|'s|stands|sits|lies)\s+(?:now\s+|currently\s+|actually\s+|still\s+)?(?:located\s+|situated\s+|based\s+|found\s+)?(?:now\s+)?in"

def _third_person_relation(m: re.Match) -> str:
    return "{} " + m.group("verb") + (f" {m.group('prep')}" if m.group("prep") else "")


_MEASURES = {"tall": "height", "high": "height", "long": "length", "old": "age", "big": "size", "large": "size",
             "far": "distance", "deep": "depth", "wide": "width", "heavy": "weight"}

_STATEMENT_PATTERNS: tuple[tuple[str, Any], ...] = (
    # "the Eiffel Tower is 330 meters tall" -> "The height of {} is" 330 meters
    (r"^(?P<subj>.+?)\s+(?:is|was|are)\s+(?:now\s+|actually\s+|only\s+|about\s+)?(?P<obj>\d[\d.,]*\s*[a-z]*(?:\s[a-z]+)?)\s+"
     r"(?P<adj>tall|high|long|old|big|large|deep|wide|heavy)$", lambda m: f"The {_MEASURES[m.group('adj')]} of " + "{} is"),
    # "the R of S is O"  -> "The R of {} is"
    (r"^(?:the\s+)?(?P<rel>[a-z][a-z ]*?)\s+of\s+(?P<subj>.+?)\s+(?:is|was|are)\s+(?:now\s+|actually\s+|currently\s+)?(?:no longer\s+.+?,\s*(?:it's|it is)\s+)?(?P<obj>.+)$",
     lambda m: "The " + m.group("rel") + " of {} is"),
    # "S's R is O"  -> "The R of {} is"
    (r"^(?P<subj>.+?)'s\s+(?P<rel>[a-z][a-z ]*?)\s+(?:is|was)\s+(?:now\s+|actually\s+|currently\s+)?(?:no longer\s+.+?,\s*(?:it's|it is)\s+)?(?P<obj>.+)$",
     lambda m: "The " + m.group("rel") + " of {} is"),
    # "O is the R of S" / "O is the R now" (subject from context)
    (r"^(?P<obj>.+?)\s+is\s+(?:now\s+)?the\s+(?P<rel>[a-z]+)(?:\s+of\s+(?P<subj>.+?))?(?:\s+now)?$",
     lambda m: "The " + m.group("rel") + " of {} is"),
    # "O is S's R" ("Andy Jassy is Amazon's CEO")
    (r"^(?P<obj>.+?)\s+is\s+(?:now\s+)?(?P<subj>[\w .&-]+?)'s\s+(?P<rel>[a-z][a-z ]*?)(?:\s+now)?$",
     lambda m: "The " + m.group("rel") + " of {} is"),
    # "S is no longer in X; it is in O"
    (r"^(?P<subj>.+?)\s+(?:is|isn't|is not)\s+(?:no longer\s+)?in\s+.+?(?:any ?more)?[,;]\s*(?:it's|it is)\s+(?:now\s+)?in\s+(?P<obj>.+)$",
     lambda m: "{} is located in"),
    (r"^(?P<subj>.+?)\s+" + _LOCATION + r"\s+(?P<obj>.+)$", lambda m: "{} is located in"),
    (r"^(?P<subj>.+?)\s+(?:has\s+(?:been\s+)?|was\s+|is\s+being\s+)?(?:moved|relocated)\s+to\s+(?P<obj>.+)$",
     lambda m: "{} is located in"),
    (r"^(?P<subj>.+?)\s+(?:was|is|were)\s+(?:actually\s+|really\s+|originally\s+)?(?P<verb>[a-z]+)\s+by\s+(?P<obj>.+)$",
     lambda m: "{} was " + _PASSIVE_VERBS.get(m.group("verb"), participle(m.group("verb"))) + " by"),
    (r"^(?P<subj>.+?)\s+(?:actually\s+|really\s+|now\s+)?(?P<verb>speaks|lives|works|studies)\s+(?:in\s+|at\s+|for\s+)?(?P<obj>.+)$",
     lambda m: "{} " + m.group("verb") + {"lives": " in", "works": " at", "studies": " at"}.get(m.group("verb"), "")),
    # "O wrote/founded S" -> "{} was written/founded by"
    (r"^(?P<obj>.+?)(?<!\bwas)(?<!\bis)(?<!\bwere)(?<!\bbeen)(?<!\bbe)\s+(?:actually\s+|really\s+)?(?P<verb>wrote|founded|painted|invented|discovered|directed|built|designed|composed|created|owns)\s+(?P<subj>.+)$",
     lambda m: "{} was " + _PASSIVE_VERBS[m.group("verb")] + " by"),
    # "Twitter is called X now", "the band is named Velvet"
    (r"^(?P<subj>.+?)\s+(?:is|was|are)\s+(?:now\s+|actually\s+)?(?:called|named|known as|renamed(?: to)?)\s+(?P<obj>.+)$",
     lambda m: "{} is called"),
    # "the Berlin Wall fell in 1989", "Team Orsolo won the Kestrel Cup": a verb in the past
    (r"^(?P<subj>[a-z0-9][\w'.&-]*(?:\s+[\w'.&-]+){0,5}?)\s+(?P<verb>fell|died|rose|sank|began|ended|opened|closed|happened|started|"
     r"collapsed|launched|premiered|retired|resigned)\s+(?P<prep>in|on|at)\s+(?P<obj>.+)$",
     lambda m: "{} " + m.group("verb") + " " + m.group("prep")),
    # "Mozart was born in Salzburg", "the film was set in Rome": a participle and its preposition
    (r"^(?P<subj>.+?)\s+(?:was|is|were|are|has been|had been)\s+(?:actually\s+|really\s+|originally\s+|now\s+)?"
     r"(?P<verb>born|built|made|written|sold|held|known|set|founded|buried|married|engaged|based|headquartered|[a-z]{3,}ed)\s+"
     r"(?P<prep>in|on|at|to|from|into|for|as|with)\s+(?P<obj>.+)$",
     lambda m: "{} " + ("is" if m.group("verb") in _STATE_PARTICIPLES else "was") + f" {m.group('verb')} {m.group('prep')}"),
    # "Croatia uses the euro", "Hamilton drives for Ferrari": any verb in the third person
    (r"^(?P<subj>[a-z0-9][\w'.&-]*(?:\s+[\w'.&-]+){0,4}?)\s+(?:now\s+|actually\s+|still\s+|currently\s+|really\s+)?"
     r"(?!(?:is|was|has|does|this|its|his|hers|thus|yes|plus|always|perhaps|sometimes|news|series|species|states|"
     r"kings|queens|less|unless|across|as|us|bus|gas|class|miss|boss|chess|glass|grass|press|process|business|"
     r"lots|years|days|times|ones|others|things|people's)\b)"
     r"(?P<verb>[a-z]{2,}[^s\W]s|[a-z]+(?:ies|es))\s+(?:(?P<prep>for|at|in|on|to|with|from|into|as|by)\s+)?(?P<obj>.+)$",
     _third_person_relation),
    (r"^(?P<subj>.+?)\s+(?:is|are|was)\s+(?:now\s+|actually\s+)?(?P<obj>.+)$", lambda m: "{} is"),
)
_STATE_PARTICIPLES = frozenset({"married", "engaged", "based", "headquartered", "known", "set"})


def _sound_third_person(match: re.Match, original: str) -> bool:
    """The any-verb pattern guesses the verb from a final "s"; a name ending in s ("Elias
    Crane") or a subject holding a copula ("it was Elias Crane") means it guessed wrong."""
    subject, verb = match.group("subj"), match.group("verb")
    if re.search(r"\b(?:is|was|are|were|has|had|been|it|he|she|they|there)\b", subject) or re.fullmatch(
            r"(?:the|a|an|my|our|this|that|these|those|some|all|lol|so|and|but)", subject.strip()):
        return False  # "the kids named him": "the" is no subject
    found = re.search(r"\b" + re.escape(verb) + r"\b", original, flags=re.I)
    return not (found and original[found.start()].isupper())


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
        if relation is _third_person_relation and not _sound_third_person(match, original):
            continue
        subj = match.groupdict().get("subj") or ""
        obj = _clean_entity(match.group("obj"))
        if not obj or obj in ("did", "does", "do", "was", "is", "has", "had", "it", "that"):
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


_IRREGULAR = {"run": "run", "ran": "run", "lead": "led", "led": "led", "win": "won", "won": "won", "write": "written",
              "wrote": "written", "sing": "sung", "sang": "sung", "make": "made", "made": "made", "build": "built",
              "built": "built", "buy": "bought", "bought": "bought", "teach": "taught", "hold": "held", "held": "held",
              "keep": "kept", "find": "found", "give": "given", "take": "taken", "took": "taken", "draw": "drawn",
              "drew": "drawn", "drive": "driven", "speak": "spoken", "sell": "sold", "sold": "sold", "tell": "told",
              "see": "seen", "saw": "seen", "do": "done", "did": "done", "know": "known", "set": "set", "beat": "beaten",
              "break": "broken", "broke": "broken", "choose": "chosen", "eat": "eaten", "fly": "flown", "grow": "grown",
              "ride": "ridden", "steal": "stolen", "throw": "thrown", "wear": "worn", "bring": "brought", "catch": "caught",
              "fight": "fought", "think": "thought", "lose": "lost", "lost": "lost", "meet": "met", "pay": "paid",
              "say": "said", "send": "sent", "spend": "spent", "stand": "stood", "leave": "left", "begin": "begun",
              "began": "begun", "sit": "sat", "shoot": "shot", "shot": "shot", "found": "founded", "own": "owned"}


_PAST = {"become": "became", "join": "joined", "leave": "left", "win": "won", "die": "died", "retire": "retired",
         "marry": "married", "move": "moved", "start": "started", "found": "founded", "open": "opened", "close": "closed",
         "graduate": "graduated", "resign": "resigned", "begin": "began", "end": "ended"}


def _base_of(gerund: str) -> str:
    """'coaching' -> 'coach', 'running' -> 'run', 'managing' -> 'manage' (a guess good enough for a key)."""
    stem = gerund[:-3]
    if len(stem) > 2 and stem[-1] == stem[-2] and stem[-1] not in "ls":
        return stem[:-1]
    if re.search(r"(?:[^aeiou][aeiou][cgvz]|at|ur|ag|iz)$", stem):
        return stem + "e"
    return stem


def participle(verb: str) -> str:
    """'runs' -> 'run', 'maintains' -> 'maintained', 'won' -> 'won': the verb of "{} was ... by"."""
    verb = verb.lower()
    if verb in _PASSIVE_VERBS:
        return _PASSIVE_VERBS[verb]
    base = verb
    if verb.endswith("ies") and len(verb) > 4:
        base = verb[:-3] + "y"
    elif re.search(r"(?:ss|sh|ch|x|z|o)es$", verb):
        base = verb[:-2]
    elif verb.endswith("s") and not verb.endswith("ss"):
        base = verb[:-1]
    if base in _IRREGULAR:
        return _IRREGULAR[base]
    if base.endswith("ed"):
        return base
    if base.endswith("e"):
        return base + "d"
    if re.search(r"[^aeiou]y$", base):
        return base[:-1] + "ied"
    return base + "ed"


def third_person(verb: str) -> str:
    """'play' -> 'plays', 'go' -> 'goes', 'study' -> 'studies': the verb of a cloze about one subject."""
    irregular = {"have": "has", "do": "does", "go": "goes", "be": "is"}
    if verb in irregular:
        return irregular[verb]
    if re.search(r"[^aeiou]y$", verb):
        return verb[:-1] + "ies"
    if re.search(r"(?:s|sh|ch|x|z|o)$", verb):
        return verb + "es"
    return verb + "s"


_PREPS = r"(?:for|at|in|on|to|with|from|as|into|by|of|under)"
_Q_PRONOUNS = r"(?!(?:they|you|it|he|she|we|i|people|one)\b)"

_QUESTION_PATTERNS: tuple[tuple[str, Any], ...] = (
    # "where was Mozart born", "when was Google founded"
    (r"^(?:where|when|in which\s+\w+|in what\s+\w+|what\s+year)\s+(?:was|is|were)\s+(?P<subj>.+?)\s+"
     r"(?P<verb>born|founded|built|made|held|set|created|established|buried|based|headquartered|filmed|written|released|invented)$",
     lambda m: "{} " + ("is" if m.group("verb") in _STATE_PARTICIPLES else "was") + f" {m.group('verb')} in"),
    # "what language do they speak in Brazil" -> the language of Brazil
    (r"^(?:what|which)\s+(?P<noun>language|languages|currency|religion|sport|food|team)\s+(?:do|does|did)\s+(?:they|people|you|we)\s+"
     r"(?:speak|use|have|follow|play|eat|support)\s+(?:in|at)\s+(?P<subj>.+)$", lambda m: "The " + m.group("noun") + " of {} is"),
    (r"^(?:what|who|which)(?:'s|\s+is|\s+was|\s+are)\s+(?:the\s+)?(?:current\s+|present\s+)?(?P<rel>[a-z][a-z -]*?)\s+of\s+(?P<subj>.+)$",
     lambda m: "The " + m.group("rel") + " of {} is"),
    (r"^(?:what|who|which)(?:'s|\s+is|\s+was)\s+(?P<subj>.+?)'s\s+(?P<rel>[a-z ]+)$", lambda m: "The " + m.group("rel") + " of {} is"),
    (r"^where(?:'s|\s+is|\s+was|\s+are)\s+(?P<subj>.+?)(?:\s+located|\s+situated|\s+now|\s+based)*$", lambda m: "{} is located in"),
    (r"^(?:in\s+)?(?:which|what)\s+(?:city|country|town|place|continent)\s+is\s+(?P<subj>.+?)(?:\s+located|\s+in|\s+situated)*$",
     lambda m: "{} is located in"),
    (r"^where\s+(?:does|did|do)\s+(?P<subj>.+?)\s+(?P<verb>live|work|study)$",
     lambda m: "{} " + {"live": "lives in", "work": "works at", "study": "studies at"}[m.group("verb")]),
    (r"^who\s+(?P<verb>wrote|founded|painted|invented|discovered|directed|built|designed|composed|created|owns)\s+(?P<subj>.+)$",
     lambda m: "{} was " + _PASSIVE_VERBS[m.group("verb")] + " by"),
    # "Twitter is called X now", "the band is named Velvet"
    (r"^(?P<subj>.+?)\s+(?:is|was|are)\s+(?:now\s+|actually\s+)?(?:called|named|known as|renamed(?: to)?)\s+(?P<obj>.+)$",
     lambda m: "{} is called"),
    # "the Berlin Wall fell in 1989", "Team Orsolo won the Kestrel Cup": a verb in the past
    (r"^(?P<subj>[a-z0-9][\w'.&-]*(?:\s+[\w'.&-]+){0,5}?)\s+(?P<verb>fell|died|rose|sank|began|ended|opened|closed|happened|started|"
     r"collapsed|launched|premiered|retired|resigned)\s+(?P<prep>in|on|at)\s+(?P<obj>.+)$",
     lambda m: "{} " + m.group("verb") + " " + m.group("prep")),
    (r"^(?:what|which)\s+language\s+(?:does|did)\s+(?P<subj>.+?)\s+speak$", lambda m: "{} speaks"),
    # "what team does Messi play for", "what currency does Japan use", "who does Messi play for"
    # "who's coaching the Wallabies" -> the same key as "who coaches the Wallabies"
    (r"^who(?:'s|\s+is|\s+are)\s+(?P<verb>[a-z]+ing)\s+(?P<subj>.+)$", lambda m: "{} was " + participle(_base_of(m.group("verb"))) + " by"),
    # "who runs Hollenby Rail", "who won the Kestrel Cup", "who maintains X": the passive, as statements say it
    (r"^who\s+(?!(?:is|are|was|were|do|does|did|has|have|had|can|could|would|will|should)\b)(?P<verb>[a-z]+)\s+(?P<subj>.+)$",
     lambda m: "{} was " + participle(m.group("verb")) + " by"),
    # "when did Nelson Mandela become president" -> "{} became president in"
    (r"^when\s+(?:did|does)\s+(?P<subj>.+?)\s+(?P<verb>become|join|leave|win|die|retire|marry|move|start|found|open|close|"
     r"graduate|resign|begin|end)\b(?P<rest>(?:\s+[a-z]+){0,3})$",
     lambda m: "{} " + _PAST.get(m.group("verb"), m.group("verb") + "d") + m.group("rest") + " in"),
    # "capital of peru", "the ceo of tesla": a fragment that asks
    (r"^(?:the\s+)?(?:current\s+)?(?P<rel>(?!(?:who|what|where|when|which|how|is|are|was|did|does|do|tell|name)\b)[a-z-]+(?:\s[a-z-]+)?)"
     r"\s+of\s+(?P<subj>[^?]+?)$", lambda m: "The " + m.group("rel") + " of {} is"),
    (r"^(?:(?:what|which)\s+[a-z]+(?:\s+[a-z]+)?|who|whom|what)\s+(?:does|do|did)\s+" + _Q_PRONOUNS
     + r"(?P<subj>.+?)\s+(?P<verb>[a-z]+)(?:\s+(?P<prep>" + _PREPS + r"))?$",
     lambda m: "{} " + third_person(m.group("verb")) + (f" {m.group('prep')}" if m.group("prep") else "")),
    # "who is Beyonce married to"
    (r"^(?:who|what)\s+(?:is|was|are)\s+(?P<subj>.+?)\s+(?P<verb>married|engaged|related|dating|signed|allied)\s+(?P<prep>to|with)$",
     lambda m: "{} " + ("is" if m.group("verb") in _STATE_PARTICIPLES else "was") + f" {m.group('verb')} {m.group('prep')}"),
    # "where was Mozart born", "when was Google founded"
    (r"^(?:where|when|in which\s+\w+|in what\s+\w+|what\s+year)\s+(?:was|is|were)\s+(?P<subj>.+?)\s+"
     r"(?P<verb>born|founded|built|made|held|set|created|established|buried|based|headquartered|filmed|written|released|invented)$",
     lambda m: "{} " + ("is" if m.group("verb") in _STATE_PARTICIPLES else "was") + f" {m.group('verb')} in"),
    # "who is the organist at Wells Cathedral", "what is the tallest tower in Rome"
    (r"^(?:what|who|which)(?:'s|\s+is|\s+was|\s+are)\s+(?:the\s+)?(?P<rel>[a-z][a-z -]*?)\s+(?P<prep>at|for|on)\s+(?P<subj>[^,]+?)$",
     lambda m: "The " + m.group("rel") + " " + m.group("prep") + " {} is"),
    # "what is the largest planet", "who is the world chess champion", "largest planet?": the description is the subject
    (r"^(?:what|who|which)(?:'s|\s+is|\s+was|\s+are)\s+(?P<art>the\s+)(?P<subj>[a-z][a-z0-9 ]{2,60}?)"
     r"(?<!\blike)(?<!\babout)(?<!\bfor)(?<!\bto)(?<!\bdoing)(?<!\bgoing)(?<!\bnow)(?<!\btoday)(?<!\bwith)$", lambda m: "The {} is"),
    (r"^(?P<art>(?:the\s+)?)(?P<subj>(?:largest|biggest|smallest|tallest|highest|longest|oldest|richest|fastest|best|most|current|"
     r"reigning|world|national|official)\b[a-z0-9 ]{2,60})$", lambda m: "The {} is"),
    # "what language is spoken in Argentina", "what currency is used in Japan"
    (r"^(?:what|which)\s+(?P<noun>[a-z]+)\s+(?:is|are)\s+(?P<verb>spoken|used|played|eaten|worn)\s+in\s+(?P<subj>.+)$",
     lambda m: f"The {m.group('noun')} {m.group('verb')} in " + "{} is"),
)


def parse_question(question: str) -> tuple[str, str] | None:
    """(subject, relation) asked about by a simple factual question, or None. A greeting or
    remark in front ("Hey y'all, what's the capital of Tennessee?") is skipped."""
    question = re.sub(r"\b(who|what|where|when|which)\s*,[^,?]{1,40},\s*", r"\1 ", question, flags=re.I)  # "who, if anyone, founded X"
    found = _parse_question(question)
    if found is None:
        # "Can you say me who is ...", "I should like to know, if you would be so kind, which
        # architect designed X, as I intend to visit it": the question clause on its own
        wh = re.search(r"\b(?:who|what|where|when|which|how)\b", question, flags=re.I)
        if wh and wh.start() > 0:
            clause = question[wh.start():]
            found = _parse_question(re.split(r"\s*[,;]\s+", clause)[0]) or _parse_question(clause)
            if found:
                return found
    if found is None and "," in question:
        for clause in re.finditer(r",\s*(?:but\s+|and\s+|so\s+)?(?=(?:who|what|where|when|which|how)\b)", question, flags=re.I):
            found = _parse_question(question[clause.end():])
            if found:
                return found
        found = _parse_question(question.rsplit(",", 1)[1])
    return found


def _parse_question(question: str) -> tuple[str, str] | None:
    original = question.strip().rstrip("?.! ")
    lower = normalise(original).lower().rstrip("?.! ")
    lower = re.sub(r"^(?:(?:and|so|ok|okay|hey|please|wait|hmm+|um+|also|quick q(?:uestion)?|tell me|do you know|"
                   r"can you tell me|could you tell me|would you tell me|(?:would|could|can) you (?:kindly|please) tell me|please tell me|"
                   r"i wonder|i'm wondering|i was wondering|wondering|i'd like to know|"
                   r"i would like to know|i want to know|i need to know|any idea|do you remember|remind me|i forgot|"
                   r"i can't remember|i don't remember)[, ]+)+", "", lower)
    lower = re.sub(r"(?:\s+(?:again|now|these days|currently|please|pls|today|lol|then|tell me once more|once more|anyway))+$", "", lower)
    lower = re.sub(r",\s*(?:tell me|remind me)(?: once more| again)?$", "", lower).rstrip(" ,")
    # an embedded question: "(remind me) who the jets captain is" -> "who is the jets captain"
    lower = re.sub(r"^(who|what|where|when|which)\s+((?:the|a|an|my|our)\s.+?|[a-z0-9' -]+?)\s+(is|was|are|were)$", r"\1 \3 \2", lower)
    # "who is Infosys CEO" -> "who is the ceo of infosys": the role after the name, as people ask it
    lower = re.sub(r"^(who|what)(?:'s| is| was)\s+(?:the\s+)?(?!(?:my|our|your|his|her|their|this|that|the)\b)([a-z0-9][\w&.-]*(?:\s+[\w&.'-]+){0,3}?)"
                   r"(?:'s)?\s+(ceo|cto|cfo|coo|president|mayor|founder|owner|captain|coach|director|chairman|chairwoman|chair|"
                   r"manager|leader|head|principal|headmistress|headmaster|prime minister|vice chancellor|vc|governor|"
                   r"chancellor|boss|editor|conductor|manager|architect|designer|author|inventor)$",
                   r"\1 is the \3 of \2", lower)
    lower = re.sub(r"^how many (?:people|inhabitants|residents|persons) (?:live|reside|are there|are living) in (.+)$|"
                   r"^what(?:'s| is) the number of (?:people|inhabitants|residents) (?:of|in) (.+)$",
                   lambda m: "what is the population of " + (m.group(1) or m.group(2)), lower)
    measure = re.match(r"^how\s+(?P<adj>tall|high|long|old|big|large|far|deep|wide|heavy)\s+(?:is|was|are)\s+(?P<subj>.+)$", lower)
    if measure:
        return (_restore_case(_clean_subject(measure.group("subj")), original),
                f"The {_MEASURES[measure.group('adj')]} of {{}} is")
    for pattern, relation in _QUESTION_PATTERNS:
        match = re.match(pattern, lower)
        if match:
            subj_raw = match.group("subj").strip()
            rel = relation(match)
            if re.match(r"^(the)\s+", subj_raw) and rel.startswith("{}"):
                rel = "The " + rel
            return _restore_case(_clean_subject(subj_raw), original), _restore_case_relation(rel, original)
    return _which_noun_question(lower, original) or _telegraphic_question(original) or _of_fragment_question(original) \
        or _embedded_pronoun_question(original) or _named_question(original)


def _of_fragment_question(original: str) -> tuple[str, str] | None:
    """'latest stable version of the Quarrel build tool?': a noun phrase that asks, of a name."""
    text = original.strip().rstrip("?.! ")
    match = re.match(r"^(?:the\s+)?(?P<r>[a-z][a-z -]{1,40}?)\s+(?:of|for|at|in)\s+(?:the\s+)?(?P<s>[A-Z0-9][\w&'. -]*)$", text)
    if not match or re.search(r"\b(?:is|are|was|were|do|does|did|i|my|me|you|your|we|our)\b", match.group("r")):
        return None
    return _clean_subject(match.group("s")), f"The {match.group('r')} of {{}} is"


_ROLE_WORDS = (r"(?:ceo|cto|cfo|coo|founder|owner|president|mayor|captain|coach|director|chair(?:man|woman)?|manager|leader|"
               r"head|principal|capital|population|currency|version|price|address|location|singer|drummer|author|"
               r"designer|architect|editor|headquarters|hq|motto|slogan|logo|height|age|size|language|boss)")


def _telegraphic_question(original: str) -> tuple[str, str] | None:
    """'Brisco Motors CEO?', 'Quarrel version?': a name and the role asked of it, no verb."""
    text = original.strip().rstrip("?.! ")
    match = re.match(r"^(?:the\s+)?(?P<s>[A-Z0-9][\w&.'-]*(?:\s+[A-Z0-9][\w&.'-]*){0,4})(?:'s)?\s+(?P<r>(?:current\s+|new\s+|latest\s+)?"
                     + _ROLE_WORDS + r")$", text, flags=re.I) or re.match(
        r"^(?:the\s+)?(?P<s>[A-Z0-9][\w&.'-]*(?:\s+[A-Z0-9][\w&.'-]*){0,4})(?:'s)?\s+(?P<r>[a-z]{3,}(?:\s+[a-z]{3,})?)$", text)
    if match and (re.match(r"^(?:how|what|who|where|when|why|which|is|are|do|does|did|can|could|will|would|should|has|have|i|you|"
                           r"it|we|they|he|she|hi|hello|hey|thanks|ok|yes|no)\b", match.group("s"), flags=re.I)
                  or re.search(r"\b(?:you|me|it|we|they|he|she|him|her|them|us)\b", match.group("r"))):
        return None
    if not match or not re.match(r"[A-Z0-9]", match.group("s")) or re.search(
            r"\b(?:now|again|please|pls|today|then|too|lol|here|there|is|are|was|were|does|did|has|have|and|or|but|\w+ing|\w+ed)$",
            match.group("r")):
        return None  # "Velk Harbor ferry operator?" asks; "Paris is lovely" or "Rome again" does not
    role = match.group("r")
    return match.group("s"), f"The {role if role.isupper() else role.lower()} of {{}} is"


def _embedded_pronoun_question(original: str) -> tuple[str, str] | None:
    """'...this little bakery, the Gilded Crumb, and I can't remember who owns it, do you know?':
    the question is asked of "it", and "it" is the name said earlier in the turn."""
    clause = re.search(r"\b(?P<q>(?:who|what|where|when|which)\s+(?:[a-z]+\s+){0,3}?)(?P<p>it|them|this|that one)\b(?P<tail>[^,.;?!]*)",
                       original, flags=re.I)
    if not clause:
        return None
    names = [n for n in re.finditer(r"\b[A-Z][\w&'-]*(?:\s+(?:(?:of|de|the|and|&)\s+)?[A-Z][\w&'-]*)*", original[:clause.start()])
             if n.start() > 0 and n.group(0) not in ("I", "I'm", "I've", "I'd")]
    if not names:
        return None
    name = re.sub(r"^The\s+", "", names[-1].group(0))
    rewritten = f"{clause.group('q')}{name}{clause.group('tail')}"
    return _parse_question(rewritten)


def _named_question(original: str) -> tuple[str, str] | None:
    """The last resort: a question about exactly one name that no pattern knows ("Which town is
    the Gilded Crumb in, by the way?") keys as its own wording around that name, so a
    correction of its answer ("no, it's Pellingham") still has a subject and a relation."""
    text = re.split(r"[?]", original.strip(), maxsplit=1)[0]
    text = re.split(r",\s+(?:by the way|btw|please|then|again|do you know|any idea)\b", text, maxsplit=1)[0].strip(" ,.!")
    lower = text.lower()
    if not re.match(r"^(?:(?:in|at|on|from|to|for|by|since|until)\s+)?(?:who|what|where|when|which|how)\b", lower) or re.search(r"\b(?:i|me|my|we|our|us|you|your)\b", lower):
        return None
    names = [n for n in re.finditer(r"\b[A-Z0-9][\w&'.-]*(?:\s+(?:of\s+|de\s+|the\s+|and\s+|&\s+)?[A-Z0-9][\w&'.-]*)*", text)
             if n.start() > 0]
    if len(names) != 1:
        return None
    name = names[0]
    template = (text[:name.start()] + "{}" + text[name.end():]).strip()
    template = template[0].lower() + template[1:]
    return name.group(0), f'The answer to "{template}?" is'


def _which_noun_question(lower: str, original: str) -> tuple[str, str] | None:
    """'which river runs through the town of Brackenford' -> ('Brackenford', 'The river that runs
    through the town of {} is'): a question no pattern knows, keyed on the name it asks about
    (the last capitalised words), so a correction to its answer still has a subject."""
    match = re.match(r"^(?:which|what)\s+(?P<noun>[a-z]+)\s+(?P<rest>(?!(?:is|are|was|were|do|does|did|of)\b).+)$", lower)
    if not match:
        return None
    start = match.start("rest")
    names = list(re.finditer(r"\b[A-Z][\w&'-]*(?:\s+(?:of\s+|de\s+|the\s+)?[A-Z][\w&'-]*)*", original[start:]))
    if not names:
        return None
    name = names[-1]
    relation = "The {} that {}".format(match.group("noun"), original[start:start + name.start()] + "{}" + original[start + name.end():])
    return name.group(0), relation.rstrip(" ?.!") + " is"


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
    body = re.sub(r"^" + _POLITE, "", lower).rstrip(" .!?")
    body = re.sub(r"^" + _ASK_PREFIX, "", body)
    body = re.sub(r"\s+(?:please|pls|plz|now|thanks|thank you)$", "", body)
    if re.match(r"^(?:undo|revert|roll ?back|go back(?: one| an| a)? (?:edit|step|change)|(?:cancel|reverse|take back|drop|remove) "
                r"(?:the |that |this |my |your )?(?:last |latest |previous )?(?:weight )?(?:edit|change)\b)", body):
        found = re.search(r"\b(?:edit|change)\s+([\w-]*\d[\w-]*|[0-9a-f]{4,})\b", body)
        return Turn("command", original, "undo", command="undo", argument=found.group(1) if found else "")
    if re.match(r"^(?:show|list|display|print|see|view|give me|what are)\b(?:\s+(?:me|all|my|the|your|of|list|a|recent|current|applied|"
                r"please|pls|kindly))*\s+"
                r"(?:edits?|edit history|changes|history|weight edits|model edits)\b", body) or re.match(r"^(?:edits|edit list|my edits|the edits)$", body) \
            or re.match(r"^what (?:edits|changes) (?:have|did) you (?:made|make|done|do)\b|^what have you (?:changed|edited)\b", body) \
            or re.match(r"^(?:show|list|display|pull up|bring up|open|give me)\s+(?:me\s+)?(?:every|all|each|the|my|your)?\s*(?:single\s+)?"
                        r"(?:edits?|changes?)(?:\s+(?:list|log|history))?(?:\s+(?:you've|you have|you) (?:made|done|applied))?$", body) \
            or re.match(r"^(?:what|which) (?:edits|changes|facts|weight edits)(?: are| have| did)? (?:currently |now )?(?:applied|active|in effect|"
                        r"(?:have )?you (?:edited|changed|made|applied))(?: so far| now)?$", body):
        return Turn("command", original, "list edits", command="edits")
    if re.match(r"^(?:(?:explain |tell me |so )?why (?:did|do|would|'d) you (?:say|answer|think|reply|respond)|why that answer|"
                r"why'd you (?:say|answer|reply|think)|"
                r"(?:explain|tell me) why you (?:said|answered|think|replied)|explain (?:that|your) answer|explain yourself|"
                r"why did you (?:tell me|give me|pick|choose|come up with)|"
                r"how did you (?:get|come up with|know) that|where did (?:you get )?that come from|where did you get that|"
                r"show (?:me )?(?:the |your )?(?:trace|facts you used|sources|reasoning)|what (?:facts|sources) did you use|"
                r"what(?:'s| is| was) (?:the |your )?(?:reasoning|logic|basis|source) (?:behind|for|of) (?:that|this|your|the)(?: answer)?|"
                r"how come you (?:answered|said|replied|think|thought)|what made you (?:say|answer|think|reply)|"
                r"why (?:that|this)(?: one)?$|where (?:is|'s) that (?:from|coming from))", body):
        return Turn("command", original, "why", command="why")
    user = re.match(r"^(?:switch|change|set|swap)\s+(?:to\s+|the\s+)?user(?:\s+to|\s+name\s+to)?\s+(\w+)|"
                    r"^(?:switch|change|move) me (?:over )?to\s+(\w+)(?:'s)?(?: profile| account| memory)?$|^(?:switch|change) to\s+(\w+)$|^(?:log ?in|sign in|login|log me in|sign me in) as\s+(?:user\s+)?(\w+)|^i'm user\s+(\w+)$|^this is user\s+(\w+)$", body)
    if user:
        name = next(g for g in user.groups() if g)
        return Turn("command", original, "switch user", command="user", argument=name)
    if re.match(r"^(?:(?:let's |lets )?(?:wipe the slate clean(?: and)? )?reset(?: (?:the|this|our) (?:conversation|chat|session))?(?: everything| this| it)?|"
                r"start over(?:,? (?:a )?(?:fresh|new) (?:conversation|chat))?|(?:a )?fresh (?:conversation|chat|start)|"
                r"start again|start fresh|"
                r"new conversation|new chat|clear (?:the )?(?:history|chat|conversation)|restart(?: the conversation)?|"
                r"start (?:a )?(?:new|fresh) (?:conversation|chat|session)|begin again)$", body):
        return Turn("command", original, "reset", command="reset")
    if body in ("quit", "exit", "stop"):  # "bye bye" is a goodbye (small talk), not a command
        return Turn("command", original, "quit", command="quit")
    if body in ("help", "what can you do", "commands", "help me", "show help", "show commands", "list commands",
                "what are the commands", "what commands are there", "how does this work", "how do i use this", "how do i use you",
                "how do i use you? what commands are there", "how do i use this thing", "what can i do here") or re.match(
                r"^(?:show|open|display|give)(?: me)?(?: the)? (?:help|commands)(?: menu| page| list)?$", body):
        return Turn("command", original, "help", command="help")
    if re.search(_LASTING, body) and re.search(r"\b" + _LASTING_VERBS + r"\b", body):
        rest = re.sub(r"\b" + _LASTING_VERBS + r"\b|" + _LASTING + r"|\b(?:please|in|the|model|it|this|that|these|those|thing|for me|to)\b|[.,!:]", " ", body)
        rest = re.sub(r"\b(?:correction|edit|fact|change|update)s?\b", " ", rest)
        if not rest.strip() or re.fullmatch(r"(?:[\w']+\s*){1,4}", rest.strip()) and not re.search(r"\b(?:is|are|was|lives?|wrote)\b", rest):
            return Turn("command", original, "make lasting", command="lasting", lasting=True)
    return None


def _forget(lower: str, original: str) -> Turn | None:
    for clause in _forget_clauses(lower):
        turn = _forget_clause(clause, original)
        if turn is not None:
            return turn
    return None


def _forget_clauses(lower: str) -> list[str]:
    """The whole turn first, then each clause after the first ("i take it back, forget my age")."""
    parts = [p for p in re.split(r"\s*[,;.!]\s+", lower) if p]
    return [lower] + parts[1:]


def _forget_clause(lower: str, original: str) -> Turn | None:
    body = re.sub(r"^" + _POLITE, "", lower)
    body = re.sub(r"^(?:nah|nope|naw|aye|ach|och|no)[,!.]?\s+", "", body)
    body = re.sub(r"\bma\b(?=\s+[a-z])", "my", re.sub(r"\bye\b", "you", body))  # "can ye forget ma address"
    # "would you mind forgetting X", "I'd prefer you forgot X", "can you stop remembering X"
    body = re.sub(r"^(?:(?:would|do) you mind|(?:could|can|would|will) you (?:please )?)\s*(?=forgetting\b|stop remembering\b)", "", body)
    body = re.sub(r"^(?:i'd|i would) (?:prefer|rather|like it)(?: it)?(?: if)? you (?:forgot|deleted|dropped|erased|removed|binned)\b", "forget", body)
    body = re.sub(r"^(?:stop|quit) remembering\b", "forget", body)
    body = re.sub(r"^((?:(?:would|do) you mind|(?:how|what) about|consider)\s+)(deleting|erasing|removing|wiping|dropping|clearing|scrubbing|purging|"
                  r"discarding|binning)\b", lambda m: {"deleting": "delete", "erasing": "erase", "removing": "remove", "wiping": "wipe",
                  "dropping": "drop", "clearing": "clear", "scrubbing": "scrub", "purging": "purge", "discarding": "discard",
                  "binning": "bin"}[m.group(2)], body)  # "would you mind erasing my age"
    # "I guess you can forget where I was born": a hedge and a permission before the verb
    body = re.sub(r"^(?:(?:i guess|i think|i suppose|maybe|perhaps|honestly|you know what|on second thought|actually)[,]?\s+)*"
                  r"(?:you can|you could|you may|you might as well|feel free to|i'd like you to|i want you to)\s+(?=" + _FORGET_VERBS + r"\b)",
                  "", body)
    if re.match(r"^(?:don't|do not|never)\s+forget\b", body):
        return None
    if re.match(r"^(?:i\s+)?take\s+(?:it|that|this)\s+back\b", body):
        return Turn("forget", original, "take it back", content="")
    out_of = re.match(r"^" + _ASK_PREFIX + r"(?:take|get|keep|leave)\s+(?P<rest>.+?)\s+(?:out of|off|away from)\s+(?:your|the)\s+"
                      r"(?:memory|records?|database|notes|files?|system)\b", body)
    if out_of:
        return Turn("forget", original, "take out of memory", content=_restore_case(out_of.group("rest"), original))
    match = re.match(r"^" + _ASK_PREFIX + _FORGET_VERBS + r"\b\s*(?P<rest>.*)$", body)
    negative = re.match(r"^(?:please\s+)?(?:don't|do not|not|no more|stop|never|(?:that\s+)?you (?:not|no longer|don't|do not)|i don't want you to|i do not want you to|"
                        r"you don't (?:need|have) to|you do not need to|no need to|there's no need to|you needn't|"
                        r"i'd rather you didn't|please don't|i'd prefer you didn't|i would prefer you didn't|i would rather you didn't|"
                        r"i would rather you did not|i'd rather you did not|i would prefer you did not|i'd prefer you did not|"
                        r"i'd prefer you not to|i would prefer you not to|i'd rather you not|i'd prefer if you didn't|"
                        r"i prefer you don't|i'd prefer you not|could you not|can you not|i'd like you to stop|i want you to stop|"
                        r"you shouldn't|you should not|stop|i don't want you|i do not want you|i'd rather you not|"
                        r"i don't want you to|please stop|i'd rather not have you)\s+"
                        r"(?:remember(?:ing)?|keep(?:ing)?|stor(?:e|ing)|sav(?:e|ing)|hold(?:ing)? on ?to|track(?:ing)?|retain(?:ing)?|"
                        r"record(?:ing)?|log(?:ging)?|hang(?:ing)? on ?to|note|noting|memori[sz](?:e|ing))\b\s*(?P<rest>.*)$", body)
    found = match or negative
    if not found:
        return None
    rest = re.split(r"(?<=[?!.])\s+(?=\w)", found.group("rest"), maxsplit=1)[0]  # "...my cafe's name? Sorry, it's private."
    rest = re.sub(r"\s*(?:from|in|out of)\s+(?:your|the)\s+memory\b|\bplease\b|\b(?:anymore|any more|for me|now)\b|[?.!]+$",
                  "", rest).strip(" ,")
    rest = re.sub(r"^(?:from|out of|off)\s+(?:your|the)\s+(?:memory|records?|notes|files?|database|system|list)\s+", "", rest)
    rest = re.sub(r"^(?:any|all|every)\s+(?:mention|record|trace|reference|note)s?\s+(?:of|to|about)\s+", "", rest)
    rest = re.sub(r"^(?:about|that|what i (?:said|told you|mentioned) (?:about|regarding)|everything (?:about|on)|"
                  r"the fact that|the fact about|all (?:the )?(?:info|information|stuff|details) (?:about|on)|"
                  r"(?:the )?(?:info|information|stuff|details|thing|bit|part) (?:about|on))\s+", "", rest)
    rest = re.sub(r"\s*[,;]\s*(?:my|i|i'm|because|since|he|she|they|we|it's|as|cause|cuz)\b.*$", "", rest)  # a reason
    rest = re.sub(r"(?:,?\s+(?:lol|haha|pal|mate|buddy|dude|thanks|please|if (?:that's|that is|it's) (?:alright|ok|okay|possible|fine)|"
                  r"if you (?:can|could|would|don't mind)))+$", "", rest)  # "my address, pal", "my wife's name, if that's alright"
    rest = re.sub(r"(?:(?:^|\s+)(?:actually|please|now|then|too|as well|for now|again|ok|okay|thanks))+$", "", rest)
    rest = re.sub(r"^(?:it|that|this)(?:,.*|\s+(?:i|you).*)?$", "", rest)  # "forget it, i don't want that stored"
    rest = re.sub(r"^the\s+(.+?)\s+(?:thing|stuff|info|part|bit)$", r"\1", rest)  # "the dog thing"
    rest = re.sub(r"^my\s+(.+?)\s+(?:info|information|details|stuff)$", r"my \1", rest)
    return Turn("forget", original, "forget verb" if match else "don't remember", content=_restore_case(rest, original))


def _is_question(lower: str) -> str | None:
    if lower.rstrip().endswith("?"):
        return "question mark"
    body = re.sub(r"^" + _POLITE, "", lower).lstrip(" ,")
    if re.match(r"^" + _QUESTION_START, body):
        return "question word"
    if re.match(_INDIRECT_QUESTION, body):
        return "indirect question"
    if re.search(_EMBEDDED_QUESTION, body):
        return "embedded question"
    last = re.split(r"\s*[,;:]\s+", body)[-1]
    if last != body and re.match(r"^(?:but\s+|so\s+|and\s+)?(?:what|where|who|when|which|why|how)(?:'s)?\s+(?:is|are|was|were|do|does|"
                                 r"did|can|could|would|will|should|has|have|about|many|much|long|old|far|come)\b", last):
        return "question in the last clause"
    if re.match(_FRAGMENT_QUESTION, body) and not re.search(r"\b(?:is|are|was|were|has|have|had)\b", body):
        return "question fragment"
    return None


# "I should like to know, if you would be so kind, which architect designed X", "can you say me
# who is ...": a verb of asking or knowing, then a question word within a few words of it
_EMBEDDED_QUESTION = (
    r"^(?:[\w']+\s+){0,4}?(?:(?:like|love|want|wish|need|wanna|have) to (?:know|find out|learn|ask)|(?:tell|say|show|remind|ask)(?: to)? (?:me|us)|"
    r"let (?:me|us) know|wonder(?:ing)?|curious|ask(?:ing)? you)\b[^.!]{0,60}?\b(?:who|what|where|when|which|whether|how)\b"
)
# "I forgot where the Louvre is", "i need to know the capital of kenya", "looking for ..."
_INDIRECT_QUESTION = (
    r"^(?:i\s+)?(?:forgot|forget|can't remember|cannot remember|don't remember|do not remember|have no idea|had no idea|"
    r"no idea|not sure|am not sure|i'm not sure|don't know|do not know|dunno|wonder|was wondering|am wondering|"
    r"need to know|needed to know|want to find out|wanna know|want to know|would love to know|'d love to know|"
    r"am curious|'m curious|curious)\s+(?:about\s+)?(?:where|who|what|when|which|why|how|whether|if|the\s+\w+\s+of)\b"
    r"|^(?:i'm\s+|i am\s+|im\s+|i\s+)?(?:looking for|searching for|trying to find|trying to remember|help me find|"
    r"find out|look up|search for|need|want)\s+(?:the\s+)?(?:name|capital|ceo|president|author|currency|population|"
    r"height|founder|location|language|leader|mayor|address|answer|date|year|owner|director|inventor)\b"
    r"|^(?:guess what|got any idea|any clue|any idea|got a clue)\b"
)
# "capital of peru", "eiffel tower location", "ceo of tesla pls": a noun phrase that asks
_ASKED_NOUNS = (r"(?:capital|ceo|president|author|writer|currency|population|height|founder|location|language|languages|"
                r"leader|mayor|prime minister|king|queen|owner|director|inventor|creator|composer|painter|birthplace|"
                r"spouse|wife|husband|age|birthday|date|year|size|area|distance|meaning|definition|price|cost|time|"
                r"weather|boiling point|speed|chairman|head|coach|capital city|national animal|official language)")
_FRAGMENT_QUESTION = (r"^(?:the\s+)?(?:current\s+|official\s+)?" + _ASKED_NOUNS + r"\s+of\s+\S+"
                      r"|^(?!.*\b(?:i|we|my|our|last|this|next|every|each)\b)(?:[a-z][\w']*\s+){1,3}" + _ASKED_NOUNS
                      + r"(?:\s+(?:pls|please|again|now))?[\s.!]*$")


def _about_user(text: str) -> bool:
    return bool(re.search(_FIRST_PERSON, text))


def classify_turn(message: str, last_question: str | None = None, last_answer: str | None = None,
                  topic: str | None = None) -> Turn:
    """The type of `message` given the previous exchange, with what it carries (see
    `_classify_turn`). A bare disagreement with an answer ("you're wrong", "that's wrong
    though") is a correction that lacks its value: the agent asks for it and stores nothing."""
    turn = _classify_turn(message, last_question, last_answer, topic)
    if turn.type == "chitchat" and turn.small_talk == "disagreement" and last_answer:
        return Turn("correction", turn.text, "disagreement without the right answer", small_talk="disagreement")
    return turn


def _classify_turn(message: str, last_question: str | None = None, last_answer: str | None = None,
                   topic: str | None = None) -> Turn:
    """The type of `message` given the previous exchange, with what it carries.

    Small-talk clauses at either end are set aside first ("thanks, but it's Canberra"); a
    turn made only of them is ``chitchat``. A statement becomes a fact only when it holds
    a subject and a value in the user's own words; anything else is chitchat too.
    `topic` is the user's own person or thing the conversation is about ("my ferret"): a
    pronoun statement ("her name is Juno") is about it."""
    from editmind.agent import smalltalk

    original = message.strip()
    lower = normalise(original).lower()
    if not lower:
        return Turn("chitchat", original, "empty", small_talk="empty")
    if lower.startswith("/"):
        return _command(lower, original)  # type: ignore[return-value]
    whole = smalltalk.is_small_talk(original)
    if whole and not _holds_personal_fact(original) and (whole == "never mind" or not (_forget(lower, original) or _command(lower, original))):
        return Turn("chitchat", original, f"small talk ({whole})", small_talk=whole)
    kinds, rest = smalltalk.split_small_talk(original)
    rest = re.sub(r"^(?:but|and|so|though|tho)\s+", "", rest or original, flags=re.I)
    rest = re.sub(r"^(?:the\s+)?name'?s\s+(?=[A-Za-z])", "my name's ", rest, flags=re.I)  # "name's Tomasz"
    rest = re.sub(r"^(?:my\s+)?([a-z]+)\s*:\s*(?=[A-Z][\w'-]*[.!]?$)", lambda m: f"my {m.group(1).lower()} is ", rest)  # "dog: Bruno."
    rest = re.sub(r"\b([A-Z][\w'-]+)'s my ([a-z]+(?: [a-z]+)?)(?= now\b|[.!,]|$)", r"my \2 is \1", rest)  # "Kaja's my best friend now"
    rest = re.sub(r"^(?:the\s+)?([a-z]+)'?s\s+name\s*[:=\-]\s*(?=\S)", lambda m: f"my {m.group(1).lower()}'s name is ", rest, flags=re.I)  # "Dog's name: Mocha."
    # "got a new dispatcher this week her name's Tamsin": the pronoun is the new one
    rest = re.sub(r"^(?:(?:i|we)(?:'ve| have)?\s+)?(?:just\s+)?got\s+(?:a|an)\s+new\s+([a-z]+)\b[^,.;!?]*?[,;.]?\s+(?:her|his|their|its)\s+"
                  r"name(?:'s|\s+is)\s+", r"my new \1's name is ", rest, flags=re.I)
    rest = re.sub(r"^(?i:(?:got a |a |my )?new (?P<n>job|position|role|gig|employer|house|home|flat|place|apartment|school|car|ride)\b"
                  r"(?:\s+(?:at|in|is|:))?[.!:,;\s-]+(?:(?:a|an|the)\s+)?)(?P<v>[A-Z][\w&'. -]*?)(?=[,.;!]|$)",
                  lambda m: {"job": "I work at ", "position": "I work at ", "role": "I work at ", "gig": "I work at ", "employer": "I work at ",
                             "house": "I live in ", "home": "I live in ", "flat": "I live in ", "place": "I live in ",
                             "apartment": "I live in ", "school": "I go to ", "car": "I drive ", "ride": "I drive "}[m.group("n").lower()]
                  + m.group("v") + " now", rest)  # "New job. Drellin Labs, started Monday."
    tagged = _TAG_QUESTION.search(rest)
    if tagged and not _is_question(normalise(rest[:tagged.start()]).lower().strip(" ,")):
        rest = rest[:tagged.start()].rstrip(" ,;") or rest  # "..., you know?" / "mind if I ask you some stuff?": no question asked
        if not rest.strip(" ,.!?"):
            return Turn("chitchat", original, "small talk (meta)", small_talk="meta")
    rest_lower = normalise(rest).lower()
    turn = _command(rest_lower, original) or _forget(rest_lower, original)
    if turn:
        return turn
    trigger = _is_question(rest_lower)
    if trigger == "question word" and re.match(r"^(?:(?:no+|nope|nah|wrong|not)[,.!]?\s+)+(?:sorry[,]?\s+)?(?:is|was)\s+\S", rest_lower) \
            and (len(rest_lower.split()) <= 6 or "?" not in rest_lower):
        trigger = None  # "No, is Angel Haro", "No no, is not Samsung. The K9 is made by Orvane": an answer said without "it"
    if trigger:
        if smalltalk.about_assistant(rest):
            return Turn("chitchat", original, "question about the assistant", small_talk="assistant")
        return Turn("question", original, trigger, content=rest.strip())
    if smalltalk.about_assistant(rest) and not _holds_personal_fact(rest):
        return Turn("chitchat", original, "question about the assistant", small_talk="assistant")
    return _statement(original, rest, last_question, last_answer, tuple(kinds), topic)


# a question tag or a request for permission at the end of a turn asks nothing
_TAG_QUESTION = re.compile(
    r"(?:^|[,;.!]\s*)(?:(?:do you |would you )?mind if i (?:ask|pick|run|throw)\b[^?]*|(?:can|could|may) i ask (?:you )?"
    r"(?:a |some |a few |a couple of |few )?(?:things?|stuff|questions?|something)\b[^?]*|is it ok(?:ay)? if i ask\b[^?]*|"
    r"you know|you see|right|innit|isn't it|eh|yeah|no)\s*\?+\s*$", re.I)


def _holds_personal_fact(text: str) -> bool:
    """Some sentence or clause states a fact about the user ("let's test your memory: my
    parrot is called Captain Fluff"): a remark to the assistant around it does not hide it."""
    from editmind.agent.personal import states_a_fact

    units, _, _ = _fact_units(text)
    return any(_about_user(u.lower()) and states_a_fact(u) for u in units)


_NO_CONTENT_FIRST_PERSON = re.compile(
    r"^(?:i|we)(?:'m|'d| am| was| do| did| really| just| also| totally| kinda| sort of| kind of)*\s+"
    r"(?:(?:not\s+)?(?:think|believe|guess|suppose|agree|disagree|know|see|understand|mean|hope|wonder|like|love|hate|"
    r"enjoy|want|need|get|got|appreciate|doubt|care|mind|meant|said|asked|told you|was asking|was wondering|forgot|remember)"
    r"(?:\s+(?:so|that|this|it|you|too|not|either|one|them|what you mean|that one|about it|about that|it too))*"
    r"|(?:not\s+)?(?:sure|kidding|joking|back|here|done|ok|okay|fine|good|great|confused|lost|bored|tired|curious|"
    r"impressed|glad|sorry|happy|sad|ready|listening|asking|wondering|testing|trying))[\s.!]*$"
)


def _statement(original: str, rest: str, last_question: str | None, last_answer: str | None,
               small_talk: tuple[str, ...] = (), topic: str | None = None) -> Turn:
    """A statement, read sentence by sentence: small talk, disagreement ("I'm afraid that
    is not correct") and self-corrections ("I misspoke") around the fact are set aside, and
    the first part that holds a fact decides."""
    # "the chair of the Marlow club, that's Alan Pertwee now": the subject said first, then its value
    rest = re.sub(r"^(?:(?:now|and|oh|so|well)[,]?\s+)?(the\s+[^,]{3,60}?),\s+(?:that's|that is|thats|it's|it is|its|that'll be)\s+",
                  r"\1 is ", rest, flags=re.I)
    units, marked, kinds = _fact_units(rest)
    small_talk = small_talk + tuple(kinds)
    if not units:
        kind = "disagreement" if marked else ((small_talk or ("acknowledgement",))[0])
        return Turn("chitchat", original, f"small talk ({kind})", small_talk=kind)
    if len(units) == 1:
        turn = _statement_unit(original, units[0], last_question, last_answer, small_talk, marked, topic)
        if turn.type == "chitchat" and "," in units[0]:
            return _by_clause(original, units[0], last_question, last_answer, small_talk, marked, turn, topic)
        return turn
    whole = ", ".join(units)
    first = _statement_unit(original, whole, last_question, last_answer, small_talk, marked, topic)
    if first.type == "personal_fact" or (first.type == "correction" and first.correction and first.correction.complete
                                          and not first.confirm):
        return first
    asks_first = None
    for unit in units:
        turn = _statement_unit(original, unit, last_question, last_answer, small_talk, marked, topic)
        if turn.type == "correction" and turn.confirm and turn.correction and turn.correction.complete:
            asks_first = asks_first or turn  # a bare value ("back."): a later sentence about the user wins over it
            continue
        if turn.type in ("personal_fact",) or (turn.type == "correction" and turn.correction and turn.correction.complete):
            return turn
    return asks_first or first


def _by_clause(original: str, unit: str, last_question: str | None, last_answer: str | None,
               small_talk: tuple[str, ...], marked: bool, whole: Turn, topic: str | None = None) -> Turn:
    """"1994 actually, 1990 is when he got out of prison": when the whole sentence holds no
    fact, its first clause that does."""
    for clause in re.split(r"\s*,\s+", unit)[:3]:
        turn = _statement_unit(original, clause, last_question, last_answer, small_talk, marked, topic)
        if turn.type in ("personal_fact",) or (turn.type == "correction" and turn.correction and turn.correction.complete):
            return turn
        if turn.type == "correction" and whole.type == "chitchat":
            whole = turn  # a value without a subject: ask, rather than let it pass as small talk
    return whole


_ABBREVIATIONS = re.compile(r"(?:\b(?:st|mr|mrs|ms|dr|prof|jr|sr|mt|ft|vs|etc|no|inc|ltd|co|e\.g|i\.e)|\b[a-z])\.$", re.I)


def _sentences(text: str) -> list[str]:
    """Sentences, not split after an abbreviation or an initial ("St. Brennan's", "J. K. Rowling")."""
    out: list[str] = []
    for piece in re.split(r"(?<=[.!?])\s+", text.strip()):
        if out and _ABBREVIATIONS.search(out[-1]):
            out[-1] = f"{out[-1]} {piece}"
        else:
            out.append(piece)
    return out


def _fact_units(rest: str) -> tuple[list[str], bool, list[str]]:
    """The sentences of `rest` that may hold a fact, whether a disagreement was set aside,
    and the kinds of small talk set aside."""
    from editmind.agent import smalltalk

    units, marked, kinds = [], False, []
    for sentence_text in _sentences(rest):
        clauses = [c for c in re.split(r"\s*[,:;]\s+|\s+[-\u2013\u2014]\s+", sentence_text.strip(" .!?")) if c.strip()]

        def drop(clause: str) -> bool:
            nonlocal marked
            kind = smalltalk.clause_kind(clause)
            if kind:
                kinds.append(kind)
                return True
            if smalltalk.is_disagreement(clause):
                marked = True
                return True
            core, corrected = _strip_front(normalise(clause).lower())
            if not core.strip(" .,!?"):
                marked = marked or corrected
                return True
            return False

        while clauses and drop(clauses[0]):
            clauses.pop(0)
        while clauses and drop(clauses[-1]):
            clauses.pop()
        if clauses:
            units.append(", ".join(clauses))
    return units, marked, kinds


def _statement_unit(original: str, rest: str, last_question: str | None, last_answer: str | None,
                    small_talk: tuple[str, ...] = (), marked: bool = False, topic: str | None = None) -> Turn:
    """A statement: a personal fact, a world correction, or (no fact in it) chitchat."""
    from editmind.agent.personal import parse_personal, resolve_pronoun

    lower = normalise(rest).lower()
    lasting = bool(re.search(r"\b" + _LASTING + r"\b", lower))
    cleaned = re.sub(r"\b(?:remember|keep|store|save)\s+" + _LASTING + r"(?:\s+that)?\b", "remember that", lower) if lasting else lower
    core, corrected = _strip_front(cleaned)
    corrected = corrected or marked
    core_original = _restore_case(core, rest) if core else rest
    if not core.strip(" .,!?"):
        return Turn("chitchat", original, "small talk (disagreement)" if corrected else "small talk", small_talk="disagreement"
                    if corrected else "acknowledgement")
    core = re.sub(r"[\s,]+(?:i think|i believe|i reckon|i guess|i suppose|i'm told|i heard|if i'm not mistaken|if i remember "
                  r"(?:right|correctly)|i'm pretty sure|i'm fairly sure)[\s.!]*$", "", core)
    core_original = _restore_case(core, rest) if core else rest
    context = " ".join(filter(None, (last_question, last_answer)))
    from editmind.agent.personal import is_personal_question, parse_personal_question

    personal_context = bool(last_question and is_personal_question(last_question))
    pronoun_about_user = bool(re.match(r"^(?:she|he|they|she's|he's|they're|her|his|their)\b", core)
                              and (personal_context or (topic or "").startswith("my ")))
    # "just moved to denver", "got a job at Lidl": the user, with the "I" left out
    if re.match(r"^(?:just |recently |finally |also )?(?:moved|relocated|started (?:working|a new job)|got (?:a (?:new )?job|hired|married|"
                r"engaged)|live in|living in|work at|work for|working at|working for|adopted|bought|married|"
                r"(?:switched|changed|swapped) (?:jobs?|teams?|clubs?|schools?|companies|employers?|[a-z]+s)|starting (?:at|with)|started (?:at|with)|"
                r"drive|driving|drives|own|sold|"
                r"joined)\b", core):
        gerund = re.match(r"^(?:just |recently |finally |also )?[a-z]+ing\b", core) is not None  # "driving a Kia Ceed now"
        core, core_original = ("i'm " if gerund else "i ") + core, ("I'm " if gerund else "I ") + (core_original[:1].lower() + core_original[1:])
    from editmind.agent.personal import with_owner

    if not last_answer or personal_context:  # right after a world answer, "coach is X" is about that answer
        owned = with_owner(core_original)
        if owned != core_original:
            core, core_original = normalise(owned).lower(), owned
    if re.match(r"^(?:you|you're|your|ur|u|you've|youre)\b", core) and not corrected:
        return Turn("chitchat", original, "a remark to the assistant", small_talk="remark")  # "you're quicker than my IT dept"
    if re.search(r"\b(?:(?:sounds|seems|looks) (?:about )?(?:right|correct|good|plausible)|that's right|thats right|is right|"
                 r"that is right|that's correct|thought so)$", core) and not corrected:
        return Turn("chitchat", original, "agreement", small_talk="agreement")  # "yeah 2004 sounds right"
    if _about_user(core) or pronoun_about_user:
        from editmind.agent.personal import names_something, states_a_fact

        from editmind.agent.personal import is_transient_state

        if _NO_CONTENT_FIRST_PERSON.match(core) or is_transient_state(core) or not (
                pronoun_about_user or states_a_fact(core) or names_something(core_original)):
            return Turn("chitchat", original, "first person, no fact", small_talk="feeling")
        resolved = resolve_pronoun(core_original, last_question, topic) if pronoun_about_user else core_original
        trigger = "first person" if not pronoun_about_user else "pronoun about the user's last topic"
        statement = parse_personal(resolved, topic)
        if statement is None and "," in core_original:  # "ok we switched, his pediatrician is Dr. Banerjee now"
            for clause in re.split(r"\s*,\s+", core_original)[1:]:
                candidate = resolve_pronoun(clause, last_question, topic)
                found = parse_personal(candidate, topic)
                if found is not None:
                    resolved, statement = candidate, found
                    break
        resolved = re.sub(r"(?:[\s,]+(?:lol+|haha+|lmao+|rofl|xd|btw|tbh|fyi|ngl))+[\s.!]*$", "", resolved, flags=re.I)  # "named Biscuit lol"
        return Turn("personal_fact", original, trigger, content=_sentence(resolved), statement=statement, lasting=lasting)
    if "agreement" in small_talk and not corrected and len(core.split()) <= 3 and not _about_user(core) and not re.search(
            r"\b(?:is|are|was|were|lives?|works?|moved)\b", core):
        return Turn("chitchat", original, "agreement with a value", small_talk="agreement")  # "yep, the Transit, that's it"
    if "agreement" in small_talk and not corrected and last_answer and len(core.split()) <= 4 and re.search(
            r"\b" + re.escape(core.strip(" .!?").lower()) + r"\b", last_answer.lower()):
        return Turn("chitchat", original, "agreement that repeats the answer", small_talk="agreement")  # "right, Zoe"
    agent_knew = bool(last_answer and not re.search(r"\b(?:don't know|do not know|haven't told|not sure|no idea)\b",
                                                    last_answer.lower()))
    if personal_context and not corrected_world(core) and not re.match(r"^(?:you|you're|your|ur|u)\b", core) \
            and (not agent_knew or corrected) and _looks_like_a_value(core_original):
        from editmind.agent.personal import answer_as_statement

        return Turn("personal_fact", original, "answer to a question about the user",
                    content=answer_as_statement(core_original, last_question or ""),
                    statement=parse_personal(answer_as_statement(core_original, last_question or "")), lasting=lasting)
    corrected = corrected or bool(re.search(r"\b(?:actually|instead|not\s+\w+)\s*[.!]*$", core))
    correction = extract_correction(rest, last_question, last_answer)
    problem = correction_problem(correction, core, corrected, last_answer)
    if problem == "agrees":
        return Turn("chitchat", original, "agrees with the last answer", small_talk="agreement")
    if problem in ("no value", "no subject") and last_answer and not personal_context:
        owned = with_owner(core_original)  # "Delivery van's a white Transit." after a world answer: no value for that
        if owned != core_original:         # answer, so it is the user's own van after all
            return _statement_unit(original, owned, None, None, small_talk, marked, topic)
    if problem == "no subject" and (corrected or re.search(r"[A-Z0-9]", correction.target_new or "")):
        return Turn("correction", original, "a value, but no subject to attach it to", content=_sentence(core_original),
                    correction=Correction(None, None, correction.target_new), lasting=lasting)
    if problem in ("no value", "no subject"):
        if corrected and last_question:
            return Turn("correction", original, "correction marker, value unclear", content=_sentence(core_original),
                        correction=Correction(correction.subject, correction.relation, None, correction.target_true,
                                              correction.question), lasting=lasting)
        from editmind.agent.personal import is_transient_state

        kind = "disagreement" if corrected else ("feeling" if is_transient_state(core) else "remark")
        return Turn("chitchat", original, "statement without a fact", small_talk=kind)
    if problem == "bare value" and "agreement" in small_talk:
        return Turn("chitchat", original, "agreement with a value", small_talk="agreement")  # "yep, tolstoy"
    if problem == "bare value":
        return Turn("correction", original, "bare value after a question", content=correction.text or _sentence(core_original),
                    correction=correction, lasting=lasting, confirm="a bare value: confirm before storing")
    trigger = "correction marker" if corrected else ("short answer after an answer" if last_answer else "world statement")
    return Turn("correction", original, trigger, content=correction.text or _sentence(core_original),
                correction=correction, lasting=lasting)


def _looks_like_a_value(core: str) -> bool:
    """A short answer that can be stored as a value: not small talk, not a sentence about
    something else ("ok bet", "that will be all" are not values)."""
    from editmind.agent import smalltalk

    words = core.split()
    if not words or len(words) > 8 or smalltalk.is_small_talk(core) or smalltalk.clause_kind(core):
        return False
    if not re.search(r"[A-Z0-9]", core[1:]) and re.search(
            r"\b(?:is|are|was|were|am|has|have|had|will|would|can|could|should|must|gonna|gotta|'re|'m)\b", core.lower()) \
            and not re.match(r"^(?:it|that|he|she|they)(?:'s| is| was)\s", core.lower()):
        return False  # "ovens are calling": a clause about something else, with no name or number to store
    if re.search(r"\b(?:forget|delete|remove|erase|undo)\b|\b(?:that|it|this)[\s.!]*$", core.lower()):
        return False  # "abeg forget that" answers nothing
    pronoun = re.match(r"^(?:it|that|this|these|those|there|which|what)(?:'s|'re| is| was| are| were| seems| sounds| looks|"
                       r"'d be| would be| will be|'ll be)\s+(?P<rest>.*)", core, flags=re.I)
    remark = pronoun and not re.search(r"[A-Z0-9]", pronoun.group("rest")) and (
        len(pronoun.group("rest").split()) >= 3 or _OPINION.search(pronoun.group("rest").lower()) or re.match(
            r"^(?:an?|the|so|very|really|too|been|not|just|quite|pretty|kinda|such|getting|going|all|only|fine|ok|okay|true|"
            r"false|what|how|about|more|less|good|bad|sad|shame|pity|right|wrong|weird|odd|strange|interesting)\b",
            pronoun.group("rest").lower()))
    if remark or re.search(r"\b(?:you|your|yours|u|ur)\b", core.lower()):
        return False  # "it is very kind of you", "that's a shame": a remark about the talk, not a value ("it's Harrogate" is one)
    return not any(smalltalk.clause_kind(w) in ("thanks", "agreement", "goodbye", "greeting") for w in words[-2:])


def corrected_world(core: str) -> bool:
    """A full statement about the world ("the capital of chile is santiago"), which stays a
    world fact even when it follows a question about the user."""
    statement = parse_statement(core)
    return bool(statement and statement.subject and not re.match(_THIRD_PRONOUN, statement.subject.lower())
                and not _about_user(statement.subject.lower()) and statement.relation not in ("{} is", "The {} is"))


_OPINION = re.compile(
    r"\b(?:the (?:best|worst|greatest|coolest|nicest|prettiest|funniest|most beautiful|most overrated|goat)|best|worst|"
    r"gorgeous|beautiful|lovely|stunning|amazing|awesome|incredible|fantastic|wonderful|brilliant|masterpiece|overrated|"
    r"underrated|terrible|horrible|awful|boring|ugly|cute|delicious|tasty|yummy|disgusting|fun|funny|hilarious|great|"
    r"cool|nice|sick|dope|trash|rubbish|garbage|mid|goated|peak|overhyped|so good|so bad|too expensive|pricey|superb|"
    r"excellent|perfect|spot on|bang on|genius|legend|wild|mad|insane|crazy|epic|iconic|elite|"
    r"a (?:joke|disaster|vibe|mess|gem|classic|banger|nightmare|dream|pain|treat|scam|rip-off|letdown)|my favou?rite)\b")


_NOT_VALUES = frozenset({
    "it", "that", "this", "there", "here", "them", "him", "her", "they", "he", "she", "one", "something", "so", "too",
    "me", "you", "us", "we", "i", "what", "which", "who", "answer", "the answer", "right", "wrong", "correct",
    "incorrect", "true", "false", "yes", "no", "not", "none", "nothing", "everything", "same", "the same",
})


def correction_problem(correction: Correction, core: str, corrected: bool, last_answer: str | None) -> str | None:
    """Why a parsed correction must not be written as it is, or None when it may.

    ``no value``: no subject, or the value is a pronoun, an acknowledgement, an opinion
    ("Paris is beautiful") or missing; ``agrees``: the value is what the agent just said;
    ``bare value``: the whole turn is the value, with no marker ("Canberra" after a
    question) - it may be an answer to something else, so the agent asks first."""
    from editmind.agent import smalltalk

    target, subject = (correction.target_new or "").strip(), (correction.subject or "").strip()
    if not target:
        return "no value"
    low = target.lower().strip(" .!?")
    if low in _NOT_VALUES or smalltalk.clause_kind(low) or smalltalk.is_disagreement(low):
        return "no value"
    if re.match(r"^(?:which|what|who|whom|whose|where|when|how|whether)\b", low):
        return "no value"  # "designed by which architect": a question's words, never a value
    if re.match(r"^(?:it|that|this|they|he|she|there)\b", low) and len(low.split()) <= 2:
        return "no value"
    if re.search(r"\b(?:him|her|it|them|that|this|one|us|me|you)$", low) and not re.search(r"[A-Z0-9]", target):
        return "no value"  # "named him": the value is a pronoun
    if re.match(r"^(?:she|he|they|i|you|we|it)\s+\w+", low) and not re.match(r"^it(?:'s| is| was)\b", low):
        return "no value"
    if not corrected and not re.search(r"[A-Z0-9]", target) and re.match(
            r"^(?:it|that|this|thats|its)(?:'s| is| was| would be|'d be| will be|'ll be)?\s", core.lower().strip()) and (
            len(low.split()) >= 4 or re.match(r"^(?:an?|the|so|very|really|too|been|not|just|quite|pretty|kinda|kind of|such|"
                                              r"getting|going|all|only|fine|ok|okay|true|false|what|how|about|more|less)\b", low)):
        return "no value"  # "that's a shame", "it's a pity": a remark, with no name or number to store
    if not subject or subject.lower() in _NOT_VALUES:
        return "no subject"
    if _OPINION.search(low) and (not corrected or not re.search(r"[A-Z0-9]", target)):
        return "no value"  # "Lisbon is gorgeous in May", "Python is the best language": an opinion, not a fact to edit
    bare_copula = (correction.relation or "") in ("{} is", "The {} is", "{} are", "The {} are")
    if bare_copula and not corrected and not re.search(r"[A-Z0-9]", target) and not re.match(r"^(?:an?|the)\s", low):
        return "no value"  # "the sky is blue", "paris is beautiful": a description, not a fact to edit
    said = answer_entity(last_answer, subject) if last_answer else None
    if said and said.lower().strip(" .") == low and not corrected:
        return "agrees"  # "yes, Paris is the capital" right after the agent said Paris
    whole = core.lower().strip(" .!?")
    if not corrected and whole == low:
        if not re.search(r"[A-Z0-9]", target) and len(low.split()) < 2:
            return "no value"  # "bet", "dear": a word, not a value to store
        return "bare value"
    return None


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
        r"^(?P<new>.+?(?<!\bis)(?<!\bwas)(?<!\bare)(?<!\bdoes)(?<!\bdo)(?<!\bdid)(?<!\bhas))\s+not\s+(?P<old>(?:the\s+)?[\w'-]+(?:\s+[\w'-]+)?)$",
        r"^(?P<old>.+?)\s+(?:isn't|is not|is no longer|isnt)\s+(?P<role>.+?)(?:\s+any ?more)?[,;]\s*(?:it's|it is|its)\s+(?P<new>.+)$",
        r"^(?P<old>.+?)\s+(?:isn't|is not|is no longer|isnt)\s+(?P<role>.+?)(?:\s+any ?more)?[,;]\s*(?P<new>.+?)\s+is$",
        r"^(?P<old>.+?)\s+is\s+(?:wrong|incorrect)[,;]\s*(?P<new>.+)$",
        r"^(?P<pre>.+?)\s+no longer\s+(?:in\s+)?(?P<old>.+?)[,;]\s*(?:it's|it is)\s+(?P<new>.+)$",
    )
    for pattern in patterns:
        match = re.match(pattern, core, flags=re.I)
        if match:
            new = match.group("new")
            if "pre" in match.groupdict() and match.group("pre"):
                new = f"{match.group('pre')} {new}"
            role = match.groupdict().get("role")
            if role and re.match(r"^(?:in|at|on|from|located in|based in|part of)\b", role):
                # "the Eiffel Tower is no longer in Paris; it is in Rome": the subject stays, the place changes
                place = re.sub(r"^(?:located in|based in|in|at|on|from|part of)\s+", "", role)
                return f"{match.group('old')} is {new}".strip(), _clean_entity(place)
            if role:
                new = f"{new} is {role}"
            return new.strip(), _clean_entity(match.group("old"))
    return core, None


def _bare_answer(core: str) -> str | None:
    """'it's Rome' / 'the answer is Rome' / 'Rome' / 'it was X' / 'X wrote it' -> the answer."""
    patterns = (
        r"^(?:the (?:right |correct )?answer (?:is|should be)|it (?:should|must|might|may|could|would) be|(?:might|may|could) be|"
        r"it's probably|it is probably|probably|maybe|perhaps|it's been moved to|it has been moved to|"
        r"it was moved to|it moved to|she speaks|he speaks|they speak|it was|it's|it is|that's|that is|"
        r"he's|she's|they're|he is|she is|they are|he was|she was|they were|he plays for|she plays for|he moved to|she moved to|"
        r"they use|they speak|it uses|they have|it has)\s+(?:in\s+|at\s+|with\s+|for\s+|now\s+|actually\s+|really\s+|"
        r"still\s+|in fact\s+|definitely\s+|obviously\s+|clearly\s+)*(?P<ans>.+)$",
        r"^(?P<ans>.+?)\s+(?:did|does|do|was|has|had)(?:\s+(?:it|that|this))?$",
        r"^(?:is|was|it's|its)\s+(?P<ans>.+)$",
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


_DISCOURSE_WORDS = frozenset({
    "no", "nope", "nah", "naw", "not", "wrong", "actually", "hmm", "erm", "um", "uh", "oh", "well", "sorry", "ugh", "oops",
    "yes", "yeah", "yep", "ok", "okay", "it", "it's", "its", "that", "that's", "this", "the", "i", "i'm", "i've", "i'd",
    "wait", "hang", "hold", "update", "fyi", "dear", "mate", "incorrect", "correction", "nonsense", "rubbish", "wow",
    "honestly", "look", "listen", "so", "and", "but", "everyone", "you", "you're", "your", "he", "she", "they", "there",
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january", "february", "march",
    "april", "june", "july", "august", "september", "october", "november", "december", "easter", "christmas",
})
_NAME_SPAN = re.compile(r"\d[\d,.]*(?:\s*(?:million|billion|thousand|bn|m|k|%|percent))?\b"
                        r"|[A-Z][\w&'.-]*(?:\s+(?:of|the|de|da|van|von|del|la|le|du|and|&|[A-Z][\w&'.-]*)\b)*(?<![\s.])")


def _named_value(original: str, target: str | None, known: tuple[str, ...]) -> str | None:
    """The value of a correction that takes its subject from the question is a name or a
    number in the user's words ("that's outdated, Orla Finch took over in May", "no that was
    years ago, now its 14,500"): when the words around the value hide it, the one name said
    that the question and the old answer did not already hold is the value."""
    seen = " ".join(known).lower()
    names = []
    for match in _NAME_SPAN.finditer(original):
        words = match.group(0).split()
        while words and words[0].lower().strip(",.!") in _DISCOURSE_WORDS:
            words.pop(0)  # "Actually Orla Finch" -> "Orla Finch"
        while words and words[-1].lower() in ("of", "the", "de", "and", "&", "la", "le", "du", "da", "van", "von", "del"):
            words.pop()
        name = " ".join(words).strip(" ,.")
        if name and name.lower() not in _DISCOURSE_WORDS and not re.search(r"\b" + re.escape(name.lower()) + r"\b", seen):
            names.append(name)
    if len(set(names)) != 1:
        return target
    name = names[0]
    if not target or name.lower() not in target.lower():
        return name if not target or not re.search(r"[A-Z0-9]", target) else target
    rest = target[target.lower().index(name.lower()) + len(name):].strip()
    if re.match(r"^(?:runs|run|took|takes|is|was|has|had|started|starts|joined|leads|owns|does|did|who|which|and|,|since|"
                r"as of|from|now|these|this|last|over|in (?:the |early |late )?(?:\w+ )?\d{4}|in [a-z]+|"
                r"[a-z]+ed|[a-z]+(?:s|ed)\s+(?:her|him|it|them|that|this|the\b))\b", rest):
        return target[:target.lower().index(name.lower()) + len(name)].strip()  # "Orla Finch runs it" -> "Orla Finch"
    return target


def _value_shaped(target: str, original: str) -> bool:
    """A value taken for a question's answer from the user's words looks like one: a number,
    or a name with its words capitalised, when the user writes with capitals at all; a lower-
    case writer's short value ("its dana brisk") passes, and so does a plain value in lower case
    after "it's" ("no, it's blue"). A verb said first ("Rebranded last month!") is none."""
    words = target.split()
    if re.search(r"\d", target):
        return True
    first_word = original.strip().split()[0].strip(",.!?") if original.strip() else ""
    if len(words) == 1 and target == first_word and re.search(r"(?:ed|ing)$", target.lower()):
        return False
    significant = [w for w in words if w.lower() not in ("of", "the", "de", "da", "and", "&", "a", "an", "at", "in", "on", "for", "la", "le", "van", "von")]
    capitals_elsewhere = bool(re.search(r"[A-Z]", original.strip()[1:]))
    if not capitals_elsewhere:
        return len(words) <= 5
    if all(w[:1].isupper() for w in significant):
        return True
    return bool(re.search(r"\b(?:it's|it is|its|it was|is|was)\s+(?:the\s+|an?\s+)?" + re.escape(target.lower()), original.lower())) and len(words) <= 3


def _same_relation(stated: str, asked: str) -> bool:
    """The user's relation and the question's name the same thing ("The CEO of {} is" /
    "Who is the CEO of {}"); "the prime minister of" after "the capital of" does not."""
    def words(relation: str) -> set[str]:
        return {w[:4] for w in re.findall(r"[a-z]+", relation.lower()) if w not in {"the", "of", "is", "was", "are", "by", "in", "at"}}

    a, b = words(stated), words(asked)
    return not a or not b or bool(a & b)


def extract_correction(message: str, last_question: str | None = None, last_answer: str | None = None) -> Correction:
    """The edit a correction asks for: subject + relation from the sentence when it is a full
    statement, else from the last question; the new target from the sentence; the old
    target from "not X" in the sentence, else from the agent's last answer."""
    original = message.strip()
    # "it's Gus Amberley, sorry, Angus Amberley": the name said after "sorry" / "I mean" replaces the one before
    original = re.sub(r"\b[A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)*\s*[,\u2014\u2013-]+\s*(?:sorry|i mean|i meant|no wait|wait|or rather|rather)[,]?\s+"
                      r"(?=[A-Z])", "", original)
    core, _ = _strip_front(normalise(original).lower())
    core = re.sub(r"^(?:you're wrong|you are wrong|that's wrong|that is wrong)[,;:.!\s]+", "", core)
    core = re.sub(_TRAILING_NOISE, "", core).strip(" .!")
    # "Brontel Systems has a new CEO, Jorik Almen, as of this week" -> "the ceo of brontel systems is jorik almen"
    core = re.sub(r"^(?P<s>[a-z0-9][\w&.' -]*?)\s+(?:has|have|got)\s+(?:a|an)\s+new\s+(?P<r>[a-z][\w -]*?)[,:]?\s+(?:called\s+|named\s+|now\s+)?"
                  r"(?P<o>[a-z][\w.' -]*?)(?:,.*|\s+(?:as of|since|from|starting)\b.*)?$",
                  lambda m: f"the {m.group('r')} of {m.group('s')} is {m.group('o')}", core)
    denied = re.match(r"^(?:it\s+|that\s+)?(?:is|was|'s)\s+not\s+([^.!?,;]+)[.!?,;]\s+(.+)$", core)  # "is not Samsung. The K9 is made by Orvane"
    if denied:
        core = denied.group(2)
    new_part, old = _split_new_old(core)
    if denied and old is None:
        old = denied.group(1).strip()
    new_original = _restore_case(new_part, original)
    asked = parse_question(last_question) if last_question else None
    statement = parse_statement(new_original)
    if statement and re.fullmatch(r"(?:the\s+)?(?:right\s+|correct\s+|real\s+)?answer", statement.subject.lower()):
        statement = None  # "the answer is Rome" is a bare answer, not a fact about "answer"
    subject = relation = target = None
    bare = False
    if statement and asked and statement.relation in ("{} is", "The {} is") and statement.subject.lower() in asked[1].lower():
        subject, relation, target = asked[0], asked[1], statement.object  # "the CEO is X" after "who is the CEO of Y?"
    elif statement and statement.subject and not (re.match(_THIRD_PRONOUN, statement.subject.lower())
                                                  and not statement.subject[:2].isupper()):  # "IT at Marrow & Finch" is no pronoun
        subject, relation, target = statement.subject, statement.relation, statement.object
        if asked and relation.lower().endswith(" of {} is") and asked[0].lower() == subject.lower() and _same_relation(relation, asked[1]):
            relation = asked[1]
    elif statement and asked and statement.relation.startswith("The ") and " of {} is" in statement.relation:
        subject, relation, target = asked[0], statement.relation, statement.object  # "X is the CEO now"
    elif statement and asked:  # "it is in Rome" / "she speaks English": subject from the question
        subject, relation, target = asked[0], asked[1], statement.object
    else:
        bare = True
        target = _bare_answer(new_original.lower())
        target = _restore_case(target, original) if target else None
        if asked:
            subject, relation = asked
    if relation and relation.startswith("The ") and subject and asked and asked[0].lower() == subject.lower() \
            and _same_relation(relation, asked[1]):
        relation = asked[1]  # one wording for the relation the question asked
    if target and old is None and last_answer:
        old = answer_entity(last_answer, subject)
    if old is not None:
        old = _restore_case(old, original) if old.lower() in original.lower() else old
    if old and target and old.lower() == target.lower():
        old = None
    if target:
        target = _restore_case(target, original)  # "its Benji Carr": the value as the user wrote it
    if target and relation:  # "nah its owned by Trask Group" for "The {} was owned by": the value is "Trask Group"
        tail = re.search(r"((?:\b[a-z]+\s+){0,1}[a-z]+)$", relation.replace("{}", "").strip().lower())
        if tail and target.lower().startswith(tail.group(1) + " ") and len(target) > len(tail.group(1)) + 1:
            target = target[len(tail.group(1)) + 1:]
    if asked and subject == asked[0]:
        target = _named_value(original, target, (last_question or "", old or "", last_answer or ""))
        if bare and target and not _value_shaped(target, original):
            target = None  # "Rebranded last month!", "For your records": words, not the answer to the question
    if subject and subject.lower() in original.lower():
        subject = _restore_case(subject, original)
    question = last_question.strip() if last_question and subject and subject in last_question and (
        not asked or not relation or _same_relation(relation, asked[1])) else None
    return Correction(subject or None, relation or None, target or None, old or None, question)
