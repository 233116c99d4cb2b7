"""What the Streamlit app shares across browser sessions, and what each session owns.

One model, one fact memory and one edit journal per server (`st.cache_resource`): loading
the model takes seconds and its weights are what the journal edits, so every session must
see the same object. Each browser session gets its own `EditingAgent` built on those shared
objects, because the agent holds the conversation context (last question, pending
confirmation, current user). Model and memory calls go through one lock (`model_lock`) so
two sessions never generate or edit at once.

Settings come from the environment, as `editmind app` forwards the global options:
EDITMIND_MODEL (default "default"), EDITMIND_HOME, EDITMIND_DEVICE, EDITMIND_EMBEDDER.
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import streamlit as st

DEFAULT_USER = "default"
MAX_NEW_TOKENS = 64


@dataclass(frozen=True)
class Settings:
    """The server's configuration, read once per script run from the environment."""

    model: str
    home: str | None
    device: str | None
    embedder: str | None
    max_new_tokens: int

    @classmethod
    def from_env(cls) -> "Settings":
        tokens = os.environ.get("EDITMIND_APP_MAX_NEW_TOKENS", "")
        return cls(model=os.environ.get("EDITMIND_MODEL") or "default", home=os.environ.get("EDITMIND_HOME") or None,
                   device=os.environ.get("EDITMIND_DEVICE") or None, embedder=os.environ.get("EDITMIND_EMBEDDER") or None,
                   max_new_tokens=int(tokens) if tokens.isdigit() and int(tokens) > 0 else MAX_NEW_TOKENS)


@dataclass
class Shared:
    """The objects every session uses: one copy per server."""

    model: Any
    memory: Any
    journal: Any
    home: Path
    lock: threading.Lock


@st.cache_resource(show_spinner="Loading the model, the fact memory and the edit journal…")
def shared_state(model: str, home: str | None, device: str | None, embedder: str | None) -> Shared:
    """Load once per (model, home, device, embedder); later sessions reuse the objects.
    Opening the journal replays the recorded edits onto the model, as the CLI does."""
    from editmind.editors.journal import EditJournal
    from editmind.editors.model import load_model, resolve_home
    from editmind.memory import FactMemory

    root = resolve_home(home)
    loaded = load_model(model, home=root, device=device)
    chosen = None
    if embedder:
        from editmind.memory.embedders import embedder_from_spec

        chosen = embedder_from_spec(embedder)
    memory = FactMemory(home=root, embedder=chosen)
    journal = EditJournal.open(root, loaded)
    return Shared(model=loaded, memory=memory, journal=journal, home=root, lock=threading.Lock())


def shared() -> Shared:
    settings = Settings.from_env()
    return shared_state(settings.model, settings.home, settings.device, settings.embedder)


def agent() -> Any:
    """This browser session's agent (built on first use on the shared model, memory and journal)."""
    state = shared()
    current = st.session_state.get("agent")
    if current is None or current.model is not state.model or current.memory is not state.memory:
        from editmind.agent import AgentConfig, EditingAgent

        config = AgentConfig(max_new_tokens=Settings.from_env().max_new_tokens)
        current = EditingAgent(model=state.model, home=state.home, user_id=current_user(), memory=state.memory,
                               journal=state.journal, config=config)
        st.session_state["agent"] = current
    if current.user_id != current_user():
        current.set_user(current_user())  # the sidebar changed the user: context starts afresh
    return current


def current_user() -> str:
    """The user chosen in the sidebar (the text box's value, stripped)."""
    return (st.session_state.get("user") or DEFAULT_USER).strip() or DEFAULT_USER


@contextmanager
def model_lock(waiting: str = "Another session is using the model; waiting for it…") -> Iterator[None]:
    """Hold the server's one lock for the model and memory; tell the user when they wait."""
    lock = shared().lock
    if not lock.acquire(blocking=False):
        with st.spinner(waiting):
            lock.acquire()
    try:
        yield
    finally:
        lock.release()


try:  # how Streamlit stops a script run (a click elsewhere, a page switch): BaseExceptions
    from streamlit.runtime.scriptrunner_utils.exceptions import ScriptControlException
except ImportError:  # pragma: no cover - older Streamlit
    from streamlit.runtime.scriptrunner.exceptions import ScriptControlException  # type: ignore[no-redef]


class StatusProgress:
    """Progress from inside a long SDK call, shown as the label of an `st.status`.

    Any Streamlit call may raise the exception that stops the run when the user clicks
    elsewhere; raised from a progress callback it would abort the SDK mid-edit. So it is
    held here and raised once the SDK call has returned (the click still takes effect)."""

    def __init__(self, status: Any) -> None:
        self.status = status
        self.held: BaseException | None = None

    def label(self, text: str) -> None:
        if self.held is not None:
            return
        try:
            self.status.update(label=text)
        except ScriptControlException as exc:
            self.held = exc

    def __call__(self, stage: str, done: int, total: int) -> None:  # the SDK's Progress signature
        self.label(f"{stage}: {done}/{total}")


class CaptionStatus:
    """An `st.empty()` placeholder that StatusProgress can label like an st.status (one caption line)."""

    def __init__(self, placeholder: Any) -> None:
        self.placeholder = placeholder

    def update(self, label: str, **_: Any) -> None:
        self.placeholder.caption(label)


@contextmanager
def status_progress(status: Any, target: Any = None) -> Iterator[StatusProgress]:
    """A StatusProgress for one SDK call (also set as `target.progress`, then put back);
    a stop held during the call is raised when the call is done."""
    progress = StatusProgress(status)
    previous = getattr(target, "progress", None)
    if target is not None:
        target.progress = progress
    try:
        yield progress
    finally:
        if target is not None:
            target.progress = previous
    if progress.held is not None:
        raise progress.held


def one_line(exc: BaseException) -> str:
    """An exception as the one line a user sees (the CLI's rule: no tracebacks)."""
    from editmind.editors.errors import EditmindError

    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, EditmindError):
        return first or type(exc).__name__
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def show_error(exc: BaseException) -> None:
    """st.error with one line; the traceback only with EDITMIND_DEBUG=1."""
    st.error(one_line(exc))
    if os.environ.get("EDITMIND_DEBUG"):
        st.exception(exc)
