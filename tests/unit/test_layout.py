import pytest
import torch
from torch import nn

from editmind.editors.errors import UnsupportedArchitectureError
from editmind.editors.model import discover_layout, math_weight
from editmind.editors.model.testing import TINY_ARCHITECTURES, tiny_model

EXPECTED_MLP_OUT = {
    "llama": "model.layers.{i}.mlp.down_proj",
    "qwen2": "model.layers.{i}.mlp.down_proj",
    "mistral": "model.layers.{i}.mlp.down_proj",
    "gemma": "model.layers.{i}.mlp.down_proj",
    "gemma2": "model.layers.{i}.mlp.down_proj",
    "gemma3_text": "model.layers.{i}.mlp.down_proj",
    "phi3": "model.layers.{i}.mlp.down_proj",
    "gpt2": "transformer.h.{i}.mlp.c_proj",
    "gptj": "transformer.h.{i}.mlp.fc_out",
    "gpt_neox": "gpt_neox.layers.{i}.mlp.dense_4h_to_h",
}
EXPECTED_ATTENTION_OUT = {
    "gpt2": "transformer.h.{i}.attn.c_proj",
    "gptj": "transformer.h.{i}.attn.out_proj",
    "gpt_neox": "gpt_neox.layers.{i}.attention.dense",
}
EXPECTED_FINAL_NORM = {"gpt2": "transformer.ln_f", "gptj": "transformer.ln_f", "gpt_neox": "gpt_neox.final_layer_norm"}


@pytest.mark.parametrize("architecture", TINY_ARCHITECTURES)
def test_discovers_editable_modules(architecture):
    model = tiny_model(architecture, layers=3, hidden=32, inner=64)
    layout = model.layout
    summary = layout.to_dict()
    assert layout.num_layers == 3
    assert layout.hidden_size == 32
    assert summary["mlp_out"] == EXPECTED_MLP_OUT[architecture]
    assert summary["attention_out"] == EXPECTED_ATTENTION_OUT.get(architecture, "model.layers.{i}.self_attn.o_proj")
    assert summary["final_norm"] == EXPECTED_FINAL_NORM.get(architecture, "model.norm")
    assert layout.intermediate_size == 64
    for layer in layout.layers:
        out = model.module(layer.mlp_out.name)
        assert isinstance(out, nn.Module)
        assert (layer.mlp_out.in_features, layer.mlp_out.out_features) == (64, 32)
        assert layer.mlp_out.transposed == (architecture == "gpt2")
        assert all(ref.in_features == 32 for ref in layer.mlp_in)
    assert model.module(layout.lm_head) is model.model.get_output_embeddings()


def test_math_weight_is_out_by_in_view_sharing_storage():
    for architecture in ("gpt2", "llama"):
        model = tiny_model(architecture)
        ref = model.layout.layers[1].mlp_out
        weight = math_weight(model.model, ref)
        assert tuple(weight.shape) == (ref.out_features, ref.in_features)
        module = model.module(ref.name)
        x = torch.randn(ref.in_features)
        # The [out, in] view must compute what the module computes (bias aside).
        bias = module.bias if module.bias is not None else 0
        assert torch.allclose(module(x[None])[0], weight @ x + bias, atol=1e-5)
        before = module(x[None])[0].detach().clone()
        with torch.no_grad():
            weight[0, 1] += 1.0  # an edit through the view must land in the module
        after = module(x[None])[0].detach()
        assert torch.allclose(after[0] - before[0], x[1], atol=1e-5)
        assert torch.allclose(after[1:], before[1:], atol=1e-6)


def test_unrecognisable_model_gets_clear_error():
    class NotATransformer(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(10, 8)
            self.head = nn.Linear(8, 10)

        def get_input_embeddings(self):
            return self.embed

        def get_output_embeddings(self):
            return self.head

    with pytest.raises(UnsupportedArchitectureError, match="layer list"):
        discover_layout(NotATransformer())


def test_block_without_mlp_is_named_in_error():
    model = tiny_model("llama", layers=2)
    model.model.model.layers[1].mlp = nn.Identity()
    with pytest.raises(UnsupportedArchitectureError, match=r"no MLP found in model\.layers\.1"):
        discover_layout(model.model)
