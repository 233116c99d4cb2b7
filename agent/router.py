"""The router: where each understood turn goes — the user's memory, the weights, or both.

The policy, in full (every rule is unit-tested in tests/unit/test_router.py):

1. **Personal facts** ("my sister lives in Lyon") go to the user's own memory scope and
   NEVER into the weights, even when the user says "permanently": weights are shared by
   every user of the model, so a personal fact there would leak to everyone.
2. **World-knowledge corrections** ("no, it's Rome") go to the user's memory at once, so the
   next answer already uses them. They reach the weights only when the change should last:
   - the user says so ("remember this permanently", ``--lasting``, ``lasting=True``), or
   - the same correction has been stated ``confirmations_to_last`` times (default 2).
   Such a fact is *pending*. Consolidation — one batched edit (MEMIT, else AlphaEdit; for a
   single pending fact with neither registered, ROME or FT-M) over all the user's pending
   facts — runs when the user asked explicitly, or when ``batch_size`` facts are pending.
   **Lifelong switch:** once the model would hold more than ``lifelong_after_edits`` edits
   (active journal records plus this batch), consolidation writes into GRACE's side memory
   instead (``lifelong_method``): the base weights stay untouched, so the hundreds of
   corrections a long-time user makes do not wear the model down. The threshold is where
   the measured sequential curves on the default model part (mquake_hard_dev): after 4
   sequential edits MEMIT, ROME and AlphaEdit keep locality 100 (knowedit_sequential.json);
   after 100 their locality is 49-77 and falls on from there (MEMIT 0.0 after 300), while
   GRACE keeps locality 100 through 100 edits (knowedit_sequential_grace_n100.json) and
   beyond (knowedit_sequential_grace_n500.json).
3. **Verification.** After the batched edit each fact is checked with the evaluator's
   ``reliability`` (teacher-forced token accuracy of the new target on the edit prompt);
   below ``min_reliability`` it is *failed*: it stays served from memory and is flagged.
   If every fact of a batch failed, the edit is undone (weights exactly as before).
4. **Forget requests** redact the matching facts in the user's memory. A forgotten world
   fact that the model itself still produces (asked without memory) is offered for a
   sanitation edit (editors/safety: the model answers "I don't know." instead), run on a
   plain yes and journaled like any edit; a fact that a parameter edit put into the weights
   is removed with ``undo EDIT_ID``, which the agent names.
5. **A correction of something already edited** (same subject and relation as an active
   journal record) becomes a new edit whose record ``supersedes`` the old one.

Weight states of a world fact (kept in the memory fact's metadata, so they survive
restarts): ``memory`` (tentative, memory only) → ``pending`` (lasting, waiting for
consolidation) → ``edited`` (in the weights, ``edit_id`` set) or ``failed``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Sequence

from editmind.agent.turns import Turn
from editmind.editors.base import EditRequest
from editmind.editors.errors import EditmindError

Progress = Callable[[str, int, int], None]
WeightState = Literal["memory", "pending", "edited", "failed"]
# methods that edit many facts at once, in order of preference
BATCH_METHODS: tuple[str, ...] = ("memit", "alphaedit")


@dataclass
class RouterConfig:
    """Defaults that work for any model: nothing here depends on the architecture."""

    confirmations_to_last: int = 2  # stating a world correction this often makes it lasting
    batch_size: int = 4  # this many pending lasting facts trigger consolidation on their own
    methods: tuple[str, ...] = BATCH_METHODS  # first registered one is used
    single_fact_methods: tuple[str, ...] = ("rome", "ft-m")  # for a batch of one when no batch method exists
    min_reliability: float = 1.0  # every target token must be the model's own argmax
    undo_if_all_fail: bool = True
    method_overrides: dict[str, Any] = field(default_factory=dict)  # passed to journal.apply
    lifelong_method: str = "grace"  # the side-memory editor consolidation switches to
    lifelong_after_edits: int = 4  # more edits in place than this: use lifelong_method (see rule 2)


@dataclass(frozen=True)
class Route:
    """What to do with one turn."""

    action: Literal["answer", "remember", "correct", "forget", "command", "chat", "clarify"]
    memory: bool = False  # write into the user's memory
    weights: Literal["never", "pending", "now"] = "never"
    scope: Literal["personal", "world", "none"] = "none"
    reasons: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "memory": self.memory, "weights": self.weights, "scope": self.scope,
                "reasons": list(self.reasons)}


@dataclass(frozen=True)
class PendingFact:
    """A memory fact waiting to go into the weights, with the edit that would put it there."""

    fact_id: str
    request: EditRequest


@dataclass
class ConsolidationResult:
    method: str | None = None
    edit_ids: list[str] = field(default_factory=list)
    succeeded: dict[str, float] = field(default_factory=dict)  # fact_id -> reliability
    failed: dict[str, float] = field(default_factory=dict)  # fact_id -> reliability (0.0 if the edit raised)
    fact_edits: dict[str, str] = field(default_factory=dict)  # fact_id -> edit id that holds it
    undone: list[str] = field(default_factory=list)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


SANITATION_NOTE = (
    "when the model itself still produces a forgotten world fact, a sanitation edit (editors/safety) can erase it "
    "from the weights: the agent offers it and runs it on a yes"
)


class Router:
    """The policy object. `route` is pure; `consolidate` runs the batched edit through the journal."""

    def __init__(self, config: RouterConfig | None = None) -> None:
        self.config = config or RouterConfig()

    # --- pure policy ------------------------------------------------------------------
    def route(self, turn: Turn) -> Route:
        kind = turn.type
        if kind == "question":
            return Route("answer", reasons=("questions are answered with the user's memory brought in",))
        if kind == "personal_fact":
            reasons = ["personal facts live in the user's memory only; the shared weights never hold them"]
            if turn.lasting:
                reasons.append("'permanently' keeps it in memory; it is still not written into the shared weights")
            return Route("remember", memory=True, weights="never", scope="personal", reasons=tuple(reasons))
        if kind == "correction":
            if turn.correction is None and turn.small_talk == "disagreement":
                return Route("chat", reasons=("a disagreement without the right answer: ask for it; nothing is stored",))
            if turn.correction is None or not turn.correction.complete:
                return Route("clarify", reasons=("the correction is incomplete; nothing is stored until it is clear",))
            weights = "now" if turn.lasting else "never"
            reasons = ["world corrections go to the user's memory at once"]
            reasons.append("the user asked for a lasting change: consolidate into the weights now" if turn.lasting
                           else f"into the weights once lasting (asked, or stated {self.config.confirmations_to_last} times)")
            return Route("correct", memory=True, weights=weights, scope="world", reasons=tuple(reasons))
        if kind == "forget":
            return Route("forget", memory=True, reasons=("forget requests redact the facts in the user's memory",
                                                         SANITATION_NOTE))
        if kind == "command":
            return Route("command", reasons=(f"command {turn.command}",))
        return Route("chat", reasons=("small talk is answered, never stored",))

    def weight_state(self, confirmations: int, lasting: bool, current: str | None = None) -> WeightState:
        """The state of a world fact after it was stated `confirmations` times."""
        if current in ("edited",):
            return "edited"
        if lasting or confirmations >= self.config.confirmations_to_last:
            return "pending"
        return "failed" if current == "failed" else "memory"

    def consolidation_due(self, pending: int, explicit: bool) -> bool:
        return pending > 0 and (explicit or pending >= self.config.batch_size)

    def pick_method(self, available: Sequence[str], n_facts: int = 2, edits_in_place: int = 0) -> str:
        """The editor for a batch of `n_facts` when `edits_in_place` edits are already applied."""
        if edits_in_place + n_facts > self.config.lifelong_after_edits and self.config.lifelong_method in available:
            return self.config.lifelong_method
        for name in self.config.methods + (self.config.single_fact_methods if n_facts == 1 else ()):
            if name in available:
                return name
        raise EditmindError(
            f"no batch parameter editor is registered (wanted one of {', '.join(self.config.methods)}; "
            f"have {', '.join(available) or 'none'}); the facts stay served from memory"
        )

    @staticmethod
    def superseded_record(request: EditRequest, records: Sequence[Any]) -> str | None:
        """The id of the newest active journal record that edited the same subject and relation."""
        key = (request.subject.strip().lower(), request.template.strip().lower())
        for record in reversed(list(records)):
            if getattr(record, "undone", False) or getattr(record, "status", "active") not in ("active", "applied"):
                continue
            for old in getattr(record, "requests", []):
                old_req = old if isinstance(old, EditRequest) else EditRequest.from_dict(old)
                if (old_req.subject.strip().lower(), old_req.template.strip().lower()) == key:
                    return record.id
        return None

    # --- consolidation ------------------------------------------------------------------
    def consolidate(
        self,
        journal: Any,
        model: Any,
        pending: Sequence[PendingFact],
        available_methods: Sequence[str],
        reliability: Callable[[Any, EditRequest], float],
        progress: Progress | None = None,
        overrides_for: Callable[[str], dict[str, Any]] | None = None,
    ) -> ConsolidationResult:
        """One batched edit over `pending` (plus one linked edit per fact that supersedes an
        earlier edit), each fact verified; failures reported, never raised."""
        result = ConsolidationResult()
        if not pending:
            return result
        records = list(journal.records())
        try:
            result.method = self.pick_method(available_methods, len(pending), edits_in_place=len(records))
        except EditmindError as exc:
            result.error = str(exc)
            result.failed = {p.fact_id: 0.0 for p in pending}
            return result
        overrides = {**(overrides_for(result.method) if overrides_for else {}), **self.config.method_overrides}
        groups: dict[str | None, list[PendingFact]] = {}
        for item in pending:
            groups.setdefault(self.superseded_record(item.request, records), []).append(item)
        total = len(pending)
        for supersedes, items in groups.items():
            if progress:
                progress("consolidate", len(result.succeeded) + len(result.failed), total)
            try:
                record = journal.apply(result.method, [p.request for p in items], overrides=overrides or None,
                                       progress=progress, supersedes=supersedes)
            except EditmindError as exc:
                result.error = str(exc)
                result.failed.update({p.fact_id: 0.0 for p in items})
                continue
            scores = {p.fact_id: float(reliability(model, p.request)) for p in items}
            passed = {k: v for k, v in scores.items() if v >= self.config.min_reliability}
            if not passed and self.config.undo_if_all_fail:
                journal.undo(record.id)
                result.undone.append(record.id)
            else:
                result.edit_ids.append(record.id)
                result.fact_edits.update({k: record.id for k in passed})
            result.succeeded.update(passed)
            result.failed.update({k: v for k, v in scores.items() if k not in passed})
        if progress:
            progress("consolidate", total, total)
        return result
