"""dx with the wrong sign."""
import numpy as np  # noqa: F401

from right import batchnorm_backward, batchnorm_forward, softmax_loss_backward  # noqa: F401  (the parts done right)


def affine_backward(g, x, w, b):
    return -(g @ w.T), x.T @ g, g.sum(axis=0)
