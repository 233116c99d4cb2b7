"""KnowEdit metrics, in the two conventions tools use — and they give different numbers.

**Teacher-forced token accuracy ("tf", EasyEdit's convention).** Feed `prompt + target`
once; the score is the fraction of target tokens the model would itself predict (argmax)
at each target position (`LocalModel.score(...).token_accuracy`). Locality in this
convention is the fraction of positions where the edited model's argmax token equals the
UNEDITED model's argmax token, both teacher-forced on the same prompt + reference answer
(EasyEdit compares post- with pre-edit predictions; the reference answer only supplies the
positions).

**Exact match of a greedy generation ("em").** Greedy-decode a continuation of the prompt,
cut it at the first newline, and normalise both it and every accepted answer (lower case,
every run of non-alphanumeric characters becomes one space, trimmed). A cloze probe counts
when the continuation STARTS with an answer or alias followed by a word boundary; a
question probe counts when an answer or alias occurs ANYWHERE in the continuation as whole
words. Locality in this convention: the fraction of locality prompts whose (cut, normalised)
greedy continuation is identical to the unedited model's.

**Chat ("chat", opt-in, question probes only).** What a person chatting with the edited model
sees: the bare question goes through the model's chat template (`LocalModel.chat`, as
`editmind ask --no-memory` sends it), and the greedy reply counts when an answer or alias
occurs in it as whole words — the reply as a whole, since a chat answer restates the question
first ("The Eiffel Tower is located in Rome.").

**Fluency** (ROME's generation entropy): greedy-generate from each prompt, tokenise prompt +
generation
into words and punctuation (a regex stands in for nltk's word_tokenize), compute the
bigram and trigram frequency entropies in bits, and average them with weights 2/3 and 4/3
(`mean(2/3 * H2, 4/3 * H3)`); the score over prompts is the arithmetic mean. Tables report
it x100, the scale of the ROME and KnowEdit papers. Repetitive, degenerated text scores low.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Sequence

from editmind.editors.base import EditRequest
from editmind.editors.eval.records import Probe
from editmind.editors.model.local_model import LocalModel
from editmind.editors.model.scoring import TargetScore

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_WORDS = re.compile(r"\w+|[^\w\s]")
FLUENCY_NS = (2, 3)
FLUENCY_WEIGHTS = (2 / 3, 4 / 3)


def normalize(text: str) -> str:
    return _NON_ALNUM.sub(" ", text.lower()).strip()


def first_line(text: str) -> str:
    return text.strip().split("\n", 1)[0]


def answer_matches(continuation: str, answers: Sequence[str], kind: str = "cloze") -> bool:
    """Exact-match rule (see the module docstring): prefix for clozes, whole-word
    containment for questions, after cutting at the first newline and normalising."""
    said = f" {normalize(first_line(continuation))} "
    for answer in answers:
        wanted = normalize(answer)
        if not wanted:
            continue
        if kind == "question":
            if f" {wanted} " in said:
                return True
        elif said.startswith(f" {wanted} "):
            return True
    return False


# --- teacher-forced (EasyEdit) ---------------------------------------------------------


def token_accuracies(model: LocalModel, probes: Sequence[Probe]) -> list[float]:
    """Teacher-forced token accuracy of each probe's first answer."""
    if not probes:
        return []
    return [s.token_accuracy for s in model.score([p.prompt for p in probes], [p.target for p in probes])]


def reliability(model: LocalModel, request: EditRequest) -> float:
    """Teacher-forced token accuracy of `target_new` on the edit prompt (EasyEdit's
    reliability; 1.0 means every target token is the model's own argmax)."""
    request.validate()
    return model.score([request.rendered_prompt], [request.target_new])[0].token_accuracy


def locality_references(model: LocalModel, probes: Sequence[Probe]) -> list[TargetScore]:
    """The unedited model's teacher-forced predictions on the locality probes: compute
    these BEFORE editing and pass them to `locality_tf` afterwards."""
    if not probes:
        return []
    return model.score([p.prompt for p in probes], [p.target for p in probes])


def argmax_agreement(after: TargetScore, before: TargetScore) -> float:
    if after.target_ids != before.target_ids:
        raise ValueError("locality compares scores of the same prompt and reference answer")
    hits = sum(a == b for a, b in zip(after.argmax_ids, before.argmax_ids))
    return hits / max(1, len(before.argmax_ids))


def locality_tf(model: LocalModel, probes: Sequence[Probe], references: Sequence[TargetScore]) -> list[float]:
    """Per probe: fraction of positions where the current model's argmax equals the
    unedited model's (`references`, from `locality_references`)."""
    if len(probes) != len(references):
        raise ValueError(f"{len(probes)} locality probes but {len(references)} references")
    return [argmax_agreement(a, b) for a, b in zip(locality_references(model, probes), references)]


# --- exact match of greedy generation ---------------------------------------------------


def generation_budget(model: LocalModel, probe: Probe, slack: int = 2, question_tokens: int = 16) -> int:
    """New tokens to generate: enough for the longest accepted answer (+ slack) after a
    cloze; a fixed budget after a question, whose answer may come after a few words."""
    if probe.kind == "question":
        return question_tokens
    longest = max(len(model.tokenizer(" " + a, add_special_tokens=False)["input_ids"]) for a in probe.answers)
    return longest + slack


def continuations(model: LocalModel, probes: Sequence[Probe]) -> list[str]:
    return [model.complete(p.prompt, max_new_tokens=generation_budget(model, p)) for p in probes]


def exact_matches(model: LocalModel, probes: Sequence[Probe], texts: Sequence[str] | None = None) -> list[float]:
    """1.0/0.0 per probe by the exact-match rule; `texts` reuses continuations already made."""
    texts = list(texts) if texts is not None else continuations(model, probes)
    return [float(answer_matches(t, p.answers, p.kind)) for t, p in zip(texts, probes)]


def chat_matches(model: LocalModel, probes: Sequence[Probe], max_new_tokens: int = 32) -> list[float]:
    """1.0/0.0 per question probe: the chat reply to the bare question names an answer."""
    out = []
    for probe in probes:
        if probe.kind != "question" or not probe.question:
            raise ValueError(f"chat matching needs question probes with their bare question, got {probe.prompt!r}")
        reply = " ".join(model.chat(probe.question, max_new_tokens=max_new_tokens).split())
        out.append(float(answer_matches(reply, probe.answers, "question")))
    return out


def same_output(after: str, before: str) -> float:
    return float(normalize(first_line(after)) == normalize(first_line(before)))


def locality_em(model: LocalModel, probes: Sequence[Probe], references: Sequence[str]) -> list[float]:
    """Per probe: 1.0 when the current greedy continuation equals the unedited model's
    (`references`, from `continuations` before editing)."""
    if len(probes) != len(references):
        raise ValueError(f"{len(probes)} locality probes but {len(references)} references")
    return [same_output(a, b) for a, b in zip(continuations(model, probes), references)]


# --- fluency ---------------------------------------------------------------------------


def ngram_entropy(text: str, ns: Sequence[int] = FLUENCY_NS, weights: Sequence[float] = FLUENCY_WEIGHTS) -> float:
    """ROME's weighted n-gram entropy of one text, in bits (0.0 for text too short)."""
    tokens = _WORDS.findall(text)
    values = []
    for n, weight in zip(ns, weights):
        grams = Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
        total = sum(grams.values())
        entropy = -sum(c / total * math.log2(c / total) for c in grams.values()) if total else 0.0
        values.append(weight * entropy)
    return sum(values) / len(values)


def fluency(model: LocalModel, prompts: Sequence[str], max_new_tokens: int = 48) -> float:
    """Mean n-gram entropy of prompt + greedy generation, as ROME scores its generated
    texts (bits; x100 in tables)."""
    if not prompts:
        return float("nan")
    return sum(ngram_entropy(p + model.complete(p, max_new_tokens=max_new_tokens)) for p in prompts) / len(prompts)
