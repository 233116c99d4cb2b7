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
from typing import Any, Sequence

from editmind.agent.turns import Statement, _restore_case, normalise

_OWNED = r"(?:my|our) (?P<n>[a-z][a-z' -]{0,40}?)"
_OBJECT = r"(?P<o>[^,;!?]+?)"
_END = (r"(?:\s+(?:now|these days|nowadays|currently|presently|actually|anymore|any more|again|too|only|by the way|btw|lol|haha|"
        r"last (?:week|month|year|spring|summer|autumn|fall|winter)|this (?:week|month|year)|in the (?:spring|summer|autumn|fall|winter)|"
        r"recently|yesterday|today|a while ago|in (?:january|february|march|april|may|june|july|august|september|october|"
        r"november|december|\d{4})|a few (?:days|weeks|months|years) ago|\w+ (?:days|weeks|months|years) ago|"
        r"since (?:\w+ ){0,2}\w+|for (?:a|two|three|\w+) (?:years?|months?)))*[\s.!]*$")
_ADVERB = r"(?:(?:actually|just|recently|finally|now|also|still|currently|already|officially)\s+)*"
_LIVE_VERBS = (r"(?:lives|live|is living|are living|am living|'s living|'m living|now lives|now live|moved|has moved|"
               r"have moved|'ve moved|just moved|recently moved|relocated|has relocated|is based|am based|'m based|"
               r"is staying|am staying|'m staying|resides|reside|stay|stays|staying)")
_WORK_VERBS = (r"(?:works|work|is working|am working|'m working|are working|started working|now works|now work|"
               r"got a job|has a job|have a job|just started|started a new job|is employed|am employed|'m employed|is interning|'m interning)")

# (pattern on the lower-cased statement, subject (None: "my <n>"), relation)
_PATTERNS: tuple[tuple[str, str | None, str], ...] = (
    (r"^(?:my name is|my name's|i'm called|i am called|call me|i go by|you can call me|people call me) " + _OBJECT + _END, "me", "name"),
    (r"^(?:the name of " + _OWNED + r" is|" + _OWNED.replace("<n>", "<n2>") + r"(?:'s| s|s) name is|"
     + _OWNED.replace("<n>", "<n3>") + r"(?:'s| is| are| s)? " + _ADVERB + r"(?:called|named)) " + _OBJECT + _END, None, "name"),
    (r"^(?:i|we)(?:'ve|'d| have| had)? " + _ADVERB + r"(?:have|got|own|keep|adopted|bought|rescued|found|have got|named|called|renamed) (?:an? |two |three |the )?(?P<n4>[a-z][a-z -]{0,30}?)"
     r"(?:,)? (?:called|named|(?:and|,) (?:her|his|its|their) name is|(?:and|,) (?:she|he|it)(?:'s| is) called) " + _OBJECT + _END, None, "name"),
    (r"^" + _OWNED + r"(?:'s|s)? name is " + _OBJECT + _END, None, "name"),
    # "my granddaughter has gone over to Linden Hall University now", "she's transferred to Ormond College"
    (r"^" + _OWNED + r"(?:'s| has| have) " + _ADVERB + r"(?:gone|transferred|switched|changed|moved)(?: over| across| up)? to "
     r"(?=(?:the )?[\w' -]*\b(?:university|college|school|academy|primary|high|uni|juniors|nursery|institute)\b)" + _OBJECT + _END,
     None, "goes to"),
    (r"^" + _OWNED + r" " + _ADVERB + _LIVE_VERBS + r" (?:in|to|at|near|out in|over in) (?:the city of )?" + _OBJECT + _END, None, "lives in"),
    (r"^(?:i|we)(?:'ve|'d| have| had)? " + _ADVERB + _LIVE_VERBS + r" (?:in|to|at|near|out in|over in) (?:the city of )?" + _OBJECT + _END, "me", "lives in"),
    (r"^(?:i'm|i am|im|we're) (?:living|staying|based) (?:in|at) " + _OBJECT + _END, "me", "lives in"),
    (r"^(?:i'm|i am|im) (?:now )?at " + _OBJECT + _END, "me", "lives in"),  # "I'm at Brightwater Freight now" (work, below)
    (r"^(?:my home|home) is (?:in )?" + _OBJECT + _END, "me", "lives in"),
    (r"^" + _OWNED + r" " + _ADVERB + _WORK_VERBS + r" (?:at|for|in|with) (?:the company |company )?" + _OBJECT + _END, None, "works at"),
    (r"^(?:i|i am|i'm) " + _ADVERB + _WORK_VERBS + r" (?:at|for|in|with) (?:the company |company )?" + _OBJECT + _END, "me", "works at"),
    (r"^(?:i|we) " + _ADVERB + r"(?:drive|am driving|'m driving)\s+(?:an?\s+|the\s+)?" + _OBJECT + _END, "me", "drives"),
    (r"^" + _OWNED + r" " + _ADVERB + r"(?:goes|go|went|is going|attends|is at|studies|is studying|studies at|is studying at) (?:to |at |in )?(?:school (?:at|in) )?" + _OBJECT + _END, None, "goes to"),
    (r"^(?:i) " + _ADVERB + r"(?:go|attend|study at|am studying at|'m studying at) (?:to )?" + _OBJECT + _END, "me", "goes to"),
    (r"^(?:i'm|i am|im) in (?:the )?(?P<o>\w+(?:th|st|nd|rd)? grade|grade \d+|year \d+)" + _END, "me", "grade"),
    (r"^(?:i'm|i am|im) (?P<o>\d{1,3})(?: years old| yrs old| years| yo| now)?" + _END, "me", "age"),
    (r"^" + _OWNED + r" (?:is|just turned|turned) (?P<o>\d{1,3})(?: years old| yrs old| years| yo)?" + _END, None, "age"),
    (r"^(?:i work as|i'm working as|i am working as) (?:an? )?" + _OBJECT + _END, "me", "occupation"),
    (r"^(?:i'm|i am|im) (?:an? )(?P<o>[a-z][a-z -]{1,30}?)(?: by (?:profession|trade))?" + _END, "me", "occupation"),
    (r"^(?:i was born on|my birthday is on|my birthday is|my birthday's) " + _OBJECT + _END, "my birthday", "is"),
    (r"^(?:i was born in) " + _OBJECT + _END, "me", "born in"),
    (r"^" + _OWNED + r"(?: is| are| was|'s) (?:in|at) " + _OBJECT + _END, None, "lives in"),
    (r"^" + _OWNED + r"(?: is| works as| is working as|'s)(?: an?)? (?P<o>[a-z -]*?(?:er|or|ist|ian|ant|ent|nurse|doctor|chef|cook|pilot|"
     r"judge|clerk|vet|surgeon|dentist|architect|lawyer|student|teacher|officer|consultant|analyst|nanny|barista|"
     r"therapist|paramedic|midwife|carer|coach|tutor|lecturer|professor|secretary|mechanic|electrician|plumber))"
     r"(?: by (?:trade|profession))?" + _END, None, "occupation"),
    # "my son's pediatrician is Dr. Aguilar-Frost": the possessed thing is the key, not "my son"
    (r"^(?:my|our) (?P<n>[a-z][a-z-]{0,20}(?:'s|s') [a-z][a-z' -]{0,30}?) (?:is|are|was) " + _OBJECT + _END, None, "is"),
    (r"^" + _OWNED + r"(?: is| are| was|'s) " + _OBJECT + _END, None, "is"),
    # "changed my gamertag to DuskRunner99": the attribute, updated
    (r"^(?:i(?:'ve| have)? )?" + _ADVERB + r"(?:changed|switched|updated|renamed|set) " + _OWNED + r" to " + _OBJECT + _END, None, "is"),
)
_COMPILED = tuple((re.compile(p), s, r) for p, s, r in _PATTERNS)


_SYNONYMS = {"car": "drive", "cars": "drive", "vehicle": "drive", "roadster": "drive", "van": "drive", "truck": "drive",
             "suv": "drive", "minivan": "drive", "motorbike": "drive", "motorcycle": "drive", "drives": "drive", "driving": "drive", "job": "work", "jobs": "work", "employer": "work", "workplace": "work", "employment": "work", "favourite": "favorite", "fav": "favorite", "fave": "favorite", "favorit": "favorite", "mum": "mom",
             "mommy": "mom", "mother": "mom", "daddy": "dad", "father": "dad", "hubby": "husband", "bf": "boyfriend",
             "gf": "girlfriend", "bday": "birthday", "b-day": "birthday", "colour": "color", "neighbour": "neighbor"}


_DROPPED = frozenset({"rn", "now", "currently", "atm", "nowadays", "new", "current", "latest", "present"})


def canonical(noun: str) -> str:
    """One spelling per key word, so "my fav band" and "my favourite band" are one key
    ("my fav game rn" too: time words are not part of the key)."""
    words = [w for w in noun.split() if w not in _DROPPED]
    # a possessive inside the key, with or without its apostrophe: "son's pediatrician" = "sons pediatrician"
    words = [re.sub(r"(?:'s|s')$", "", w) if i < len(words) - 1 else w for i, w in enumerate(words)]
    words = [w[:-1] if i < len(words) - 1 and len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "ses", "us", "is")) else w
             for i, w in enumerate(words)]
    return " ".join(_SYNONYMS.get(w, w) for w in words)


def _owner(match: re.Match) -> str:
    for name in ("n", "n2", "n3", "n4"):
        if match.groupdict().get(name):
            return "my " + canonical(match.group(name).strip())
    return "me"


# People leave out "my" in quick messages ("lorry's a Scania R450", "missus is called
# Loreen", "the twins go to Fernhill Primary"). A bare noun at the front is the user's own
# when it names one of the people or things a person has; "the" only for family words, since
# "the shop" or "the boss" can be anyone's.
_FAMILY = (r"wife|husband|missus|misses|hubby|partner|fiance|fiancee|boyfriend|girlfriend|bf|gf|kids|kid|twins|son|sons|daughter|"
           r"daughters|eldest|youngest|baby|boys|girls|mum|mom|mam|dad|mother|father|parents|brother|sister|nan|nana|gran|"
           r"granny|grandma|grandpa|grandad|grandson|granddaughter|grandkids|in-laws|mother-in-law|father-in-law")
_OWNABLE = (_FAMILY + r"|dog|cat|puppy|kitten|parrot|hamster|rabbit|tortoise|horse|pony|pet|car|lorry|truck|van|bike|motorbike|"
            r"flat|house|apartment|depot|shop|office|desk|boss|manager|landlord|landlady|flatmate|roommate|housemate|neighbour|neighbor|"
            r"doctor|dentist|gp|vet|accountant|teacher|band|birthday|bday|username|gamertag|postcode|address|locker")
_BARE_OWNED = re.compile(r"^(?:(?:the|me)\s+(?=(?:" + _FAMILY + r")\b))?(?P<n>(?:(?!(?:my|our|the|a|an|your|his|her|their|its|this|that|me|i)\b)[a-z-]+\s+)?(?:" + _OWNABLE + r"))(?P<rest>(?:'s|s')?\s+"
                         r"(?:(?:is|are|was|'s|just|now|still|has|have|had|got|go|goes|went|moved|lives?|works?|started|turned|"
                         r"called|named|drives?|plays?|attends?|studies)\b|a\b|an\b).*"
                         r"|'s\s+(?:(?:an?|the|called|named|in|at|from|on|now)\b|[A-Z0-9]).*)$")


def with_owner(text: str) -> str:
    """"lorry's a Scania R450" -> "my lorry's a Scania R450"; anything else unchanged."""
    stripped = text.strip()
    m = _BARE_OWNED.match(stripped[:1].lower() + stripped[1:])
    if not m:
        return text
    return "my " + m.group("n") + m.group("rest")


def _without_asides(text: str) -> list[str]:
    """The sentence with comma-set asides taken out, longest first: "My sister-in-law, who
    is, I must say, a formidable bridge player, lives in Harrogate" -> "My sister-in-law
    lives in Harrogate"."""
    parts = [p for p in re.split(r"\s*,\s+", text.strip()) if p]
    if not 3 <= len(parts) <= 7:
        return []
    out = []
    for i in range(1, len(parts) - 1):
        for j in range(len(parts) - 1, i, -1):
            out.append(" ".join([", ".join(parts[:i]), ", ".join(parts[j:])]))
    return out


def parse_personal(text: str, topic: str | None = None) -> Statement | None:
    """The (subject, relation, object) key of a statement about the user, or None.

    Each clause is tried in turn ("I finally sold the Volvo! Now I drive a Polestar 2."
    keys on the second); a pronoun at the front of a later clause stands for the owner the
    first clause named ("My son changed schools, he goes to Greenfield Academy now")."""
    parts = [p for p in re.split(r"\s*(?:[;!?]|(?<!\bmr)(?<!\bmrs)(?<!\bms)(?<!\bdr)(?<!\bst)(?<!\bprof)(?<!\bjr)(?<!\bsr)(?<!\b[a-z])\.(?=\s|$)|,(?=\s+(?:we|i|he|she|they|and|but|so|because|since|it|which|who|my|"
                                  r"now|then|it's|he's|she's|they're|her|his|their)\b))\s*|\s+(?:because|since|but|and then)\s+"
                                  r"|\s+and\s+(?=(?:she|he|they|it|i|we)(?:'s|'re|'m|\s)|(?:she's|he's|it's|they're|i'm)\b)", text.strip(), flags=re.I) if p]
    if len(parts) == 1 and "," in parts[0]:  # "moved to Knoxville last spring, forgot to say": try the first clause too
        parts = [parts[0]] + [p for p in re.split(r"\s*,\s*", parts[0]) if p][:1]
    first_owner = None
    for index, part in enumerate(parts):
        clause = part
        if first_owner is None and topic and topic.startswith("my ") and not re.search(r"\b(?:my|our)\s", part, flags=re.I):
            first_owner = topic
        if (index or first_owner == topic) and first_owner:
            clause = re.sub(r"^(?:now\s+|and\s+|so\s+)?(?:she|he|they|it)(?='s|\s)", first_owner, clause, flags=re.I)
            head = first_owner.split()[-1]
            if len(first_owner.split()) > 2 and re.match(r"^(?:now\s+|and\s+|so\s+)?(?:her|his|their|its)\s+" + re.escape(head) + r"\b",
                                                         clause, flags=re.I):
                # "his pediatrician" while talking about "my son('s) pediatrician": that very thing
                clause = re.sub(r"^(?:now\s+|and\s+|so\s+)?(?:her|his|their|its)\s+" + re.escape(head) + r"\b", first_owner,
                                clause, flags=re.I)
            clause = re.sub(r"^(?:now\s+|and\s+|so\s+)?(?:her|his|their|its)\s", first_owner + "'s ", clause, flags=re.I)
        found = _parse_clause(clause)
        if found is not None:
            if found.relation == "lives in" and re.search(r"(?:'s|'m|\bis|\bam|\bare) (?:at|in|with)\b", normalise(clause).lower()) and re.search(
                    r"\b(?:job|jobs|work|works|working|hired|employer|company|firm|office)\b", text.lower()):
                found = Statement(found.subject, "works at", found.object)  # "switched jobs, he's at Glanbia now"
            elif found.relation == "lives in" and re.search(r"(?:'s|'m|\bis|\bam|\bare) at\b", normalise(clause).lower()) and re.search(
                    r"\b(?:school|schools|college|uni|university|academy|high|primary|juniors|class|grade|term|semester)\b", text.lower()):
                found = Statement(found.subject, "goes to", found.object)  # "switched schools, she's at Oakmere Juniors now"
            elif found.relation == "lives in" and re.search(r"(?:'s|'m|\bis|\bam|\bare) at\b", normalise(clause).lower()) and re.search(
                    r"(?:&|\b(?:Insurance|Bank|Labs?|Group|Ltd|Inc|Hospital|Clinic|Council|Foods|Systems|Solutions|Motors|Logistics|Press|"
                    r"Studios?|Media|Partners|Holdings|Industries|Consulting|Robotics|Software|Technologies|Tech|Freight|Airways|"
                    r"Airlines|Pharma|Energy|Retail|Mutual|Capital|Brewing|Bakery|Garage|Surgery|Practice|Agency|Corp|Company)\b)",
                    found.object):
                found = Statement(found.subject, "works at", found.object)  # "my husband's at Greyline Insurance": where he works
            timed = re.sub(r"\s+(?:at the moment|right now|these days|at present|currently|for now|nowadays|now)$", "", found.subject)
            if timed != found.subject:  # "my flour supplier at the moment is Brackley Grain": the supplier
                found = Statement(timed, found.relation, found.object)
            appositive = re.match(r"^(my [a-z]+) ([a-z]+)$", found.subject)
            if appositive and re.search(r"\b[Mm]y\s+" + appositive.group(1)[3:] + r"\s+" + appositive.group(2).capitalize() + r"\b", text):
                found = Statement(appositive.group(1), found.relation, found.object)  # "My daughter Ava goes to ...": the daughter
            return found
        owner = re.search(r"\b(?:my|our) ([a-z]+)", normalise(part).lower()) or re.search(
            r"^(?:i|we)(?:'ve| have)?\s+(?:also\s+)?(?:got|have|own|adopted|bought|rescued)\s+(?:an?|the|two|three)\s+([a-z]+)",
            normalise(part).lower())
        if owner and (first_owner is None or first_owner == topic):
            first_owner = "my " + canonical(owner.group(1))
    for candidate in _without_asides(text):
        found = _parse_clause(candidate)
        if found is not None:
            return found
    return None


def _parse_clause(text: str) -> Statement | None:
    original = text.strip().rstrip(".!")
    lower = normalise(original).lower().rstrip(".!")
    if re.match(r"^(?:i|we|my \w+|our \w+)\s+(?:don't|do not|doesn't|does not|no longer|never|didn't)\s", lower) or \
            re.search(r"\b(?:anymore|any more|no longer)\b", lower):
        return None  # "I don't work at Kestrel anymore": what is no longer so, not the new value
    lower = re.sub(r"^(?:(?:and|also|oh|so|well|btw|fyi|now|but|anyway|ok|okay|actually|no|nope|wait|hmm+|um+|right|"
                   r"remember that|remember|note that|just so you know)[, ]+)+", "", lower)
    # "I've a granddaughter by the name of Pip", "a nephew who goes by Tam": ways of saying "called"
    lower = re.sub(r"^(i|we)'ve\s+(?=(?:an?|two|three)\s)", r"\1 have ", lower)
    lower = re.sub(r"(?:,\s*)?\s+(?:by the name of|going by the name|who goes by|that goes by|who(?:'s| is) (?:called|named)|goes by the name|whose name is|whose name's)\s+",
                   " called ", lower)
    # "has lately taken up a new position with the firm of Lisle & Carrow", "is at a new job now,
    # Tallis Freight", "started a new role at X": where the person works now
    lower = re.sub(r"\b(?:has |have |'s |'ve )?(?:(?:lately|recently|just|now|finally)\s+)?(?:taken up|took up|started|begun|began|accepted|"
                   r"landed|got|found|taken|is in|'s in|is at|'s at|am at|'m at)\s+(?:a |an )?(?:new |new full-time |new part-time )?"
                   r"(?:position|job|role|post|gig)(?:\s+now)?(?:\s*,\s*|\s+(?:with|at|in|for)\s+)(?!\s*(?:[a-z]+ing\b|(?:which|that|and|but|so|it|i|he|she|they|we)\b))"
                   r"(?:the firm of |the company of |the firm |the company )?",
                   " works at ", lower)
    lower = re.sub(r"\s+works at\s+", " works at ", lower)
    lower = re.sub(r"^(i)\s+works at\b", r"\1 work at", lower)
    # "my dog's a heeler called Rusty": the name of my dog (the kind stays in the stored sentence)
    lower = re.sub(r"^((?:my|our)\s+(?:[\w-]+\s+){0,2}?[\w-]+)(?:'s|\s+is|\s+was)\s+(?:an?|the)\s+(?:[\w-]+\s+){1,2}?(called|named)\s+",
                   r"\1 is \2 ", lower)
    inner = re.search(r"\s(?=(?:my|our)\s)", lower)  # "kindly note that my desk extension is 4417"
    candidates = [lower] + ([lower[inner.end():]] if inner else [])
    for pattern, subject, relation in _COMPILED:
        match = next((m for m in (pattern.match(c) for c in candidates) if m), None)
        if not match:
            continue
        obj = match.group("o").strip(" .,'\"")
        obj = re.sub(r"^(?:the city of|the town of)\s+", "", obj)
        obj = re.sub(r"^(?:(?:now|still|currently|actually|also|officially)\s+)+", "", obj)
        if not obj or obj in _PRONOUNS:
            continue
        if relation == "is" and re.match(r"^(?:[a-z]+ed|gone|been|got|left)\b", obj) and re.search(
                r"'s\s+(?:just\s+|now\s+|also\s+)?" + re.escape(obj.split()[0]) + r"\b", lower):
            continue  # "my brother's moved again": 's is "has", and "moved" is no value
        owner = subject if subject is not None else _owner(match)
        if re.search(r"\b(?:what|who|where|when|why|how|which|if|whether)\b", owner):
            continue  # "I asked my friend what is ...": a question reported, not an attribute
        value = _restore_case(obj, original)
        if relation == "goes to" and re.search(r"\b(?:is|'s|are)\s+(?:now\s+|currently\s+|still\s+)?at\b", lower) and not re.search(
                r"\b(?:school|college|university|uni|academy|kindergarten|nursery|elementary|primary|secondary|high|grammar|"
                r"preschool|daycare|class|grade)\b", obj.lower()):
            relation = "works at"  # "my wife is at the Marlow clinic now": a workplace, unless it names a school
        if relation in ("is", "occupation") and _is_proper_name(value):
            relation = "name"  # "my landlord is Mr. Dunne" and "my landlord's name is Mr. Farrow" set one attribute
        return Statement(owner, relation, value)
    return None


_NOT_NAMES = frozenset({
    "american", "canadian", "mexican", "german", "italian", "indian", "australian", "brazilian", "russian", "nigerian",
    "kenyan", "korean", "african", "european", "asian", "catholic", "muslim", "jewish", "christian", "hindu", "buddhist",
    "protestant", "atheist", "vegan", "vegetarian", "gay", "trans", "english", "british", "irish", "scottish", "welsh",
    "french", "spanish", "polish", "dutch", "swedish", "danish", "finnish", "turkish", "chinese", "japanese", "portuguese",
})


def _is_proper_name(value: str) -> bool:
    """"Mr. Dunne", "Annika", "Dr Okafor": capitalised words, no article, not a nationality or creed."""
    words = value.replace(".", " ").split()
    if not 1 <= len(words) <= 4 or words[0].lower() in ("a", "an", "the", "my", "our"):
        return False
    def named(word: str) -> bool:  # "Annika", "xDuskRunner", "R2D2": a capital anywhere, or letters mixed with digits
        return any(c.isupper() for c in word) or (any(c.isdigit() for c in word) and any(c.isalpha() for c in word))

    return all(named(w) for w in words) and not any(w.lower() in _NOT_NAMES for w in words)


# what a statement about the user must do to be a fact: set an attribute, or say what the
# user (or their own people and things) is, has, does, likes. "I hope I'm not disturbing
# you", "I knew it", "I'm exhausted" say none of that.
_FACT_VERBS = (r"(?:grow|bake|knit|paint|sing|dance|swim|cycle|hike|climb|surf|sail|ski|fish|sew|garden|foster|breed|"
               r"raise|farm|farmed|keep bees|taught|stay|stays|volunteer|coach|train|write|draw|build|brew|collect|follow|support|root for|watch|listen to|read|play for|cheer for|main|mains|can't stand|cannot stand|don't like|do not like|don't eat|don't drink|can't live without|"
               r"am into|'m into|renamed|rename|call|named|switched|live|lived|living|moved|move|relocated|work|worked|working|drive|driving|own|owned|have|has|had|got|"
               r"adopted|bought|sold|rescued|study|studied|studying|go|goes|went|attend|attended|play|played|like|likes|"
               r"love|loves|hate|hates|prefer|prefers|enjoy|enjoys|speak|speaks|was born|grew up|use|uses|support|teach|"
               r"teaches|run|runs|keep|keeps|collect|volunteer|wear|take|takes|need|eat|eats|drink|drinks|cook|ride|"
               r"married|divorced|engaged|named|called|turned|retired|graduated|started|joined|left|quit|changed)")
_I_AM = (r"(?:an?\s+\w+|the\s+\w+|\d+|in\s+|from\s+|at\s+|on\s+|allergic|married|single|divorced|engaged|pregnant|retired|"
         r"doing|training|learning|taking|teaching|running|writing|building|raising|expecting|starting|finishing|"
         r"vegetarian|vegan|left[- ]handed|right[- ]handed|diabetic|lactose|colou?r ?blind|gluten|intolerant|a student|"
         r"studying|working|living|moving|driving|playing|based|originally|half|born|deaf|blind|asthmatic|epileptic|celiac|coeliac)")


# "my X ... <verb>": the user's person or thing is, has or does something ("my sister moved
# to Whitby", "my son plays rugby", "my mum's 70"); "my nephew kept going on about them" is talk.
_OWNER_STATES = re.compile(
    r"^(?:my|our)\s+(?:(?!(?:what|who|where|when|why|how|which|if|whether)\b)[\w'-]+\s+){0,3}?"
    r"(?:(?:is|are|was|were|isn't|aren't|wasn't|'s|has|have|had|hasn't|will be|'ll be|share|shares|leaves|starts|"
    r"just|now|also|recently|still|finally|never|always|already|gets|got|turns|turned|became|becomes)\b|"
    + _FACT_VERBS + r"(?:s|es|ed|d|ing)?\b)"
    r"|^(?:my|our)\s+[\w-]+'s\s+(?:\d|an?\s|the\s|in\s|at\s|from\s|called|named|now|still|moving|getting|turning|been|got)"
    # any verb in -s before its object: "my mum sells fabrics at Balogun Market", "my son repairs bikes"
    r"|^(?:my|our)\s+[\w'-]+(?:\s+[\w'-]+)?\s+(?!(?:is|was|has|does)\b)[a-z]{3,}s\s+(?:at|in|for|on|with|to|from|as|an?|the|\d|[a-z]{3,})\b")


# intentions, wishes and reports of talk are not lasting facts ("I've been meaning to try
# one of these", "my nephew kept going on about them")
_TALK = re.compile(r"\b(?:been (?:meaning|wanting|trying|planning|thinking|hoping|dying|waiting|looking) to|"
                   r"been (?:thinking|wondering|hearing|reading) about|going on about|go on about|went on about|banging on about|"
                   r"told me about|telling me about|talking about|keeps? saying|kept saying|wants? me to|suggested i|"
                   r"i (?:was|am|'m) (?:just )?(?:going to|gonna|about to) (?:ask|say|try|test)|"
                   r"i (?:had|have) a (?:feeling|hunch|suspicion)|i (?:thought|knew|figured|guessed|suspected) (?:it|that|so)|"
                   r"i (?:never|didn't|did not|don't|do not) (?:knew|know|realised|realized|thought)|"
                   r"(?:it|that) would be)\b")


def states_a_fact(core: str) -> bool:
    """Whether a first-person statement says something lasting about the user."""
    lower = normalise(core).lower()
    if parse_personal(core) is not None:
        return True
    owner_named = False
    lower = re.sub(r"\b((?:my|our)\s+[\w-]+)\s+and\s+(?:her|his|their)\s+[\w-]+", r"\1", lower)  # "my son and his wife moved"
    for clause in re.split(r"\s*[,;.!?]\s*|\s+(?:and|but|so)\s+", lower):
        if owner_named and re.match(r"^(?:her|his|their|its)\s+[\w-]+\s+(?:is|was|'s)\s+\w|^(?:she|he|they)(?:'s|'re| is| are| was)"
                                    r"\s+(?:called|named|an?\s+\w+|\d|in\s|at\s|from\s)", clause.strip()):
            return True  # "my neighbour, lovely woman, her name is Gwen"
        owner_named = owner_named or bool(re.search(r"\b(?:my|our)\s+[a-z]", clause))
        clause = re.sub(r"^(?:now|also|actually|btw|fyi|oh|well|so)\s+", "", clause.strip())
        if _TALK.search(clause):
            continue
        for owned in re.finditer(r"(?:^|\s)(?=(?:my|our)\s+(?!(?:bad|pleasure|god|goodness|gosh|word|apologies|mistake|fault|"
                                 r"dear|friend)\b)[a-z])", clause):  # "what happened is my brother moved to Leeds"
            if _OWNER_STATES.match(clause[owned.end():]):
                return True
        if re.match(r"^(?:i|we)(?:'ve|'d|'ll| have| had| will)?(?:\s+been)?\s+(?:(?:just|recently|finally|also|still|now|really|"
                    r"actually|used to|don't|do not|can't|cannot)\s+)*" + _FACT_VERBS + r"\b", clause):
            return True
        if re.match(r"^(?:i|we)(?:'ve| have)\s+been\s+(?:an?\s|the\s|\w+ing\b|in\s|at\s|with\s|married|together|vegan|vegetarian)", clause):
            return True  # "I've been a bus driver for 20 years"
        if re.match(r"^(?:i|we)\s+(?:usually|always|never|often|normally|typically|rarely|sometimes|mostly)\s+\w+", clause):
            return True  # a habit: "I usually wake up at 6"
        if re.match(r"^(?:i'm|i am|im|we're|we are)\s+(?:(?:also|now|still|actually|originally|currently|a bit|severely|very|"
                    r"not|no longer)\s+)*" + _I_AM, clause):
            return True
        if re.match(r"^(?:mine|ours)\s+(?:is|are|was)\s+\w+", clause) or re.match(
                r"^(?:i'm|i am|im)\s+(?:not\s+)?(?:an?\s+)?(?:morning|night|early|late|big|huge)\s+\w+", clause):
            return True
    return False


def names_something(core: str) -> bool:
    """"I spent thirty-one years as a structural engineer at Brantley Structures": a first-person
    clause that names a place, an organisation or a number after a preposition holds a fact
    about the user, whatever its verb; talk about the conversation does not ("I asked you about
    Rome" names Rome, but only as a topic)."""
    for clause in re.split(r"\s*[,;.!?]\s+", core.strip()):
        lower = clause.lower()
        if not re.match(r"^(?:i|we|i'm|i've|we're|we've|im|ive)\b", lower) or _TALK.search(lower) or re.search(
                r"\b(?:ask(?:ed)?|told|tell|said|say|mention(?:ed)?|think|thought|believe|wonder(?:ed)?|hope|guess|mean|meant|"
                r"heard|read|saw|watched|visited|love|loved|like|liked|hate|hated|want|wanted|wish)\b", lower):
            continue
        if re.search(r"\b(?:at|for|in|with|from|to|near|on)\s+(?:the\s+)?(?:[A-Z][\w&'.-]+|\d)", clause):
            return True
    return False


_PRONOUNS = frozenset({"it", "that", "this", "there", "here", "them", "him", "her", "they", "one", "something", "so", "too"})

# --- questions about the user ------------------------------------------------------------

_Q_PATTERNS: tuple[tuple[str, str | None, str | None], ...] = (
    (r"^(?:what(?:'s| is| was)|tell me|remind me(?: of)?|do you (?:know|remember)) my name$|^who am i$|^what am i called$", "me", "name"),
    (r"^(?:what(?:'s| is| was)|tell me|remind me(?: of)?|do you (?:know|remember)) (?:the name of " + _OWNED + r"|"
     + _OWNED.replace("<n>", "<n2>") + r"(?:'s| s|s)? name)$", None, "name"),
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
    (r"^(?:what|which) (?:car|vehicle) do i (?:drive|have|own)$|^what do i drive$", "me", "drives"),
    (r"^(?:what|which) (?:school|college|university|class) (?:does|do|did) " + _OWNED + r" (?:go to|attend|go)$|"
     r"^where (?:does|did) " + _OWNED.replace("<n>", "<n2>") + r" (?:go to (?:school|college|university)|study|studies)$|"
     r"^(?:what|which) (?:school|college|university|nursery|uni) (?:is|'s) " + _OWNED.replace("<n>", "<n3>") + r" (?:at|in|attending|going to)(?: now)?$",
     None, "goes to"),
    (r"^(?:what|which) (?:school|college|university) (?:do|did) i (?:go to|attend)$|^where do i (?:go to school|study)$", "me", "goes to"),
    (r"^(?:what|which) (?:grade|year|class) (?:am i|i am) in$", "me", "grade"),
    (r"^where (?:am i|i am) (?:working|employed)$|^where i (?:work|am working)$", "me", "works at"),
    (r"^where (?:is )?" + _OWNED + r" (?:is )?(?:working|employed)$", None, "works at"),
    (r"^where (?:is )?" + _OWNED + r" (?:is )?(?:living|staying)$", None, "lives in"),
    (r"^where (?:am i|i am) (?:living|staying)$|^where i (?:live|am living|stay)$", "me", "lives in"),
    (r"^what(?:'s| is)? (?:my job|my occupation|my profession|my line of work)$|^what (?:do i do|do i do for (?:a living|work))$",
     "me", "occupation"),
    (r"^what (?:does|did) " + _OWNED + r" do(?: for (?:a living|work|a job))?$|^what(?:'s| is) " + _OWNED.replace("<n>", "<n2>")
     + r"(?:'s|s)? (?:job|occupation|profession|line of work)$", None, "occupation"),
    (r"^(?:when(?:'s| is| was)) (?:my birthday|i born)$|^when was i born$", "my birthday", "is"),
    (r"^where was i born$", "me", "born in"),
    (r"^(?:what(?:'s| is| are| was)|who(?:'s| is| are)|when(?:'s| is)|which is|tell me|remind me(?: of)?|do you (?:know|remember)) "
     + _OWNED + r"$", None, "is"),
)
_Q_COMPILED = tuple((re.compile(p), s, r) for p, s, r in _Q_PATTERNS)

_FAMILY = (r"(?:mom|mum|mommy|mother|dad|daddy|father|wife|husband|son|daughter|sister|brother|grandma|grandpa|"
           r"granny|boyfriend|girlfriend|partner|fiance|fiancee|wifey|hubby|kids|kid|baby|aunt|uncle|cousin|boss)")
_PERSONAL_Q = re.compile(
    r"\bmy\b|\bour\b|^(?:what|which|where|who|when)\b.*\b(?:do|did|are|were)\s+we\s+\w+|\b" + _FAMILY + r"(?:'s|s)\s+\w+|^(?:what|which|where|who|when|how many|how long)\b.*\b(?:do|did|am|was|have|had)\s+i\s+"
    r"(?!need|have to|get to|go about|fix|make|reset|change|find|know|say|spell|pronounce|use it)\w+|^(?:where|what|when|who|how|which)\b.*\b(?:do|did|am|was|have|had)\s+i\s+(?:live|work|do|study|like|love|own|have|"
    r"called|named|allergic|born|tell|say|said|told)\b|\bwho am i\b|\bhow old am i\b|\bwhat did i (?:say|tell)\b|"
    r"\bwhat do you (?:know|remember) about me\b|\bwhat am i\b|^(?:do|did) i (?:have|own|live|work|like|love|study)\b|"
    r"^am i (?:married|allergic|single|\d+)\b|^am i (?:an? )?[\w-]+ or (?:an? )?[\w-]+\b"
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
    if _OWN_FRAGMENT.match(lower) or parse_personal_question(question) is not None:
        return True  # "cats name?", "what grade am i in": one of the user's own keys
    return bool(_PERSONAL_Q.search(lower)) and not _GENERAL_FIRST_PERSON.search(lower)


_BASE_VERB = {"lives": "live", "works": "work", "studies": "study", "goes to": "go to", "plays for": "play for", "drives": "drive"}


def _question_order(lower: str) -> str:
    """An embedded question said in statement order: "where my granddaughter lives" -> "where
    does my granddaughter live", "what my dog is called" -> "what is my dog called"."""
    match = re.match(r"^(where|what|who|when|which \w+)\s+((?:my|our)\s+(?:[\w'-]+\s+){0,2}?[\w'-]+)\s+"
                     r"(lives|works|studies|goes to|plays for|drives|is called|is named|is)$", lower)
    if not match:
        return lower
    asks, owner, verb = match.groups()
    if verb == "is":
        return f"{asks} is {owner}"
    if verb.startswith("is "):
        return f"{asks} is {owner} {verb[3:]}"
    return f"{asks} does {owner} {_BASE_VERB[verb]}"


def parse_personal_question(question: str) -> tuple[str, str] | None:
    """(subject, relation) asked about by a question about the user, or None."""
    lower = normalise(question).lower().strip(" ?!.")
    lower = re.sub(r"^(?:(?:and|so|ok|okay|hey|please|um|uh|remind me|quick question|now|well|tell me|"
                   r"(?:do|can|could) you (?:happen to |possibly )?(?:know|remember|recall|tell me)|"
                   r"(?:do|did) you (?:still )?remember|would you (?:happen to )?know)[, ]+)+", "", lower)
    lower = re.sub(r"^(?:(?:would|could|can|will) you (?:please |kindly )?(?:be (?:so kind|good enough|kind enough) (?:as )?to )?"
                   r"(?:remind me|tell me|let me know)(?: of| about)?\s+)", "", lower)
    lower = re.sub(r"(?:,?\s+(?:again|now|these days|currently|please|do you remember|you remember|remember|"
                   r"do you know|you know|i told you(?: (?:earlier|before|already))?))+$", "", lower)
    # "what is the school of my son", "the name of my brother's present employer": the owner first
    lower = re.sub(r"\bthe\s+(?:name\s+of\s+(?=(?:my|our)\s+[\w'-]+(?:'s|s')\s))?(?:(?:present|current|new|old)\s+)?([a-z]+)\s+of\s+((?:my|our)\s+[a-z-]+)$",
                   r"\2's \1", lower)
    lower = re.sub(r"^(?:the\s+name\s+of\s+)?((?:my|our)\s+[a-z-]+(?:'s|s'))\s+(?:(?:present|current|new|old)\s+)?([a-z]+)$", r"what is \1 \2", lower)
    lower = re.sub(r"\bthe\s+name\s+of\s+((?:my|our)\s+[a-z-]+(?:'s|s'))\s+(?:(?:present|current|new|old)\s+)?([a-z]+)$", r"\1 \2", lower)
    lower = _question_order(lower)
    for pattern, subject, relation in _Q_COMPILED:
        match = pattern.match(lower)
        if match:
            owner = subject if subject is not None else _owner(match)
            words = owner.split()
            # "my son's school", "my brother's employer": an attribute of the person, keyed as one
            if relation == "is" and len(words) >= 3 and words[0] == "my" and words[-1] in _ATTRIBUTE_RELATION:
                return " ".join(words[:-1]), _ATTRIBUTE_RELATION[words[-1]]
            return owner, relation  # type: ignore[return-value]
    return None


_ATTRIBUTE_RELATION = {"school": "goes to", "uni": "goes to", "university": "goes to", "college": "goes to",
                       "work": "works at", "job": "works at", "employer": "works at", "workplace": "works at",
                       "address": "lives in", "home": "lives in", "town": "lives in", "city": "lives in",
                       "age": "age", "drive": "drives", "occupation": "occupation", "profession": "occupation"}


_PRONOUN_SUBJECT = re.compile(r"^(?:no,?\s+|actually,?\s+|well,?\s+)?(?P<p>she|he|they|it|her|his|their)(?P<v>'s|'re|\s)", re.I)


def resolve_pronoun(text: str, last_question: str | None, topic: str | None = None) -> str:
    """'she moved to Nice' after 'where does my sister live?' -> 'my sister moved to Nice'.
    Only a pronoun at the front; the owner is the one the last question named, else the
    conversation's topic (the user's own person or thing last spoken of)."""
    owner = None
    if last_question and is_personal_question(last_question):
        asked = parse_personal_question(last_question)
        owner = asked[0] if asked and asked[0].startswith("my ") else None
        said = re.search(r"\bmy ([a-z-]+)", normalise(last_question).lower())
        if owner and said and len(owner.split()) == 2 and canonical(said.group(1)) == owner.split()[1]:
            owner = "my " + said.group(1)  # the user's own word ("mother"), not the key's ("mom")
        if owner is None:  # "where does my younger brother school?": the owner's words up to the verb
            found = re.search(r"\bmy ((?:(?!(?:live|lives|living|work|works|working|school|go|goes|study|studies|is|are|was|"
                              r"called|named|do|does|did|get|gets|have|has|drive|drives|play|plays)\b)[a-z'-]+\s?){1,3})",
                              normalise(last_question).lower())
            owner = "my " + found.group(1).strip() if found else None
    if owner is None and topic and topic.startswith("my "):
        owner = topic
    match = _PRONOUN_SUBJECT.match(text.strip())
    if not owner or not match:
        return text
    rest = text.strip()[match.end():]
    if match.group("p").lower() in ("her", "his", "their"):  # "her name is Maria" -> "My mom's name is Maria"
        noun = rest.split(" ", 1)[0].lower()
        if noun and owner.endswith(" " + noun):  # "his pediatrician is ..." after "who is my son's pediatrician": that attribute
            return f"{owner[0].upper()}{owner[1:]}{rest[len(noun):]}".replace("  ", " ")
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
    answer = re.sub(r"^(?:(?:yes|yeah|yep|no|nope|well|um|uh|oh|it's|its|it is|it was|that's|that is|that'd be|that would be|"
                    r"it'd be|it would be|that'll be|i think|i believe|pretty sure)[,!.]?\s+)+", "", answer.strip(),
                    flags=re.I).strip(" .!")
    asked = parse_personal_question(question)
    if asked and answer and len(answer.split()) <= 6:
        return render_personal(asked[0], asked[1], answer)
    q = question.strip().rstrip("?")
    return f"{answer[0].upper() + answer[1:] if answer else answer} (answering: {q}?)"


def same_owner(a: str, b: str) -> bool:
    """"my hamstr" and "my hamsters": one of the user's own, spelled two ways (a plural, a
    typo of one letter), so a later fact about it still replaces the earlier one."""
    a, b = canonical(a.casefold().strip()), canonical(b.casefold().strip())
    if a == b:
        return True
    if not (a.startswith("my ") and b.startswith("my ")):
        return False
    x, y = a[3:].rstrip("s"), b[3:].rstrip("s")
    if x == y:
        return True
    if len(x) < 4 or len(y) < 4 or abs(len(x) - len(y)) > 1:
        return False
    from editmind.agent.turns import _one_edit_apart

    return _one_edit_apart(x, y) or (len(x) != len(y) and (x in y or y in x))


# words after "Callum's" that make it "Callum has/is", not Callum's own thing
_NOT_A_NOUN = frozenset({"gone", "got", "been", "left", "moved", "not", "no", "a", "an", "the", "now", "still", "also", "really",
                         "very", "so", "just", "back", "here", "there", "away", "in", "at", "on", "with", "from", "going",
                         "coming", "getting", "doing", "my", "our", "your", "his", "her", "their", "always", "never"})


_TRANSIENT = re.compile(
    r"^(?:(?:my|our|the)\s+[a-z]+(?:\s+[a-z]+)?|(?:she|he|they|it))(?:'s|'re|\s+is|\s+are)\s+(?:(?:finally|all|just|so|very|really|"
    r"totally|completely|still|both|a bit|quite|super|being|now|currently|sound)\s+)*"
    r"(?:asleep|awake|tired|exhausted|knackered|shattered|sick|ill|poorly|unwell|home|back|out|away|busy|bored|hungry|starving|"
    r"cranky|fussy|grumpy|napping|sleeping|resting|playing|screaming|crying|fighting|here|off|ok|okay|fine|great|good|late|"
    r"upset|happy|sad|excited|stressed|fed up|in bed|driving me (?:crazy|mad|nuts|up the wall)|a nightmare|a pain|a menace today|"
    r"at it again|running late|on holiday|on break|at school today|with me today)"
    r"(?:\s+(?:now|again|today|tonight|lol|haha|thank god|thankfully|at last))*[\s.!]*$", re.I)


def is_transient_state(text: str) -> bool:
    """"kids are finally asleep", "my husband's home": how someone is right now, not a
    lasting fact to keep (a place or a name after it makes one: "she's at Kinley Park now")."""
    return bool(_TRANSIENT.match(normalise(text).strip()))


def split_personal_clauses(text: str) -> list[str]:
    """"my son is called Arlo and my daughter is Wren": two facts in one turn, each a clause
    that keys on its own (different owner or attribute). One clause, or clauses that do not
    each key, stay as they are: "my sister and her husband moved to Leeds" is one fact."""
    parts = [p.strip(" ,.") for p in re.split(r",?\s+and\s+(?=(?:my|our|i|i'm|i've|we|we're|we've)\b)|,\s+(?=(?:my|our)\s+[a-z])",
                                             text.strip(), flags=re.I) if p.strip(" ,.")]
    if len(parts) < 2:
        return [text]
    keys = []
    for part in parts:
        statement = parse_personal(part)
        if statement is None:
            return [text]
        keys.append((statement.subject, statement.relation))
    return parts if len(set(keys)) == len(keys) else [text]


def people_by_name(facts: Sequence[Any]) -> dict[str, str]:
    """The names of the user's own people and things, each to its owned noun ("Callum" ->
    "my son"), from the active name facts; a name two of them share is left out."""
    found: dict[str, str] = {}
    clash: set[str] = set()
    for fact in facts:
        subject, relation, value = getattr(fact, "subject", None), getattr(fact, "relation", None), getattr(fact, "object", None)
        named = [(f"my {m.group(1).lower()}", m.group(2)) for m in re.finditer(  # "My daughter Ava goes to ...", "our son Leo"
            r"\b(?:[Mm]y|[Oo]ur)\s+([a-z]+)\s+([A-Z][a-z]+)\b(?!\s+[A-Z])", getattr(fact, "text", "") or "")
            if m.group(1).lower() not in _NOT_A_NOUN]
        if relation == "name" and subject and subject.startswith("my ") and len(subject.split()) == 2 and value:
            named.append((subject, value))  # "my son", not "my son coach": a name is the person's, not a role's
        for owner, value in named:
            _add_name(found, clash, owner, value)
    return {k: v for k, v in found.items() if k not in clash}


def _add_name(found: dict[str, str], clash: set[str], subject: str, value: str) -> None:
    first = re.split(r"\s+", value.strip())[0].strip(".,!")
    for name in {value.strip().strip(".,!"), first}:
        if len(name) < 2 or name.lower() in ("my", "the", "a"):
            continue
        if name.lower() in found and found[name.lower()] != subject:
            clash.add(name.lower())
        found[name.lower()] = subject


def with_known_names(text: str, people: dict[str, str]) -> str:
    """'Callum's coach is Gregor' -> 'my son's coach is Gregor' once the user has said "my son's
    called Callum"; likewise 'Evangeline and her husband moved ...', 'Ileana is working at ...'
    and 'where does Rosalind study'. A name is replaced only as an owner, with a partner, as
    the subject of a fact verb or as the one asked about: 'Dusty's gone to a farm' stays as it
    is (it says what became of Dusty, and names the old value an update replaces)."""
    if not people:
        return text
    name = "(" + "|".join(re.escape(n) for n in sorted(people, key=len, reverse=True)) + ")"
    pattern = re.compile(r"\b" + name + r"(?:'s|’s)\s+([A-Za-z-]+)", re.I)

    def owner(match: re.Match) -> str:
        word = match.group(2).lower()
        if word in ("at", "in", "now", "with", "working", "living", "studying", "staying", "still", "currently"):
            return f"{people[match.group(1).lower()]} is {match.group(2)}"  # "Rosalind's at Bellmoor now": 's is "is"
        if word in _NOT_A_NOUN or re.match(r"[a-z]+ed$", word):
            return match.group(0)
        return f"{people[match.group(1).lower()]}'s {match.group(2)}"

    # "the school of Théo", "the address of Lena": said the other way round
    text = re.sub(r"\bthe\s+([a-z]+)\s+of\s+" + name + r"\b", lambda m: f"{m.group(2)}'s {m.group(1)}", text, flags=re.I)
    text = pattern.sub(owner, text)
    partner = re.compile(r"\b" + name + r"(?=\s+and\s+(?:his|her|their)\b)", re.I)
    text = partner.sub(lambda m: people[m.group(1).lower()], text)
    # "Ileana is working at the Santor hospital" once "my wife's name is Ileana": a sentence about her
    subject = re.compile(r"(^|[.!?,;:]\s+|\b(?:and|so|but|oh|also|now|that|where|what|when|how|which|who)\s+)" + name + r"(?=\s+(?:is|works|worked|lives|lived|goes|went|"
                         r"studies|studied|attends|plays|teaches|drives|started|has|moved|got|(?!(?:called|named)\b)[a-z]+ed|[a-z]{3,}s|"
                         r"just|now|recently|finally)\b(?!\s+(?:called|named)\b))", re.I)
    text = subject.sub(lambda m: m.group(1) + people[m.group(2).lower()], text)
    asked = re.compile(r"\b(where|what|who|when|how)\s+(does|did|is|was|has)\s+" + name + r"\b", re.I)
    text = asked.sub(lambda m: f"{m.group(1)} {m.group(2)} {people[m.group(3).lower()]}", text)  # "where does Rosalind study"
    if re.match(r"^\s*(?:which|what|where|who|when|how|is|does|did|has)\b", text, re.I) and text.rstrip().endswith("?"):
        text = re.sub(r"\b" + name + r"\b(?!'s)", lambda m: people[m.group(1).lower()], text, flags=re.I)  # "which school is Rosa at?"
    return text


def with_own_roles(text: str, facts: Sequence[Any]) -> str:
    """'the new coach is Fiona' -> "my son's new coach is Fiona" when the user's only stored
    coach is their son's: a replacement said of the role, with the owner left out."""
    heads: dict[str, set[str]] = {}
    for fact in facts:
        subject = getattr(fact, "subject", None) or ""
        words = subject.split()
        if subject.startswith("my ") and len(words) >= 2:
            heads.setdefault(canonical(words[-1]), set()).add(subject)

    def role(match: re.Match) -> str:
        owners = heads.get(canonical(match.group(2).lower()), set())
        if len(owners) != 1:
            return match.group(0)
        words = next(iter(owners)).split()
        owner = " ".join(words[:-1]) + ("'s" if len(words) > 2 else "")
        return f"{owner} {match.group(1)} {match.group(2)}".replace("  ", " ")

    text = re.sub(r"\b(?:the|our)\s+(new|current|latest)\s+([A-Za-z-]+)\b(?=\s+(?:is|was|'s|will be)\b)", role, text, flags=re.I)

    def renamed(match: re.Match) -> str:  # "Rebranded! The company's called Tailwind Walks now": the user's company
        owners = heads.get(canonical(match.group(2).lower()), set())
        return f"{match.group(1)}my {match.group(2)}" if owners == {f"my {match.group(2).lower()}"} else match.group(0)

    return re.sub(r"(^|[.!?]\s+)(?:the|our)\s+([A-Za-z-]+)(?=(?:'s|\s+is|\s+was|\s+has been)\s+(?:now\s+)?(?:called|named|renamed)\b)",
                  renamed, text, flags=re.I)


_FEMALE = frozenset({"mother", "mom", "mum", "mommy", "wife", "daughter", "sister", "granddaughter", "grandmother", "grandma",
                     "gran", "granny", "nan", "nana", "aunt", "auntie", "niece", "girlfriend", "fiancee", "stepdaughter",
                     "stepmother", "wifey", "sister-in-law", "mother-in-law", "daughter-in-law", "goddaughter"})
_MALE = frozenset({"father", "dad", "daddy", "husband", "son", "brother", "grandson", "grandfather", "grandpa", "grandad",
                   "uncle", "nephew", "boyfriend", "fiance", "stepson", "stepfather", "hubby", "brother-in-law",
                   "father-in-law", "son-in-law", "godson"})


def topic_for_pronoun(text: str, topics: Sequence[str]) -> str | None:
    """Which of the recent topics (newest last) a leading 'she'/'he' speaks of: the newest one
    whose noun is not of the other gender ("she's at Kinley Park now" after "my daughter ..."
    and then "my husband works at ..." is the daughter)."""
    match = re.match(r"^\W*(she|her|he|his|him)\b", text.strip().lower())
    if not topics:
        return None
    if not match:
        return topics[-1]
    other = _MALE if match.group(1) in ("she", "her") else _FEMALE
    for topic in reversed(topics):
        if not (set(canonical(topic.replace("my ", "", 1)).split()) | set(topic.split())) & other:
            return topic
    return topics[-1]
