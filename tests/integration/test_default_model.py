"""The real embedded default model: it answers, it caches, it notices corruption."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from editmind.editors.model import load_model
from editmind.editors.model import default as default_model

pytestmark = pytest.mark.slow


def test_default_model_structure(default_model):
    info = default_model.describe()
    assert info["architecture"] == "llama"
    assert info["num_layers"] == 30
    assert 130_000_000 < info["num_parameters"] < 140_000_000
    assert info["editable_modules"]["mlp_out"] == "model.layers.{i}.mlp.down_proj"


def test_default_model_knows_the_capital_of_france(default_model):
    answer = default_model.chat("What is the capital of France?", max_new_tokens=24)
    assert "Paris" in answer


def test_default_model_raw_completion_and_scores(default_model):
    prompt = "The Eiffel Tower is located in the city of"
    assert "Paris" in default_model.complete(prompt, max_new_tokens=4)
    paris, rome = default_model.score([prompt, prompt], ["Paris", "Rome"])
    assert paris.exact and paris.token_accuracy == 1.0
    assert paris.logprob > rome.logprob + 2.0


def _home_with_gguf(tmp_path: Path, test_home: Path) -> Path:
    """A fresh home that already holds the fetched GGUF, so the test times only the conversion."""
    source = default_model.default_gguf(test_home)
    home = tmp_path / "home"
    (home / "downloads").mkdir(parents=True)
    shutil.copy(source, home / "downloads" / default_model.GGUF_NAME)
    return home


def test_cached_load_is_much_faster_and_corruption_is_rebuilt(tmp_path, test_home, monkeypatch, capsys):
    monkeypatch.setattr(default_model, "_installed_gguf", lambda: None)
    home = _home_with_gguf(tmp_path, test_home)

    started = time.perf_counter()
    first = load_model("default", home=home)
    first_seconds = time.perf_counter() - started
    fingerprint = first.fingerprint()
    del first

    started = time.perf_counter()
    second = load_model("default", home=home)
    cached_seconds = time.perf_counter() - started
    assert second.fingerprint() == fingerprint
    del second
    assert cached_seconds < first_seconds / 3, (first_seconds, cached_seconds)

    # Flip bytes inside the weights without changing the size: only the checksum can tell.
    weights = default_model.cache_dir(home) / "model.safetensors"
    with open(weights, "r+b") as handle:
        handle.seek(weights.stat().st_size // 2)
        chunk = handle.read(64)
        handle.seek(weights.stat().st_size // 2)
        handle.write(bytes(b ^ 0xFF for b in chunk))
    capsys.readouterr()
    rebuilt = load_model("default", home=home)
    assert "corrupt" in capsys.readouterr().err
    assert rebuilt.fingerprint() == fingerprint


def test_truncated_cache_is_detected(tmp_path, test_home):
    home = tmp_path / "home"
    directory = default_model.cache_dir(home)
    shutil.copytree(default_model.cache_dir(test_home), directory)
    weights = directory / "model.safetensors"
    with open(weights, "r+b") as handle:
        handle.truncate(weights.stat().st_size - 1000)
    assert "truncated" in default_model.verify_cache(directory)
    (directory / default_model.MANIFEST).unlink()
    assert "manifest" in default_model.verify_cache(directory)
