"""The CLI's contract: one-line errors, JSON for scripts. Runs the real entry point."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from editmind.apps.cli import main


def run_cli(*args: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "editmind.apps.cli", *args], capture_output=True, text=True, env=env, timeout=600
    )


def _one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_missing_model_path_is_one_line(tmp_path):
    line = _one_line_error(run_cli("--home", str(tmp_path), "--model", str(tmp_path / "nope.gguf"), "info"))
    assert line.startswith("editmind: error:") and "nope.gguf" in line


def test_directory_without_config_is_one_line(tmp_path):
    line = _one_line_error(run_cli("--home", str(tmp_path), "--model", str(tmp_path), "info"))
    assert "config.json" in line


def test_unknown_model_name_is_one_line(tmp_path):
    line = _one_line_error(run_cli("--home", str(tmp_path), "--model", "definitely not a model", "info"))
    assert "unknown model" in line


def test_a_bad_or_missing_device_is_one_line_before_anything_loads(tmp_path):
    import torch

    line = _one_line_error(run_cli("--home", str(tmp_path), "--device", "warp9", "info"))
    assert "unknown device 'warp9'" in line and "cuda" in line
    if not torch.cuda.is_available():
        line = _one_line_error(run_cli("--home", str(tmp_path), "--device", "cuda", "info"))
        assert "no CUDA GPU" in line and "--device cpu" in line
    assert not any(tmp_path.iterdir())  # nothing fetched or converted


def test_unknown_command_is_one_line():
    line = _one_line_error(run_cli("frobnicate"))
    assert "frobnicate" in line


def test_empty_question_is_rejected_before_loading(tmp_path, capsys):
    assert main(["--home", str(tmp_path), "--model", str(tmp_path / "missing"), "ask", "   "]) == 1
    assert "question is empty" in capsys.readouterr().err


@pytest.fixture
def saved_tiny_dir(tmp_path):
    """A tiny model saved as a plain HF directory: the `--model DIR` path end to end."""
    from editmind.editors.model.testing import tiny_model

    model = tiny_model("qwen2")
    directory = tmp_path / "tiny-qwen2"
    model.model.save_pretrained(directory)
    model.tokenizer.save_pretrained(directory)
    return directory


def test_info_and_ask_json_on_a_local_directory(saved_tiny_dir, tmp_path):
    info = run_cli("--home", str(tmp_path), "--model", str(saved_tiny_dir), "info", "--json")
    assert info.returncode == 0, info.stderr
    report = json.loads(info.stdout)
    assert report["architecture"] == "qwen2"
    assert report["num_layers"] == 4
    assert report["editable_modules"]["mlp_out"] == "model.layers.{i}.mlp.down_proj"
    ask = run_cli("--home", str(tmp_path), "--model", str(saved_tiny_dir), "ask", "Where is Paris?", "--json",
                  "--max-new-tokens", "4")
    assert ask.returncode == 0, ask.stderr
    assert isinstance(json.loads(ask.stdout)["answer"], str)
