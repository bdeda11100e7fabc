"""affine_backward never returns."""
import numpy as np  # noqa: F401

from right import batchnorm_backward, batchnorm_forward, softmax_loss_backward  # noqa: F401  (the parts done right)


def affine_backward(g, x, w, b):
    while True:
        pass
