"""MQuAKE multi-hop evaluation of the retrieval editors.

Each MQuAKE case has edits (`requested_rewrite`), three paraphrased multi-hop questions,
the post-edit answer (`new_answer` + aliases) and the post-edit chain (`new_single_hops`).
Settings: `case` puts only the case's own edits in the fact source; `all` puts every edit
of the data file in one source at once (the setting where retrieval gets confused).

Metrics, as in MQuAKE / PokeMQA:
- multi-hop accuracy: a case counts if ANY of its questions is answered with `new_answer`
  or an alias;
- hop accuracy: a case counts if some question is answered right AND its trace's
  intermediate answers are, hop by hop, the gold chain's (only methods that report hops);
- latency: mean seconds per question.

A method's answer matches a gold string when, after case/space/punctuation/article
normalisation, they are equal or the gold string occurs as whole words in the answer's
first sentence (model generations add words such as "the city of").
"""

from __future__ import annotations

import json
import re
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from editmind.editors.errors import EditmindError
from editmind.editors.model.local_model import LocalModel

SETTINGS = ("case", "all")
NO_EDIT = "none"


def load_cases(path: str | Path, n: int | None = None) -> list[dict]:
    path = Path(path).expanduser()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EditmindError(f"MQuAKE data not found at {path}; pass --data PATH to mquake_hard_dev.json") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise EditmindError(f"cannot read MQuAKE data {path}: {exc}") from None
    if not isinstance(data, list) or not data or not all(
        isinstance(c, dict) and "requested_rewrite" in c and "questions" in c and "new_answer" in c for c in data
    ):
        raise EditmindError(f"{path} is not MQuAKE-format (a list of cases with requested_rewrite, questions, new_answer)")
    if n is not None:
        if n <= 0:
            raise EditmindError(f"--n must be positive, got {n}")
        data = data[:n]
    return data


def case_facts(case: dict) -> list[dict]:
    """The case's edits as facts: subject, relation template (the edit prompt), new object."""
    facts = []
    for i, rewrite in enumerate(case["requested_rewrite"]):
        facts.append({
            "id": f"{case.get('case_id', '?')}:{i}",
            "subject": rewrite["subject"],
            "relation": rewrite["prompt"],
            "object": rewrite["target_new"]["str"],
        })
    return facts


def all_facts(cases: Sequence[dict]) -> list[dict]:
    """Every edit of every case, identical (subject, relation, object) stored once."""
    seen: dict[tuple[str, str, str], dict] = {}
    for case in cases:
        for fact in case_facts(case):
            seen.setdefault((fact["subject"], fact["relation"], fact["object"]), fact)
    return list(seen.values())


_ARTICLES = re.compile(r"^(the|a|an)\s+")


def normalise_answer(text: str) -> str:
    text = text.casefold().strip()
    text = re.sub(r"[\"'`.,;:!?()\[\]]", " ", text)
    text = re.sub(r"\s+", " ", text).strip()
    return _ARTICLES.sub("", text)


def matches(answer: str, golds: Sequence[str]) -> bool:
    said = normalise_answer(answer)
    if not said:
        return False
    for gold in golds:
        want = normalise_answer(gold)
        if want and (said == want or re.search(r"(?<!\w)" + re.escape(want) + r"(?!\w)", said)):
            return True
    return False


def new_answers(case: dict) -> list[str]:
    return [case["new_answer"], *case.get("new_answer_alias", [])]


def hop_chain_correct(intermediate: Sequence[str], case: dict) -> bool:
    gold = case.get("new_single_hops") or []
    if not gold or len(intermediate) != len(gold):
        return False
    return all(matches(said, [hop["answer"], *hop.get("answer_alias", [])]) for said, hop in zip(intermediate, gold))


@dataclass
class QuestionResult:
    question: str
    answer: str
    correct: bool
    hops_correct: bool | None
    seconds: float
    trace: dict[str, Any] = field(default_factory=dict)


@dataclass
class CaseResult:
    case_id: Any
    new_answer: str
    questions: list[QuestionResult]

    @property
    def correct(self) -> bool:
        return any(q.correct for q in self.questions)

    @property
    def hops_correct(self) -> bool | None:
        flags = [q.hops_correct for q in self.questions]
        if all(f is None for f in flags):
            return None
        return any(bool(f) and q.correct for f, q in zip(flags, self.questions))


@dataclass
class MquakeReport:
    method: str
    setting: str
    cases: list[CaseResult]
    facts_in_source: int
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        n = len(self.cases)
        latencies = [q.seconds for c in self.cases for q in c.questions]
        hop_flags = [c.hops_correct for c in self.cases]
        hop = None if all(f is None for f in hop_flags) else sum(bool(f) for f in hop_flags) / max(1, n)
        return {
            "method": self.method,
            "setting": self.setting,
            "n_cases": n,
            "n_questions": len(latencies),
            "facts_in_source": self.facts_in_source,
            "multi_hop_accuracy": sum(c.correct for c in self.cases) / max(1, n),
            "hop_accuracy": hop,
            "question_accuracy": sum(q.correct for c in self.cases for q in c.questions) / max(1, len(latencies)),
            "mean_seconds_per_question": statistics.fmean(latencies) if latencies else 0.0,
            "max_seconds_per_question": max(latencies) if latencies else 0.0,
            "total_seconds": self.seconds,
        }

    def to_dict(self, traces: bool = True) -> dict[str, Any]:
        return {
            "summary": self.summary(),
            "cases": [
                {"case_id": c.case_id, "new_answer": c.new_answer, "correct": c.correct, "hops_correct": c.hops_correct,
                 "questions": [{"question": q.question, "answer": q.answer, "correct": q.correct,
                                "hops_correct": q.hops_correct, "seconds": round(q.seconds, 4),
                                **({"trace": q.trace} if traces else {})} for q in c.questions]}
                for c in self.cases
            ],
        }


class _NoEdit:
    """The no-edit baseline: the bare model answers each question (raw QA completion)."""

    name = NO_EDIT

    def answer(self, model: LocalModel, question: str, source: Any):
        from editmind.editors.retrieval.base import Hop, RetrievalAnswer, RetrievalEditor, Trace, short_answer

        trace = Trace(method=NO_EDIT, question=question)
        trace.prompt = f"Question: {question}\nAnswer:"
        output = RetrievalEditor.generate(model, trace.prompt, trace, max_new_tokens=16)
        answer = short_answer(output)
        trace.hops.append(Hop(subquestion=question, model_output=output, answer=answer, source="model"))
        return RetrievalAnswer(answer, trace)


def make_method(name: str, **overrides: Any):
    if name.strip().lower() == NO_EDIT:
        return _NoEdit()
    from editmind.editors.base import get_editor

    return get_editor(name, family="retrieval", **overrides)


def evaluate(
    model: LocalModel,
    method: str,
    cases: Sequence[dict],
    setting: str = "case",
    all_cases: Sequence[dict] | None = None,
    questions_per_case: int | None = None,
    embedder: Any | None = None,
    editor: Any | None = None,
    progress: Callable[[int, int, CaseResult], None] | None = None,
) -> MquakeReport:
    """Run `method` over `cases` in `setting`. In `all`, the source holds the edits of
    `all_cases` (default: `cases`) at once."""
    from editmind.editors.retrieval.source import ListFactSource

    if setting not in SETTINGS:
        raise EditmindError(f"unknown setting {setting!r}; use case or all")
    editor = editor or make_method(method)
    reports_hops = method.strip().lower() not in ("ice", "ike")
    shared = ListFactSource(all_facts(all_cases or cases), embedder=embedder) if setting == "all" else None
    started = time.perf_counter()
    results: list[CaseResult] = []
    facts_in_source = len(shared) if shared is not None else 0
    for index, case in enumerate(cases):
        source = shared if shared is not None else ListFactSource(case_facts(case), embedder=embedder)
        facts_in_source = max(facts_in_source, len(source))
        questions = case["questions"][:questions_per_case] if questions_per_case else case["questions"]
        answers = []
        for question in questions:
            t0 = time.perf_counter()
            result = editor.answer(model, question, source)
            seconds = time.perf_counter() - t0
            correct = matches(result.answer, new_answers(case))
            hops = hop_chain_correct(result.trace.intermediate_answers, case) if reports_hops and method != NO_EDIT else None
            answers.append(QuestionResult(question, result.answer, correct, hops, seconds, result.trace.to_dict()))
        results.append(CaseResult(case.get("case_id"), case["new_answer"], answers))
        if progress:
            progress(index + 1, len(cases), results[-1])
    return MquakeReport(method, setting, results, facts_in_source, time.perf_counter() - started)


def format_table(reports: Sequence[MquakeReport]) -> str:
    """One side-by-side table: a row per method, the two settings as column groups."""
    by_method: dict[str, dict[str, dict]] = {}
    for report in reports:
        by_method.setdefault(report.method, {})[report.setting] = report.summary()
    settings = [s for s in SETTINGS if any(s in row for row in by_method.values())]
    header = f"{'method':10}" + "".join(f" | {s + ': n':>8} {'multi-hop':>9} {'hop-acc':>7} {'s/q':>6}" for s in settings)
    lines = [header, "-" * len(header)]
    for method, row in by_method.items():
        line = f"{method:10}"
        for s in settings:
            summary = row.get(s)
            if summary is None:
                line += f" | {'-':>8} {'-':>9} {'-':>7} {'-':>6}"
                continue
            hop = "-" if summary["hop_accuracy"] is None else f"{100 * summary['hop_accuracy']:.1f}"
            line += (f" | {summary['n_cases']:>8} {100 * summary['multi_hop_accuracy']:>9.1f} {hop:>7}"
                     f" {summary['mean_seconds_per_question']:>6.2f}")
        lines.append(line)
    return "\n".join(lines)
