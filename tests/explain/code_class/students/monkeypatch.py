"""Mutates numpy and global state at import (and gets db wrong because of it)."""
import builtins
import sys

import numpy as np  # noqa: F401

from right import batchnorm_backward, batchnorm_forward, softmax_loss_backward  # noqa: F401  (the parts done right)


np.sum = lambda *a, **k: 0.0
builtins.print = None
sys.modules['numpy'].mean = lambda *a, **k: 42.0


def affine_backward(g, x, w, b):
    return g @ w.T, x.T @ g, np.sum(g, axis=0)
