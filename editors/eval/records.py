"""KnowEdit-style evaluation records built from MQuAKE-format cases.

The KnowEdit JSON files live only on a model hub, so the evaluator builds the same kind of
records from MQuAKE cases (../shared/data/mquake/mquake_hard_dev.json, or any JSON list in
that shape given by path):

- each `requested_rewrite` becomes one `EditRequest` (prompt template, subject, target_new,
  target_true);
- **reliability** probe: the rewrite's own cloze (`prompt` with the subject filled in);
- **generalization** probes: the rewrite's `question` and the matching `new_single_hops`
  question (in MQuAKE-hard they are the same string, so it appears once), plus — when a
  `cloze_templates.json` sits next to the data file — the relation's other cloze wording
  if it differs from the edit prompt. All are answered with `target_new`;
- **paraphrased** question probes, scored apart: when `edit_paraphrases.json` (PokeMQA)
  sits next to the data file and lists the edit's sentence, its other wordings of the
  question (a quarter of the first 100 dev cases' edits have them);
- **portability** probes: the case's multi-hop `questions`, answered with `new_answer`
  (aliases count for exact match), measured only after ALL the case's edits are applied;
- **locality** probes: `single_hops` clozes of OTHER cases whose subjects are not edited in
  the selection, preferring cases outside the selection; their expected output is whatever
  the UNEDITED model says (the true answer is only the teacher-forcing continuation).

Questions are wrapped as `question_format` ("Question: {}\\nAnswer:") so a base or instruct
model answers in place; clozes are used as they are.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Sequence

from editmind.editors.base import EditRequest
from editmind.editors.errors import EditmindError

ProbeKind = Literal["cloze", "question"]


class RecordsError(EditmindError):
    """The evaluation data file is missing or not in the MQuAKE shape."""


@dataclass(frozen=True)
class Probe:
    """One prompt and the answers that count. `answers[0]` is the teacher-forced target;
    the rest are aliases accepted by exact match. `subject` is the entity the prompt is
    about (used to keep locality prompts away from edited subjects)."""

    prompt: str
    answers: tuple[str, ...]
    kind: ProbeKind = "cloze"
    subject: str = ""
    question: str = ""  # a question probe's bare question, as a person would type it in a chat

    @property
    def target(self) -> str:
        return self.answers[0]

    def to_dict(self) -> dict[str, Any]:
        return {"prompt": self.prompt, "answers": list(self.answers), "kind": self.kind, "subject": self.subject,
                **({"question": self.question} if self.question else {})}


@dataclass(frozen=True)
class EditCase:
    """One requested rewrite with its reliability and generalization probes."""

    request: EditRequest
    reliability: Probe
    generalization: tuple[Probe, ...]
    # Other people's wordings of the question (edit_paraphrases.json), where the data has
    # them: a generalization test no question-writing rule was shaped on. Scored apart.
    paraphrased: tuple[Probe, ...] = ()


@dataclass(frozen=True)
class KnowEditRecord:
    """One MQuAKE case: its edits (all, or the first ones when `n` cut the case), the
    multi-hop portability probes and the locality probes."""

    case_id: str
    edits: tuple[EditCase, ...]
    portability: tuple[Probe, ...]
    locality: tuple[Probe, ...]
    complete: bool = True  # False when `n` cut the case: portability needs all its edits

    @property
    def subjects(self) -> set[str]:
        return {edit.request.subject for edit in self.edits}


@dataclass
class RecordConfig:
    question_format: str = "Question: {}\nAnswer:"
    locality_per_case: int = 4
    cloze_paraphrases: bool = True  # use cloze_templates.json next to the data file when present
    question_paraphrases: bool = True  # use edit_paraphrases.json next to the data file when present
    extra: dict[str, Any] = field(default_factory=dict)


def _string(value: Any) -> str:
    """MQuAKE stores targets as {"str": ..., "id": ...}; plain strings are accepted too."""
    if isinstance(value, dict):
        value = value.get("str")
    if not isinstance(value, str) or not value.strip():
        raise RecordsError(f"expected a non-empty string or {{'str': ...}}, got {value!r}")
    return value.strip()


def _answers(answer: Any, aliases: Any) -> tuple[str, ...]:
    out = [_string(answer)]
    for alias in aliases or []:
        if isinstance(alias, str) and alias.strip() and alias.strip() not in out:
            out.append(alias.strip())
    return tuple(out)


def _question(text: str, config: RecordConfig) -> str:
    return config.question_format.format(text.strip())


def read_cases(path: str | Path) -> list[dict[str, Any]]:
    """The raw JSON cases, with a one-line error for a missing or malformed file."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise RecordsError(f"evaluation data not found: {path}; pass --data PATH to an MQuAKE-format JSON file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RecordsError(f"{path} is not valid JSON ({exc})") from None
    if not isinstance(data, list) or not data:
        raise RecordsError(f"{path} must hold a non-empty JSON list of MQuAKE-format cases")
    for index, case in enumerate(data):
        if not isinstance(case, dict) or not isinstance(case.get("requested_rewrite"), list) or not case["requested_rewrite"]:
            raise RecordsError(f"{path}: case {index} has no 'requested_rewrite' list; not an MQuAKE-format file")
    return data


def _beside(path: Path, name: str) -> Any:
    """The JSON in the file `name` next to the data file; None when it is missing or unreadable
    (the extras it holds are optional)."""
    candidate = path.expanduser().parent / name
    if not candidate.is_file():
        return None
    try:
        return json.loads(candidate.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def _load_cloze_templates(path: Path) -> dict[str, str]:
    data = _beside(path, "cloze_templates.json")
    return {k: v for k, v in data.items() if isinstance(v, str) and "[X]" in v} if isinstance(data, dict) else {}


def _load_question_paraphrases(path: Path) -> dict[str, tuple[str, ...]]:
    """edit sentence (case-folded) -> its paraphrased questions, from the PokeMQA file
    `edit_paraphrases.json` ([{"edit": "<subject> <relation> <object>", "questions": [...]}])."""
    data = _beside(path, "edit_paraphrases.json")
    out: dict[str, tuple[str, ...]] = {}
    for item in data if isinstance(data, list) else []:
        if isinstance(item, dict) and isinstance(item.get("edit"), str) and isinstance(item.get("questions"), list):
            asked = tuple(q.strip() for q in item["questions"] if isinstance(q, str) and q.strip())
            out.setdefault(_edit_sentence(item["edit"]), asked)
    return out


def wording(text: str) -> str:
    """A text up to case and spacing: two wordings of a question are the same when these are."""
    return " ".join(text.split()).casefold()


def _edit_sentence(text: str) -> str:
    return wording(text).rstrip(".")


def _edit_case(raw: dict[str, Any], case: dict[str, Any], config: RecordConfig, clozes: dict[str, str], where: str,
               paraphrases: dict[str, tuple[str, ...]] | None = None) -> EditCase:
    try:
        subject = _string(raw["subject"])
        template = raw["prompt"]
        target_new = _string(raw["target_new"])
        target_true = _string(raw["target_true"]) if raw.get("target_true") is not None else None
    except KeyError as exc:
        raise RecordsError(f"{where}: requested_rewrite lacks {exc.args[0]!r}") from None
    if not isinstance(template, str) or "{}" not in template:
        raise RecordsError(f"{where}: the rewrite prompt {template!r} has no '{{}}' for the subject")
    request = EditRequest(subject=subject, prompt=template, target_new=target_new, target_true=target_true)
    request.validate()
    cloze = template.format(subject)
    new_hops = [h for h in case.get("new_single_hops") or [] if isinstance(h, dict)]
    aliases: tuple[str, ...] = ()
    questions: list[str] = []
    if isinstance(raw.get("question"), str) and raw["question"].strip():
        questions.append(raw["question"].strip())
    for hop in new_hops:  # the single hop this rewrite creates: same cloze (or same question)
        if hop.get("cloze") == cloze or hop.get("question") in questions:
            if isinstance(hop.get("question"), str) and hop["question"].strip() not in questions:
                questions.append(hop["question"].strip())
            if _string(hop.get("answer", target_new)) == target_new:
                aliases = _answers(target_new, hop.get("answer_alias"))[1:]
    answers = (target_new, *aliases)
    generalization = [Probe(_question(q, config), answers, "question", subject, q.strip()) for q in questions]
    relation = raw.get("relation_id")
    if config.cloze_paraphrases and isinstance(relation, str) and relation in clozes:
        # Cloze templates end in "__" (the blank); what precedes it is the paraphrased prompt.
        paraphrase = clozes[relation].replace("[X]", subject).split("__")[0].strip()
        if paraphrase and paraphrase != cloze and subject in paraphrase:
            generalization.append(Probe(paraphrase, answers, "cloze", subject))
    asked = (paraphrases or {}).get(_edit_sentence(f"{cloze} {target_new}"), ())
    known = {wording(q) for q in questions}
    others = [q for q in dict.fromkeys(asked) if wording(q) not in known and subject in q]
    paraphrased = tuple(Probe(_question(q, config), answers, "question", subject, q) for q in others)
    return EditCase(request, Probe(cloze, answers, "cloze", subject), tuple(generalization), paraphrased)


def _hop_subjects(case: dict[str, Any]) -> list[str]:
    """The subject of each single hop, from `orig.triples_labeled` when present."""
    triples = (case.get("orig") or {}).get("triples_labeled") or []
    return [t[0] for t in triples if isinstance(t, (list, tuple)) and t and isinstance(t[0], str)]


def _locality_pool(case: dict[str, Any]) -> list[Probe]:
    hops = [h for h in case.get("single_hops") or [] if isinstance(h, dict)]
    subjects = _hop_subjects(case)
    pool = []
    for index, hop in enumerate(hops):
        cloze, answer = hop.get("cloze"), hop.get("answer")
        if not isinstance(cloze, str) or not cloze.strip() or not isinstance(answer, str) or not answer.strip():
            continue
        subject = subjects[index] if index < len(subjects) else ""
        pool.append(Probe(cloze.strip(), _answers(answer, hop.get("answer_alias")), "cloze", subject))
    return pool


def mentions_any(probe: Probe, subjects: set[str]) -> bool:
    """Whether a probe is about, or mentions, one of `subjects` (then it is no locality probe)."""
    return probe.subject in subjects or any(s and s in probe.prompt for s in subjects)


def build_records(
    cases: Sequence[dict[str, Any]], n: int | None = None, config: RecordConfig | None = None,
    cloze_templates: dict[str, str] | None = None, source: str = "data",
    question_paraphrases: dict[str, tuple[str, ...]] | None = None,
) -> list[KnowEditRecord]:
    """Records for the first `n` edits (whole cases in file order; the last may be cut).

    Locality probes come from cases after the selection first (then from the other selected
    cases), skipping any prompt about a subject edited anywhere in the selection, so they
    stay valid in batch and sequential mode too.
    """
    config = config or RecordConfig()
    clozes = cloze_templates or {}
    if n is not None and n < 1:
        raise RecordsError(f"--n must be at least 1, got {n}")
    selected: list[tuple[int, dict[str, Any], list[EditCase], bool]] = []
    remaining = n if n is not None else sum(len(c["requested_rewrite"]) for c in cases)
    for index, case in enumerate(cases):
        if remaining <= 0:
            break
        rewrites = case["requested_rewrite"]
        take = rewrites[:remaining]
        edits = [_edit_case(r, case, config, clozes, f"{source}: case {index}", question_paraphrases) for r in take]
        selected.append((index, case, edits, len(take) == len(rewrites)))
        remaining -= len(take)
    edited = {e.request.subject for _, _, edits, _ in selected for e in edits}
    chosen = {index for index, *_ in selected}
    order = [i for i in range(len(cases)) if i not in chosen] + [i for i in range(len(cases)) if i in chosen]
    pool = [(i, p) for i in order for p in _locality_pool(cases[i]) if not mentions_any(p, edited)]
    records = []
    cursor = 0
    for index, case, edits, complete in selected:
        locality: list[Probe] = []
        seen: set[str] = set()
        for step in range(len(pool)):
            if len(locality) >= config.locality_per_case:
                break
            owner, probe = pool[(cursor + step) % len(pool)]
            if owner != index and probe.prompt not in seen:
                locality.append(probe)
                seen.add(probe.prompt)
        cursor = (cursor + config.locality_per_case) % max(1, len(pool))
        portability = ()
        if complete and case.get("questions") and case.get("new_answer"):
            answers = _answers(case["new_answer"], case.get("new_answer_alias"))
            portability = tuple(
                Probe(_question(q, config), answers, "question", edits[0].request.subject, q.strip())
                for q in case["questions"] if isinstance(q, str) and q.strip()
            )
        records.append(KnowEditRecord(str(case.get("case_id", index)), tuple(edits), portability, tuple(locality), complete))
    return records


def load_knowedit_records(path: str | Path, n: int | None = None, config: RecordConfig | None = None,
                          start_case: int = 0) -> list[KnowEditRecord]:
    """KnowEdit-style records for the first `n` edits of an MQuAKE-format JSON file, from
    case `start_case` on: a held-out slice of a file whose first cases were used to tune."""
    config = config or RecordConfig()
    cases = read_cases(path)
    if not 0 <= start_case < len(cases):
        raise RecordsError(f"start case {start_case} is outside the {len(cases)} cases of {path}; use 0 to {len(cases) - 1}")
    cases = cases[start_case:]
    clozes = _load_cloze_templates(Path(path)) if config.cloze_paraphrases else {}
    asked = _load_question_paraphrases(Path(path)) if config.question_paraphrases else {}
    return build_records(cases, n, config, clozes, source=str(path), question_paraphrases=asked)
