"""KnowEdit benchmarks of the parameter editors on the default model (MQuAKE-hard dev).

Stages (run one at a time; each writes benchmarks/results/knowedit_<stage>.json after every
finished column, so a run that is cut off still leaves its numbers):

- sweep:      layer sweep of every method in --methods on --n edits, tf metrics: one
              layer at a time (--layers) for ROME and FT, windows (--windows) for
              MEMIT and AlphaEdit; the JSON names the best by mean(edit success,
              locality) — what the default layers should follow.
- cov:        ROME edit quality vs the covariance sample count (StatsConfig.n_tokens).
- quality:    single edits (--n >= 100 for the targets) for --methods, both conventions
              and fluency, with the targets (edit success >= 95, locality >= 90, fluency
              within 5% of the unedited model) checked and recorded.
- speed:      one ROME edit (statistics cached), fp32 and bf16 search interleaved, and,
              when --methods has memit, MEMIT's per-edit time in a batch of --n, in the
              same process (`speed --methods rome,memit --n 100`).
- sequential: --n edits applied one after another for --methods, measured after the last
              (and at --checkpoints, with locality also over the sure answer positions).
              `--methods grace` runs the side-memory lifelong editor.
- interference: --n sequential edits of the first of --methods; at each --checkpoints the
              locality of probes whose relation template was edited, against the rest, and
              the agreement at answer positions where the unedited model was sure of its
              top token, against its near ties (where a stream of edits loses locality).
- questions:  single edits of the first of --methods (rome) among the first --n whose
              self-questions include one about another relation, made with and without
              the relation test: how far the edit takes that question over, and what the
              test costs in reliability and generalization.

Usage:  nice python benchmarks/knowedit_bench.py quality --methods rome,ft-m --n 100
The environment (EDITMIND_HOME, torch threads, load average) is recorded in every file.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch

from editmind.editors.eval.provenance import run_environment, utc_now

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
DATA = Path(os.environ.get("EDITMIND_SHARED_DATA", REPO.parent / "shared" / "data")) / "mquake" / "mquake_hard_dev.json"


def environment() -> dict[str, Any]:
    return {**run_environment(), "editmind_home": os.environ.get("EDITMIND_HOME", "~/.editmind")}


class Report:
    """One JSON file, rewritten atomically whenever something new is known."""

    def __init__(self, stage: str, args: argparse.Namespace) -> None:
        self.path = Path(args.out or RESULTS / f"knowedit_{stage}.json")
        self.data: dict[str, Any] = {"benchmark": f"knowedit_{stage}", "command": " ".join(sys.argv),
                                     "data": str(args.data), "environment": environment(), "complete": False}

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(self.data, indent=2, default=str))
        tmp.replace(self.path)

    def finish(self) -> None:
        self.data["complete"] = True
        self.data["finished_utc"] = utc_now()
        self.data["load_average_at_end"] = os.getloadavg()
        self.save()
        print(f"written {self.path}")


def _editor(name: str, **overrides: Any):
    from editmind.editors.base import get_editor

    return get_editor(name, family="parametric", **overrides)


def _available(name: str) -> bool:
    from editmind.editors.base import available_editors

    return name in available_editors("parametric")


def _layers_field(editor) -> str | None:
    names = {f.name for f in dataclasses.fields(editor.config)}
    return next((n for n in ("layers", "layer") if n in names), None)


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    """--set FIELD=JSON pairs (e.g. mom2_weight_per_dim=2, value.steps=10) for the editors' configs."""
    from editmind.editors.settings import parse_settings

    return parse_settings(args.set)


def _records(args: argparse.Namespace, locality: int | None = None):
    from editmind.editors.eval.records import RecordConfig, load_knowedit_records

    return load_knowedit_records(args.data, args.n, RecordConfig(locality_per_case=locality or args.locality), args.start_case)


def _evaluate(model, editors, records, config, report: Report, key: str, on_checkpoint=None):
    from editmind.editors.eval.knowedit import evaluate_methods

    def on_report(table) -> None:
        report.data[key] = table.to_dict()
        report.save()

    return evaluate_methods(model, editors, records, config=config, on_report=on_report, on_checkpoint=on_checkpoint)


def _score(metrics: dict[str, float]) -> float:
    return (metrics["edit_success_tf"] + metrics["locality_tf"]) / 2


def sweep_settings(editor, args: argparse.Namespace) -> tuple[str, list[tuple[str, Any]]]:
    """The config field a method's layer sweep varies, and its (label, value) points: one
    layer at a time (--layers) for single-layer methods, a window of layers (--windows)
    for MEMIT-style ones."""
    field = _layers_field(editor)
    if field == "layers":
        windows = [tuple(int(x) for x in w.split("-")) for w in args.windows.split(",") if w]
        return field, [(f"{a}-{b}", list(range(a, b + 1))) for a, b in windows]
    if field == "layer":
        return field, [(str(int(x)), int(x)) for x in args.layers.split(",") if x]
    return "", []


def stage_sweep(model, args, report: Report) -> None:
    """Every method in --methods over its layers (or windows): edit success and locality
    (tf) on --n edits; the JSON names the best by mean(edit success, locality)."""
    from editmind.editors.eval.knowedit import EvalConfig

    records = _records(args)
    config = EvalConfig(conventions=("tf",), fluency=False)
    report.data.update(n_edits=sum(len(r.edits) for r in records), criterion="mean(edit_success_tf, locality_tf)",
                       best={})
    for method in [m for m in args.methods.split(",") if m]:
        if not _available(method):
            report.data[method] = "skipped: not registered when this ran"
            continue
        field, points = sweep_settings(_editor(method), args)
        if not points:
            report.data[method] = "skipped: no layer setting to sweep"
            continue
        report.data[method] = {}
        for label, value in points:
            table = _evaluate(model, [_editor(method, **{**_overrides(args), field: value})], records, config, report,
                              "last_table")
            report.data[method][label] = table.columns[method]
            report.data["unedited"] = table.columns["unedited"]
            best = max(_score(v) for v in report.data[method].values())
            # More than one: the sweep does not separate them.
            report.data["best"][method] = [k for k, v in report.data[method].items() if _score(v) == best]
            report.save()
            print(f"{method} {field}={label}: {table.columns[method]}", flush=True)
    report.data.pop("last_table", None)


def stage_cov(model, args, report: Report) -> None:
    from editmind.editors.eval.knowedit import EvalConfig
    from editmind.editors.parametric.stats import StatsConfig

    records = _records(args)
    config = EvalConfig(conventions=("tf",), fluency=False)
    report.data.update(n_edits=sum(len(r.edits) for r in records), rome={})
    for n_tokens in [int(x) for x in args.samples.split(",")]:
        started = time.perf_counter()
        editor = _editor("rome", stats=StatsConfig(n_tokens=n_tokens))
        table = _evaluate(model, [editor], records, config, report, "last_table")
        row = dict(table.columns["rome"], wall_seconds_incl_stats=time.perf_counter() - started)
        report.data["rome"][str(n_tokens)] = row
        report.data["unedited"] = table.columns["unedited"]
        report.save()
        print(f"rome n_tokens={n_tokens}: {row}", flush=True)
    report.data.pop("last_table", None)


def _targets(columns: dict[str, dict[str, float]]) -> dict[str, dict[str, Any]]:
    unedited = columns.get("unedited", {})
    checks = {}
    for method, m in columns.items():
        if method == "unedited":
            continue
        fluency_ratio = m.get("fluency", float("nan")) / unedited.get("fluency", float("nan"))
        checks[method] = {
            "edit_success_tf>=95": m["edit_success_tf"] >= 95, "locality_tf>=90": m["locality_tf"] >= 90,
            "fluency_within_5pct": abs(1 - fluency_ratio) <= 0.05, "fluency_ratio": fluency_ratio,
        }
        if "edit_success_em" in m:
            checks[method].update({"edit_success_em>=95": m["edit_success_em"] >= 95, "locality_em>=90": m["locality_em"] >= 90})
    return checks


def _combine(tables: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Columns over all chunks: per-edit metrics from the per-edit rows, portability
    weighted by each chunk's number of portability cases."""
    combined: dict[str, dict[str, float]] = {}
    for method in tables[0]["columns"]:
        rows = [row for t in tables for row in t["methods"][method]["per_edit"]]
        out: dict[str, float] = {}
        for key in ("reliability_tf", "generalization_tf", "reliability_em", "generalization_em", "fluency",
                    "locality_tf", "locality_em", "generalization_chat", "generalization_unseen_tf",
                    "generalization_unseen_em", "generalization_trained_share", "generalization_paraphrased_tf",
                    "generalization_paraphrased_em"):
            values = [r[key] for r in rows if key in r and r[key] == r[key]]
            if values:
                out[key] = 100 * sum(values) / len(values)
        if method == "unedited":
            out.update({k: 100.0 for k in ("locality_tf", "locality_em") if k in tables[0]["columns"][method]})
        for conv in ("tf", "em", "chat"):
            if f"reliability_{conv}" in out:
                out[f"edit_success_{conv}"] = (out[f"reliability_{conv}"] + out[f"generalization_{conv}"]) / 2
            weights = [(t["n_portability_cases"], t["columns"][method].get(f"portability_{conv}")) for t in tables]
            weights = [(w, v) for w, v in weights if v is not None and v == v and w]
            if weights:
                out[f"portability_{conv}"] = sum(w * v for w, v in weights) / sum(w for w, _ in weights)
        if method != "unedited":
            seconds = sum(t["methods"][method]["compute_seconds"] for t in tables)
            out["seconds_per_edit"] = seconds / max(1, len(rows))
            out["failed_edits"] = float(sum(len(t["methods"][method]["failed"]) for t in tables))
        combined[method] = out
    return combined


def stage_quality(model, args, report: Report) -> None:
    """Single edits, evaluated in chunks of --chunk cases so a cut-off run keeps its numbers."""
    from editmind.editors.eval.knowedit import EvalConfig

    records = _records(args)
    config = EvalConfig(mode="single", fluency_tokens=args.fluency_tokens,
                        conventions=tuple(args.conventions.split(",")), chat=args.chat)
    methods = [m for m in args.methods.split(",") if m]
    report.data["skipped"] = [m for m in methods if not _available(m)]
    editors = [_editor(m, **_overrides(args)) for m in methods if _available(m)]
    report.data.update(n_edits_requested=sum(len(r.edits) for r in records), chunks=[])
    for start in range(0, len(records), args.chunk):
        chunk = records[start : start + args.chunk]
        table = _evaluate(model, editors, chunk, config, report, "current_chunk")
        report.data["chunks"].append(table.to_dict())
        report.data.pop("current_chunk", None)
        report.data["n_edits_done"] = sum(t["n_edits"] for t in report.data["chunks"])
        report.data["columns"] = _combine(report.data["chunks"])
        report.data["targets"] = _targets(report.data["columns"])
        report.save()
        print(f"{report.data['n_edits_done']} edits: {json.dumps(report.data['columns'])}", flush=True)


def stage_speed(model, args, report: Report) -> None:
    """ROME single edits in the default precision and with the opt-in bf16 value search,
    interleaved edit by edit so load changes hit both alike; then MEMIT's batch of --n."""
    from editmind.editors.eval.records import load_knowedit_records

    edits = [e.request for r in load_knowedit_records(args.data, max(args.n, 3)) for e in r.edits]
    variants = {"rome": _editor("rome"), "rome_bf16": _editor("rome", **{"value.precision": "bfloat16"})}
    for editor in variants.values():
        editor.compute(model, [edits[0]])  # warms the statistics cache, the prefixes and the bf16 copy
    times: dict[str, list[float]] = {name: [] for name in variants}
    steps: dict[str, list[int]] = {name: [] for name in variants}
    second: dict[str, list[str]] = {name: [] for name in variants}
    for request in edits[1:7]:
        for name, editor in variants.items():
            started = time.perf_counter()
            result = editor.compute(model, [request])
            times[name].append(time.perf_counter() - started)
            steps[name].append(result.info["steps"][0])
            second[name].append(result.info.get("second_search", ["none"])[0])
    for name in variants:
        prefix = "rome_single_edit" if name == "rome" else "rome_bf16_single_edit"
        report.data[f"{prefix}_seconds"] = times[name]
        report.data[f"{prefix}_seconds_median"] = sorted(times[name])[len(times[name]) // 2]
        report.data[f"{prefix}_value_steps"] = steps[name]  # optimisation steps each edit took (early stop)
        report.data[f"{prefix}_second_search"] = second[name]  # ROME's second value search: none / kept / discarded
    report.data["rome_target_seconds"] = 10.0
    report.save()
    print(f"rome single edit: {times}", flush=True)
    if "memit" not in args.methods.split(","):
        report.data["memit"] = "not run: memit is not in --methods"
    elif _available("memit"):
        memit = _editor("memit")
        memit.compute(model, edits[:1])  # warm its statistics for every layer of the window
        batch = edits[: args.n]
        started = time.perf_counter()
        memit.compute(model, batch)
        total = time.perf_counter() - started
        report.data.update(memit_batch_size=len(batch), memit_batch_seconds=total,
                           memit_per_edit_seconds=total / len(batch),
                           memit_per_edit_below_rome_single=total / len(batch) < report.data["rome_single_edit_seconds_median"])
        print(f"memit batch of {len(batch)}: {total:.1f}s", flush=True)
    else:
        report.data["memit"] = "skipped: no MEMIT editor registered when this ran"


def probe_template(prompt: str, subject: str) -> str:
    """The relation template of a locality probe: its prompt with the subject as "{}"."""
    return prompt.replace(subject, "{}", 1) if subject and subject in prompt else prompt


# An answer position where the unedited model's top token beats its runner-up by less than
# this (in nats) is a near tie: any change to the weights may swap the two.
NEAR_TIE_NATS = 0.5


def stage_interference(model, args, report: Report) -> None:
    """Where sequential edits cost locality: the --n edits of --methods (first method) applied
    one after another, and at each --checkpoints count the locality (tf) of the probes whose
    relation template one of the edits so far used, against the rest; and, over answer
    positions, the agreement where the unedited model was sure (its top token ahead of the
    runner-up by at least NEAR_TIE_NATS) against the near ties."""
    from editmind.editors.deltas import apply_deltas
    from editmind.editors.eval.knowedit import parse_checkpoints
    from editmind.editors.eval.metrics import argmax_agreement, locality_references, token_accuracies

    records = _records(args)
    cases = [e for r in records for e in r.edits][: args.n]
    edits = [case.request for case in cases]
    probes = [p for r in records for p in r.locality]
    references = locality_references(model, probes)
    templates = [probe_template(p.prompt, p.subject) for p in probes]
    method = args.methods.split(",")[0]
    editor = _editor(method, **_overrides(args))
    marks = sorted(set(parse_checkpoints(args.checkpoints or "") + (len(edits),)))
    # The first token of each edit's new object, to tell a probe that now answers an edited
    # object (the edit leaked to another subject) from one that merely drifted.
    objects = [s.target_ids[0] for s in model.score([r.rendered_prompt for r in edits], [r.target_new for r in edits])]
    near_tie = [m < NEAR_TIE_NATS for reference in references for m in reference.top_margins]
    report.data.update(method=method, n_edits=len(edits), n_probes=len(probes), near_tie_nats=NEAR_TIE_NATS,
                       answer_positions=len(near_tie), near_tie_positions=sum(near_tie), curve=[])
    for done, request in enumerate(edits, 1):
        apply_deltas(model, editor.compute(model, [request]).deltas)
        if done not in marks:
            continue
        current = locality_references(model, probes)
        scores = [argmax_agreement(a, b) for a, b in zip(current, references)]
        edited = {r.prompt for r in edits[:done]}
        asks_edited = [template in edited for template in templates]
        objects_of = {}
        for r, first in zip(edits[:done], objects[:done]):
            objects_of.setdefault(r.prompt, set()).add(first)
        flipped = [i for i, asks in enumerate(asks_edited)
                   if asks and current[i].argmax_ids[0] != references[i].argmax_ids[0]]
        shared = [s for s, asks in zip(scores, asks_edited) if asks]
        other = [s for s, asks in zip(scores, asks_edited) if not asks]
        point = {"edits": done, "locality_tf": 100 * sum(scores) / len(scores),
                 "locality_tf_edited_relation": 100 * sum(shared) / max(1, len(shared)), "probes_edited_relation": len(shared),
                 "locality_tf_other_relation": 100 * sum(other) / max(1, len(other)), "probes_other_relation": len(other),
                 "edited_relation_first_token_flips": len(flipped),
                 "flips_to_an_edited_object": sum(current[i].argmax_ids[0] in objects_of[templates[i]] for i in flipped)}
        kept = [a == b for now, before in zip(current, references) for a, b in zip(now.argmax_ids, before.argmax_ids)]
        tied = [k for k, tie in zip(kept, near_tie) if tie]
        sure = [k for k, tie in zip(kept, near_tie) if not tie]
        point["agreement_near_tie_positions"] = 100 * sum(tied) / max(1, len(tied))
        point["agreement_sure_positions"] = 100 * sum(sure) / max(1, len(sure))
        # The edits' own success on the same model, so a change that buys locality is seen paying
        # for it (or not): reliability and generalization (tf) of every edit so far.
        point["reliability_tf"] = 100 * _mean(token_accuracies(model, [c.reliability for c in cases[:done]]))
        point["generalization_tf"] = 100 * _mean([_mean(token_accuracies(model, c.generalization)) for c in cases[:done]
                                                  if c.generalization])  # per edit, then over edits, as the evaluator
        point["edit_success_tf"] = (point["reliability_tf"] + point["generalization_tf"]) / 2
        report.data["curve"].append(point)
        report.save()
        print(json.dumps(point), flush=True)


def stage_questions(model, args, report: Report) -> None:
    """What the relation test on self-questions (questions.asks_the_relation) buys and costs.
    Every one of the first --n edits whose statement got a question above the round-trip floor
    that does not name its relation is made twice with the first of --methods: with the test
    (the default) and without it (`context.questions_name_relation=false`). Each time: the
    tf accuracy of the edit's target as the answer to those other-relation questions (in the
    frame the questions are trained in: how far the edit took them over), and the edit's own
    reliability and generalization, which the untested questions may lift."""
    from editmind.editors.deltas import apply_deltas
    from editmind.editors.eval.metrics import token_accuracies
    from editmind.editors.eval.records import Probe
    from editmind.editors.parametric.keys import PARAPHRASE_FRAME
    from editmind.editors.parametric.questions import other_relation_questions

    cases = [e for r in _records(args) for e in r.edits][: args.n]
    method = args.methods.split(",")[0]
    variants = {"names_relation": True, "any_question": False}
    editors = {name: _editor(method, **{**_overrides(args), "context.questions_name_relation": flag})
               for name, flag in variants.items()}
    report.data.update(method=method, n_edits=len(cases), rows=[])
    for case in cases:
        request = case.request
        others = other_relation_questions(model, request)
        if not others:
            continue
        probes = [Probe(PARAPHRASE_FRAME.format(paraphrase=q), (request.target_new,), "question", request.subject, q)
                  for q in others]
        row: dict[str, Any] = {"prompt": request.rendered_prompt, "target_new": request.target_new,
                               "other_relation_questions": list(others),
                               "unedited_takeover_tf": _mean(token_accuracies(model, probes))}
        for name, editor in editors.items():
            result = editor.compute(model, [request])
            snapshot = apply_deltas(model, result.deltas)
            try:
                row[name] = {"questions": result.info["paraphrases"][0],
                             "takeover_tf": _mean(token_accuracies(model, probes)),
                             "reliability_tf": token_accuracies(model, [case.reliability])[0],
                             "generalization_tf": _mean(token_accuracies(model, case.generalization))}
            finally:
                snapshot.restore()
        report.data["rows"].append(row)
        rows = report.data["rows"]
        report.data["summary"] = {"edits_with_other_relation_questions": len(rows),
                                  "unedited_takeover_tf": 100 * _mean([r["unedited_takeover_tf"] for r in rows])}
        for name in variants:
            for metric in ("takeover_tf", "reliability_tf", "generalization_tf"):
                report.data["summary"][f"{name}_{metric}"] = 100 * _mean([r[name][metric] for r in rows])
        report.save()
        print(json.dumps(report.data["summary"]), flush=True)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def stage_sequential(model, args, report: Report) -> None:
    from editmind.editors.eval.knowedit import EvalConfig, parse_checkpoints

    records = _records(args)
    config = EvalConfig(mode="sequential", fluency_tokens=args.fluency_tokens, fluency=not args.no_fluency,
                        conventions=tuple(args.conventions.split(",")), chat=args.chat,
                        checkpoints=parse_checkpoints(args.checkpoints))
    methods = [m for m in args.methods.split(",") if m]
    report.data["skipped"] = [m for m in methods if not _available(m)]
    editors = [_editor(m, **_overrides(args)) for m in methods if _available(m)]

    # Locality both ways at each checkpoint (the model is still edited then): KnowEdit's
    # locality_tf (every answer position, near ties included, per probe then per case) and the
    # agreement over the answer positions where the unedited model was sure (top-two gap >=
    # NEAR_TIE_NATS), with the near-tie positions apart.
    from editmind.editors.eval.metrics import locality_references

    probes = list({p.prompt: p for r in records for p in r.locality}.values())
    references = locality_references(model, probes)
    near_tie = [m < NEAR_TIE_NATS for reference in references for m in reference.top_margins]
    started = time.perf_counter()

    def on_checkpoint(method: str, curve: list[dict[str, float]]) -> None:
        current = locality_references(model, probes)
        kept = [a == b for now, before in zip(current, references) for a, b in zip(now.argmax_ids, before.argmax_ids)]
        sure = [k for k, tie in zip(kept, near_tie) if not tie]
        tied = [k for k, tie in zip(kept, near_tie) if tie]
        curve[-1]["locality_tf_sure_positions"] = 100 * sum(sure) / max(1, len(sure))
        curve[-1]["locality_tf_near_tie_positions"] = 100 * sum(tied) / max(1, len(tied))
        curve[-1]["wall_seconds"] = round(time.perf_counter() - started, 1)
        if method == "grace":
            from editmind.editors.parametric.grace import codebook_size

            curve[-1]["codebook_keys"] = codebook_size(model)
        report.data.setdefault("curves", {})[method] = curve
        report.data["near_tie"] = {"nats": NEAR_TIE_NATS, "answer_positions": len(near_tie), "near_tie_positions": sum(near_tie)}
        report.save()
        print(f"{method}: {json.dumps(curve[-1])}", flush=True)

    table = _evaluate(model, editors, records, config, report, "table", on_checkpoint)
    report.data["targets"] = {
        m: {"edit_success_tf>=85": c["edit_success_tf"] >= 85, "locality_tf>=80": c["locality_tf"] >= 80}
        for m, c in table.columns.items() if m != "unedited"
    }
    print(table.format(), flush=True)


STAGES = {"sweep": stage_sweep, "cov": stage_cov, "quality": stage_quality, "speed": stage_speed,
          "sequential": stage_sequential, "interference": stage_interference,
          "questions": stage_questions}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stage", choices=sorted(STAGES))
    parser.add_argument("--n", type=int, default=12)
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--start-case", type=int, default=0, help="read cases from this index on (a held-out slice)")
    parser.add_argument("--methods", default="rome,ft-m")
    parser.add_argument("--layers", default="1,2,3,4,5,6,8,10,13")
    parser.add_argument("--windows", default="2-6,3-7,4-8,6-10")
    parser.add_argument("--samples", default="256,1024,4096,16384")
    parser.add_argument("--locality", type=int, default=4, help="locality prompts per case")
    parser.add_argument("--fluency-tokens", type=int, default=32)
    parser.add_argument("--no-fluency", action="store_true", help="sequential stage: skip the fluency generations")
    parser.add_argument("--conventions", default="tf,em")
    parser.add_argument("--chat", action="store_true", help="also ask the questions through the chat template")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: leave torch's default)")
    parser.add_argument("--chunk", type=int, default=3, help="cases per saved chunk (quality stage)")
    parser.add_argument("--checkpoints", default="", help="sequential stage: also measure after these edit counts, e.g. 100,200")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=JSON",
                        help="editor config override (sweep, quality, sequential, interference and questions stages), e.g. --set value.steps=10")
    parser.add_argument("--device", default=None, help="where the network runs: cpu (default), cuda, cuda:N")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    from editmind.editors.model import load_model

    report = Report(args.stage, args)
    report.data["args"] = vars(args)
    report.save()
    model = load_model("default", device=args.device)
    report.data["environment"]["device"] = torch.cuda.get_device_name(model.device) if model.device.type == "cuda" else str(model.device)
    report.save()
    STAGES[args.stage](model, args, report)
    report.finish()
    return 0


if __name__ == "__main__":
    sys.exit(main())
