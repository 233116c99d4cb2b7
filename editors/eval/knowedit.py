"""Run parameter editors over KnowEdit-style records and tabulate the paper's metrics.

Three modes:

- **single** — every edit alone on the unedited model: compute, apply, measure, restore
  bitwise (`apply_deltas(...).restore()`). Portability needs all of a case's edits at once:
  after its edits were measured one by one, the case's single-edit deltas (each computed on
  the unedited model) are applied together, its multi-hop questions are measured, and the
  weights are restored.
- **batch** — all selected edits computed in one call (methods that do not batch compute
  them one after another on the progressively edited model), applied, then measured.
- **sequential** — edits computed and applied one after another, each on the model the
  previous ones left; everything measured after the last (the lifelong-editing setting).
  With `checkpoints` (edit counts), reliability and generalization of the edits made so
  far and locality are also measured on the way, giving the curve of a long stream (and
  numbers for a run cut off before its end).

Locality is always judged against the unedited model's own outputs, computed once before
the first edit. The model is verified bitwise unchanged (fingerprint) after every method.
The table is shaped like the KnowEdit paper's Table 4: rows are metrics, columns methods,
with an "unedited" column for reference; values are percentages (fluency x100, ROME scale).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Literal, Sequence

from editmind.editors.base import EditResult, ParameterEditor, WeightDelta, get_editor
from editmind.editors.deltas import Snapshot, apply_deltas
from editmind.editors.errors import EditmindError
from editmind.editors.eval import metrics
from editmind.editors.eval.records import EditCase, KnowEditRecord, Probe, load_knowedit_records, wording
from editmind.editors.model.local_model import LocalModel

Mode = Literal["single", "batch", "sequential"]
CONVENTIONS = ("tf", "em")
UNEDITED = "unedited"

# (row key, label) in the order of the printed table.
ROWS: tuple[tuple[str, str], ...] = (
    ("edit_success_tf", "Edit Succ. (tf)"),
    ("reliability_tf", "  Reliability (tf)"),
    ("generalization_tf", "  Generalization (tf)"),
    ("generalization_unseen_tf", "    unseen wordings (tf)"),
    ("portability_tf", "Portability (tf)"),
    ("locality_tf", "Locality (tf)"),
    ("edit_success_em", "Edit Succ. (em)"),
    ("reliability_em", "  Reliability (em)"),
    ("generalization_em", "  Generalization (em)"),
    ("generalization_unseen_em", "    unseen wordings (em)"),
    ("generalization_trained_share", "Gen. probes trained on"),
    ("generalization_paraphrased_tf", "Paraphrased questions (tf)"),
    ("generalization_paraphrased_em", "Paraphrased questions (em)"),
    ("portability_em", "Portability (em)"),
    ("locality_em", "Locality (em)"),
    ("generalization_chat", "Generalization (chat)"),
    ("portability_chat", "Portability (chat)"),
    ("fluency", "Fluency (x100)"),
    ("seconds_per_edit", "Seconds per edit"),
    ("failed_edits", "Failed edits"),
)
LEGEND = (
    "tf = teacher-forced token accuracy (EasyEdit); em = exact match of greedy generation "
    "(cloze: continuation starts with answer/alias; question: contains it). Locality = agreement "
    "with the unedited model's own outputs; chat = the greedy chat-template reply to the bare "
    "question names the answer. Percentages; fluency = ROME n-gram entropy x100. \"unseen "
    "wordings\" = generalization over the question probes that are not verbatim among the questions the "
    "edit was optimised on (its self-questions), and the share of probes that are. Paraphrased "
    "questions = other wordings of the edit's question (PokeMQA's edit_paraphrases.json), where the data has them."
)


class EvaluationError(EditmindError):
    """The evaluation could not run as asked."""


def parse_checkpoints(text: str | None) -> tuple[int, ...]:
    """"100,200" -> (100, 200): the edit counts a sequential run is also measured at."""
    if not text:
        return ()
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise EvaluationError(f"checkpoints {text!r} are not a list of edit counts; write them like 100,200,300") from None


@dataclass
class EvalConfig:
    mode: Mode = "single"
    conventions: tuple[str, ...] = CONVENTIONS
    fluency: bool = True
    fluency_tokens: int = 48
    show_progress: bool = True
    checkpoints: tuple[int, ...] = ()  # sequential mode: also measure after this many edits
    chat: bool = False  # also ask the question probes through the chat template (metrics.chat_matches)


@dataclass
class MethodReport:
    """One column of the table, with the per-edit numbers behind it."""

    method: str
    metrics: dict[str, float]
    n_edits: int
    failed: list[dict[str, str]] = field(default_factory=list)
    per_edit: list[dict[str, Any]] = field(default_factory=list)
    compute_seconds: float = 0.0
    curve: list[dict[str, float]] = field(default_factory=list)  # sequential checkpoints

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method, "metrics": self.metrics, "n_edits": self.n_edits, "failed": self.failed,
            "compute_seconds": round(self.compute_seconds, 3), "per_edit": self.per_edit, "curve": self.curve,
        }


@dataclass
class KnowEditTable:
    mode: str
    n_edits: int
    n_cases: int
    n_portability_cases: int
    n_locality_probes: int
    reports: list[MethodReport] = field(default_factory=list)
    data: str = ""
    model: str = ""
    conventions: tuple[str, ...] = CONVENTIONS

    @property
    def columns(self) -> dict[str, dict[str, float]]:
        return {r.method: r.metrics for r in self.reports}

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": "KnowEdit Table 4 shape: rows are metrics, columns are methods",
            "legend": LEGEND, "mode": self.mode, "model": self.model, "data": self.data,
            "n_edits": self.n_edits, "n_cases": self.n_cases, "n_portability_cases": self.n_portability_cases,
            "n_locality_probes": self.n_locality_probes, "conventions": list(self.conventions),
            "rows": [key for key, _ in ROWS], "columns": self.columns,
            "methods": {r.method: r.to_dict() for r in self.reports},
        }

    def format(self) -> str:
        methods = [r.method for r in self.reports]
        width = max([10] + [len(m) + 2 for m in methods])
        header = f"KnowEdit ({self.mode}, {self.n_edits} edits, {self.n_cases} cases)"
        lines = [f"{header:28}" + "".join(f"{m:>{width}}" for m in methods)]
        for key, label in ROWS:
            values = [r.metrics.get(key) for r in self.reports]
            if all(v is None for v in values):
                continue
            cells = "".join(f"{_cell(v, key):>{width}}" for v in values)
            lines.append(f"{label:28}{cells}")
        lines.append(LEGEND)
        return "\n".join(lines)


def _cell(value: float | None, key: str) -> str:
    if value is None or value != value:  # None or NaN
        return "-"
    if key == "failed_edits":
        return str(int(value))
    return f"{value:.2f}"


def _mean(values: Sequence[float]) -> float:
    values = [v for v in values if v == v]
    return sum(values) / len(values) if values else float("nan")


def _trained_on(probe: Probe, trained: set[str]) -> bool:
    """Whether a question probe is one of the trained questions (`trained`: their `wording`s)."""
    return probe.kind == "question" and bool(probe.question) and wording(probe.question) in trained


def _trained_questions(result: EditResult, index: int = 0) -> list[str]:
    """The questions the index-th request of an edit was optimised on (its paraphrases)."""
    paraphrases = result.info.get("paraphrases") or []
    return list(paraphrases[index]) if index < len(paraphrases) else []


class _References:
    """What the unedited model says: locality references and the 'unedited' column."""

    def __init__(self, model: LocalModel, records: Sequence[KnowEditRecord], config: EvalConfig) -> None:
        self.config = config
        probes = {p.prompt: p for r in records for p in r.locality}
        self.locality_probes = list(probes.values())
        self.tf = dict(zip(probes, metrics.locality_references(model, self.locality_probes))) if "tf" in config.conventions else {}
        self.em = dict(zip(probes, metrics.continuations(model, self.locality_probes))) if "em" in config.conventions else {}


class _Meter:
    """Measures probes on the model as it currently is."""

    def __init__(self, model: LocalModel, refs: _References, config: EvalConfig) -> None:
        self.model, self.refs, self.config = model, refs, config

    def _score(self, probes: Sequence[Probe]) -> dict[str, list[float]]:
        out: dict[str, list[float]] = {}
        if "tf" in self.config.conventions:
            out["tf"] = metrics.token_accuracies(self.model, probes)
        if "em" in self.config.conventions:
            out["em"] = metrics.exact_matches(self.model, probes)
        return out

    def edit(self, edit: EditCase, trained: Sequence[str] | None = None) -> dict[str, float]:
        """`trained`: the questions the edit was optimised on (None: not known, as for the
        unedited model), to tell generalization to them from generalization to new wordings."""
        row: dict[str, float] = {}
        rel = self._score([edit.reliability])
        gen = self._score(edit.generalization)
        wordings = {wording(q) for q in trained or ()}
        seen = [trained is not None and _trained_on(p, wordings) for p in edit.generalization]
        for conv in self.config.conventions:
            row[f"reliability_{conv}"] = rel[conv][0]
            row[f"generalization_{conv}"] = _mean(gen[conv])
            if trained is not None:
                row[f"generalization_unseen_{conv}"] = _mean([s for s, t in zip(gen[conv], seen) if not t])
        if trained is not None and seen:
            row["generalization_trained_share"] = sum(seen) / len(seen)
        if edit.paraphrased:
            for conv, values in self._score(edit.paraphrased).items():
                row[f"generalization_paraphrased_{conv}"] = _mean(values)
        questions = [p for p in edit.generalization if p.kind == "question" and p.question]
        if self.config.chat and questions:
            row["generalization_chat"] = _mean(metrics.chat_matches(self.model, questions))
        if self.config.fluency:
            row["fluency"] = metrics.fluency(self.model, [edit.request.rendered_prompt], self.config.fluency_tokens)
        return row

    def portability(self, record: KnowEditRecord) -> dict[str, float]:
        scores = self._score(record.portability)
        row = {f"portability_{conv}": _mean(values) for conv, values in scores.items()}
        questions = [p for p in record.portability if p.kind == "question" and p.question]
        if self.config.chat and questions:
            row["portability_chat"] = _mean(metrics.chat_matches(self.model, questions))
        return row

    def locality(self, record: KnowEditRecord) -> dict[str, float]:
        probes = list(record.locality)
        row: dict[str, float] = {}
        if not probes:
            return row
        if "tf" in self.config.conventions:
            row["locality_tf"] = _mean(metrics.locality_tf(self.model, probes, [self.refs.tf[p.prompt] for p in probes]))
        if "em" in self.config.conventions:
            row["locality_em"] = _mean(metrics.locality_em(self.model, probes, [self.refs.em[p.prompt] for p in probes]))
        return row


def _summarise(method: str, rows: list[dict[str, Any]], portability: list[dict[str, float]],
               locality: list[dict[str, float]], config: EvalConfig, failed: list[dict[str, str]],
               compute_seconds: float, n_edits: int) -> MethodReport:
    result: dict[str, float] = {}
    for conv in config.conventions:
        rel = _mean([r[f"reliability_{conv}"] for r in rows])
        gen = _mean([r[f"generalization_{conv}"] for r in rows])
        result[f"reliability_{conv}"] = 100 * rel
        result[f"generalization_{conv}"] = 100 * gen
        if any(f"generalization_unseen_{conv}" in r for r in rows):
            result[f"generalization_unseen_{conv}"] = 100 * _mean([r.get(f"generalization_unseen_{conv}", float("nan")) for r in rows])
        result[f"edit_success_{conv}"] = 100 * _mean([rel, gen])
        if any(f"generalization_paraphrased_{conv}" in r for r in rows):
            result[f"generalization_paraphrased_{conv}"] = 100 * _mean([r.get(f"generalization_paraphrased_{conv}", float("nan")) for r in rows])
        result[f"portability_{conv}"] = 100 * _mean([p[f"portability_{conv}"] for p in portability if f"portability_{conv}" in p])
        result[f"locality_{conv}"] = 100 * _mean([l[f"locality_{conv}"] for l in locality if f"locality_{conv}" in l])
    if any("generalization_trained_share" in r for r in rows):
        result["generalization_trained_share"] = 100 * _mean([r.get("generalization_trained_share", float("nan")) for r in rows])
    if config.chat:
        result["generalization_chat"] = 100 * _mean([r["generalization_chat"] for r in rows if "generalization_chat" in r])
        result["portability_chat"] = 100 * _mean([p["portability_chat"] for p in portability if "portability_chat" in p])
    if config.fluency:
        result["fluency"] = 100 * _mean([r["fluency"] for r in rows])
    if method != UNEDITED:
        result["seconds_per_edit"] = compute_seconds / max(1, n_edits)
        result["failed_edits"] = float(len(failed))
    return MethodReport(method, result, n_edits, failed, rows, compute_seconds)


def _edit_label(edit: EditCase) -> dict[str, str]:
    r = edit.request
    return {"subject": r.subject, "prompt": r.rendered_prompt, "target_new": r.target_new}


def _measure_unedited(meter: _Meter, records: Sequence[KnowEditRecord], config: EvalConfig) -> MethodReport:
    rows = [dict(_edit_label(e), **meter.edit(e)) for r in records for e in r.edits]
    portability = [meter.portability(r) for r in records if r.portability]
    locality = [{f"locality_{c}": 1.0 for c in config.conventions} for r in records if r.locality]
    return _summarise(UNEDITED, rows, portability, locality, config, [], 0.0, len(rows))


def _compute(editor: ParameterEditor, model: LocalModel, edits: Sequence[EditCase]) -> tuple[EditResult, float]:
    started = time.perf_counter()
    result = editor.compute(model, [e.request for e in edits])
    return result, time.perf_counter() - started


def _run_single(editor, model, meter, records, config, bar) -> MethodReport:
    rows, portability, locality, failed, seconds = [], [], [], [], 0.0
    for record in records:
        case_deltas: list[WeightDelta] = []
        case_ok = True
        loc = None
        for edit in record.edits:
            try:
                result, took = _compute(editor, model, [edit])
                seconds += took
                snapshot = apply_deltas(model, result.deltas)
            except EditmindError as exc:  # a failed edit changes nothing; it is scored as it stands
                failed.append(dict(_edit_label(edit), error=str(exc)))
                case_ok = False
                rows.append(dict(_edit_label(edit), failed=True, **meter.edit(edit)))
                bar(1)
                continue
            try:
                row = dict(_edit_label(edit), seconds=round(took, 3), **meter.edit(edit, _trained_questions(result)))
                row.update(result.for_request(0))  # what the method did for this edit alone (ROME: second_search)
                if result.remarks:
                    row["remarks"] = result.remarks
                loc = meter.locality(record)
                row.update(loc)
                rows.append(row)
                locality.append(loc)
            finally:
                snapshot.restore()
            case_deltas.extend(result.deltas)
            bar(1)
        if record.portability and case_ok and case_deltas:
            snapshot = apply_deltas(model, case_deltas)
            try:
                portability.append(meter.portability(record))
            finally:
                snapshot.restore()
    n = sum(len(r.edits) for r in records)
    return _summarise(editor.name, rows, portability, locality, config, failed, seconds, n)


def _apply_all(editor, model, edits: list[EditCase], mode: Mode, bar, snapshot: Snapshot,
               failed: list[dict[str, str]], after_each: Callable[[int], None] | None = None,
               trained: dict[int, list[str]] | None = None) -> float:
    """Compute and apply the edits (batch or one by one) into `snapshot`; returns compute
    seconds. `after_each(k)` runs after the k-th edit of a one-by-one stream; `trained` gets
    each edit's (by index) trained questions."""
    trained = {} if trained is None else trained
    if mode == "batch" and getattr(editor, "supports_batch", True):
        try:
            result, took = _compute(editor, model, edits)
            apply_deltas(model, result.deltas, snapshot)
            trained.update({i: _trained_questions(result, i) for i in range(len(edits))})
        except EditmindError as exc:
            failed.extend(dict(_edit_label(e), error=str(exc)) for e in edits)
            took = 0.0
        bar(len(edits))
        return took
    seconds = 0.0
    for done, edit in enumerate(edits, 1):
        try:
            result, took = _compute(editor, model, [edit])
            seconds += took
            apply_deltas(model, result.deltas, snapshot)
            trained[done - 1] = _trained_questions(result)
        except EditmindError as exc:
            failed.append(dict(_edit_label(edit), error=str(exc)))
        bar(1)
        if after_each:
            after_each(done)
    return seconds


def _checkpoint(meter: _Meter, records, edits: list[EditCase], done: int) -> dict[str, float]:
    """Edit success of the first `done` edits and locality over every record, now."""
    rows = [meter.edit(e) for e in edits[:done]]
    locality = [meter.locality(r) for r in records if r.locality]
    return _curve_point(done, _summarise("", rows, [], locality, meter.config, [], 0.0, done).metrics)


def _curve_point(done: int, metrics: dict[str, float]) -> dict[str, float]:
    kept = ("reliability_", "generalization_", "edit_success_", "locality_")
    return {"edits": float(done), **{k: v for k, v in metrics.items() if k.startswith(kept)}}


def _run_together(editor, model, meter, records, config, bar, on_checkpoint=None) -> MethodReport:
    edits = [e for r in records for e in r.edits]
    snapshot = Snapshot(model)  # the weights before the first edit, one copy per touched matrix
    failed: list[dict[str, str]] = []
    curve: list[dict[str, float]] = []
    checkpoints = set(config.checkpoints) if config.mode == "sequential" else set()

    def after_each(done: int) -> None:
        if done in checkpoints and done < len(edits):
            # Measuring runs on the edited model without fluency (greedy generation is the slow part).
            curve.append(_checkpoint(_Meter(model, meter.refs, replace(config, fluency=False)), records, edits, done))
            if on_checkpoint:
                on_checkpoint(editor.name, curve)

    trained: dict[int, list[str]] = {}
    try:
        seconds = _apply_all(editor, model, edits, config.mode, bar, snapshot, failed, after_each, trained)
        failed_prompts = {f["prompt"] for f in failed}
        rows = [dict(_edit_label(e), failed=e.request.rendered_prompt in failed_prompts, **meter.edit(e, trained.get(i, [])))
                for i, e in enumerate(edits)]
        portability = [meter.portability(r) for r in records if r.portability]
        locality = [meter.locality(r) for r in records if r.locality]
    finally:
        snapshot.restore()
    report = _summarise(editor.name, rows, portability, locality, config, failed, seconds, len(edits))
    if checkpoints:
        report.curve = curve + [_curve_point(len(edits), report.metrics)]
    return report


def _resolve(methods: Sequence[str | ParameterEditor], overrides: dict[str, dict[str, Any]] | None) -> list[ParameterEditor]:
    editors = []
    for method in methods:
        if isinstance(method, ParameterEditor):
            editors.append(method)
        else:
            name = method.strip().lower()
            editors.append(get_editor(name, family="parametric", **(overrides or {}).get(name, {})))
    if not editors:
        raise EvaluationError("no methods to evaluate; pass --methods rome,memit,...")
    return editors


def evaluate_methods(
    model: LocalModel,
    methods: Sequence[str | ParameterEditor],
    records: Sequence[KnowEditRecord],
    sequential: bool = False,
    mode: Mode | None = None,
    config: EvalConfig | None = None,
    overrides: dict[str, dict[str, Any]] | None = None,
    on_report: Callable[[KnowEditTable], None] | None = None,
    include_unedited: bool = True,
    on_checkpoint: Callable[[str, list[dict[str, float]]], None] | None = None,
) -> KnowEditTable:
    """Evaluate each method on `records` and return the table (see the module docstring).

    `on_report` is called with the table so far after each column, so a long run that is
    cut off still leaves its finished columns (the benchmark writes JSON there);
    `on_checkpoint(method, curve so far)` likewise after each sequential checkpoint.
    """
    config = config or EvalConfig()
    if mode is not None or sequential:
        config = replace(config, mode=mode or "sequential")
    if config.mode not in ("single", "batch", "sequential"):
        raise EvaluationError(f"unknown mode {config.mode!r}; use single, batch or sequential")
    unknown = set(config.conventions) - set(CONVENTIONS)
    if unknown or not config.conventions:
        raise EvaluationError(f"unknown metric conventions {sorted(unknown)}; use tf and/or em")
    if not records or not any(r.edits for r in records):
        raise EvaluationError("no evaluation records; check --data and --n")
    editors = _resolve(methods, overrides)
    n_edits = sum(len(r.edits) for r in records)
    if config.checkpoints and (config.mode != "sequential" or any(not 0 < k for k in config.checkpoints)):
        raise EvaluationError("checkpoints are positive edit counts of a sequential run; pass --sequential, or drop --checkpoints")
    table = KnowEditTable(
        mode=config.mode, n_edits=n_edits, n_cases=len(records),
        n_portability_cases=sum(1 for r in records if r.portability),
        n_locality_probes=len({p.prompt for r in records for p in r.locality}),
        model=model.name, conventions=tuple(config.conventions),
    )
    fingerprint = model.fingerprint()
    refs = _References(model, records, config)
    meter = _Meter(model, refs, config)
    if include_unedited:
        table.reports.append(_measure_unedited(meter, records, config))
        if on_report:
            on_report(table)
    for editor in editors:
        progress = _progress(f"{editor.name} ({config.mode})", n_edits, config.show_progress)
        try:
            if config.mode == "single":
                report = _run_single(editor, model, meter, records, config, progress)
            else:
                report = _run_together(editor, model, meter, records, config, progress, on_checkpoint)
            table.reports.append(report)
        finally:
            progress.close()
        if model.fingerprint() != fingerprint:
            raise EvaluationError(f"{editor.name} left the model changed after evaluation; this is a bug, please report it")
        if on_report:
            on_report(table)
    return table


class _progress:
    """A tqdm bar on stderr (or nothing), called with the number of edits just done."""

    def __init__(self, description: str, total: int, enabled: bool) -> None:
        self.bar = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=description, unit="edit", leave=False)

    def __call__(self, done: int) -> None:
        if self.bar is not None:
            self.bar.update(done)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run_knowedit(model: LocalModel, methods: Sequence[str], data: str, n: int | None, mode: Mode = "single",
                 config: EvalConfig | None = None, **kwargs: Any) -> KnowEditTable:
    """Load the records from `data` and evaluate `methods` on them (what the CLI calls)."""
    records = load_knowedit_records(data, n)
    table = evaluate_methods(model, methods, records, mode=mode, config=config, **kwargs)
    table.data = str(data)
    return table
