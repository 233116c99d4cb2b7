"""`load_model(spec)`: the embedded default, a local HF directory, a GGUF file, or a hub id."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from editmind.editors.errors import ModelLoadError
from editmind.editors.model import default as default_model
from editmind.editors.model.home import resolve_home
from editmind.editors.model.layout import discover_layout
from editmind.editors.model.local_model import LocalModel

DEFAULT_SPEC = "default"


def _quiet_transformers() -> None:
    """Library chatter (deprecation notes, generation-config hints) is noise in a CLI."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
    except ImportError:  # pragma: no cover
        pass


def _from_directory(directory: Path, dtype: torch.dtype):
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a one-second load needs no bar
    try:
        model = AutoModelForCausalLM.from_pretrained(str(directory), dtype=dtype)
        tokenizer = AutoTokenizer.from_pretrained(str(directory))
    except (OSError, ValueError, KeyError) as exc:
        raise ModelLoadError(f"could not load a causal LM from {directory}: {str(exc).splitlines()[0]}") from exc
    return model, tokenizer


def _from_hub(model_id: str, dtype: torch.dtype):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        model = AutoModelForCausalLM.from_pretrained(model_id, dtype=dtype)
        tokenizer = AutoTokenizer.from_pretrained(model_id)
    except Exception as exc:  # network errors surface as many types
        raise ModelLoadError(
            f"could not load '{model_id}' from the model hub (offline, or no such model?): "
            f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}; "
            "use 'default', a local model directory or a .gguf file"
        ) from exc
    return model, tokenizer


def _looks_like_hub_id(spec: str) -> bool:
    parts = spec.split("/")
    return len(parts) == 2 and all(parts) and not spec.startswith((".", "~")) and " " not in spec


def load_model(spec: str = DEFAULT_SPEC, home: str | os.PathLike[str] | None = None, dtype: torch.dtype = torch.float32,
               device: str | None = None) -> LocalModel:
    """Load a causal LM for editing; raises ModelLoadError with a one-line reason.

    `device` ("cpu", "cuda", "cuda:1", ...) is where the network runs; the editors' closed-form
    algebra (covariances, solves, deltas) stays on the CPU in float64 either way."""
    _quiet_transformers()
    target = _device(device)
    spec = (spec or DEFAULT_SPEC).strip()
    path = Path(spec).expanduser()
    if spec == DEFAULT_SPEC:
        directory = default_model.ensure_default_model(resolve_home(home))
        model, tokenizer = _from_directory(directory, dtype)
        name, source = default_model.DEFAULT_MODEL_ID, str(directory)
    elif path.is_file() and path.suffix.lower() == ".gguf":
        directory = default_model.ensure_converted_gguf(path.resolve(), resolve_home(home))
        model, tokenizer = _from_directory(directory, dtype)
        name, source = path.stem, str(path.resolve())
    elif path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelLoadError(f"{path} is a directory but has no config.json; point --model at a Hugging Face model directory")
        model, tokenizer = _from_directory(path, dtype)
        name, source = path.resolve().name, str(path.resolve())
    elif path.suffix.lower() == ".gguf" or spec.startswith((".", "/", "~")) or os.sep in spec and not _looks_like_hub_id(spec):
        raise ModelLoadError(f"no model file or directory at {path}; give 'default', a local model directory, a .gguf file or a hub id")
    elif _looks_like_hub_id(spec):
        model, tokenizer = _from_hub(spec, dtype)
        name, source = spec, "hub"
    else:
        raise ModelLoadError(
            f"unknown model '{spec}': give 'default', a local model directory, a .gguf file or a hub id like org/name"
        )
    model.eval()
    if target is not None:
        model.to(target)
    local = LocalModel(model=model, tokenizer=tokenizer, layout=discover_layout(model), spec=spec, name=name, source=source)
    if path.is_dir():  # an editmind export may carry a side memory (GRACE's codebook) beside the weights
        from editmind.editors.side_memory import load_side_memories

        load_side_memories(local, path)
    return local


def _device(device: str | None) -> torch.device | None:
    """The checked device, before anything is loaded: a typo or a missing GPU is one line."""
    if device is None or not str(device).strip():
        return None
    try:
        target = torch.device(str(device).strip())
    except (RuntimeError, ValueError):
        raise ModelLoadError(f"unknown device {device!r}; use cpu, cuda or cuda:N") from None
    if target.type == "cuda" and not torch.cuda.is_available():
        raise ModelLoadError(f"device {device!r} asked for, but this torch sees no CUDA GPU; use --device cpu")
    if target.type == "cuda" and target.index is not None and target.index >= torch.cuda.device_count():
        raise ModelLoadError(f"device {device!r} asked for, but there are {torch.cuda.device_count()} CUDA GPU(s)")
    if target.type not in ("cpu", "cuda", "mps", "xpu"):
        raise ModelLoadError(f"device {device!r} is not supported; use cpu, cuda or cuda:N")
    return target


def wrap_model(model: torch.nn.Module, tokenizer, name: str = "in-memory") -> LocalModel:
    """A LocalModel around an already-constructed model (tests, notebooks, custom loaders)."""
    model.eval()
    return LocalModel(model=model, tokenizer=tokenizer, layout=discover_layout(model), spec=name, name=name, source="memory")


__all__ = ["DEFAULT_SPEC", "load_model", "wrap_model"]
