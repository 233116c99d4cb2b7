"""The debias workflow: one DAMA edit from profession prompts, measured before and after.

`debias(journal, train, test)` is what `editmind debias`, the SDK and the app run: the train
prompts become `dama` requests applied through the journal (journaled, undoable bitwise),
and the bias measurements (editors/eval/bias.py) are taken on the test prompts - other
professions' prompts than the ones the subspace came from - before and after.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

from editmind.editors.base import EditRequest, EditRequestError, Progress
from editmind.editors.eval import bias


@dataclass
class DebiasReport:
    edit_id: str
    train_prompts: int
    test_prompts: int
    layers: list[int]
    rank: int
    compute_seconds: float
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def debias_requests(prompts: Sequence[bias.ProfessionPrompt]) -> list[EditRequest]:
    if not prompts:
        raise EditRequestError("no profession prompts to debias from; give prompts like \"The nurse said that\"")
    out = []
    for p in dict.fromkeys(prompts):
        template = p.prompt.replace(p.subject, "{}", 1) if p.subject in p.prompt else "{} " + p.prompt
        out.append(EditRequest(subject=p.subject, prompt=template, target_new="they", kind="erase"))
    return out


def measure(model, test: Sequence[bias.ProfessionPrompt], data_dir: str | Path | None,
            prose: Sequence[str] | None = None) -> dict[str, Any]:
    """Every bias number on `model` as it is now (WinoBias/StereoSet when `data_dir` has them)."""
    result: dict[str, Any] = dict(bias.bias_slopes(bias.pronoun_gaps(model, [p.prompt for p in test]),
                                                   [p.stereotypical for p in test], [p.factual for p in test]))
    if data_dir is not None and (Path(data_dir) / "winobias").is_dir():
        result.update(bias.winobias(model, Path(data_dir) / "winobias"))
    if data_dir is not None and (Path(data_dir) / "stereoset" / "gender_test.json").is_file():
        result.update(bias.stereoset(model, Path(data_dir) / "stereoset" / "gender_test.json"))
    result["perplexity"] = bias.perplexity(model, list(prose) if prose is not None else bias.reference_prose())
    return result


def debias(journal, train: Sequence[bias.ProfessionPrompt], test: Sequence[bias.ProfessionPrompt] = (), *,
           data_dir: str | Path | None = None, overrides: dict[str, Any] | None = None, progress: Progress | None = None,
           evaluate: bool = True, prose: Sequence[str] | None = None) -> DebiasReport:
    """Apply one DAMA edit through `journal`; with `evaluate`, measure on `test` before and after."""
    requests = debias_requests(train)
    model = journal.model
    if evaluate and not test:
        raise EditRequestError("nothing to measure on: give test prompts (other professions than the train ones) or evaluate=False")
    before = measure(model, test, data_dir, prose) if evaluate else {}
    record = journal.apply("dama", requests, overrides=dict(overrides or {}), progress=progress)
    report = DebiasReport(edit_id=record.id, train_prompts=len(requests), test_prompts=len(test), layers=list(record.layers),
                          rank=int(record.info.get("rank", 0)),
                          compute_seconds=record.metrics.get("compute_seconds", 0.0), before=before)
    if evaluate:
        report.after = measure(model, test, data_dir, prose)
        if before.get("a_s"):
            report.after["a_s_reduction"] = round(100 * (1 - abs(report.after["a_s"]) / abs(before["a_s"])), 1)
        report.after["perplexity_change"] = round(100 * (report.after["perplexity"] / before["perplexity"] - 1), 2)
    return report
