"""`EditingAgent`: the SDK facade that turns a conversation into memory facts and edits.

One agent serves one model and one state directory; `user_id` selects whose memory is
used and can change between turns (`/user NAME`). Each turn is classified
(`agent/turns.py`), routed (`agent/router.py`) and executed here:

- questions are answered by a retrieval editor over the user's memory (the multi-hop
  method when the question nests a relation, "the capital of the country where..."),
- personal facts and world corrections go into the user's memory at once,
- lasting world corrections are consolidated into the weights through the edit journal,
- forget requests redact memory facts,
- commands list / undo edits, explain the last answer, switch user.

Every `Reply` carries a JSON-friendly trace: the turn as understood, the route, the facts
retrieved and used, and the edits in effect.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field, replace as _replaced
from typing import Any, Callable, Iterator, Sequence

from editmind.agent.answers import to_second_person
from editmind.agent.router import ConsolidationResult, PendingFact, Router, RouterConfig
from editmind.agent.turn_guard import TurnGuard, guard_turn
from editmind.agent.turns import Turn, classify_turn, parse_question, parse_statement
from editmind.agent.updates import personal_facts
from editmind.editors.base import EditRequest, available_editors, get_editor
from editmind.editors.errors import EditmindError

Progress = Callable[[str, int, int], None]
# measured on the default model (benchmarks/agent_methods_bench.py): IKE/ICE prompts do not
# make a 135M model follow the stored fact; hopwalk reads it from the memory's triples
SINGLE_HOP_METHODS = ("hopwalk", "ike", "ice")
MULTI_HOP_METHODS = ("hopwalk", "pokemqa", "mello")  # hopwalk: ours, works for a model that cannot decompose
_MULTI_HOP = re.compile(
    r"\b(?:the|a|an)\s+\w+(?:\s+\w+)?\s+(?:where|whose|which|that|who|in which)\b"
    r"|\bwhose\b|\bof\s+the\s+\w+(?:\s+\w+)?\s+of\b",
    re.I,
)


class AgentError(EditmindError):
    """A request the agent cannot carry out as given."""


def needs_multi_hop(question: str) -> bool:
    """A question that nests one relation inside another ("the capital of the country where
    the Eiffel Tower is") needs decomposition; a plain one does not."""
    return bool(_MULTI_HOP.search(question))


def estimated_hops(question: str) -> int:
    """1 + the number of nested relations: a cap on how far a multi-hop walk may go, so a
    walker cannot follow stored facts past what the question asks."""
    return 1 + len(_MULTI_HOP.findall(question))


@dataclass
class AgentConfig:
    max_new_tokens: int = 64
    k: int = 4  # facts retrieved per (sub)question
    single_hop_method: str | None = None  # None: the first registered of SINGLE_HOP_METHODS
    multi_hop_method: str | None = None  # None: a registered multi-hop method (ours first)
    use_memory: bool = True  # False: answer from the weights alone (what parameter edits changed)
    forget_min_score: float = 0.45  # cosine similarity for a fact to match a forget request
    router: RouterConfig = field(default_factory=RouterConfig)


@dataclass
class Reply:
    text: str
    turn_type: str
    trace: dict[str, Any] = field(default_factory=dict)
    actions: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"answer": self.text, "turn_type": self.turn_type, "actions": self.actions, "trace": self.trace}


def _metadata(fact: Any) -> dict[str, Any]:
    return dict(getattr(fact, "metadata", None) or {})


class EditingAgent:
    """Chat with a local model whose knowledge you can correct.

    >>> agent = EditingAgent(model="default", user_id="alice")          # doctest: +SKIP
    >>> agent.chat("Where is the Eiffel Tower?").text                   # doctest: +SKIP
    >>> agent.chat("No, it's in Rome now.").actions                     # doctest: +SKIP
    """

    def __init__(
        self,
        model: Any = "default",
        home: Any = None,
        user_id: str = "default",
        memory: Any = None,
        journal: Any = None,
        config: AgentConfig | None = None,
        progress: Progress | None = None,
        embedder: Any = None,
        open_journal: bool = True,
    ) -> None:
        from editmind.editors.model import load_model, resolve_home

        self.home = resolve_home(home)
        self.model = load_model(model, home=self.home) if isinstance(model, str) else model
        self.config = config or AgentConfig()
        self.router = Router(self.config.router)
        self.progress = progress
        self.user_id = self._check_user(user_id)
        if memory is None:
            from editmind.memory import FactMemory

            memory = FactMemory(home=self.home, embedder=embedder)
        self.memory = memory
        self._journal = journal
        self._journal_error: str | None = None
        self.last_question: str | None = None
        self.last_answer: str | None = None
        self.last_reply: Reply | None = None
        self._last_fact_ids: list[str] = []
        self._answer_fact_ids: list[str] = []  # the stored facts the answer to last_question came from
        self._previous_turn: Turn | None = None  # the user's last turn, whatever it was
        self._awaiting: Turn | None = None  # a correction the agent asked the user to confirm
        self._awaiting_sanitation: list[Any] | None = None  # forgotten facts the model still says, offered for erasing
        self._topic: str | None = None  # the user's own person or thing last spoken of ("my ferret")
        self._topics: list[str] = []  # the last few, newest last: "she" may be an earlier one than "my husband"
        if open_journal and journal is None:
            self.open_journal()  # edits recorded by earlier sessions are in the weights from the first turn

    # --- state ---------------------------------------------------------------------
    @staticmethod
    def _check_user(user_id: str) -> str:
        if not isinstance(user_id, str) or not user_id.strip() or len(user_id) > 128:
            raise AgentError("the user id must be a non-empty name (at most 128 characters)")
        return user_id.strip()

    def set_user(self, user_id: str) -> None:
        """Switch whose memory is used; the conversation context starts afresh."""
        self.user_id = self._check_user(user_id)
        self.last_question = self.last_answer = None
        self._last_fact_ids = []
        self._previous_turn = self._awaiting = self._topic = None
        self._topics = []

    @property
    def journal(self) -> Any:
        """The edit journal (opened on first use: opening replays recorded edits onto the model)."""
        if self._journal is None and self._journal_error is None:
            try:
                from editmind.editors.journal import EditJournal
            except ImportError as exc:
                self._journal_error = f"parameter editing is not installed ({exc})"
            else:
                self._journal = EditJournal.open(self.home, self.model)
        if self._journal is None:
            raise AgentError(self._journal_error or "no edit journal")
        return self._journal

    def open_journal(self) -> None:
        """Open the journal now, so edits recorded by earlier sessions are in the weights.
        Without the parameter-editing package this is a no-op (memory still works)."""
        try:
            _ = self.journal
        except AgentError:
            if self._journal_error is None:
                raise

    def close(self) -> None:
        close = getattr(self.memory, "close", None)
        if close:
            close()

    def __enter__(self) -> "EditingAgent":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # --- the conversation --------------------------------------------------------------
    def chat(self, message: str) -> Reply:
        """Understand one user turn, act on it, and reply (with its trace).

        Input that cannot be read as a turn (empty, over 2,000 characters, control
        characters, not English) gets a one-line reply and changes nothing."""
        from editmind.agent.input_check import input_problem

        started = time.perf_counter()
        problem = input_problem(message)
        if problem:
            reply = Reply(problem, "invalid", trace={"facts_used": [], "why": "input refused before reading: " + problem})
            reply.trace.update(user_id=self.user_id, seconds=round(time.perf_counter() - started, 3))
            self.last_reply = reply
            return reply
        from editmind.agent.personal import people_by_name, topic_for_pronoun, with_known_names, with_own_roles

        # "Callum's coach ..." after "my son's called Callum" is about the user's son
        read = message
        if self.config.use_memory:
            own = personal_facts(self._user_facts())
            read = with_own_roles(with_known_names(message, people_by_name(own)), own)
        topic = topic_for_pronoun(read, self._topics) or self._topic
        turn = classify_turn(read, self.last_question, self.last_answer, topic=topic)
        turn = guard_turn(turn, getattr(self.memory, "embedder", None), _small_talk_guard())
        awaiting, self._awaiting = self._awaiting, None
        to_sanitize, self._awaiting_sanitation = self._awaiting_sanitation, None
        if to_sanitize and _confirms(turn):
            reply = self._run_sanitation(to_sanitize)
            route = self.router.route(turn)
        elif awaiting is not None and _confirms(turn):
            reply = self._apply_confirmed(awaiting)
            route = self.router.route(awaiting)
        else:
            route = self.router.route(turn)
            handler = {
                "answer": self._answer, "remember": self._remember_turn, "correct": self._correct_turn,
                "forget": self._forget_turn, "command": self._command, "chat": self._small_talk, "clarify": self._clarify,
            }[route.action]
            reply = handler(turn)
            if awaiting is not None:
                reply.trace["cancelled"] = f"the correction waiting for a yes was dropped: {awaiting.correction.text}"  # type: ignore[union-attr]
        reply.trace = {"turn": turn.to_dict(), "route": route.to_dict(), **reply.trace,
                       "user_id": self.user_id, "seconds": round(time.perf_counter() - started, 3)}
        if turn.type == "question":
            self.last_question, self.last_answer = turn.content or message.strip(), reply.text
            self._answer_fact_ids = list(self._last_fact_ids)
        self._previous_turn = turn
        self._topic = _topic_of(turn, self._topic)
        if self._topic and (not self._topics or self._topics[-1] != self._topic):
            self._topics = [t for t in self._topics if t != self._topic][-4:] + [self._topic]
        if not (turn.type == "command" and turn.command == "why"):
            self.last_reply = reply
        return reply

    def stream_chat(self, message: str) -> Iterator[str]:
        """Yield the reply's text in pieces; `last_reply` holds the full Reply afterwards.

        A question answered without memory facts streams token by token from the model;
        replies built by a retrieval editor or an action arrive as one piece."""
        turn = classify_turn(message, self.last_question, self.last_answer) if message.strip() else None
        from editmind.agent.personal import is_personal_question

        if turn is not None and turn.type == "question" and not self._memory_has_facts() \
                and not (self.config.use_memory and is_personal_question(turn.content or turn.text)):
            started = time.perf_counter()
            pieces: list[str] = []
            for piece in self.model.stream_chat(message.strip(), max_new_tokens=self.config.max_new_tokens):
                pieces.append(piece)
                yield piece
            text = "".join(pieces).strip()
            reply = Reply(text, "question", trace={
                "turn": turn.to_dict(), "route": self.router.route(turn).to_dict(), "method": "model",
                "memory_used": False, "facts_retrieved": [], "facts_used": [], "edits_in_effect": self._edits_in_effect(),
                "user_id": self.user_id, "seconds": round(time.perf_counter() - started, 3)})
            self.last_question, self.last_answer, self.last_reply = message.strip(), text, reply
            return
        reply = self.chat(message)
        yield reply.text

    # --- SDK -------------------------------------------------------------------------
    def ask(self, question: str, use_memory: bool | None = None) -> Reply:
        """Answer `question` (always treated as a question)."""
        if not isinstance(question, str) or not question.strip():
            raise AgentError("the question is empty")
        turn = Turn("question", question.strip(), "ask", content=question.strip())
        started = time.perf_counter()
        reply = self._answer(turn, use_memory=use_memory)
        reply.trace = {"turn": turn.to_dict(), "route": self.router.route(turn).to_dict(), **reply.trace,
                       "user_id": self.user_id, "seconds": round(time.perf_counter() - started, 3)}
        self.last_question, self.last_answer, self.last_reply = question.strip(), reply.text, reply
        return reply

    def correct(self, statement: str, lasting: bool = False, last_question: str | None = None,
                last_answer: str | None = None) -> Reply:
        """Apply a correction given as a statement ("The Eiffel Tower is in Rome now", or
        "no, it's Rome" together with the question and answer it corrects)."""
        if not isinstance(statement, str) or not statement.strip():
            raise AgentError("the correction is empty; give a statement like 'The Eiffel Tower is in Rome'")
        turn = classify_turn(statement, last_question or self.last_question, last_answer or self.last_answer)
        if turn.type not in ("correction", "personal_fact"):
            from editmind.agent.turns import extract_correction

            turn = Turn("correction", statement, "forced by correct()",
                        correction=extract_correction(statement, last_question or self.last_question,
                                                      last_answer or self.last_answer))
        if lasting:
            turn = Turn(turn.type, turn.text, turn.trigger, turn.content, turn.correction, turn.statement, lasting=True)
        if turn.type == "correction" and (turn.correction is None or not turn.correction.complete):
            missing = ", ".join(turn.correction.missing()) if turn.correction else "subject, relation and new value"
            raise AgentError(f"could not read a complete correction from {statement!r} (missing {missing}); "
                             "say it as a full sentence like 'The Eiffel Tower is located in Rome'")
        reply = self._remember_turn(turn) if turn.type == "personal_fact" else self._correct_turn(turn)
        reply.trace = {"turn": turn.to_dict(), "route": self.router.route(turn).to_dict(), **reply.trace, "user_id": self.user_id}
        self.last_reply = reply
        return reply

    def remember(self, statement: str, lasting: bool = False) -> Reply:
        """Store a fact: a personal one stays in the user's memory; a world fact is a
        correction (into the weights too when `lasting`)."""
        if not isinstance(statement, str) or not statement.strip():
            raise AgentError("nothing to remember; give a statement")
        turn = classify_turn(statement)
        if turn.type == "correction" and turn.correction and turn.correction.complete:
            return self.correct(statement, lasting=lasting)
        turn = Turn("personal_fact", statement.strip(), "remember()", content=statement.strip(),
                    statement=parse_statement(statement), lasting=lasting)
        reply = self._remember_turn(turn)
        reply.trace = {"turn": turn.to_dict(), "route": self.router.route(turn).to_dict(), **reply.trace, "user_id": self.user_id}
        return reply

    def forget(self, what: str = "") -> Reply:
        """Redact the facts of this user's memory that match `what` ("" = the last fact)."""
        return self._forget_turn(Turn("forget", what, "forget()", content=what.strip()))

    def make_lasting(self) -> Reply:
        """'Remember this permanently': the fact last stored or used becomes lasting and is
        consolidated into the weights now."""
        return self._command(Turn("command", "remember this permanently", "make_lasting()", command="lasting", lasting=True))

    def consolidate(self, explicit: bool = True) -> ConsolidationResult:
        """Write this user's pending lasting facts into the weights (one batched edit)."""
        pending = self._pending()
        if not self.router.consolidation_due(len(pending), explicit):
            return ConsolidationResult()
        from editmind.editors.eval.metrics import reliability

        result = self.router.consolidate(self.journal, self.model, pending, available_editors(family="parametric"),
                                         reliability, self.progress, overrides_for=self._method_overrides)
        for fact_id, score in result.succeeded.items():
            self._set_meta(fact_id, weights="edited", edit_id=result.fact_edits.get(fact_id), reliability=score)
        for fact_id, score in result.failed.items():
            self._set_meta(fact_id, weights="failed", reliability=score, edit_error=result.error)
        return result

    def _method_overrides(self, method: str) -> dict[str, Any]:
        """Key statistics (covariances) are cached under the agent's home, next to its journal,
        not wherever $EDITMIND_HOME points."""
        import dataclasses

        from editmind.editors.base import EDITORS

        defaults = EDITORS[method].Config()
        stats = getattr(defaults, "stats", None)
        if stats is not None and dataclasses.is_dataclass(stats) and getattr(stats, "home", "") is None:
            return {"stats": _replaced(stats, home=str(self.home))}
        return {}

    def edits(self) -> list[dict[str, Any]]:
        """The journal's records, oldest first, as dicts."""
        try:
            records = self.journal.records()
        except AgentError:
            return []
        return [self._record_dict(r) for r in records]

    def undo(self, edit_id: str) -> dict[str, Any]:
        """Undo a parameter edit (bitwise); its facts stay served from memory."""
        if not isinstance(edit_id, str) or not edit_id.strip():
            raise AgentError("give the id of the edit to undo (see /edits)")
        edit_id = edit_id.strip()
        matches = [r.id for r in self.journal.records() if r.id == edit_id or r.id.startswith(edit_id)]
        if len(matches) != 1:
            raise AgentError(f"no single edit matches {edit_id!r}; see /edits for the ids" if not matches
                             else f"{edit_id!r} matches several edits; give more of the id")
        self.journal.undo(matches[0])
        restored = []
        for fact in self._user_facts():
            meta = _metadata(fact)
            if meta.get("edit_id") == matches[0]:
                self._set_meta(fact.id, weights="memory", edit_id=None)
                restored.append(fact.id)
        return {"undone": matches[0], "facts_back_to_memory_only": restored}

    # --- handlers ----------------------------------------------------------------------
    def _memory_has_facts(self) -> bool:
        return self.config.use_memory and bool(self._user_facts())

    def _user_facts(self) -> list[Any]:
        return list(self.memory.get_all(self.user_id))

    def _retrieval_methods(self, question: str) -> tuple[list[str], bool]:
        """Registered retrieval methods to try, best first, and whether the question is multi-hop."""
        from editmind.editors.base import EDITORS

        available = available_editors(family="retrieval")
        multi = needs_multi_hop(question)
        if multi:
            configured = [self.config.multi_hop_method] if self.config.multi_hop_method else []
            ours = [n for n in available if getattr(EDITORS[n], "multi_hop", False) and n not in MULTI_HOP_METHODS]
            order = configured + ours + list(MULTI_HOP_METHODS)
        else:
            configured = [self.config.single_hop_method] if self.config.single_hop_method else []
            order = configured + list(SINGLE_HOP_METHODS)
        return [n for n in dict.fromkeys(order) if n in available], multi

    def _answer(self, turn: Turn, use_memory: bool | None = None) -> Reply:
        """Answer from the user's memory when a stored fact is about what was asked, else
        from the model; a question about the user that no fact answers gets "I don't know"."""
        from editmind.agent.answers import is_personal_question, match_personal, match_world, nested_rewrite, unknown_reply

        question = turn.content or turn.text
        use = self.config.use_memory if use_memory is None else use_memory
        trace: dict[str, Any] = {"memory_used": False, "facts_retrieved": [], "facts_used": [],
                                 "edits_in_effect": self._edits_in_effect()}
        facts = self._user_facts() if use else []
        multi = use and needs_multi_hop(question)
        trace["multi_hop"] = multi

        def from_fact(fact: Any, why: str, method: str = "memory-lookup") -> Reply:
            self._last_fact_ids = [fact.id]
            trace.update(method=method, memory_used=True, facts_used=[fact.id], why=why,
                         facts_retrieved=[{"id": fact.id, "text": fact.text, "score": 1.0}])
            return Reply(to_second_person(fact.text), "question", trace=trace)

        if use and is_personal_question(question):
            match = match_personal(question, facts)
            if match is not None:
                return from_fact(match.fact, match.why)
            self._last_fact_ids = []
            trace.update(method="memory-lookup", why="a question about you, and no stored fact of yours answers it")
            return Reply(unknown_reply(question), "question", trace=trace)
        if facts and not multi:
            match = match_world(question, facts) or _owner_match(question, facts)
            if match is not None:
                return from_fact(match.fact, match.why)
        if facts:
            nested = nested_rewrite(question, facts)
            if nested is not None:
                rewritten, fact = nested
                inner = match_world(rewritten, facts)
                if inner is not None:
                    reply = from_fact(inner.fact, f"'{question}' names {fact.object} ({fact.text}); {inner.why}")
                    trace["facts_used"] = [fact.id, inner.fact.id]
                    return reply
                text = self.model.chat(rewritten, max_new_tokens=self.config.max_new_tokens)
                text = f"({to_second_person(fact.text)[:-1]}, as you told me.) {text}"  # which part came from memory
                self._last_fact_ids = [fact.id]
                trace.update(method="memory+model", memory_used=True, facts_used=[fact.id], rewritten_question=rewritten,
                             facts_retrieved=[{"id": fact.id, "text": fact.text, "score": 1.0}],
                             why=f"your fact '{fact.text}' names who or what the question is about; the model answered "
                                 f"'{rewritten}'")
                return Reply(text, "question", trace=trace)
        if facts:
            answered = self._answer_by_retrieval(question, facts, trace)
            if answered is not None:
                return answered
        text = self.model.chat(question, max_new_tokens=self.config.max_new_tokens)
        self._last_fact_ids = []  # "forget that" after this answer names no stored fact
        trace["method"] = "model"
        trace.setdefault("why", "no stored fact is about what was asked: answered from the model's weights"
                         if facts else "your memory is empty (or off): answered from the model's weights")
        return Reply(text, "question", trace=trace)

    def _answer_by_retrieval(self, question: str, facts: Sequence[Any], trace: dict[str, Any]) -> Reply | None:
        """The registered retrieval editors (hopwalk first), for what the direct lookups do not
        cover: paraphrased relations and multi-hop questions. The answer they give is said
        with the facts it came from, as a sentence."""
        from editmind.agent.answers import sentence
        from editmind.editors.retrieval import MemoryFactSource

        methods, _ = self._retrieval_methods(question)
        source = MemoryFactSource(self.memory, user_id=self.user_id)
        tried: list[dict[str, Any]] = []
        for method in methods:
            overrides = {}
            if hasattr(get_editor(method, family="retrieval").config, "max_hops"):
                overrides["max_hops"] = estimated_hops(question)
            editor = get_editor(method, family="retrieval", **overrides)
            try:
                answer = editor.answer(self.model, question, source)
            except EditmindError as exc:  # e.g. PokeMQA without its trained scope detector: the next method
                tried.append({"method": method, "answer": "", "notes": [str(exc)]})
                continue
            details = answer.trace.to_dict() if hasattr(answer.trace, "to_dict") else dict(answer.trace or {})
            used = list(getattr(answer.trace, "used_fact_ids", None) or _used_fact_ids(details))
            if not answer.answer.strip() or not used:  # nothing from memory: the model alone answers better
                tried.append({"method": method, "answer": answer.answer.strip(), "notes": details.get("notes", [])})
                continue
            used_facts = [f for f in facts if f.id in used]
            if not _grounded(question, used_facts):
                tried.append({"method": method, "answer": answer.answer.strip(),
                              "notes": ["the fact it followed is not about anything the question names: not used"]})
                continue
            self._last_fact_ids = used
            texts = [f.text for f in used_facts]
            text = sentence(answer.answer.strip().rstrip("."))
            if texts:
                text += " (From what you told me: " + " ".join(to_second_person(t) for t in texts) + ")"
            trace.update(method=method, memory_used=True, retrieval=details, facts_retrieved=_retrieved_facts(details),
                         facts_used=used, why=f"{method} followed your stored fact(s) to the answer",
                         **({"max_hops": overrides["max_hops"]} if overrides else {}),
                         **({"tried_first": tried} if tried else {}))
            return Reply(text, "question", trace=trace)
        if tried:
            trace["tried_first"] = tried
        return None

    def _remember_turn(self, turn: Turn) -> Reply:
        from editmind.agent.personal import parse_personal, same_owner, split_personal_clauses

        parts = split_personal_clauses(turn.content) if turn.statement is not None and turn.content else []
        if len(parts) > 1:  # two facts in one turn: each stored (and each updating what it updates) on its own
            import dataclasses

            replies = [self._remember_turn(dataclasses.replace(turn, content=part[0].upper() + part[1:] + ".",
                                                               statement=parse_personal(part))) for part in parts]
            ids = [i for r in replies for a in r.actions for i in [a.get("fact_id")] if i]
            self._last_fact_ids = ids
            return Reply(" ".join(r.text for r in replies), "personal_fact",
                         trace={"facts_used": [], "why": f"{len(parts)} facts about you in one turn: each kept in your memory only"},
                         actions=[a for r in replies for a in r.actions])
        statement = turn.statement
        fields: dict[str, Any] = {}
        if statement is not None:
            subject = statement.subject
            for fact in self._user_facts():  # "my hamsters" is the "my hamstr" already stored
                if fact.subject and fact.subject != subject and same_owner(fact.subject, subject):
                    subject = fact.subject
                    break
            fields = {"subject": subject, "relation": statement.relation, "object": statement.object}
            from editmind.agent.answers import content_words
            from editmind.agent.personal import render_personal

            if subject.startswith("my ") and not content_words(subject) <= content_words(turn.content or turn.text):
                # "we renamed him, he's called bisky now": say what the fact is about
                turn = Turn(turn.type, turn.text, turn.trigger, render_personal(subject, statement.relation, statement.object),
                            statement=statement, lasting=turn.lasting)
        text = turn.content or turn.text
        from editmind.agent.updates import personal_facts, updated_facts

        replaces = [f.id for f in updated_facts(text, statement, personal_facts(self._user_facts()))]
        result = self.memory.add(text, user_id=self.user_id, source="personal",
                                 metadata={"scope": "personal", "weights": "never"}, replaces=replaces, **fields)
        self._last_fact_ids = [result.fact.id]
        action = {"action": "memory", "event": result.event, "fact_id": result.fact.id, "text": result.fact.text,
                  "superseded": [f.id for f in result.superseded]}
        note = " (kept in your memory only: personal facts never go into the shared weights)" if turn.lasting else ""
        verb = "I already knew that" if result.event == "NOOP" else "Noted"
        replaced = f" (instead of: {to_second_person(result.superseded[0].text)})" if result.superseded else ""
        why = "a fact about you: kept in your memory only" + (f", replacing {len(result.superseded)} older fact(s) it updates"
                                                              if result.superseded else "")
        return Reply(f"{verb}: {to_second_person(result.fact.text)}{replaced}{note}", "personal_fact",
                     trace={"facts_used": [], "why": why}, actions=[action])

    def _correct_turn(self, turn: Turn, confirmed: bool = False) -> Reply:
        if not confirmed:
            turn = self._aimed_at_last_answer(turn)
        turn = self._in_stored_wording(turn)
        correction = turn.correction
        assert correction is not None and correction.complete
        request = correction.to_edit_request(user_id=self.user_id, lasting=True)
        if not confirmed:
            question = self._needs_confirmation(turn)
            if question:
                self._awaiting = turn
                return Reply(question, "correction", trace={"facts_used": [], "correction": correction.to_dict(),
                                                            "why": "waiting for a yes before writing: " + question},
                             actions=[{"action": "ask", "text": correction.text}])
        existing = None
        for fact in self._user_facts():
            if (fact.subject or "").lower() == request.subject.lower() and (fact.relation or "").lower() == request.prompt.lower() \
                    and (fact.object or "").lower() == request.target_new.lower():
                existing = fact
        confirmations = int(_metadata(existing).get("confirmations", 0)) + 1 if existing else 1
        state = self.router.weight_state(confirmations, turn.lasting, _metadata(existing).get("weights") if existing else None)
        metadata = {"scope": "world", "target_true": correction.target_true, "question": correction.question,
                    "confirmations": confirmations,
                    "weights": state, "lasting": turn.lasting or state == "pending"}
        if existing is not None:
            if metadata["question"] is None:  # a confirmation without a question keeps the earlier one
                metadata.pop("question")
            metadata = {**_metadata(existing), **metadata}
            fact = self.memory.update(existing.id, metadata=metadata)
            event, superseded = "CONFIRM", []
        else:
            result = self.memory.add(correction.text, user_id=self.user_id, subject=request.subject,
                                     relation=request.prompt, object=request.target_new, source="correction",
                                     metadata=metadata)
            fact, event, superseded = result.fact, result.event, [f.id for f in result.superseded]
        self._last_fact_ids = [fact.id]
        actions: list[dict[str, Any]] = [{"action": "memory", "event": event, "fact_id": fact.id, "text": fact.text,
                                          "confirmations": confirmations, "weights": state, "superseded": superseded}]
        replaced = [self.memory.get(i).text for i in superseded]
        text = f"Got it: {fact.text} I'll use that from now on (stored in your memory" + (
            f"; it replaces \"{replaced[0]}\")." if replaced else ").")
        if state == "pending":
            text += self._run_consolidation(actions, explicit=turn.lasting)
        why = (f"a correction of world knowledge ({turn.trigger}): stored in your memory"
               + (f", replacing {len(superseded)} older fact(s) about the same subject and relation" if superseded else ""))
        return Reply(text, "correction", trace={"facts_used": [], "correction": correction.to_dict(), "why": why},
                     actions=actions)

    def _run_consolidation(self, actions: list[dict[str, Any]], explicit: bool) -> str:
        pending = self._pending()
        if not self.router.consolidation_due(len(pending), explicit):
            return f" It will go into the model's weights with the next batch ({len(pending)}/{self.config.router.batch_size} pending)."
        try:
            result = self.consolidate(explicit=explicit)
        except AgentError as exc:  # no parameter editing installed: facts stay in memory, flagged
            for item in pending:
                self._set_meta(item.fact_id, weights="failed", edit_error=str(exc))
            actions.append({"action": "weights", "error": str(exc)})
            return f" It could not be written into the weights ({exc}); it stays in your memory."
        actions.append({"action": "weights", **result.to_dict()})
        parts = []
        if result.succeeded:
            where = ("the model's lifelong side memory (the base weights stay untouched)"
                     if result.method == self.config.router.lifelong_method else "the model's weights")
            parts.append(f" Written into {where} ({result.method}, edit {', '.join(result.edit_ids)}; "
                         f"{len(result.succeeded)} fact(s) verified).")
        if result.failed:
            parts.append(f" {len(result.failed)} fact(s) did not pass the check after the weight edit"
                         f"{' (' + result.error + ')' if result.error else ''}; they stay served from your memory.")
        return "".join(parts)

    def _pending(self) -> list[PendingFact]:
        items = []
        for fact in self._user_facts():
            meta = _metadata(fact)
            if meta.get("scope") == "world" and meta.get("weights") == "pending" and fact.subject and fact.relation and fact.object:
                question = meta.get("question")
                paraphrases = (question,) if isinstance(question, str) and fact.subject in question else ()
                request = EditRequest(subject=fact.subject, prompt=fact.relation, target_new=fact.object,
                                      target_true=meta.get("target_true"), user_id=self.user_id, lasting=True,
                                      paraphrases=paraphrases)
                items.append(PendingFact(fact.id, request))
        return items

    def _set_meta(self, fact_id: str, **changes: Any) -> None:
        fact = self.memory.get(fact_id)
        self.memory.update(fact_id, metadata={**_metadata(fact), **changes})

    def _facts_named_by(self, target: str, facts: Sequence[Any]) -> list[Any]:
        """The facts a forget request names. A fact must share a content word with the
        request ("cat" for "forget my cat's name"): embeddings alone put "my cat's name" next
        to "my dog's name", and a forget must never take a fact the user did not name. Only
        when no fact shares a word does the single closest one count, and only if it is close."""
        from editmind.agent.answers import content_words, same_attribute
        from editmind.agent.personal import parse_personal_question, same_owner
        from editmind.agent.updates import attribute_classes, relation_class, sets_own_attribute

        attribute = re.match(r"^(my|our)\s+(.+?)(?:'s|s'|s)?\s+(name|age|birthday|address|job|work|employer|school|uni|university|"
                             r"college|car|home|house)$", target.strip().casefold())
        if attribute:  # "my daughter's name", "my son's school": that attribute, not every fact about them
            owner = f"my {attribute.group(2)}"
            relations = {"job": ("occupation", "works at"), "work": ("works at",), "employer": ("works at",),
                         "birthday": ("is",), "address": ("address", "lives in"), "home": ("lives in",), "house": ("lives in",),
                         "school": ("goes to",), "uni": ("goes to",), "university": ("goes to",), "college": ("goes to",),
                         "car": ("drives",), "name": ("name", "is")}.get(attribute.group(3), (attribute.group(3),))
            classes = attribute_classes(attribute.group(3)) - {"name"}
            named = [f for f in facts if f.subject and same_owner(f.subject.casefold(), owner)
                     and ((f.relation or "").casefold() in relations
                          or ((f.relation or "is").casefold() == "is" and classes & attribute_classes(f.text)))]
            if named:
                return named
        asked = parse_personal_question(target)  # "where my manager lives": that attribute of the manager, not their name
        if asked and asked[0] == "me":  # "where I work": the user's own fact of that attribute, keyed or not
            mine = [f for f in facts if ((f.subject or "") == "me" and same_attribute((f.relation or "").casefold(), asked[1]))
                    or sets_own_attribute(f, asked[1])]
            if mine:
                return mine
        if asked and asked[1] != "is":
            owned = [f for f in facts if f.subject and same_owner(f.subject.casefold(), asked[0].casefold())]
            if owned:
                wanted = relation_class(asked[1])
                return [f for f in owned if same_attribute((f.relation or "").casefold(), asked[1].casefold())
                        or ((f.relation or "is") == "is" and wanted in attribute_classes(f.text))]
        words = content_words(target) - {"name", "nam", "info", "thing", "stuff", "fact", "detail", "bit"}
        if re.search(r"\b(?:i|i'm|my|me|mine|we|our|us)\b", target.casefold()):
            from editmind.agent.updates import personal_facts

            # "forget what truck I drive": the user's truck, not a world fact about a truck stop
            mine = [f for f in personal_facts(facts) if words & content_words(f.text + " " + (f.subject or ""))]
            facts = mine or facts
        overlap = {f.id: len(words & content_words(f.text + " " + (f.subject or ""))) for f in facts}
        best = max(overlap.values(), default=0)
        if best:  # the facts that share the most words with the request ("drink", not just "favorite")
            return [f for f in facts if overlap[f.id] == best]
        stems = {w[:5] for w in words if len(w) >= 5}  # "my allergy" names "I am allergic to peanuts"
        overlap = {f.id: len(stems & {w[:5] for w in content_words(f.text) if len(w) >= 5}) for f in facts}
        best = max(overlap.values(), default=0)
        if best:
            return [f for f in facts if overlap[f.id] == best]
        hits = self.memory.search(target, user_id=self.user_id, k=1)
        return [hits[0].fact] if hits and hits[0].score >= max(0.6, self.config.forget_min_score) else []

    def _forget_turn(self, turn: Turn) -> Reply:
        target = re.sub(r"^(?:it|that|this|what i (?:just )?said|i said that)$", "", (turn.content or "").strip(), flags=re.I)
        facts = self._user_facts()
        if not target:
            chosen = [f for f in facts if f.id in self._last_fact_ids]
        elif re.fullmatch(r"(?:everything|all|all (?:of )?my data|my (?:personal )?data|everything (?:about me|i told you)"
                          r"|my memory|everything you know about me)", target, flags=re.I):
            chosen = facts
        else:
            chosen = self._facts_named_by(target, facts)
        if not chosen:
            return Reply(f"I found nothing in your memory matching {target or 'that'!r}; nothing was changed.",
                         "forget", trace={"facts_used": []}, actions=[])
        actions, in_weights = [], []
        produced = self._model_still_says(chosen)
        for fact in chosen:
            self.memory.redact(fact.id)
            actions.append({"action": "redact", "fact_id": fact.id})
            edit_id = _metadata(fact).get("edit_id")
            if edit_id:
                in_weights.append(edit_id)
        self._last_fact_ids = []
        text = f"Forgotten: {len(chosen)} fact(s) redacted from your memory."
        trace: dict[str, Any] = {"facts_used": [], "redacted": [a["fact_id"] for a in actions]}
        if in_weights:
            text += f" A parameter edit also holds this; remove it with: undo {', '.join(sorted(set(in_weights)))}."
        elif produced:
            from editmind.editors.safety.qa_files import QAItem

            self._awaiting_sanitation = [QAItem(question, (answer,)) for question, answer in produced]
            question, answer = produced[0]
            text += (f" The model itself still answers \"{answer}\" when asked \"{question}\". Say yes to erase it from the "
                     "weights too (a sanitation edit: it will answer \"I don't know.\"; journaled, undoable).")
            trace["model_still_says"] = [{"question": q, "answer": a} for q, a in produced]
        elif any(_metadata(f).get("scope") == "world" for f in chosen):
            text += " The model itself does not say it when asked, so there is nothing to erase from its weights."
        else:
            text += " It was only in your memory, never in the model's weights."
        trace["why"] = text
        return Reply(text, "forget", trace=trace, actions=actions)

    def _run_sanitation(self, items: Sequence[Any]) -> Reply:
        try:
            report = self.sanitize(items, evaluate=False)
        except EditmindError as exc:
            return Reply(f"I could not erase it from the weights: {exc}. Your memory no longer holds it.", "forget",
                         trace={"facts_used": [], "why": f"sanitation failed: {exc}"})
        said = self.model.chat(items[0].question, max_new_tokens=self.config.max_new_tokens).strip()
        text = (f"Erased from the weights (sanitation edit {report.edit_id}; undo {report.edit_id} brings it back). "
                f"Asked \"{items[0].question}\" the model now says: \"{said}\"")
        return Reply(text, "forget", trace={"facts_used": [], "why": "a sanitation edit on a yes", "edit_id": report.edit_id},
                     actions=[{"action": "sanitize", "edit_id": report.edit_id, "questions": [i.question for i in items]}])

    def _model_still_says(self, facts: Sequence[Any]) -> list[tuple[str, str]]:
        """(question, answer) for each forgotten world fact the model, asked without memory,
        still answers with its value: what a sanitation edit would have to erase."""
        from editmind.editors.eval.metrics import answer_matches

        found = []
        for fact in facts:
            meta = _metadata(fact)
            if meta.get("scope") != "world" or not fact.object:
                continue
            question = meta.get("question") or (fact.relation.format(fact.subject) if fact.relation and fact.subject
                                                and "{}" in fact.relation else None)
            if not question:
                continue
            said = " ".join(self.model.chat(question, max_new_tokens=self.config.max_new_tokens).split())
            if answer_matches(said, [fact.object], "question"):
                found.append((question, fact.object))
        return found

    def sanitize(self, forget: Sequence[Any], retain: Sequence[Any] = (), evaluate: bool = True, **kwargs: Any) -> Any:
        """Erase the answers to `forget` (QAItems or question strings) from the weights: one
        journaled `sanitize` edit (editors/safety), measured before/after; the user's memory
        facts that state a forgotten answer are redacted too. Returns the SanitationReport."""
        from editmind.editors.safety.qa_files import QAItem
        from editmind.editors.safety.sanitation import redact_facts_naming, sanitize

        items = [item if isinstance(item, QAItem) else QAItem(str(item)) for item in forget]
        kept = [item if isinstance(item, QAItem) else QAItem(str(item)) for item in retain]
        if self.journal is None:
            raise EditmindError(f"the edit journal is not available ({self._journal_error or 'not opened'}); "
                                "sanitation needs it to record the edit")
        progress = kwargs.pop("progress", self.progress)
        report = sanitize(self.journal, items, kept, progress=progress, evaluate=evaluate, user_id=self.user_id, **kwargs)
        redact_facts_naming(self.memory, self.user_id, items)
        return report

    def debias(self, data_dir: Any = None, evaluate: bool = True, **kwargs: Any) -> Any:
        """Remove the he/she stereotype subspace from the model (DAMA, editors/safety/debias):
        one journaled `dama` edit, undone bitwise with `undo(report.edit_id)`. `data_dir` holds
        professions.json, train_dama.json and test_dama.json (default: ../shared/data/debias);
        WinoBias/StereoSet there are measured too. Returns the DebiasReport."""
        from pathlib import Path

        from editmind.editors.eval import bias
        from editmind.editors.safety.debias import debias

        if data_dir is None:
            from editmind.apps.commands.eval import shared_data_dir

            data_dir = shared_data_dir() / "debias"
        data = Path(data_dir)
        professions = bias.load_professions(data / "professions.json")
        train = bias.load_profession_prompts(data / "train_dama.json", professions)
        test = bias.load_profession_prompts(data / "test_dama.json", professions) if evaluate else []
        if self.journal is None:
            raise EditmindError(f"the edit journal is not available ({self._journal_error or 'not opened'}); "
                                "debiasing needs it to record the edit")
        progress = kwargs.pop("progress", self.progress)
        return debias(self.journal, train, test, data_dir=data, progress=progress, evaluate=evaluate, **kwargs)

    def detox(self, data: Any = None, method: str = "dinm", evaluate: bool = True, **kwargs: Any) -> Any:
        """Make the model refuse jailbreak attacks (editors/safety/detox): one journaled `dinm`
        (or `steer`) edit from SafeEdit records, undone bitwise with `undo(report.edit_id)`.
        `data` is the records' file (default: ../shared/data/detox/safeedit_attacks.json), split
        by question; with `evaluate`, the held-out questions' attacks are measured before and
        after (`max_train`/`max_test` cap the subsets, default 24/32). Returns the DetoxReport."""
        from pathlib import Path

        from editmind.editors.safety.detox import detox
        from editmind.editors.safety.safeedit import load_attacks, split_by_question, spread

        if data is None:
            from editmind.apps.commands.eval import shared_data_dir

            data = shared_data_dir() / "detox" / "safeedit_attacks.json"
        records = load_attacks(Path(data))
        train, test = split_by_question(records, kwargs.pop("test_fraction", 0.25)) if evaluate else (records, [])
        train, test = spread(train, kwargs.pop("max_train", 24)), spread(test, kwargs.pop("max_test", 32))
        if self.journal is None:
            raise EditmindError(f"the edit journal is not available ({self._journal_error or 'not opened'}); "
                                "detox needs it to record the edit")
        progress = kwargs.pop("progress", self.progress)
        return detox(self.journal, train, test, method=method, progress=progress, evaluate=evaluate, user_id=self.user_id, **kwargs)

    def _command(self, turn: Turn) -> Reply:
        name, arg = (turn.command or "").lower(), turn.argument.strip()
        if name == "lasting":
            return self._make_lasting()
        if name == "edits":
            records = self.edits()
            lines = [f"{r['id']}  {r['method']}  {'; '.join(r['summary'])}" for r in records] or ["no edits in effect"]
            return Reply("\n".join(lines), "command", trace={"edits": records})
        if name == "undo":
            if not arg:
                records = self.edits()
                if not records:
                    return Reply("There is no edit to undo.", "command")
                arg = records[-1]["id"]
            done = self.undo(arg)
            return Reply(f"Undone edit {done['undone']}; the weights are exactly as before it.", "command",
                         actions=[{"action": "undo", **done}])
        if name == "why":
            trace = self.last_reply.trace if self.last_reply else {}
            return Reply(_explain(trace), "command", trace={"explained": trace})
        if name == "user":
            if not arg:
                return Reply(f"The current user is {self.user_id}.", "command")
            self.set_user(arg)
            return Reply(f"Now talking with user {self.user_id}.", "command")
        if name == "remember":
            return self.remember(arg) if arg else Reply("Usage: /remember STATEMENT", "command")
        if name == "forget":
            return self.forget(arg)
        if name == "reset":
            self.last_question = self.last_answer = None
            return Reply("Conversation reset (your memory is kept).", "command")
        if name in ("help", "quit", "exit"):
            return Reply(HELP, "command")
        return Reply(f"Unknown command /{name}. {HELP}", "command")

    def _make_lasting(self) -> Reply:
        candidates = [f for f in self._user_facts() if _metadata(f).get("scope") == "world"]
        chosen = [f for f in candidates if f.id in self._last_fact_ids] or sorted(
            (f for f in candidates if _metadata(f).get("weights") in ("memory", "failed", "pending")),
            key=lambda f: str(f.updated_at))[-1:]
        if not chosen:
            personal = [f for f in self._user_facts() if f.id in self._last_fact_ids]
            if personal:
                return Reply("That is a personal fact: it stays in your memory and is never written into the shared "
                             "weights.", "command")
            return Reply("There is no world-knowledge correction to make permanent yet.", "command")
        actions: list[dict[str, Any]] = []
        for fact in chosen:
            if _metadata(fact).get("weights") == "edited":
                return Reply(f"Already in the weights (edit {_metadata(fact).get('edit_id')}).", "command")
            self._set_meta(fact.id, weights="pending", lasting=True)
            actions.append({"action": "lasting", "fact_id": fact.id, "text": fact.text})
        text = "Making it permanent: " + "; ".join(f.text for f in chosen)
        text += self._run_consolidation(actions, explicit=True)
        return Reply(text, "command", trace={"facts_used": [f.id for f in chosen]}, actions=actions)

    def _aimed_at_last_answer(self, turn: Turn) -> Turn:
        """"No, it's X" corrects the answer the agent gave: when that answer came from a
        stored world fact, the correction takes that fact's subject and relation, so it
        replaces it, however the question was worded ("Who is mayor of Braila?" answered
        from "The mayor of Braila city is ...")."""
        correction = turn.correction
        if correction is None or not correction.subject or correction.subject.lower() in turn.text.lower():
            return turn  # the user named the subject: the correction says what it is about
        world = [f for f in self._user_facts() if _metadata(f).get("scope") == "world" and f.subject and f.relation]
        # the answer's fact, only when it is about the relation the user asked ("captain" is not "head coach")
        used = [f for f in world if f.id in self._answer_fact_ids and _relation_meets(f.relation, correction.relation or "")]
        if not used:  # the answer did not come from memory: a stored fact on the same subject and relation, worded otherwise
            used = [f for f in world if _same_key(f.subject, f.relation, correction.subject, correction.relation or "")]
        if len(used) != 1 or (used[0].subject.lower(), used[0].relation.lower()) == (
                correction.subject.lower(), (correction.relation or "").lower()):
            return turn
        fact = used[0]
        question = correction.question if correction.question and fact.subject in correction.question else None
        aimed = _replaced(correction, subject=fact.subject, relation=fact.relation, question=question,
                          target_true=correction.target_true or fact.object)
        return _replaced(turn, correction=aimed, content=aimed.text)

    def _in_stored_wording(self, turn: Turn) -> Turn:
        """'The VC of UNILAG is X' after 'The vice chancellor of UNILAG is Y' was stored: the
        stored relation's wording, so the new value replaces the old one instead of sitting
        beside it."""
        correction = turn.correction
        if correction is None or not correction.subject or not correction.relation:
            return turn
        for fact in reversed(self._user_facts()):
            if (fact.subject or "").casefold() == correction.subject.casefold() and fact.relation \
                    and fact.relation != correction.relation and _abbreviates(fact.relation, correction.relation):
                stored = _replaced(correction, relation=fact.relation)
                return _replaced(turn, correction=stored, content=stored.text)
        return turn

    def _needs_confirmation(self, turn: Turn) -> str | None:
        """The question to ask before writing `turn`'s correction, or None to write it now.

        Asked when the whole turn is a bare value ("Canberra"), and when a correction read
        from context alone ("no, it's X") would replace a stored fact although the user's
        previous turn was about something else: the context may be stale."""
        correction = turn.correction
        assert correction is not None
        if turn.confirm:
            return f"Do you mean that {_lower_first(correction.text)} Say yes to store it."
        said_subject = (correction.subject or "").lower() in turn.text.lower()
        if said_subject:
            return None
        replaced = [f for f in self._user_facts() if (f.subject or "").lower() == (correction.subject or "").lower()
                    and (f.relation or "").lower() == (correction.relation or "").lower()
                    and (f.object or "").lower() != (correction.target_new or "").lower()]
        if not replaced:
            return None
        previous = self._previous_turn
        if previous is not None and (previous.type == "question" or (correction.subject or "").lower() in previous.text.lower()):
            return None  # right after the question it corrects (however it was worded): the context is fresh
        return (f"Just to check: should I replace \"{replaced[-1].text}\" with \"{correction.text}\"? "
                "Say yes to confirm; anything else leaves your memory as it is.")

    def _apply_confirmed(self, turn: Turn) -> Reply:
        reply = self._correct_turn(turn, confirmed=True)
        reply.actions.insert(0, {"action": "confirmed", "text": turn.correction.text if turn.correction else ""})
        reply.trace["confirmed"] = True
        return reply

    def _small_talk(self, turn: Turn) -> Reply:
        """A brief reply; nothing is looked up and nothing is written."""
        from editmind.agent.smalltalk import reply_for

        kind = turn.small_talk or "acknowledgement"
        return Reply(reply_for(kind), turn.type, trace={"method": "small talk", "small_talk": kind, "facts_used": [],
                                                          "why": f"small talk ({kind}): answered, nothing stored"})

    def _clarify(self, turn: Turn) -> Reply:
        missing = ", ".join(turn.correction.missing()) if turn.correction else "what to change"
        return Reply(f"I could not tell what to change (missing {missing}). Please say it as a full sentence, "
                     "e.g. 'The Eiffel Tower is located in Rome.' Nothing was stored.", "correction",
                     trace={"facts_used": [], "correction": turn.correction.to_dict() if turn.correction else None})

    def _edits_in_effect(self) -> list[str]:
        if self._journal is None:
            return []
        return [r.id for r in self._journal.records() if getattr(r, "status", "active") in ("active", "applied")
                and not getattr(r, "undone", False)]

    @staticmethod
    def _record_dict(record: Any) -> dict[str, Any]:
        requests = [r if isinstance(r, EditRequest) else EditRequest.from_dict(r) for r in getattr(record, "requests", [])]
        return {"id": record.id, "method": record.method, "layers": list(getattr(record, "layers", [])),
                "summary": [f"{r.rendered_prompt} {r.target_new}" for r in requests],
                "metrics": getattr(record, "metrics", {}), "created_at": str(getattr(record, "created_at", "")),
                "supersedes": getattr(record, "supersedes", None)}


HELP = ("Commands: /remember STATEMENT, /forget WHAT, /edits, /undo ID, /why, /user NAME, /reset, /quit. "
        "Correct me in plain words ('no, it's Rome'); say 'remember this permanently' to write it into the weights.")


def _used_fact_ids(details: dict[str, Any]) -> list[str]:
    """Fact ids a retrieval trace marks as used (tolerant of the trace's exact shape)."""
    found: list[str] = []

    def walk(node: Any, used_context: bool) -> None:
        if isinstance(node, dict):
            if used_context and isinstance(node.get("id"), str) and node.get("used", True):
                found.append(node["id"])
            for key, value in node.items():
                walk(value, used_context or key in ("used", "used_facts", "facts_used"))
        elif isinstance(node, (list, tuple)):
            for value in node:
                if used_context and isinstance(value, str):
                    found.append(value)
                else:
                    walk(value, used_context)

    walk(details, False)
    return list(dict.fromkeys(found))


def _retrieved_facts(details: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "id" in node and "text" in node:
                out.append({"id": node["id"], "text": node["text"], "score": node.get("score")})
            for value in node.values():
                walk(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                walk(value)

    walk(details)
    unique = {item["id"]: item for item in out}
    return list(unique.values())


def _explain(trace: dict[str, Any]) -> str:
    if not trace:
        return "There is no previous answer to explain."
    lines = [f"turn: {trace.get('turn', {}).get('type')} ({trace.get('turn', {}).get('trigger')})"]
    route = trace.get("route") or {}
    lines += [f"route: {route.get('action')} — " + "; ".join(route.get("reasons", []))]
    if "method" in trace:
        lines.append(f"answered by: {trace['method']}{' (multi-hop)' if trace.get('multi_hop') else ''}")
    for fact in trace.get("facts_retrieved", []):
        mark = "used" if fact["id"] in trace.get("facts_used", []) else "retrieved"
        lines.append(f"  {mark}: {fact['text']}")
    if trace.get("turn", {}).get("type") == "question" and not trace.get("facts_used"):
        lines.append("  used: no stored fact")
    if trace.get("rewritten_question"):
        lines.append(f"asked the model: {trace['rewritten_question']}")
    if trace.get("why"):
        lines.append(f"because: {trace['why']}")
    if trace.get("edits_in_effect"):
        lines.append("edits in effect: " + ", ".join(trace["edits_in_effect"]))
    return "\n".join(lines)


_KEY_STOPWORDS = frozenset({"the", "of", "is", "was", "are", "were", "by", "at", "in", "on", "for", "a", "an", "to", "{}", "and", "&"})


def _stems(text: str) -> set[str]:
    """Four-letter stems of the content words ("coached"/"coach", "owned"/"owner" meet)."""
    return {w[:4] for w in re.findall(r"[a-z0-9{}&]+", text.lower()) if w not in _KEY_STOPWORDS and len(w) >= 3}


def _relation_meets(stored: str, asked: str) -> bool:
    """The relations share a content stem, or the asked one names none ("{} is")."""
    a, b = _stems(stored.replace("{}", "")), _stems(asked.replace("{}", ""))
    return not b or bool(a & b)


def _same_key(subject_a: str, relation_a: str, subject_b: str, relation_b: str) -> bool:
    """Two wordings of one (subject, relation): the content stems of one whole key ("The vet
    at Tullamore clinic is") are all in the other's ("The vet at Tullamore Animal Clinic is"),
    however each was split into subject and relation; at least two of them."""
    a = _stems(relation_a.replace("{}", subject_a)) if "{}" in relation_a else _stems(relation_a + " " + subject_a)
    b = _stems(relation_b.replace("{}", subject_b)) if "{}" in relation_b else _stems(relation_b + " " + subject_b)
    small, large = sorted((a, b), key=len)
    return len(small) >= 2 and small <= large


def _abbreviates(relation_a: str, relation_b: str) -> bool:
    """One relation names its role by initials where the other spells it out ("The VC of {} is"
    / "The vice chancellor of {} is"); the rest of the wording is the same."""
    def words(relation: str) -> list[str]:
        return [w for w in re.findall(r"[a-z]+", relation.casefold()) if w not in ("the", "of", "is", "a", "an", "was")]

    a, b = words(relation_a), words(relation_b)
    for short, long in ((a, b), (b, a)):
        for i, token in enumerate(short):
            n = len(token)
            if not 2 <= n <= 4:
                continue
            for j in range(len(long) - n + 1):
                if "".join(w[0] for w in long[j:j + n]) == token and short[:i] + short[i + 1:] == long[:j] + long[j + n:]:
                    return True
    return False


def _confirms(turn: Turn) -> bool:
    """A plain yes to the question the agent asked."""
    return turn.type == "chitchat" and turn.small_talk == "agreement"


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


def _grounded(question: str, facts: Sequence[Any]) -> bool:
    """A retrieval answer counts only when it starts from a world fact whose subject the
    question names; a personal fact never answers a question about the world."""
    from editmind.agent.answers import content_words

    words = content_words(question)
    world = [f for f in facts if _metadata(f).get("scope") == "world" and f.subject]
    return bool(world) and len(world) == len(facts) and any(content_words(f.subject) <= words for f in world)


def _owner_match(question: str, facts: Sequence[Any]) -> Any:
    """"dog name?": a question that names one of the user's own things without "my"."""
    from editmind.agent.answers import content_words, match_personal

    match = match_personal(question, facts)
    if match is None:
        return None
    owner = (match.fact.subject or "").casefold()
    return match if owner.startswith("my ") and content_words(owner) <= content_words(question) else None


def _topic_of(turn: Turn, current: str | None) -> str | None:
    """The user's own person or thing a turn speaks of, for the pronouns of the next turns."""
    from editmind.agent.personal import parse_personal_question

    if turn.type == "personal_fact" and turn.statement is not None and turn.statement.subject.startswith("my "):
        return turn.statement.subject.split("'s ")[0]  # "my son's pediatrician" speaks of my son
    if turn.type == "question":
        asked = parse_personal_question(turn.content or turn.text)
        if asked and asked[0].startswith("my "):
            return asked[0]
        found = re.search(r"\bmy ([a-z]+)", (turn.content or turn.text).lower())
        if found:
            return "my " + found.group(1)
    return current


_GUARD: list[TurnGuard | None] = []


def _small_talk_guard() -> TurnGuard | None:
    """The trained small-talk guard, loaded once per process (None when not shipped)."""
    if not _GUARD:
        _GUARD.append(TurnGuard.load())
    return _GUARD[0]
