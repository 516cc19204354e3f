"""fer4d's Adam / AdamW: torch.optim's updates to the bit, its state, and no compiler import."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from torch import nn

from fer4d.train.adam import Adam


def trained(optimiser_of, steps: int = 60, unused: bool = False) -> list[torch.Tensor]:
    """Weights of a small network after ``steps`` steps on random data (``unused``: a parameter
    that never gets a gradient)."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(7, 16), nn.GELU(), nn.Linear(16, 3))
    if unused:
        model.spare = nn.Parameter(torch.ones(4))
    optimiser = optimiser_of(model.parameters())
    x, y = torch.randn(32, 7), torch.randint(0, 3, (32,))
    for _ in range(steps):
        loss = nn.functional.cross_entropy(model(x), y)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return [p.detach().clone() for p in model.parameters()]


@pytest.mark.parametrize("decay", [0.0, 1e-2])
def test_the_same_weights_as_torch(decay):
    ours = trained(lambda p: Adam(p, lr=1e-3, weight_decay=decay))
    theirs = trained(lambda p: torch.optim.AdamW(p, lr=1e-3, weight_decay=decay, foreach=True))
    assert all(torch.equal(a, b) for a, b in zip(ours, theirs))
    assert not torch.equal(ours[0], trained(lambda p: Adam(p, lr=1e-3, weight_decay=decay), steps=59)[0])


def test_a_parameter_without_gradient_is_left_alone():
    ours = trained(lambda p: Adam(p, lr=1e-3, weight_decay=1e-2), unused=True)
    theirs = trained(lambda p: torch.optim.AdamW(p, lr=1e-3, weight_decay=1e-2, foreach=True), unused=True)
    assert all(torch.equal(a, b) for a, b in zip(ours, theirs))
    assert any(torch.equal(weight, torch.ones(4)) for weight in ours)  # the spare parameter


def test_a_changed_learning_rate_and_a_restored_state_continue_alike():
    torch.manual_seed(1)
    weight = nn.Parameter(torch.randn(5))
    first = Adam([weight], lr=1e-2)
    for _ in range(3):
        weight.grad = torch.randn(5)
        first.step()
    first.lr *= 0.5
    copy = nn.Parameter(weight.detach().clone())
    second = Adam([copy], lr=1.0)
    second.load_state_dict(first.state_dict())
    assert second.lr == first.lr and second.steps == [3]
    grad = torch.randn(5)
    for parameter, optimiser in ((weight, first), (copy, second)):
        parameter.grad = grad.clone()
        optimiser.step()
    assert torch.equal(weight, copy)
    with pytest.raises(ValueError, match="other parameters"):
        Adam([nn.Parameter(torch.zeros(2))], lr=1.0).load_state_dict(first.state_dict())


def test_training_does_not_import_the_compiler():
    probe = (
        "import sys, torch; from fer4d.train.adam import Adam\n"
        "w = torch.nn.Parameter(torch.ones(3)); o = Adam([w], lr=0.1)\n"
        "(w * w).sum().backward(); o.step()\n"
        "print('torch._dynamo' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120)
    assert done.stdout.strip() == "False"
