"""Numpy layers with hand-written backward functions, the way a backprop course writes them.

Each ``*_forward`` takes arrays of the shapes the case uses (a batch of N rows) and each
``*_backward(g, ...)`` returns one gradient per argument: ``g`` is the upstream
gradient ∂L/∂out.  Nothing here knows gradcheck-suite; ``plugin.py`` binds them.
"""
from __future__ import annotations

import numpy as np

__all__ = ["affine_forward", "affine_backward", "relu_forward", "relu_backward", "batchnorm_forward",
           "batchnorm_backward", "softmax_loss_forward", "softmax_loss_backward"]


def affine_forward(x, w, b):
    """out = x·W + b for x (N, D), W (D, M), b (M,)"""
    return x @ w + b


def affine_backward(g, x, w, b):
    """dx = g·Wᵀ, dW = xᵀ·g, db = Σ_rows g"""
    return g @ w.T, x.T @ g, g.sum(axis=0)


def relu_forward(x):
    return np.maximum(x, 0)


def relu_backward(g, x):
    """the upstream gradient where x > 0, else 0"""
    return g * (x > 0)


def batchnorm_forward(x, gamma, beta, eps=1e-5):
    """Batch normalisation in training mode; returns (out, cache)."""
    mu = x.mean(axis=0)
    xc = x - mu
    var = (xc * xc).mean(axis=0)
    inv_std = 1.0 / np.sqrt(var + eps)
    xhat = xc * inv_std
    return gamma * xhat + beta, (xhat, gamma, inv_std)


def batchnorm_backward(g, cache):
    """dx = (1/N)·σ⁻¹·(N·dx̂ − Σ dx̂ − x̂·Σ(dx̂·x̂)), dγ = Σ g·x̂, dβ = Σ g"""
    xhat, gamma, inv_std = cache
    n = g.shape[0]
    dxhat = g * gamma
    dx = inv_std / n * (n * dxhat - dxhat.sum(axis=0) - xhat * (dxhat * xhat).sum(axis=0))
    return dx, (g * xhat).sum(axis=0), g.sum(axis=0)


def _softmax(s):
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def softmax_loss_forward(s, y):
    """Mean cross-entropy of the scores s (N, C) against one-hot labels y (N, C)."""
    shifted = s - s.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -(y * log_p).sum() / s.shape[0]


def softmax_loss_backward(g, s, y):
    """∂L/∂s = (softmax(s) − y)/N (the labels get no gradient)"""
    return g * (_softmax(s) - y) / s.shape[0], None
