"""The Chat page: talk to the agent; see why it answered and what it did.

Every turn goes through `EditingAgent.stream_chat` (the CLI REPL's path), so routing,
corrections, consolidation and forgetting are the SDK's; this page only shows them. The
full `Reply` (trace, actions) is read from `agent.last_reply` once the stream ends.
History is kept per user in `st.session_state["history"][user]`.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from editmind.apps import app_resources as res

HISTORY = "history"


def history(user: str) -> list[dict[str, Any]]:
    """This session's messages with `user` (each: role, text, and for replies trace/actions)."""
    return st.session_state.setdefault(HISTORY, {}).setdefault(user, [])


def action_notes(actions: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(kind, text) notes saying what a reply's actions did; kind is success/info/warning."""
    notes: list[tuple[str, str]] = []
    for action in actions:
        kind = action.get("action")
        if kind == "memory":
            event = action.get("event")
            if event == "NOOP":
                notes.append(("info", "already in your memory (nothing new stored)"))
            else:
                replaced = len(action.get("superseded") or [])
                extra = f"; replaces {replaced} older fact(s)" if replaced else ""
                verb = "confirmed in your memory" if event == "CONFIRM" else "stored in your memory"
                notes.append(("success", f"{verb}: {action.get('text', '')}{extra}"))
        elif kind == "weights":
            if action.get("error"):
                notes.append(("warning", f"could not apply: {action['error']}"))
            if action.get("succeeded"):
                edits = ", ".join(action.get("edit_ids") or [])
                notes.append(("success", f"written into the model ({action.get('method')}, edit {edits})"))
            if action.get("failed"):
                reason = action.get("error") or "the edited model did not pass its own check"
                notes.append(("warning", f"could not apply: {reason}; kept in your memory"))
        elif kind == "redact":
            notes.append(("success", "forgotten: redacted from your memory"))
        elif kind == "undo":
            notes.append(("success", f"edit {action.get('undone')} undone"))
        elif kind == "sanitize":
            notes.append(("success", f"erased from the weights (sanitation edit {action.get('edit_id')})"))
        elif kind == "lasting":
            notes.append(("info", f"marked lasting: {action.get('text', '')}"))
        elif kind == "ask":
            notes.append(("info", "waiting for your yes before storing it"))
        elif kind == "confirmed":
            notes.append(("info", "confirmed"))
    return notes


def offers_lasting(entry: dict[str, Any]) -> bool:
    """A reply that stored a world correction in memory only: it can be made lasting."""
    actions = entry.get("actions") or []
    stored = any(a.get("action") == "memory" and a.get("weights") in ("memory", "failed", "pending")
                 and a.get("event") != "NOOP" for a in actions)
    written = any(a.get("action") == "weights" and a.get("succeeded") for a in actions)
    return entry.get("turn_type") == "correction" and stored and not written


def _fact_lines(trace: dict[str, Any]) -> list[str]:
    used = set(trace.get("facts_used") or [])
    lines = [f"- {'used' if fact.get('id') in used else 'retrieved'}: {fact.get('text')}"
             for fact in trace.get("facts_retrieved") or []]
    known = {fact.get("id") for fact in trace.get("facts_retrieved") or []}
    lines += [f"- used: fact {fact_id}" for fact_id in trace.get("facts_used") or [] if fact_id not in known]
    return lines


def render_why(trace: dict[str, Any]) -> None:
    """The trace as a person reads it (route, method, facts, why), then the raw JSON."""
    with st.expander("why"):
        if not trace:
            st.caption("no trace for this reply")
            return
        turn = trace.get("turn") or {}
        route = trace.get("route") or {}
        lines = []  # what the SDK put in this trace (a make_lasting() reply has no turn or route)
        if turn:
            lines.append(f"**turn**: {turn.get('type', '?')}" + (f" ({turn['trigger']})" if turn.get("trigger") else ""))
        if route:
            lines.append(f"**route**: {route.get('action', '?')} — " + "; ".join(route.get("reasons") or []))
        if trace.get("method"):
            lines.append(f"**answered by**: {trace['method']}" + (" (multi-hop)" if trace.get("multi_hop") else ""))
        facts = _fact_lines(trace)
        lines.append("**facts used**:" if facts else "**facts used**: none")
        st.markdown("  \n".join(lines))
        if facts:
            st.markdown("\n".join(facts))
        if trace.get("rewritten_question"):
            st.markdown(f"**asked the model**: {trace['rewritten_question']}")
        if trace.get("why"):
            st.markdown(f"**why**: {trace['why']}")
        if trace.get("edits_in_effect"):
            st.markdown("**edits in effect**: " + ", ".join(trace["edits_in_effect"]))
        st.json(trace, expanded=False)


def render_extras(entry: dict[str, Any]) -> None:
    for kind, text in action_notes(entry.get("actions") or []):
        getattr(st, kind)(text)
    if entry.get("error"):
        st.error(entry["error"])
    if entry.get("has_reply"):
        render_why(entry.get("trace") or {})


def _reply_entry(text: str, reply: Any) -> dict[str, Any]:
    if reply is None:  # e.g. /why: the SDK keeps the explained reply as last_reply
        return {"role": "assistant", "text": text, "trace": {}, "actions": [], "turn_type": "command", "has_reply": False}
    return {"role": "assistant", "text": reply.text or text, "trace": reply.trace, "actions": reply.actions,
            "turn_type": reply.turn_type, "has_reply": True}


def _send(message: str, user: str) -> None:
    """One turn: the user's message, the streamed reply, then what it did."""
    messages = history(user)
    messages.append({"role": "user", "text": message})
    with st.chat_message("user"):
        st.markdown(message)
    with st.chat_message("assistant"):
        agent = res.agent()
        try:
            stage = st.empty()  # a lasting correction's weight edit reports its stages here
            with res.model_lock(), res.status_progress(res.CaptionStatus(stage), agent):
                before = agent.last_reply
                with st.spinner("Thinking…"):
                    text = st.write_stream(agent.stream_chat(message))
                reply = agent.last_reply if agent.last_reply is not before else None
            stage.empty()
            entry = _reply_entry(text if isinstance(text, str) else "".join(map(str, text)), reply)
        except Exception as exc:  # one line, and the conversation goes on
            entry = {"role": "assistant", "text": "", "error": res.one_line(exc), "has_reply": False}
        render_extras(entry)
    messages.append(entry)
    if offers_lasting(entry):
        st.rerun()  # show the "Make it lasting" button under the reply at once


def _make_lasting(user: str) -> None:
    agent = res.agent()
    with st.status("Writing it into the model's weights (a minute or so on a CPU)…", expanded=True) as status:
        try:
            with res.model_lock(), res.status_progress(status, agent):
                reply = agent.make_lasting()
            entry = _reply_entry(reply.text, reply)
            status.update(label="Done", state="complete", expanded=False)
        except Exception as exc:
            entry = {"role": "assistant", "text": "", "error": res.one_line(exc), "has_reply": False}
            status.update(label="Failed", state="error")
    history(user).append(entry)
    st.rerun()


def render() -> None:
    user = res.current_user()
    st.title("Chat")
    st.caption(f"Talking as **{user}**. Correct me in plain words (\"No, the Eiffel Tower is in Rome.\"); "
               "say \"remember this permanently\" to write it into the model.")
    res.agent()  # load (or reuse) the shared model before the first message
    messages = history(user)
    for i, entry in enumerate(messages):
        with st.chat_message(entry["role"]):
            if entry.get("text"):
                st.markdown(entry["text"])
            if entry["role"] == "assistant":
                render_extras(entry)
                if i == len(messages) - 1 and offers_lasting(entry):
                    if st.button("Make it lasting", key=f"lasting-{user}-{i}",
                                 help="write this correction into the model's weights (journaled, undoable)"):
                        _make_lasting(user)
    prompt = st.chat_input("Ask, correct me, or tell me about yourself")
    if prompt and prompt.strip():
        _send(prompt.strip(), user)
