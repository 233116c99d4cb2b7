"""The sanitation workflow: forget these questions' answers, keep those, measure both.

`sanitize(journal, forget, retain)` is what `editmind sanitize`, the agent and the app run:
it builds one `sanitize` edit request per forget question, applies it through the journal
(journaled, undoable bitwise, replayed on the next start like any edit), and reports the
sanitation metrics (editors/eval/sanitation.py) before and after on the same prompts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

from editmind.editors.base import EditRequest, EditRequestError, Progress
from editmind.editors.safety.qa_files import QAItem
from editmind.editors.safety.sanitize import GENERAL_QUESTIONS, SAFE_PHRASE


@dataclass
class SanitationReport:
    edit_id: str
    forget: int
    retain: int
    safe_phrase: str
    layers: list[int]
    compute_seconds: float
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    examples: list[dict[str, str]] = field(default_factory=list)  # a few forget questions with both replies

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def sanitation_requests(forget: Sequence[QAItem], retain: Sequence[QAItem] = (), safe_phrase: str = SAFE_PHRASE,
                        user_id: str | None = None, template: str = "{}") -> list[EditRequest]:
    """One erase request per forget question; the retain questions spread over them (the
    editor uses their union), so the journal stores each once. `template` frames the
    question for key-value editors (ROME/MEMIT/AlphaEdit edit at the subject's last token:
    the question is the subject, the chat template around it the prompt)."""
    forget = list({item.question: item for item in forget}.values())
    if not forget:
        raise EditRequestError("the forget set is empty; give at least one question whose answer must be forgotten")
    forgotten = {item.question for item in forget}
    kept = [item.question for item in retain if item.question not in forgotten]
    n = len(forget)
    return [
        EditRequest(subject=item.question, prompt=template, target_new=safe_phrase, target_true=item.answer, kind="erase",
                    user_id=user_id, locality_prompts=tuple(kept[i::n]))
        for i, item in enumerate(forget)
    ]


def sanitize(journal, forget: Sequence[QAItem], retain: Sequence[QAItem] = (), *, safe_phrase: str = SAFE_PHRASE,
             overrides: dict[str, Any] | None = None, progress: Progress | None = None, evaluate: bool = True,
             retain_unseen: Sequence[QAItem] = (), user_id: str | None = None, method: str = "sanitize") -> SanitationReport:
    """Apply one sanitation edit through `journal`; with `evaluate`, measure before and after.
    `method` "sanitize" is the sanitation editor (its own `method` setting, in `overrides`:
    "gate", the default, or "lowrank"); a key-value editor ("memit", "alphaedit",
    "rome") edits the chat-framed question's last token toward the safe phrase instead."""
    from editmind.editors.eval import sanitation as metrics
    from editmind.editors.model.batch_generation import chat_prompt

    model = journal.model
    settings = dict(overrides or {})
    if method == "sanitize":
        requests = sanitation_requests(forget, retain, safe_phrase, user_id)
        settings["safe_phrase"] = safe_phrase
    else:
        end = model.tokenizer.eos_token if getattr(model.tokenizer, "chat_template", None) and model.tokenizer.eos_token else ""
        requests = sanitation_requests(forget, (), safe_phrase + end, user_id, template=chat_prompt(model.tokenizer, "{}"))
    measured = list(retain) or [QAItem(q) for q in GENERAL_QUESTIONS]  # no retain given: the questions the edit held
    probes = metrics.build_probes(forget, measured, [a for item in retain for a in item.answers[:1]] or ["Paris", "London", "Rome"],
                                  retain_unseen)
    before_replies = metrics.answer_all(model, probes) if evaluate else None
    record = journal.apply(method, requests, overrides=settings, progress=progress)
    report = SanitationReport(edit_id=record.id, forget=len(requests), retain=len(retain), safe_phrase=safe_phrase,
                              layers=list(record.layers), compute_seconds=record.metrics.get("compute_seconds", 0.0))
    if evaluate:
        after_replies = metrics.answer_all(model, probes)
        report.before = metrics.score(probes, before_replies, safe_phrase)
        report.after = metrics.score(probes, after_replies, safe_phrase, reference=before_replies)
        report.examples = [{"question": q.question, "before": b, "after": a}
                           for q, b, a in list(zip(forget, before_replies["direct"], after_replies["direct"]))[:5]]
    return report


def redact_facts_naming(memory, user_id: str, forget: Sequence[QAItem]) -> int:
    """The memory side of sanitation: redact the user's facts that state a forgotten answer
    (`memory` is a FactMemory; taken as it is, so editors need not import memory/)."""
    from editmind.editors.eval.metrics import answer_matches

    answers = [a for item in forget for a in item.answers]
    if not answers:
        return 0
    named = [fact for fact in memory.get_all(user_id) if answer_matches(fact.text, answers, "question")]
    for fact in named:
        memory.redact(fact.id)
    return len(named)
