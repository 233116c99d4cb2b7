"""Second-moment statistics of MLP keys, C = E[k kᵀ], computed offline and cached.

ROME's closed form and MEMIT's least squares need C for the keys (the inputs of the MLP
output projection) that the edit should *not* disturb; AlphaEdit needs the same matrix to
find its null space. The original papers estimate C over ~100k Wikipedia tokens. We have no
network, so we sample text **from the model itself**: a fixed list of neutral sentence
starters is continued by the base model with temperature sampling (seeded, so the corpus is
reproducible), and the keys of every generated token are accumulated. The model's own
generations follow its own input distribution, which is exactly the distribution an edit
should preserve; they need no download and no data licence. The benchmark under
`benchmarks/` measures how edit quality depends on the sample count (`n_tokens`).

Caching: the generated corpus (token ids) and each module's statistic live under
`<home>/stats/<base fingerprint>/` as safetensors (`corpus.safetensors`,
`<module>.n<count>.safetensors`, one file per sample count, so a study over counts
does not evict the default). The corpus grows on demand,
chunk by chunk with per-chunk seeds, so asking for more samples only generates the missing
chunks. Writes go to a temporary file and are renamed into place, so a crash never leaves a
half-written cache.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from editmind.editors.model.home import resolve_home
from editmind.editors.model.local_model import LocalModel
from editmind.editors.model.scoring import pad_token_id
from editmind.editors.settings import check_choices

STARTERS = (
    "The", "In", "A", "It", "When", "Many", "One", "This", "There", "After",
    "According to", "During", "Most", "Some", "Although", "Today",
)
# Openings of encyclopedia sentences about people, places, works and organisations: the
# original papers' Wikipedia sample, as the model writes it. Generic English, not taken from
# an evaluation set, but written knowing its relations: "The capital", "The language" echo
# what the MQuAKE dev cases ask, so read its dev numbers with that in mind.
ENCYCLOPEDIC_STARTERS = (
    "Born in", "The city of", "The company", "The river", "The band", "The album", "He was", "She was",
    "It is located in", "The country", "The film", "The football club", "The university", "The capital",
    "The language", "The author",
)
CORPORA = {"neutral": STARTERS, "encyclopedic": ENCYCLOPEDIC_STARTERS}

# In-process cache: (fingerprint, corpus, module, n_tokens) -> C, so loops over many edits do not
# re-read the file each time.
_MEMORY: dict[tuple[str, str, str, int], torch.Tensor] = {}


@dataclass
class StatsConfig:
    """How the key statistics are sampled.

    n_tokens: how many token positions go into C (more: better estimate, slower first run).
    sequences_per_chunk / tokens_per_sequence: the shape of one generated chunk (wide and
    short, because sampling on a CPU is bound by the per-step latency, not the batch).
    corpus: which sentence openings the model continues (CORPORA): "neutral" ("The", "In",
    ...) or "encyclopedic" ("Born in", "The city of", ...); each has its own cache files.
    """

    n_tokens: int = 2048
    corpus: str = field(default="neutral", metadata={"choices": tuple(CORPORA)})
    sequences_per_chunk: int = 32
    tokens_per_sequence: int = 64
    temperature: float = 1.0
    top_p: float = 0.95
    batch_size: int = 8
    home: str | None = None
    show_progress: bool = True


def base_fingerprint(model: LocalModel) -> str:
    """The fingerprint of the weights as editmind first saw them.

    The journal sets it explicitly to the base model's fingerprint before replaying edits;
    otherwise it is taken the first time statistics are needed (editors leave the model
    unchanged, so that is the unedited model in every normal flow). Statistics are a
    property of the base model: recomputing them after every edit would cost minutes.
    """
    if model._base_fingerprint is None:
        model._base_fingerprint = model.fingerprint()
    return model._base_fingerprint


def stats_dir(model: LocalModel, home: str | os.PathLike[str] | None = None) -> Path:
    path = resolve_home(home) / "stats" / base_fingerprint(model)[:16]
    path.mkdir(parents=True, exist_ok=True)
    return path


def _atomic_save(tensors: dict[str, torch.Tensor], path: Path, metadata: dict[str, str]) -> None:
    tmp = path.with_suffix(path.suffix + f".tmp{os.getpid()}")
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(tmp), metadata=metadata)
    os.replace(tmp, path)


def _read(path: Path) -> dict[str, torch.Tensor] | None:
    try:
        return load_file(str(path))
    except Exception:  # a missing or unreadable cache is simply recomputed
        return None


@torch.no_grad()
def _generate_chunk(model: LocalModel, config: StatsConfig, chunk: int) -> torch.Tensor:
    """[sequences, length] token ids sampled from the model (left-padded starters + text)."""
    tokenizer = model.tokenizer
    openings = CORPORA[config.corpus]
    starters = [openings[(chunk * config.sequences_per_chunk + i) % len(openings)] for i in range(config.sequences_per_chunk)]
    encoded = [tokenizer(s, add_special_tokens=True)["input_ids"] for s in starters]
    width = max(len(e) for e in encoded)
    pad = pad_token_id(tokenizer)
    input_ids = torch.full((len(encoded), width), pad, dtype=torch.long)
    attention = torch.zeros((len(encoded), width), dtype=torch.long)
    for i, ids in enumerate(encoded):
        input_ids[i, width - len(ids):] = torch.tensor(ids)
        attention[i, width - len(ids):] = 1
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(10_000 + chunk)
    try:
        output = model.model.generate(
            input_ids=input_ids.to(model.device), attention_mask=attention.to(model.device),
            do_sample=True, temperature=config.temperature, top_p=config.top_p, top_k=0,
            max_new_tokens=config.tokens_per_sequence, min_new_tokens=config.tokens_per_sequence,
            pad_token_id=pad, eos_token_id=tokenizer.eos_token_id,
        )
    finally:
        torch.random.set_rng_state(generator_state)
    # Keep only the generated part: every row then has the same length and no padding.
    return output[:, width:].cpu()


def corpus_tokens(model: LocalModel, n_tokens: int, config: StatsConfig) -> torch.Tensor:
    """At least `n_tokens` generated token ids as [sequences, length], generated on demand."""
    path = stats_dir(model, config.home) / _corpus_file(config.corpus)
    cached = _read(path)
    ids = cached["ids"] if cached is not None and "ids" in cached else None
    if ids is not None and ids.shape[1] != config.tokens_per_sequence:
        ids = None  # another chunk shape: start over rather than mix
    have = 0 if ids is None else ids.numel()
    if have >= n_tokens:
        return ids
    per_chunk = config.sequences_per_chunk * config.tokens_per_sequence
    first = 0 if ids is None else ids.shape[0] // config.sequences_per_chunk
    last = -(-n_tokens // per_chunk)
    chunks = [] if ids is None else [ids]
    bar = _progress(last - first, "sampling text for key statistics", config.show_progress)
    try:
        for chunk in range(first, last):
            chunks.append(_generate_chunk(model, config, chunk))
            bar.update(1)
    finally:
        bar.close()
    ids = torch.cat(chunks, dim=0)
    _atomic_save({"ids": ids}, path, {"tokens_per_sequence": str(config.tokens_per_sequence)})
    return ids


def _progress(total: int, description: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=description, unit="chunk", disable=not enabled, leave=False)


@torch.no_grad()
def _accumulate(model: LocalModel, modules: list[str], ids: torch.Tensor, n_tokens: int, config: StatsConfig) -> dict[str, torch.Tensor]:
    """Sum of k kᵀ over the first n_tokens positions for each module's input, divided by n."""
    dims = {name: _input_dim(model, name) for name in modules}
    sums = {name: torch.zeros(d, d, dtype=torch.float64) for name, d in dims.items()}
    budget = {"left": n_tokens}
    captured: dict[str, torch.Tensor] = {}

    def hook_for(name: str):
        def hook(module, inputs):
            captured[name] = inputs[0].detach()
        return hook

    handles = [model.module(name).register_forward_pre_hook(hook_for(name)) for name in modules]
    rows = ids.reshape(-1, ids.shape[-1])
    bar = _progress(-(-rows.shape[0] // config.batch_size), "key statistics", config.show_progress)
    try:
        for start in range(0, rows.shape[0], config.batch_size):
            if budget["left"] <= 0:
                break
            batch = rows[start:start + config.batch_size].to(model.device)
            model.model(input_ids=batch)
            take = min(budget["left"], batch.numel())
            for name in modules:
                keys = captured[name].reshape(-1, dims[name])[:take].double().cpu()
                sums[name] += keys.T @ keys
            budget["left"] -= take
            bar.update(1)
    finally:
        bar.close()
        for handle in handles:
            handle.remove()
    used = n_tokens - budget["left"]
    return {name: (total / max(1, used)).float() for name, total in sums.items()}


def _corpus_infix(corpus: str) -> str:
    """"" for the neutral corpus, so caches written before corpora existed keep their names."""
    return "" if corpus == "neutral" else f".{corpus}"


def _corpus_file(corpus: str) -> str:
    return f"corpus{_corpus_infix(corpus)}.safetensors"


def _stat_file(module: str, n_tokens: int, corpus: str = "neutral") -> str:
    return f"{module}{_corpus_infix(corpus)}.n{n_tokens}.safetensors"


def _input_dim(model: LocalModel, module: str) -> int:
    weight = model.module(module).weight
    # nn.Linear weight is [out, in]; GPT-2 Conv1D is [in, out].
    from editmind.editors.model.layout import Conv1D

    return int(weight.shape[0] if Conv1D and isinstance(model.module(module), Conv1D) else weight.shape[1])


def second_moments(model: LocalModel, modules: list[str], config: StatsConfig | None = None) -> dict[str, torch.Tensor]:
    """C = E[k kᵀ] of each module's input over `config.n_tokens` self-generated tokens.

    Cached in memory and under <home>/stats/<fingerprint>/<module>.safetensors; a cache
    entry is reused only when it was computed from exactly the requested sample count.
    """
    config = config or StatsConfig()
    check_choices(config)  # a StatsConfig built in Python reaches here without an editor's check
    fingerprint = base_fingerprint(model)
    result: dict[str, torch.Tensor] = {}
    missing: list[str] = []
    directory = stats_dir(model, config.home)

    def memory_key(name: str) -> tuple[str, str, str, int]:
        return (fingerprint, config.corpus, name, config.n_tokens)

    for name in modules:
        key = memory_key(name)
        if key in _MEMORY:
            result[name] = _MEMORY[key]
            continue
        path = directory / _stat_file(name, config.n_tokens, config.corpus)
        cached = _read(path)
        if cached is not None and "mom2" in cached and int(cached.get("count", torch.tensor(-1)).item()) == config.n_tokens:
            result[name] = _MEMORY[key] = cached["mom2"]
        else:
            missing.append(name)
    if missing:
        ids = corpus_tokens(model, config.n_tokens, config)
        computed = _accumulate(model, missing, ids, config.n_tokens, config)
        for name, mom2 in computed.items():
            _atomic_save({"mom2": mom2, "count": torch.tensor(config.n_tokens)},
                         directory / _stat_file(name, config.n_tokens, config.corpus),
                         {"n_tokens": str(config.n_tokens), "source": f"model-generated text ({config.corpus} openings)"})
            result[name] = _MEMORY[memory_key(name)] = mom2
    return result
