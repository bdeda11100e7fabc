"""The usual mistakes in hand-written gradient code, planted one per function.

Each is a copy of a correct example (examples/custom_function/swish.py,
examples/numpy_layers/layers.py) with one change; tests/subjects/test_planted_bugs.py
shows that every one is caught, with a message a person can act on.
"""
from __future__ import annotations

import numpy as np
import torch


def _dswish(x):
    s = torch.sigmoid(x)
    return s * (1 + x * (1 - s))


class StaleForward(torch.autograd.Function):
    """The forward was changed (a new gate, σ(1.1x)); the backward was not."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * torch.sigmoid(1.1 * x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * _dswish(x)


class SlightlyOff(torch.autograd.Function):
    """A backward off by a relative 1e-4: torch.autograd.gradcheck (rtol 1e-3) passes it."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * torch.sigmoid(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * _dswish(x) * (1 + 1e-4)


class _SwishBackward(torch.autograd.Function):
    """The backward as a Function of its own, whose own backward (the second derivative) is wrong."""

    @staticmethod
    def forward(ctx, x, g):
        ctx.save_for_backward(x, g)
        return g * _dswish(x)

    @staticmethod
    def backward(ctx, gg):
        x, g = ctx.saved_tensors
        s = torch.sigmoid(x)
        wrong_second = s * (1 - s) * (2 + x * (1 - s))  # the right one has (1 − 2s) in place of (1 − s)
        return gg * g * wrong_second, gg * _dswish(x)


class WrongDoubleBackward(torch.autograd.Function):
    """First backward right, double backward wrong."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * torch.sigmoid(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return _SwishBackward.apply(x, g)


def affine_forward(x, w, b):
    return x @ w + b


def affine_backward(g, x, w, b):
    return g @ w.T, x.T @ g, g.sum(axis=0)


def affine_backward_db_mean(g, x, w, b):
    """db summed with mean instead of sum."""
    return g @ w.T, x.T @ g, g.mean(axis=0)


def affine_backward_transposed_dw(g, x, w, b):
    """dW transposed: (xᵀg)ᵀ."""
    return g @ w.T, (x.T @ g).T, g.sum(axis=0)


def affine_backward_batch_one(g, x, w, b):
    """Right only for a batch of one row: dW from the first row alone."""
    return g @ w.T, np.outer(x[0], g[0]), g.sum(axis=0)
