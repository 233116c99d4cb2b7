"""The Memory page: the current user's facts, search, delete, and a fact's history.

Everything is a `FactMemory` call on the shared store (`get_all`, `search`, `delete`,
`history`), scoped to the user chosen in the sidebar, as `editmind memory` is to --user.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from editmind.apps import app_resources as res

SHOWN = ("active", "superseded")


def fact_rows(facts: list[Any]) -> list[dict[str, Any]]:
    """One table row per fact; 'in weights' is the agent's metadata flag (memory/pending/edited/never)."""
    return [{"text": f.text, "subject": f.subject, "relation": f.relation, "object": f.object,
             "status": f.status, "created": str(f.created_at)[:19].replace("T", " "),
             "in weights": (f.metadata or {}).get("weights", ""), "edit": (f.metadata or {}).get("edit_id") or "",
             "id": f.id} for f in facts]


def _labels(facts: list[Any]) -> dict[str, str]:
    """Fact id -> what the selectboxes show (their options are ids: stable across reruns)."""
    return {f.id: f"{f.text or '(erased)'}  [{f.status}, {f.id}]" for f in facts}


def render() -> None:
    user = res.current_user()
    memory = res.shared().memory
    st.title("Memory")
    st.caption(f"What **{user}** told the agent. Personal facts stay here; world corrections are also "
               "candidates for the model's weights.")
    show_all = st.checkbox("also show deleted and redacted facts", value=False)
    with res.model_lock():
        facts = memory.get_all(user, include_inactive=True)
    listed = [f for f in facts if show_all or f.status in SHOWN]
    if listed:
        st.dataframe(fact_rows(listed), hide_index=True, width="stretch")
    else:
        st.info(f"No facts in {user}'s memory yet. Tell the agent something on the Chat page.")

    st.subheader("Search")
    query = st.text_input("Search this user's facts", key="memory-search", placeholder="e.g. where does my sister live")
    if query.strip():
        with res.model_lock():
            hits = memory.search(query.strip(), user_id=user, k=5)
        if hits:
            st.dataframe([{"score": round(float(h.score), 3), "text": h.text, "id": h.id} for h in hits],
                         hide_index=True, width="stretch")
        else:
            st.caption("no matching facts")

    active = [f for f in facts if f.status == "active"]
    st.subheader("Delete a fact")
    if active:
        labels = _labels(active)
        chosen = st.selectbox("Fact to delete", list(labels), format_func=labels.get, key="memory-delete-choice")
        if st.button("Delete fact", key="memory-delete") and chosen:
            with res.model_lock():
                deleted = memory.get(chosen).text
                memory.delete(chosen)
            st.session_state["memory-notice"] = f"Deleted: {deleted}"
            st.rerun()
    else:
        st.caption("no active facts to delete")
    notice = st.session_state.pop("memory-notice", None)
    if notice:
        st.success(notice)

    st.subheader("History of a fact")
    if facts:
        labels = _labels(facts)
        picked = st.selectbox("Fact", list(labels), format_func=labels.get, key="memory-history-choice")
        with res.model_lock():
            events = memory.history(picked) if picked else []
        st.dataframe([{"time": str(e.created_at)[:19].replace("T", " "), "event": e.event, "old text": e.old_text,
                       "new text": e.new_text, "details": str(e.details or "")} for e in events],
                     hide_index=True, width="stretch")
    else:
        st.caption("no facts yet")
