"""How a relation template is compared with a question's wording.

Two signals, both cheap: the embedding of the relation's phrase (the template with the
subject slot and filler words removed, "{} is a citizen of" → "is a citizen of") against
the question, and a lexical overlap of the relation's content words with the question's,
on crude 5-letter stems so "founder"/"founded" and "citizen"/"citizenship" meet. The
lexical signal also lets a walk *consume* the words of every relation it has followed, so
the same phrase cannot justify two hops.
"""

from __future__ import annotations

import re

STOPWORDS = frozenset(
    "a an the of in on at to by for from with is are was were be been has have had do does did "
    "which what who whom whose where when how that this these those it its their his her there "
    "as and or name current currently also serves serve hold holds".split()
)
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")


def normalise(text: str) -> str:
    """Case- and space-insensitive form used to compare entity names."""
    text = re.sub(r"\s+", " ", text.strip().casefold())
    return text.removeprefix("the ").strip(" .,;:!?\"'")


def relation_phrase(template: str) -> str:
    """The words of a relation template without its subject slot: "{} was founded by" →
    "was founded by"; "The capital of {} is" → "The capital of is"."""
    template = template if "{}" in template else "{} " + template
    return re.sub(r"\s+", " ", template.replace("{}", " ")).strip()


def stem(word: str) -> str:
    return word.casefold()[:5]


def content_stems(text: str) -> list[str]:
    return [stem(w) for w in _WORD.findall(text) if w.casefold() not in STOPWORDS]


def lexical_overlap(relation_template: str, question_stems: list[str]) -> tuple[float, list[str]]:
    """Fraction of the relation's content stems present in `question_stems`, and which."""
    wanted = content_stems(relation_phrase(relation_template))
    if not wanted:
        return 0.0, []
    pool = list(question_stems)
    matched = []
    for s in wanted:
        if s in pool:
            pool.remove(s)
            matched.append(s)
    return len(matched) / len(wanted), matched


def find_mentions(question: str, names: list[str]) -> list[tuple[int, str]]:
    """(position, name) of every name that occurs in the question as whole words."""
    folded = question.casefold()
    hits = []
    for name in names:
        key = name.strip().casefold()
        if len(key) < 2:
            continue
        for match in re.finditer(r"(?<![\w])" + re.escape(key) + r"(?![\w])", folded):
            hits.append((match.start(), name))
    return hits


def question_spans(question: str, exclude: str = "") -> list[tuple[str, tuple[int, ...]]]:
    """Content-word unigrams and adjacent bigrams of `question` as (text, word indices),
    leaving out the words of `exclude` (the linked entity's name): the pieces a relation's
    phrasing is looked for in ("spouse", "official language", "country citizenship")."""
    words = _WORD.findall(question)
    banned = {w.casefold() for w in _WORD.findall(exclude)}
    content = [i for i, w in enumerate(words) if w.casefold() not in STOPWORDS and w.casefold() not in banned]
    spans = [(words[i], (i,)) for i in content]
    spans += [(f"{words[a]} {words[b]}", (a, b)) for a, b in zip(content, content[1:]) if b - a <= 3]
    return spans
