"""The temporal transformer: padding invariance and positional encoding for any length."""

from __future__ import annotations

import pytest
import torch

from fer4d.models.transformer import ExpressionTransformer, sinusoidal_encoding


@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_padding_never_changes_the_logits(pooling):
    torch.manual_seed(0)
    model = ExpressionTransformer(8, d_model=32, heads=4, layers=2, ff=64, pooling=pooling).eval()
    lengths = [20, 13, 5]
    x = torch.randn(3, 20, 8)
    mask = torch.zeros(3, 20, dtype=torch.bool)
    for i, n in enumerate(lengths):
        mask[i, :n] = True
        x[i, n:] = 1e3  # garbage in padded frames must not leak
    with torch.no_grad():
        batched = model(x, mask)
        for i, n in enumerate(lengths):
            alone = model(x[i : i + 1, :n], torch.ones(1, n, dtype=torch.bool))
            torch.testing.assert_close(alone, batched[i : i + 1], atol=1e-5, rtol=1e-5)


def test_positional_encoding_any_length_and_order_matters():
    enc = sinusoidal_encoding(5000, 10)
    assert enc.shape == (5000, 10) and torch.isfinite(enc).all()
    torch.testing.assert_close(sinusoidal_encoding(7, 10), enc[:7])
    assert torch.equal(enc[0, 1::2], torch.ones(5))  # cos(0)
    torch.manual_seed(0)
    model = ExpressionTransformer(4, d_model=16, heads=2, layers=1, ff=32).eval()
    x = torch.randn(1, 300, 4)  # longer than anything seen in training
    mask = torch.ones(1, 300, dtype=torch.bool)
    with torch.no_grad():
        assert not torch.allclose(model(x, mask), model(x.flip(1), mask))


def test_rejects_bad_configuration():
    with pytest.raises(ValueError, match="pooling"):
        ExpressionTransformer(4, pooling="max")
    with pytest.raises(ValueError, match="divisible"):
        ExpressionTransformer(4, d_model=10, heads=4)
