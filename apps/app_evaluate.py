"""The Evaluate page: earlier benchmark results, and a small evaluation run on the live model.

Results are the JSON files the benchmarks and `editmind eval ... --json` write
(benchmarks/results/*.json, or $EDITMIND_RESULTS_DIR). A file with per-method metrics (the
KnowEdit table's "columns", or MQuAKE "runs" summaries) is shown as a table and a bar chart.
The sample run calls the library functions the CLI's `eval knowedit` / `eval mquake`
handlers call, on the shared model, under the model lock.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import streamlit as st

from editmind.apps import app_resources as res

PREFERRED = ("edit_success_tf", "portability_tf", "locality_tf", "edit_success_em", "multi_hop_accuracy",
             "hop_accuracy", "question_accuracy", "a_s", "retain_accuracy", "forget_success")
SAMPLE = "evaluate-sample"


def results_dir() -> Path:
    """$EDITMIND_RESULTS_DIR, else benchmarks/results under the current directory or the checkout."""
    if os.environ.get("EDITMIND_RESULTS_DIR"):
        return Path(os.environ["EDITMIND_RESULTS_DIR"]).expanduser()
    here = Path.cwd() / "benchmarks" / "results"
    return here if here.is_dir() else Path(__file__).resolve().parents[1] / "benchmarks" / "results"


def _numbers(row: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in row.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def method_metrics(data: Any) -> dict[str, dict[str, float]]:
    """Method (or method @route [setting]) -> its numeric metrics; {} when the file has none per method."""
    if not isinstance(data, dict):
        return {}
    columns = data.get("columns")
    if isinstance(columns, dict) and columns and all(isinstance(v, dict) for v in columns.values()):
        return {str(name): _numbers(values) for name, values in columns.items()}
    runs = data.get("runs")
    if isinstance(runs, list):
        out: dict[str, dict[str, float]] = {}
        for run in runs:
            summary = run.get("summary", run) if isinstance(run, dict) else None
            if isinstance(summary, dict) and summary.get("method"):
                label = str(summary["method"]) + (f" @{summary['route']}" if summary.get("route") else "") + (
                    f" [{summary['setting']}]" if summary.get("setting") else "")
                out[label] = _numbers(summary)
        return out
    return {}


def sequential_curves(data: Any) -> dict[str, list[dict[str, float]]]:
    """Method -> its sequential-editing curve (one row per checkpoint: edits so far and the
    metrics then), from a sequential or interference result file; {} when the file has none."""
    if not isinstance(data, dict):
        return {}
    curves = data.get("curves")
    if not isinstance(curves, dict):
        methods = (data.get("table") or {}).get("methods") if isinstance(data.get("table"), dict) else None
        curves = {name: row.get("curve") for name, row in (methods or {}).items() if isinstance(row, dict)}
        if not any(curves.values()) and isinstance(data.get("curve"), list):
            curves = {str((data.get("args") or {}).get("method") or "method"): data["curve"]}
    return {str(name): [_numbers(point) for point in curve if isinstance(point, dict) and "edits" in point]
            for name, curve in curves.items() if isinstance(curve, list) and curve}


def curve_view(curves: dict[str, list[dict[str, float]]], key: str) -> None:
    """One line per method: a chosen metric against the number of edits made so far."""
    import pandas as pd

    names = sorted({m for points in curves.values() for point in points for m in point if m != "edits"})
    if not names:
        return
    default = next((n for n in ("edit_success_tf", "reliability_tf", "locality_tf") if n in names), names[0])
    metric = st.selectbox("Sequential editing: metric", names, index=names.index(default), key=f"curve-{key}")
    frame = pd.DataFrame({method: pd.Series({p["edits"]: p.get(metric) for p in points}) for method, points in curves.items()})
    frame.index.name = "edits"
    st.line_chart(frame.sort_index())
    st.caption(f"{metric} after each checkpoint of the sequential stream, per method")


def scalar_fields(data: Any) -> list[dict[str, Any]]:
    """The file's top-level numbers and short strings (what a file without per-method metrics reports)."""
    if not isinstance(data, dict):
        return []
    return [{"field": k, "value": str(v)} for k, v in data.items()  # one type per column (Arrow)
            if isinstance(v, (int, float, bool)) or (isinstance(v, str) and len(v) <= 200)]


def metrics_view(metrics: dict[str, dict[str, float]], key: str) -> None:
    """A table (rows: methods) and a bar chart of the chosen metrics."""
    import pandas as pd

    frame = pd.DataFrame.from_dict(metrics, orient="index")
    frame.index.name = "method"
    st.dataframe(frame, width="stretch")
    names = [c for c in frame.columns if frame[c].notna().any()]
    if not names:
        return
    default = [n for n in PREFERRED if n in names][:4] or names[:3]
    chosen = st.multiselect("Metrics to plot", names, default=default, key=f"plot-{key}")
    if chosen:
        st.bar_chart(frame[chosen], stack=False)


def _saved_results() -> None:
    st.subheader("Earlier results")
    folder = results_dir()
    files = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if not files:
        st.info(f"No result files in {folder}.")
        return
    name = st.selectbox("Result file", [f.name for f in files], key="result-file")
    try:
        data = json.loads((folder / name).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        st.error(f"cannot read {name}: {res.one_line(exc)}")
        return
    metrics = method_metrics(data)
    curves = sequential_curves(data)
    if metrics:
        metrics_view(metrics, name)
    if curves:
        curve_view(curves, name)
    if not metrics and not curves:
        st.caption("this file has no per-method metrics; its top-level fields:")
    fields = scalar_fields(data)
    if fields:
        with st.expander("fields", expanded=not metrics):
            st.dataframe(fields, hide_index=True, width="stretch")


def run_mquake(method: str, n: int, status: "res.StatusProgress") -> dict[str, dict[str, float]]:
    """`editmind eval mquake --method M --n N --edits-in-memory case` on the shared model."""
    from editmind.apps.commands.eval import shared_data_dir
    from editmind.editors.eval import mquake
    from editmind.editors.model import resolve_home

    state = res.shared()
    every_case = mquake.load_cases(shared_data_dir() / "mquake" / "mquake_hard_dev.json")
    overrides = {"detector_dir": str(Path(resolve_home(state.home)) / "retrieval")} if method == "pokemqa" else {}
    editor = mquake.make_method(method, **overrides)

    def progress(done: int, total: int, case: Any) -> None:
        status.label(f"{method}: {done}/{total} cases")

    report = mquake.evaluate(state.model, method, every_case[:n], "case", all_cases=every_case, editor=editor,
                             progress=progress, embedder=state.memory.embedder)
    return method_metrics({"runs": [report.to_dict(traces=False)]})


def run_knowedit(method: str, n: int, status: "res.StatusProgress") -> dict[str, dict[str, float]]:
    """`editmind eval knowedit --methods M --n N --no-fluency` on the shared model (restored after)."""
    from editmind.apps.commands.eval import DEFAULT_KNOWEDIT_DATA, _configured_editors, shared_data_dir
    from editmind.editors.eval.knowedit import EvalConfig, evaluate_methods
    from editmind.editors.eval.records import load_knowedit_records

    editors = _configured_editors([method], [])
    records = load_knowedit_records(str(shared_data_dir() / DEFAULT_KNOWEDIT_DATA), n)
    config = EvalConfig(mode="single", fluency=False, show_progress=False)

    def on_report(table: Any) -> None:
        status.label(f"KnowEdit: {len(table.reports)} column(s) measured")

    table = evaluate_methods(res.shared().model, editors, records, config=config, on_report=on_report)
    return method_metrics(table.to_dict())


def _sample_run() -> None:
    from editmind.apps.commands.eval import PARAMETRIC_METHODS
    from editmind.apps.commands.mquake import RETRIEVAL_METHODS

    st.subheader("Run a small sample")
    benchmark = st.radio("Benchmark", ["MQuAKE (multi-hop, edits in memory)", "KnowEdit (weight edit)"],
                         key="sample-benchmark", horizontal=True)
    knowedit = benchmark.startswith("KnowEdit")
    methods = PARAMETRIC_METHODS.split(",") if knowedit else [m for m in RETRIEVAL_METHODS if m != "chat"]
    method = st.selectbox("Method", methods, key=f"sample-method-{knowedit}")
    n = int(st.number_input("Cases" if not knowedit else "Edits", min_value=1, max_value=20, value=4, key="sample-n"))
    if knowedit:
        st.caption("A weight edit takes minutes per edit on a CPU; the model is restored bitwise afterwards.")
    if st.button("Run", key="sample-run"):
        label = f"{'KnowEdit' if knowedit else 'MQuAKE'} {method}, n={n}…"
        with st.status(label, expanded=True) as status:
            try:
                with res.model_lock(), res.status_progress(status) as progress:
                    metrics = (run_knowedit if knowedit else run_mquake)(method, n, progress)
            except Exception as exc:
                status.update(label="Evaluation failed", state="error")
                res.show_error(exc)
                return
            status.update(label=f"Done: {label.rstrip('…')}", state="complete", expanded=False)
        st.session_state[SAMPLE] = {"label": label.rstrip("…"), "metrics": metrics}
    sample = st.session_state.get(SAMPLE)
    if sample:
        st.markdown(f"**{sample['label']}**")
        metrics_view(sample["metrics"], "sample")


def render() -> None:
    st.title("Evaluate")
    _saved_results()
    st.divider()
    _sample_run()
