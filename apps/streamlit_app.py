"""The editmind Streamlit app: chat with the editing agent, and see and manage its memory and edits.

Start it with `editmind app` (or `streamlit run apps/streamlit_app.py` with EDITMIND_MODEL /
EDITMIND_HOME set). This file is only the frame: page setup, the sidebar (user, page) and
the dispatch to one module per page (apps/app_chat.py, app_memory.py, app_edits.py,
app_safety.py, app_evaluate.py). Every page body runs under one guard: an error from the
SDK is one `st.error` line, never a traceback page (EDITMIND_DEBUG=1 adds the traceback).
"""

from __future__ import annotations

from typing import Callable

import streamlit as st

from editmind.apps import app_chat, app_edits, app_evaluate, app_memory, app_resources as res, app_safety

PAGES: dict[str, Callable[[], None]] = {
    "Chat": app_chat.render, "Memory": app_memory.render, "Edits": app_edits.render,
    "Safety": app_safety.render, "Evaluate": app_evaluate.render,
}


def _initial_page() -> None:
    """?page=memory opens that page first (links, screenshots); the radio decides afterwards."""
    if "page" not in st.session_state:
        wanted = str(st.query_params.get("page", "")).strip().lower()
        st.session_state["page"] = next((p for p in PAGES if p.lower() == wanted), "Chat")


def sidebar() -> str:
    """The user box and the page choice; returns the page to show."""
    _initial_page()
    with st.sidebar:
        st.title("editmind")
        st.text_input("User", value=res.DEFAULT_USER, key="user",
                      help="whose memory the agent uses; switching starts the conversation afresh")
        page = st.radio("Page", list(PAGES), key="page")
        try:
            state = res.shared()
        except Exception as exc:  # the model cannot load: say why on every page
            res.show_error(exc)
            st.stop()
        users = state.memory.users()
        if users:
            st.caption("users with memory: " + ", ".join(users))
        st.caption(f"model: {state.model.name} · home: {state.home}")
    return page


def main() -> None:
    st.set_page_config(page_title="editmind", page_icon="✏️", layout="wide")
    page = sidebar()
    try:
        PAGES[page]()
    except Exception as exc:  # st.rerun / st.stop are BaseExceptions and pass through
        res.show_error(exc)


main()
