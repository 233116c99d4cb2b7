"""Contrast subjects: other names to put in an edit's prompt, whose answers must not move.

A stream of MEMIT/AlphaEdit edits loses locality mostly on facts that share a relation with
an edit: after 40 sequential AlphaEdit edits, probes asking an edited relation about another
subject kept 68.7 (tf) against 85.6 for the rest
(benchmarks/results/knowedit_interference_alphaedit_n40.json). Where the prompt names the
relation before the subject ("The official language of {} is"), every subject's key at its
last token carries the relation, and so do the keys of the tokens after the subject in any
template. Holding those keys of *other* subjects in the edit's own template (MemitConfig
`hold_relation`) keeps the update specific to the edited subject.

Measured, it does not pay on that stream, so `hold_relation` is off by default: after 40
AlphaEdit edits locality 72.9 (weight 16) and 71.1 (64) against 73.4 without, edit success
74.8 and 72.2 against 79.3 (knowedit_interference_alphaedit_hold{16,64}_n40.json). The same
runs count why: of the edited-relation probes whose first answer token changed, none changed
to an edited object; the edits do not leak their object, those answers drift.

The names come from the base model itself, like the covariance sample and the context
prefixes: seeded sampling after "A list of well-known people:\\n1." and similar list openings,
parsed into list items, cached per base model under the stats directory. No network, no
data file, and nothing taken from any evaluation set.
"""

from __future__ import annotations

import json
import os
import re
from itertools import zip_longest

import torch

from editmind.editors.model.local_model import LocalModel
from editmind.editors.model.scoring import pad_token_id
from editmind.editors.parametric.stats import base_fingerprint, stats_dir

LIST_OPENINGS = (
    "A list of well-known people:\n1.",
    "A list of cities and countries:\n1.",
    "A list of companies and organisations:\n1.",
    "A list of famous books, films and bands:\n1.",
    "A list of scientists, writers and athletes:\n1.",
    "A list of rivers, mountains and landmarks:\n1.",
)
_ITEM = re.compile(r"^\s*\d+\.\s*(.+)$")
_CACHE: dict[tuple[str, int], list[str]] = {}


def list_items(text: str) -> list[str]:
    """The names in a generated numbered list: "2. **Harry Styles** (singer)" -> "Harry Styles".
    Items that do not look like a name (lower-case start, digits, more than five words) are dropped."""
    names = []
    for line in text.splitlines():
        match = _ITEM.match(line)
        if not match:
            continue
        item = match.group(1).replace("*", "").replace("{", "").replace("}", "")
        item = re.split(r"\s[(\-–—:]|[,;:(]", item, maxsplit=1)[0].strip().strip(".\"'”“")
        words = item.split()
        if 1 <= len(words) <= 5 and item[0].isupper() and not any(ch.isdigit() for ch in item):
            names.append(" ".join(words))
    return names


@torch.no_grad()
def contrast_subjects(model: LocalModel, n: int, home: str | None = None) -> list[str]:
    """`n` distinct names sampled from the base model (seeded), cached on disk per model."""
    if n <= 0:
        return []
    key = (base_fingerprint(model), n)
    if key in _CACHE:
        return _CACHE[key]
    path = stats_dir(model, home) / f"contrast-subjects-{n}.json"
    try:
        names = json.loads(path.read_text())
    except (OSError, ValueError):
        names = None
    if not isinstance(names, list) or not all(isinstance(s, str) for s in names):
        names = _generate(model, n)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(names, ensure_ascii=False))
        os.replace(tmp, path)
    _CACHE[key] = names
    return names


def _generate(model: LocalModel, n: int, rounds: int = 8, new_tokens: int = 96) -> list[str]:
    """Round-robin over the list openings, so people, places, organisations and works are
    all represented, until `n` names are found (or `rounds` samples of every opening)."""
    tokenizer = model.tokenizer
    pad = pad_token_id(tokenizer)
    found: dict[int, list[str]] = {i: [] for i in range(len(LIST_OPENINGS))}
    seen: set[str] = set()
    state = torch.random.get_rng_state()
    torch.manual_seed(4321)
    try:
        for _ in range(rounds):
            for i, opening in enumerate(LIST_OPENINGS):
                ids = tokenizer(opening, return_tensors="pt")["input_ids"].to(model.device)
                output = model.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=True, top_k=20,
                                              max_new_tokens=new_tokens, pad_token_id=pad)
                text = "1." + tokenizer.decode(output[0, ids.shape[1]:], skip_special_tokens=True)
                for name in list_items(text):
                    if name.casefold() not in seen:
                        seen.add(name.casefold())
                        found[i].append(name)
            if len(seen) >= n:
                break
    finally:
        torch.random.set_rng_state(state)
    interleaved = [name for group in zip_longest(*found.values()) for name in group if name]
    return interleaved[:n]
