"""The loss gradient y − p instead of p − y."""
import numpy as np  # noqa: F401

from right import affine_backward, batchnorm_backward, batchnorm_forward  # noqa: F401  (the parts done right)


def softmax_loss_backward(g, s, y):
    e = np.exp(s - s.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    return g * (y - p) / s.shape[0], None
