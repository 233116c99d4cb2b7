"""What a GRACE codebook costs a question: greedy answers with --edits edits in place vs none.

The lookup's cost depends on the number of keys, not on what they hold, so the codebook is
filled with --edits entries of --keys-per-edit keys each, drawn with the norms of the layer's
real inputs (random directions: no question position falls within a radius, the common
case), plus one entry whose key is the question's own last-token input, so that answer is
replaced at one position too. Each question is answered (greedy, --tokens new tokens) with
and without the codebook, alternating, --repeats times; medians are reported.

Usage: nice python benchmarks/grace_latency.py --edits 1000 --threads 1
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import uuid
from pathlib import Path

import torch

from editmind.editors.eval.provenance import run_environment, utc_now

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
QUESTIONS = ["Question: Who founded SpaceX?\nAnswer:", "Question: What is the capital of Germany?\nAnswer:",
             "Question: Which company produced the Ford Thunderbird?\nAnswer:",
             "Question: What is the official language of Spain?\nAnswer:"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--edits", type=int, default=1000)
    parser.add_argument("--keys-per-edit", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=str(RESULTS / "grace_latency.json"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    from editmind.editors.deltas import apply_deltas
    from editmind.editors.model import load_model
    from editmind.editors.model.generation import complete
    from editmind.editors.parametric.grace import GraceConfig, GraceDelta, codebook_size
    from editmind.editors.parametric.layers import grace_layer

    model = load_model("default")
    layer = grace_layer(model.layout.num_layers)
    ref = model.layout.layers[layer].mlp_out
    module = model.module(ref.name)
    seen: list[torch.Tensor] = []
    handle = module.register_forward_hook(lambda m, a, o: seen.append(a[0][0].detach().float()))
    with torch.no_grad():
        for q in QUESTIONS:
            model.model(input_ids=model.tokenizer(q, return_tensors="pt")["input_ids"])
    handle.remove()
    real = torch.cat(seen)
    norm = float(real.norm(dim=1).median())
    generator = torch.Generator().manual_seed(0)
    config = GraceConfig()
    deltas = []
    for i in range(args.edits):
        keys = torch.randn(args.keys_per_edit, real.shape[1], generator=generator)
        keys = keys / keys.norm(dim=1, keepdim=True) * norm
        values = torch.randn(1, ref.out_features, generator=generator).expand(args.keys_per_edit, -1).clone()
        radii = torch.tensor([config.epsilon] + [config.paraphrase_epsilon] * (args.keys_per_edit - 1)) * norm
        deltas.append(GraceDelta(module=ref.name, owner=uuid.uuid4().hex, keys=keys, values=values, radii=radii,
                                 labels=tuple([f"target {i}"] * args.keys_per_edit)))
    own = seen[0][-1:]  # the first question's last-token input: that answer is replaced once
    deltas.append(GraceDelta(module=ref.name, owner="own", keys=own.clone(), values=torch.zeros(1, ref.out_features),
                             radii=torch.tensor([config.epsilon * float(own.norm())]), labels=("own",)))

    def answer_seconds() -> float:
        started = time.perf_counter()
        for q in QUESTIONS:
            complete(model.model, model.tokenizer, q, args.tokens)
        return (time.perf_counter() - started) / len(QUESTIONS)

    answer_seconds()  # warm up
    plain, edited = [], []
    build = time.perf_counter()
    snapshot = apply_deltas(model, deltas)
    attach_seconds = time.perf_counter() - build
    keys = codebook_size(model)
    snapshot.restore()
    for _ in range(args.repeats):
        plain.append(answer_seconds())
        snapshot = apply_deltas(model, deltas)
        edited.append(answer_seconds())
        snapshot.restore()
    result = {
        "benchmark": "grace_latency", "command": " ".join(sys.argv), "environment": run_environment(),
        "finished_utc": utc_now(), "layer": layer, "module": ref.name, "edits": args.edits,
        "keys_per_edit": args.keys_per_edit, "codebook_keys": keys, "new_tokens": args.tokens,
        "seconds_per_question_unedited": statistics.median(plain), "seconds_per_question_with_codebook": statistics.median(edited),
        "slowdown": statistics.median(edited) / statistics.median(plain),
        "seconds_to_attach_codebook": round(attach_seconds, 3),
        "note": "random keys with the real inputs' median norm; one extra key is the first question's own last-token input",
    }
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
