"""The Edits page: the journal of weight edits, undo, and export of the edited model.

The list is `agent.edits()`, undo is `agent.undo(id)` (bitwise, in any order the journal
allows) and export is `journal.export(dir)`, the same calls as `editmind edits`. An undo
can also delete the user's memory facts that edit wrote, so the old answer comes back, as
a user expects of "undo": `agent.undo` returns those facts' ids
("facts_back_to_memory_only") and this page passes them to `memory.delete`.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from editmind.apps import app_resources as res


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def metrics_summary(metrics: dict[str, Any]) -> str:
    """The few numbers a person checks: probability of the new answer, reliability, time."""
    parts = []
    before, after = _first(metrics.get("before_prob")), _first(metrics.get("after_prob"))
    if isinstance(before, (int, float)) and isinstance(after, (int, float)):
        parts.append(f"P(new) {before:.3f} → {after:.3f}")
    reliability = metrics.get("mean_reliability", _first(metrics.get("reliability")))
    if isinstance(reliability, (int, float)):
        parts.append(f"reliability {reliability:.2f}")
    if isinstance(metrics.get("compute_seconds"), (int, float)):
        parts.append(f"{metrics['compute_seconds']:.0f} s")
    extra = [f"{k} {v}" for k, v in metrics.items() if k not in ("before_prob", "after_prob", "reliability",
             "mean_reliability", "compute_seconds", "before_reliability") and isinstance(v, (int, float))]
    return ", ".join(parts + extra[:3])


def edit_rows(edits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"id": e["id"], "method": e["method"], "request": "; ".join(e.get("summary") or []),
             "layers": ", ".join(str(layer) for layer in e.get("layers") or []),
             "metrics": metrics_summary(e.get("metrics") or {}), "time": e.get("created_at", "")} for e in edits]


def undo(edit_id: str, forget_facts: bool) -> str:
    """Undo one edit; with `forget_facts`, also delete the user's facts it held."""
    agent = res.agent()
    with res.model_lock():
        done = agent.undo(edit_id)
        deleted = []
        if forget_facts:
            for fact_id in done.get("facts_back_to_memory_only") or []:
                agent.memory.delete(fact_id)
                deleted.append(fact_id)
    note = f"Undone edit {done['undone']}: the weights are exactly as before it."
    if deleted:
        note += f" Deleted {len(deleted)} fact(s) it wrote from {agent.user_id}'s memory, so the old answer comes back."
    elif done.get("facts_back_to_memory_only"):
        note += " Its facts stay in your memory (served from there)."
    return note


def _export_section() -> None:
    st.subheader("Export the edited model")
    target = st.text_input("Directory (new or empty)", key="export-dir", placeholder="/tmp/edited-model")
    if st.button("Export", key="export") and target.strip():
        with st.status("Writing the model as a Hugging Face directory…") as status:
            try:
                with res.model_lock():
                    path = res.shared().journal.export(target.strip())
            except Exception as exc:
                status.update(label="Export failed", state="error")
                res.show_error(exc)
            else:
                status.update(label=f"Exported to {path}", state="complete")


def render() -> None:
    st.title("Edits")
    st.caption("Every change to the model's weights, journaled and reversible. Undo restores the weights bitwise.")
    notice = st.session_state.pop("edits-notice", None)
    if notice:
        st.success(notice)
    agent = res.agent()
    with res.model_lock():
        edits = agent.edits()
    if not edits:
        st.info("No edits in the journal yet. Say \"remember this permanently\" after a correction on the Chat page, "
                "or run a sanitation/debias on the Safety page.")
    else:
        st.dataframe(edit_rows(edits), hide_index=True, width="stretch")
        st.subheader("Undo")
        for edit in reversed(edits):
            with st.container(border=True):
                st.markdown(f"**{edit['id']}** · {edit['method']} · {'; '.join(edit.get('summary') or [])}")
                left, right = st.columns([3, 1])
                forget = left.checkbox("also forget the facts this edit wrote", value=True, key=f"forget-{edit['id']}")
                if right.button("Undo", key=f"undo-{edit['id']}"):
                    try:
                        st.session_state["edits-notice"] = undo(edit["id"], forget)
                    except Exception as exc:  # one line; the page stays usable
                        res.show_error(exc)
                    else:
                        st.rerun()
    with st.expander("undone edits"):
        with res.model_lock():
            undone = [r for r in res.shared().journal.records(include_undone=True) if r.status != "active"]
        if undone:
            st.dataframe([{"id": r.id, "method": r.method, "status": r.status, "time": r.created_at,
                           "request": "; ".join(f"{q.rendered_prompt} {q.target_new}" for q in r.requests)}
                          for r in undone], hide_index=True, width="stretch")
        else:
            st.caption("none")
    _export_section()
