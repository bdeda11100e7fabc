"""A correct submission: the three layers as the course writes them."""
import numpy as np


def affine_backward(g, x, w, b):
    return g @ w.T, x.T @ g, g.sum(axis=0)


def batchnorm_forward(x, gamma, beta, eps=1e-5):
    mu = x.mean(axis=0)
    xc = x - mu
    inv_std = 1.0 / np.sqrt((xc * xc).mean(axis=0) + eps)
    xhat = xc * inv_std
    return gamma * xhat + beta, (xhat, gamma, inv_std)


def batchnorm_backward(g, cache):
    xhat, gamma, inv_std = cache
    n = g.shape[0]
    dxhat = g * gamma
    dx = inv_std / n * (n * dxhat - dxhat.sum(axis=0) - xhat * (dxhat * xhat).sum(axis=0))
    return dx, (g * xhat).sum(axis=0), g.sum(axis=0)


def softmax_loss_backward(g, s, y):
    e = np.exp(s - s.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    return g * (p - y) / s.shape[0], None
