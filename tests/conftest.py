"""Shared fixtures: tiny random models for unit tests, the real default model for integration.

The real model's converted cache lives in EDITMIND_TEST_HOME (default: .editmind-test-home
in the clone), so only the first run on a machine pays the fetch and the conversion.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("EDITMIND_SHARED_DATA", REPO.parent / "shared" / "data"))
TEST_HOME = Path(os.environ.get("EDITMIND_TEST_HOME", REPO / ".editmind-test-home"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(f"evaluation data not found at {SHARED_DATA}; set EDITMIND_SHARED_DATA")
    return SHARED_DATA


@pytest.fixture(scope="session")
def test_home() -> Path:
    TEST_HOME.mkdir(parents=True, exist_ok=True)
    return TEST_HOME


@pytest.fixture(scope="session")
def default_model(test_home):
    """The real SmolLM2-135M-Instruct, loaded once per session. Do not leave it edited:
    tests that change weights use `restorable_default_model`."""
    from editmind.editors.model import load_model

    return load_model("default", home=test_home)


@pytest.fixture
def restorable_default_model(default_model):
    """The session's default model, with its weights put back exactly after the test."""
    saved = {name: tensor.detach().clone() for name, tensor in default_model.model.state_dict().items()}
    yield default_model
    current = default_model.model.state_dict()
    for name, tensor in saved.items():
        current[name].copy_(tensor)


@pytest.fixture(params=["llama", "qwen2", "gpt2", "gpt_neox"])
def tiny(request):
    """A tiny random model per architecture family (GPT-2 for the transposed Conv1D case)."""
    from editmind.editors.model.testing import tiny_model

    return tiny_model(request.param)


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory):
    """A tiny random llama saved as a Hugging Face directory, for CLI tests (`--model DIR`)."""
    from editmind.editors.model.testing import tiny_model

    path = tmp_path_factory.mktemp("tiny-llama")
    model = tiny_model("llama")
    model.model.save_pretrained(str(path))
    model.tokenizer.save_pretrained(str(path))
    return path


@pytest.fixture
def one_torch_thread():
    """Tiny models are far faster on one thread, and a shared, loaded CPU makes torch's
    thread synchronisation cost more than the arithmetic; restored afterwards."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def isolated_home(tmp_path, monkeypatch):
    """EDITMIND_HOME in the test's own folder: edits, stats and caches never touch ~/.editmind."""
    monkeypatch.setenv("EDITMIND_HOME", str(tmp_path / "home"))


@pytest.fixture
def memory_agent(tmp_path):
    """An EditingAgent for user alice on a tiny random llama and a real SQLite + FAISS memory
    (hashing embedder), without a journal: conversation tests that read the memory after each turn."""
    from editmind.agent import AgentConfig, EditingAgent
    from editmind.editors.model.testing import tiny_model
    from editmind.memory import FactMemory, HashEmbedder

    memory = FactMemory(home=tmp_path, embedder=HashEmbedder(64))
    agent = EditingAgent(model=tiny_model("llama"), home=tmp_path, user_id="alice", memory=memory,
                         config=AgentConfig(max_new_tokens=4), open_journal=False)
    yield agent
    agent.close()
