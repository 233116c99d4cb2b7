import pytest
import torch

from editmind.editors.base import EditFailedError, WeightDelta
from editmind.editors.deltas import apply_deltas


def _delta_for(model, layer=1, scale=0.5):
    ref = model.layout.layers[layer].mlp_out
    left = torch.randn(ref.out_features, 1) * scale
    right = torch.randn(ref.in_features, 1)
    return ref, WeightDelta(module=ref.name, transposed=ref.transposed, left=left, right=right)


def test_apply_then_restore_is_bitwise(tiny):
    ref, delta = _delta_for(tiny)
    before = {k: v.clone() for k, v in tiny.model.state_dict().items()}
    snapshot = apply_deltas(tiny, [delta, delta])  # the same module twice
    original = before[ref.name + ".weight"].T if ref.transposed else before[ref.name + ".weight"]
    expected = original + 2 * delta.tensor()
    assert torch.allclose(tiny.weight(ref), expected, atol=1e-6)
    snapshot.restore()
    for name, tensor in tiny.model.state_dict().items():
        assert torch.equal(tensor, before[name]), name


def test_non_finite_delta_changes_nothing(tiny):
    ref, delta = _delta_for(tiny)
    delta.left[0, 0] = float("nan")
    before = tiny.fingerprint()
    with pytest.raises(EditFailedError, match="non-finite"):
        apply_deltas(tiny, [delta])
    assert tiny.fingerprint() == before
