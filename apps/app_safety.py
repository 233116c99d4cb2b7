"""The Safety page: sanitation (forget answers), debias (DAMA), and detox when the SDK has it.

Each workflow is one SDK call (`agent.sanitize`, `agent.debias`) that journals one edit
(undo it on the Edits page) and reports metrics before and after; it runs inside
`st.status`, whose label follows the SDK's progress callback, so a long run shows where it is.
"""

from __future__ import annotations

import math
from typing import Any

import streamlit as st

from editmind.apps import app_resources as res

REPORTS = "safety-reports"


def parse_items(text: str) -> list[Any]:
    """One question per line; "question | answer" also names the answer (leak checks, memory redaction)."""
    from editmind.editors.safety.qa_files import QAItem

    items = []
    for line in text.splitlines():
        question, _, answer = line.partition("|")
        if question.strip():
            items.append(QAItem(question.strip(), (answer.strip(),) if answer.strip() else ()))
    return items


def _cell(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None  # nothing to measure it on
    return value if isinstance(value, (int, float, str, type(None))) else str(value)


def before_after(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows metric/before/after; a column mixing numbers and text becomes text (Arrow needs one type)."""
    keys = list(dict.fromkeys([*before, *after]))
    rows = [{"metric": key, "before": _cell(before.get(key)), "after": _cell(after.get(key))} for key in keys]
    for column in ("before", "after"):
        if any(isinstance(r[column], str) for r in rows):
            for r in rows:
                r[column] = None if r[column] is None else str(r[column])
    return rows


def _show_report(name: str) -> None:
    report = st.session_state.get(REPORTS, {}).get(name)
    if not report:
        return
    st.success(report["summary"])
    if report.get("before") or report.get("after"):
        st.dataframe(before_after(report.get("before") or {}, report.get("after") or {}), hide_index=True, width="stretch")
    examples = report.get("examples") or []
    if examples:
        with st.expander("examples"):
            st.dataframe(examples, hide_index=True, width="stretch")


def _run(name: str, label: str, call) -> None:
    """Run `call(progress)` inside st.status and keep its report for later reruns."""
    with st.status(label, expanded=True) as status:
        try:
            with res.model_lock(), res.status_progress(status) as progress:
                report = call(progress)
        except Exception as exc:
            status.update(label=f"{name} failed", state="error")
            res.show_error(exc)
            return
        status.update(label=f"{name} done (edit {report.edit_id})", state="complete", expanded=False)
    payload = report.to_dict()
    payload["summary"] = (f"{name}: edit {report.edit_id} on layers {report.layers}, {report.compute_seconds:.0f} s; "
                          "undo it on the Edits page.")
    st.session_state.setdefault(REPORTS, {})[name] = payload


def _sanitation() -> None:
    st.subheader("Sanitation")
    st.caption("Make the model answer \"I don't know.\" to questions whose answers must be forgotten; "
               "questions to keep must not change. The user's memory facts naming a forgotten answer are redacted too.")
    forget = st.text_area("Questions to forget (one per line; 'question | answer' to name the answer)", key="forget-list",
                          placeholder="What is Alice Smith's phone number? | 555-0192")
    retain = st.text_area("Questions to keep (one per line)", key="retain-list", placeholder="What is the capital of France?")
    phrase = st.text_input("Safe phrase", value="I don't know.", key="safe-phrase")
    measure = st.checkbox("measure before and after", value=True, key="sanitize-measure")
    if st.button("Sanitize", key="sanitize"):
        items, kept = parse_items(forget), parse_items(retain)
        if not items:
            st.warning("Give at least one question to forget.")
        else:
            agent = res.agent()
            _run("sanitation", f"Sanitizing {len(items)} question(s)…",
                 lambda progress: agent.sanitize(items, kept, evaluate=measure, safe_phrase=phrase.strip() or "I don't know.",
                                                 progress=progress))
    _show_report("sanitation")


def _debias() -> None:
    st.subheader("Debias (DAMA)")
    st.caption("Take the he/she stereotype subspace out of the model's MLPs, from the profession prompts in "
               "../shared/data/debias; WinoBias and StereoSet there are measured before and after.")
    measure = st.checkbox("measure before and after", value=True, key="debias-measure")
    if st.button("Debias", key="debias"):
        agent = res.agent()
        _run("debias", "Debiasing…", lambda progress: agent.debias(evaluate=measure, progress=progress))
    _show_report("debias")


def _detox() -> None:
    st.subheader("Detox")
    agent = res.agent()
    if not callable(getattr(agent, "detox", None)):
        st.info("Detox: not available yet (the agent SDK has no detox workflow).")
        return
    if st.button("Detox", key="detox"):
        _run("detox", "Detoxifying…", lambda progress: agent.detox(progress=progress))
    _show_report("detox")


def render() -> None:
    st.title("Safety")
    st.caption("Safety edits change the shared model for every user; each one is journaled and can be undone.")
    _sanitation()
    st.divider()
    _debias()
    st.divider()
    _detox()
