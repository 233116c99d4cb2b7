"""Load times, memory and generation speed of a model (default: the embedded default).

Each measurement runs in a fresh subprocess so imports, caches and RSS are not shared:
  first load  — a new home that holds only the fetched GGUF (conversion included)
  cached load — the same home again (manifest check + safetensors read)
then greedy generation speed and peak RSS in the cached process.

    python benchmarks/model_bench.py [--out benchmarks/results/model.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PROBE = r"""
import json, resource, sys, time
started = time.perf_counter()
from editmind.editors.model import load_model
imported = time.perf_counter()
model = load_model("default", home=sys.argv[1])
loaded = time.perf_counter()
result = {"import_seconds": imported - started, "load_seconds": loaded - imported}
if sys.argv[2] == "generate":
    prompt = "Write a short paragraph about the history of Paris."
    model.chat(prompt, max_new_tokens=4)  # warm-up
    text_ids = None
    t0 = time.perf_counter()
    from editmind.editors.model.generation import render_chat
    rendered = render_chat(model.tokenizer, [{"role": "user", "content": prompt}])
    enc = model.tokenizer(rendered, return_tensors="pt", add_special_tokens=False)
    import torch
    with torch.no_grad():
        out = model.model.generate(**enc, max_new_tokens=128, min_new_tokens=128, do_sample=False,
                                   pad_token_id=model.tokenizer.eos_token_id)
    elapsed = time.perf_counter() - t0
    new_tokens = out.shape[1] - enc["input_ids"].shape[1]
    result.update(generated_tokens=int(new_tokens), generation_seconds=elapsed, tokens_per_second=new_tokens / elapsed)
    t0 = time.perf_counter()
    prompts = ["The Eiffel Tower is located in the city of"] * 32
    model.score(prompts, ["Paris"] * 32, batch_size=16)
    result["score_32_pairs_seconds"] = time.perf_counter() - t0
result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(result))
"""


def run_probe(home: Path, mode: str) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE, str(home), mode], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="benchmarks/results/model.json")
    parser.add_argument("--source-home", default=".editmind-test-home", help="a home that already has the GGUF")
    args = parser.parse_args()

    from editmind.editors.model import default as default_model

    gguf = default_model.default_gguf(Path(args.source_home).resolve())
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        (home / "downloads").mkdir()
        shutil.copy(gguf, home / "downloads" / default_model.GGUF_NAME)
        first = run_probe(home, "load")
        cached = run_probe(home, "generate")
    report = {
        "benchmark": "model load and generation",
        "model": "SmolLM2-135M-Instruct (default, fp32, CPU)",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_average_at_end": os.getloadavg()},
        "command": "python benchmarks/model_bench.py",
        "first_load_seconds": round(first["load_seconds"], 2),
        "first_load_peak_rss_mib": round(first["peak_rss_mib"]),
        "cached_load_seconds": round(cached["load_seconds"], 2),
        "import_seconds": round(cached["import_seconds"], 2),
        "peak_rss_mib": round(cached["peak_rss_mib"]),
        "greedy_tokens_per_second": round(cached["tokens_per_second"], 2),
        "generated_tokens": cached["generated_tokens"],
        "score_32_pairs_seconds": round(cached["score_32_pairs_seconds"], 3),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
