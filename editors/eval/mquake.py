"""MQuAKE multi-hop evaluation of the retrieval editors.

Each MQuAKE case has edits (`requested_rewrite`), three paraphrased multi-hop questions,
the post-edit answer (`new_answer` + aliases) and the post-edit chain (`new_single_hops`).

Routes — where a case's edits go before its questions are asked:
- `memory` (default): into the real fact memory (`editmind.memory.FactMemory`, FAISS +
  SQLite, in a temporary home unless one is passed), exactly as the agent stores a
  correction, and the editor reads them through `MemoryFactSource`. The evaluator therefore
  measures the store's own rules too: an edit with the same (subject, relation) as an
  earlier one *supersedes* it, and retrieval goes through the per-user FAISS index.
- `weights`: into the model's weights with a parameter editor (MEMIT by default, one batch
  per case), applied through a snapshot and restored bitwise after the case; the method
  then answers with an empty memory (its own fallback: the bare model). `case` only — see
  docs/multihop.md for why `all` (1,200 edits in one batch) is out of reach on a CPU.

Settings: `case` gives each case its own memory user holding only that case's edits
(deleted after the case); `all` puts every edit of the data file into one user's memory at
once (the setting where retrieval gets confused).

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
ROUTES = ("memory", "weights")
NO_EDIT = "none"
CHAT = "chat"  # no edit method either: the bare model's chat reply


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


def edit_requests(case: dict) -> list[Any]:
    """The case's edits as parameter-edit requests (the weights route)."""
    from editmind.editors.base import EditRequest

    return [EditRequest(subject=r["subject"], prompt=r["prompt"], target_new=r["target_new"]["str"],
                        target_true=(r.get("target_true") or {}).get("str"))
            for r in case["requested_rewrite"]]


def memory_items(facts: Sequence[dict]) -> list[dict]:
    """Facts as `FactMemory.add_many` items: the sentence plus its (subject, relation, object)."""
    from editmind.editors.retrieval.source import fact_text

    return [{"text": fact_text(f["subject"], f["relation"], f["object"]), "subject": f["subject"],
             "relation": f["relation"], "object": f["object"], "source": "mquake",
             "metadata": {"edit": str(f["id"])}} for f in facts]


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
    edit: dict[str, Any] | None = None  # weights route: seconds, reliability, error

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
    route: str = "memory"
    memory_events: dict[str, int] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """The table row: the method, and the route when the edits are in the weights."""
        return self.method if self.route == "memory" else f"{self.method} @{self.route}"

    def summary(self) -> dict[str, Any]:
        n = len(self.cases)
        latencies = [q.seconds for c in self.cases for q in c.questions]
        hop_flags = [c.hops_correct for c in self.cases]
        hop = None if all(f is None for f in hop_flags) else sum(bool(f) for f in hop_flags) / max(1, n)
        summary = {
            "method": self.method,
            "route": self.route,
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
        if self.memory_events:
            summary["memory_events"] = dict(self.memory_events)
        edits = [c.edit for c in self.cases if c.edit is not None]
        if edits:
            done = [e for e in edits if not e.get("error")]
            summary["edit_cases_failed"] = len(edits) - len(done)
            summary["mean_edit_seconds_per_case"] = statistics.fmean(e["seconds"] for e in edits)
            summary["mean_edit_reliability"] = (statistics.fmean(e["reliability"] for e in done) if done else None)
        return summary

    def to_dict(self, traces: bool = True) -> dict[str, Any]:
        return {
            "summary": self.summary(),
            "cases": [
                {"case_id": c.case_id, "new_answer": c.new_answer, "correct": c.correct, "hops_correct": c.hops_correct,
                 **({"edit": c.edit} if c.edit is not None else {}),
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


class _ChatAnswer:
    """The bare model answering through its chat template, as `editmind ask --no-memory`
    does. The weights route needs it: on MQuAKE's questions the raw "Question: ...\nAnswer:"
    completion of `none` is mostly empty for SmolLM2-135M, which says nothing about whether
    an edit in the weights carried over; the chat reply is a sentence that can be checked."""

    name = CHAT

    def answer(self, model: LocalModel, question: str, source: Any):
        from editmind.editors.retrieval.base import Hop, RetrievalAnswer, Trace, short_answer

        trace = Trace(method=CHAT, question=question)
        trace.prompt = question
        t0 = time.perf_counter()
        output = model.chat(question, max_new_tokens=48)
        trace.notes.append(f"chat template, {time.perf_counter() - t0:.2f} s")
        answer = short_answer(output)
        trace.hops.append(Hop(subquestion=question, model_output=output, answer=answer, source="model"))
        return RetrievalAnswer(answer, trace)


def make_method(name: str, **overrides: Any):
    if name.strip().lower() == NO_EDIT:
        return _NoEdit()
    if name.strip().lower() == CHAT:
        return _ChatAnswer()
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
    memory: Any | None = None,
    route: str = "memory",
    weights_method: str = "memit",
    weights_overrides: dict[str, Any] | None = None,
    edit_cache: dict[Any, Any] | None = None,
) -> MquakeReport:
    """Run `method` over `cases` in `setting`, with the edits stored in a `FactMemory`
    (`route="memory"`) or applied to the weights with `weights_method` (`route="weights"`).

    `memory` is an open FactMemory to use; by default a fresh one is made in a temporary
    home (with `embedder`, default all-MiniLM-L6-v2) and removed afterwards. In `all`, one
    user's memory holds the edits of `all_cases` (default: `cases`) at once; in `case`, each
    case gets its own user, whose facts are deleted once the case is answered.

    `edit_cache` (a dict the caller keeps) lets several methods share one weights-route edit
    per case: MEMIT costs minutes per case on a CPU, the questions seconds."""
    import tempfile

    if setting not in SETTINGS:
        raise EditmindError(f"unknown setting {setting!r}; use case or all")
    if route not in ROUTES:
        raise EditmindError(f"unknown route {route!r}; use memory or weights")
    if route == "weights" and setting != "case":
        raise EditmindError("the weights route runs in the case setting only (all 1,200 edits in one MEMIT batch "
                            "is out of reach on a CPU; see docs/multihop.md)")
    editor = editor or make_method(method)
    if memory is not None:
        return _evaluate(model, method, cases, setting, all_cases, questions_per_case, editor, progress, memory,
                         route, weights_method, weights_overrides, edit_cache)
    from editmind.memory import FactMemory

    with tempfile.TemporaryDirectory(prefix="editmind-mquake-") as home:
        with FactMemory(home=home, embedder=embedder, log=lambda _message: None) as fresh:
            return _evaluate(model, method, cases, setting, all_cases, questions_per_case, editor, progress, fresh,
                             route, weights_method, weights_overrides, edit_cache)


def _evaluate(model: LocalModel, method: str, cases: Sequence[dict], setting: str, all_cases: Sequence[dict] | None,
              questions_per_case: int | None, editor: Any, progress: Callable[[int, int, CaseResult], None] | None,
              memory: Any, route: str, weights_method: str, weights_overrides: dict[str, Any] | None,
              edit_cache: dict[Any, Any] | None) -> MquakeReport:
    from editmind.editors.retrieval.memory_source import MemoryFactSource

    reports_hops = method.strip().lower() not in ("ice", "ike", NO_EDIT, CHAT)
    run = f"mquake-{time.strftime('%Y%m%dT%H%M%S')}-{id(cases) % 10_000}"
    events: dict[str, int] = {}

    def store(user: str, facts: list[dict]) -> None:
        for result in memory.add_many(memory_items(facts), user_id=user, source="mquake"):
            events[result.event] = events.get(result.event, 0) + 1

    shared_user = f"{run}-all"
    if setting == "all":
        store(shared_user, all_facts(all_cases or cases))
    parametric = None
    if route == "weights":
        from editmind.editors.base import get_editor

        parametric = get_editor(weights_method, family="parametric", **(weights_overrides or {}))
    started = time.perf_counter()
    results: list[CaseResult] = []
    facts_in_source = memory.count(shared_user) if setting == "all" else 0
    for index, case in enumerate(cases):
        user = shared_user if setting == "all" else f"{run}-case{index}"
        if setting == "case" and route == "memory":
            store(user, case_facts(case))
            facts_in_source = max(facts_in_source, memory.count(user))
        source = MemoryFactSource(memory, user)
        snapshot, edit = None, None
        if parametric is not None:
            snapshot, edit = _apply_case_edits(model, parametric, case, edit_cache, weights_method)
        try:
            questions = case["questions"][:questions_per_case] if questions_per_case else case["questions"]
            answers = []
            for question in questions:
                t0 = time.perf_counter()
                result = editor.answer(model, question, source)
                seconds = time.perf_counter() - t0
                correct = matches(result.answer, new_answers(case))
                hops = hop_chain_correct(result.trace.intermediate_answers, case) if reports_hops else None
                answers.append(QuestionResult(question, result.answer, correct, hops, seconds, result.trace.to_dict()))
        finally:
            if snapshot is not None:
                snapshot.restore()  # bitwise: the next case starts from the unedited weights
            if setting == "case" and route == "memory":
                memory.delete_all(user)
        results.append(CaseResult(case.get("case_id"), case["new_answer"], answers, edit))
        if progress:
            progress(index + 1, len(cases), results[-1])
    if setting == "all":
        memory.delete_all(shared_user)
    label = route if route == "memory" else weights_method
    return MquakeReport(method, setting, results, facts_in_source, time.perf_counter() - started, label, events)


def _apply_case_edits(model: LocalModel, parametric: Any, case: dict, cache: dict[Any, Any] | None,
                      method: str) -> tuple[Any, dict[str, Any]]:
    """Compute the case's edits as one batch (or take them from `cache`) and apply them;
    (snapshot to restore, record). A failed edit is recorded and the questions are asked of
    the unedited model. `seconds` is the compute time, also when the deltas came from the cache."""
    from editmind.editors.deltas import apply_deltas

    requests = edit_requests(case)
    key = (method, case.get("case_id"), tuple((r.subject, r.prompt, r.target_new) for r in requests))
    cached = cache.get(key) if cache is not None else None
    t0 = time.perf_counter()
    try:
        if cached is not None and "error" in cached:
            raise EditmindError(cached["error"])
        result = cached["result"] if cached is not None else parametric.compute(model, requests)
        seconds = cached["seconds"] if cached is not None else time.perf_counter() - t0
        snapshot = apply_deltas(model, result.deltas)
    except EditmindError as exc:
        failed = {"seconds": cached["seconds"] if cached else time.perf_counter() - t0, "error": str(exc),
                  "n_edits": len(requests)}
        if cache is not None:
            cache[key] = failed
        return None, failed
    if cache is not None:
        cache[key] = {"result": result, "seconds": seconds}
    try:
        scores = model.score([r.rendered_prompt for r in requests], [r.target_new for r in requests])
    except BaseException:
        snapshot.restore()
        raise
    return snapshot, {"seconds": seconds, "n_edits": len(requests), "layers": list(result.layers),
                      "reliability": statistics.fmean(s.token_accuracy for s in scores),
                      "target_prob": [round(float(s.prob), 4) for s in scores]}


def format_table(reports: Sequence[MquakeReport]) -> str:
    """One side-by-side table: a row per method, the two settings as column groups."""
    by_method: dict[str, dict[str, dict]] = {}
    for report in reports:
        by_method.setdefault(report.label, {})[report.setting] = report.summary()
    settings = [s for s in SETTINGS if any(s in row for row in by_method.values())]
    width = max([10, *(len(label) for label in by_method)])
    header = f"{'method':{width}}" + "".join(f" | {s + ': n':>8} {'multi-hop':>9} {'hop-acc':>7} {'s/q':>6}" for s in settings)
    lines = [header, "-" * len(header)]
    for method, row in by_method.items():
        line = f"{method:{width}}"
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
