"""DAMA debiasing on tiny random models: the stereotype subspace, the `dama` editor through
the journal (rank-r projection, bitwise undo), the bias metrics and `editmind debias`."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from editmind.apps.cli import main
from editmind.editors.base import EditRequestError
from editmind.editors.eval import bias
from editmind.editors.journal import EditJournal
from editmind.editors.model.testing import tiny_model
from editmind.editors.safety.dama import dama_layers, stereotype_subspace
from editmind.editors.safety.debias import debias, debias_requests

pytestmark = pytest.mark.usefixtures("one_torch_thread")
PROMPTS = [bias.ProfessionPrompt(f"The {job} {verb}", f"The {job}", s, f)
           for job, s, f in (("nurse", -0.8, 0.0), ("mechanic", 0.7, 0.0), ("actress", 0.0, -1.0), ("king", 0.1, 1.0))
           for verb in ("said that", "wanted that", "laughed because")]


def test_dama_layers_sit_in_the_upper_band():
    assert dama_layers(30) == list(range(19, 27))
    assert dama_layers(4) == [2, 3]


def test_the_subspace_is_orthonormal_and_holds_the_shared_direction():
    generator = torch.Generator().manual_seed(0)
    shared = torch.randn(16, generator=generator)
    contrast = torch.outer(torch.rand(40, generator=generator) + 0.5, shared) + 0.01 * torch.randn(40, 16, generator=generator)
    u = stereotype_subspace(contrast, 3)
    assert u.shape == (16, 3) and torch.allclose(u.T @ u, torch.eye(3), atol=1e-5)
    assert abs(float(u[:, 0] @ shared / shared.norm())) > 0.99


def test_bias_slopes_recover_known_slopes():
    rng = np.random.default_rng(0)
    s, f = rng.uniform(-1, 1, 200), rng.uniform(-1, 1, 200)
    fit = bias.bias_slopes(0.3 * s - 0.2 * f + 0.05, s, f)
    assert fit == {"a_s": 0.3, "a_f": -0.2, "intercept": 0.05}


@pytest.mark.parametrize("arch", ["llama", "qwen2", "gpt2"])
def test_a_dama_edit_removes_the_subspace_from_the_mlp_output_and_undoes_bitwise(tmp_path, arch):
    model = tiny_model(arch)
    journal = EditJournal.open(tmp_path, model)
    layers = dama_layers(model.layout.num_layers)
    before = {l: model.weight(model.layout.layers[l].mlp_out).detach().clone() for l in layers}
    record = journal.apply("dama", debias_requests(PROMPTS), overrides={"rank": 2})
    assert record.layers == layers and record.info["rank"] == 2 and len(record.info["contrast_share_removed"]) == len(layers)
    # the MLP output now has no component along the removed directions: (I - P) W leaves W's rank-2 part
    for layer in layers:
        after = model.weight(model.layout.layers[layer].mlp_out).detach()
        change = after - before[layer]
        assert torch.linalg.matrix_rank(change.double(), atol=1e-5) == 2
        u, _, _ = torch.linalg.svd(change.double(), full_matrices=False)
        assert float((u[:, :2].T @ after.double()).abs().max()) < 1e-4
    journal.undo(record.id)
    for layer in layers:
        assert torch.equal(model.weight(model.layout.layers[layer].mlp_out), before[layer])


def test_the_workflow_reports_before_and_after(tmp_path):
    model = tiny_model("llama")
    journal = EditJournal.open(tmp_path, model)
    prose = ["The reference manual describes the syntax and the core semantics of the language in plain words."] * 2
    report = debias(journal, PROMPTS[:9], PROMPTS[9:], overrides={"rank": 2}, prose=prose)
    assert set(report.before) >= {"a_s", "a_f", "perplexity"} and "perplexity_change" in report.after
    assert report.edit_id in [r.id for r in journal.records()] and report.rank == 2


def test_bad_input_is_a_one_line_error(tmp_path):
    with pytest.raises(EditRequestError, match="no profession prompts"):
        debias_requests([])
    path = tmp_path / "prompts.json"
    path.write_text(json.dumps(["The astronaut said that"]))
    with pytest.raises(EditRequestError, match="no prompt names a profession"):
        bias.load_profession_prompts(path, {"nurse": (0.0, -0.8)})
    journal = EditJournal.open(tmp_path, tiny_model("llama"))
    with pytest.raises(EditRequestError, match="cannot span"):
        journal.apply("dama", debias_requests(PROMPTS[:2]), overrides={"rank": 8})
    assert journal.records() == []


def test_the_shared_files_parse(shared_data):
    professions = bias.load_professions(shared_data / "debias" / "professions.json")
    test = bias.load_profession_prompts(shared_data / "debias" / "test_dama.json", professions)
    assert len(professions) == 320 and len(test) > 1000
    pro = bias.parse_winobias(shared_data / "debias" / "winobias" / "pro_stereotyped_type1.txt.dev")
    sentence, swaps = pro[0]
    assert "[" not in sentence and swaps and all(s != sentence for s in swaps)
    assert len(bias.reference_prose()) > 20


def test_cli_debias_runs_and_writes_json(tmp_path, tiny_dir, shared_data, capsys):
    data = tmp_path / "debias"
    data.mkdir()
    (data / "professions.json").write_text(json.dumps([["nurse", 0.0, -0.8], ["mechanic", 0.0, 0.7], ["king", 1.0, 0.1]]))
    prompts = [p.prompt for p in PROMPTS if "actress" not in p.prompt]
    (data / "train_dama.json").write_text(json.dumps(prompts[:6]))
    (data / "test_dama.json").write_text(json.dumps(prompts[6:]))
    out = tmp_path / "report.json"
    code = main(["--home", str(tmp_path / "home"), "--model", str(tiny_dir), "debias", "--data", str(data),
                 "--set", "rank=2", "--json", str(out)])
    assert code == 0 and "undo with 'editmind edits undo" in capsys.readouterr().out
    report = json.loads(out.read_text())
    assert report["train_prompts"] == 6 and "a_s" in report["before"]


def test_the_sdk_debiases_through_the_agent_and_undoes_bitwise(tmp_path):
    from editmind.agent import AgentConfig, EditingAgent
    from editmind.memory import FactMemory, HashEmbedder

    data = tmp_path / "debias"
    data.mkdir()
    (data / "professions.json").write_text(json.dumps([["nurse", 0.0, -0.8], ["mechanic", 0.0, 0.7], ["actress", -1.0, 0.0],
                                                        ["king", 1.0, 0.1]]))
    (data / "train_dama.json").write_text(json.dumps(["The nurse said that", "The mechanic said that", "The nurse laughed because"]))
    (data / "test_dama.json").write_text(json.dumps(["The actress said that", "The king wanted that", "The mechanic laughed because"]))
    model = tiny_model("llama")
    before = {k: v.clone() for k, v in model.model.state_dict().items()}
    agent = EditingAgent(model=model, home=tmp_path, user_id="u", memory=FactMemory(home=tmp_path, embedder=HashEmbedder(16)),
                         config=AgentConfig(max_new_tokens=2))
    report = agent.debias(data, overrides={"rank": 2}, prose=["A plain sentence about the weather and the sea."] * 2)
    assert report.rank == 2 and "a_s" in report.before and "a_s" in report.after
    assert any(not torch.equal(before[k], v) for k, v in model.model.state_dict().items())
    agent.undo(report.edit_id)
    assert all(torch.equal(before[k], v) for k, v in model.model.state_dict().items())
    agent.close()
