"""Adam and AdamW as one multi-tensor update per step, without ``torch.optim``.

Adam: Kingma & Ba 2015, "Adam: A Method for Stochastic Optimization"; AdamW's decoupled weight
decay: Loshchilov & Hutter 2019, "Decoupled Weight Decay Regularization".

Why not ``torch.optim``: building its first optimiser imports torch's compiler stack
(``torch._dynamo``), 1.0 s of CPU in every training job here, more than a linear baseline's
whole training, and nothing here compiles. The update below is the one ``torch.optim.Adam`` /
``AdamW`` make with ``foreach=True`` on CPU, in the same order of floating-point operations, so
the weights are the same to the bit (``tests/test_adam.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch


class Adam:
    """Adam over ``parameters`` (those that require a gradient) with learning rate ``lr``,
    decoupled weight decay ``weight_decay`` (0: Adam; > 0: AdamW), ``betas`` and ``eps``.

    ``lr`` is an attribute: a schedule changes it between steps. A parameter without a
    gradient at a step is left alone, and its step count does not advance (as in torch).
    """

    def __init__(
        self,
        parameters: Iterable[torch.Tensor],
        lr: float,
        weight_decay: float = 0.0,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ):
        self.parameters = [p for p in parameters if p.requires_grad]
        if not self.parameters:
            raise ValueError("Adam got no parameters that require a gradient")
        self.lr, self.weight_decay, self.betas, self.eps = float(lr), float(weight_decay), betas, eps
        self.steps = [0] * len(self.parameters)
        self.exp_avg = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in self.parameters]
        self.exp_avg_sq = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in self.parameters]

    def zero_grad(self) -> None:
        """Drop every parameter's gradient (``set_to_none``)."""
        for parameter in self.parameters:
            parameter.grad = None

    @torch.no_grad()
    def step(self) -> None:
        """Update every parameter that has a gradient."""
        active = [i for i, p in enumerate(self.parameters) if p.grad is not None]
        if not active:
            return
        beta1, beta2 = self.betas
        params = [self.parameters[i] for i in active]
        grads = [self.parameters[i].grad for i in active]
        exp_avgs = [self.exp_avg[i] for i in active]
        exp_avg_sqs = [self.exp_avg_sq[i] for i in active]
        for i in active:
            self.steps[i] += 1
        if self.weight_decay:
            torch._foreach_mul_(params, 1 - self.lr * self.weight_decay)
        torch._foreach_lerp_(exp_avgs, grads, 1 - beta1)
        torch._foreach_mul_(exp_avg_sqs, beta2)
        torch._foreach_addcmul_(exp_avg_sqs, grads, grads, 1 - beta2)
        # torch keeps the step count as a float tensor and reads it back as a Python float
        steps = [float(self.steps[i]) for i in active]
        step_sizes = [(self.lr / (1 - beta1**t)) * -1 for t in steps]
        denominators = torch._foreach_sqrt(exp_avg_sqs)
        torch._foreach_div_(denominators, [(1 - beta2**t) ** 0.5 for t in steps])
        torch._foreach_add_(denominators, self.eps)
        torch._foreach_addcdiv_(params, exp_avgs, denominators, step_sizes)

    def state_dict(self) -> dict[str, Any]:
        """The optimiser's state (tensors, numbers and lists only: it loads with
        ``torch.load(weights_only=True)``)."""
        return {
            "lr": self.lr,
            "steps": list(self.steps),
            "exp_avg": [t.clone() for t in self.exp_avg],
            "exp_avg_sq": [t.clone() for t in self.exp_avg_sq],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a ``state_dict`` of an optimiser over parameters of the same shapes."""
        shapes = [tuple(p.shape) for p in self.parameters]
        if [tuple(t.shape) for t in state["exp_avg"]] != shapes or len(state["steps"]) != len(shapes):
            raise ValueError("optimiser state of other parameters")
        self.lr, self.steps = float(state["lr"]), [int(s) for s in state["steps"]]
        for mine, saved in zip(self.exp_avg + self.exp_avg_sq, state["exp_avg"] + state["exp_avg_sq"]):
            mine.copy_(saved)
