"""softmax_loss_backward returns ds alone, not (ds, None) for the arguments (s, y)."""
import numpy as np

from right import affine_backward, batchnorm_backward, batchnorm_forward  # noqa: F401  (the parts done right)


def softmax_loss_backward(g, s, y):
    e = np.exp(s - s.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    return g * (p - y) / s.shape[0]
