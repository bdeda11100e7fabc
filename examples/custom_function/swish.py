"""A custom torch.autograd.Function with a hand-written backward: Swish, y = x·σ(x).

dy/dx = σ(x) + x·σ(x)(1 − σ(x)) = σ(x)(1 + x(1 − σ(x))).  The backward is written with
differentiable torch ops, so the Function also supports double backward (what
``subject_double_backward`` checks), and ``jvp`` gives it forward-mode AD (what
``subject_forward_ad`` checks).
"""
from __future__ import annotations

import torch

__all__ = ["Swish", "swish"]


def swish_derivative(x: torch.Tensor) -> torch.Tensor:
    """d/dx x·σ(x) = σ(x)(1 + x(1 − σ(x)))"""
    s = torch.sigmoid(x)
    return s * (1 + x * (1 - s))


class Swish(torch.autograd.Function):
    """x·σ(x) with a fused, hand-written backward."""

    @staticmethod
    def forward(x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(x)

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        (x,) = inputs
        ctx.save_for_backward(x)  # for backward
        ctx.save_for_forward(x)   # for jvp (forward-mode AD)

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad_out * swish_derivative(x)

    @staticmethod
    def jvp(ctx, x_tangent: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return x_tangent * swish_derivative(x)


def swish(x: torch.Tensor) -> torch.Tensor:
    """The function a model calls."""
    return Swish.apply(x)
