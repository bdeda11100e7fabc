"""Right, but prints garbage (escapes, binary) at import and in every call."""
import sys

import numpy as np  # noqa: F401

from right import batchnorm_backward, batchnorm_forward, softmax_loss_backward  # noqa: F401  (the parts done right)


print('\x1b[2J\x1b]8;;http://x\x07debug\x00\xff' * 50)
sys.stdout.buffer.write(bytes(range(256)))
sys.stdout.flush()


def affine_backward(g, x, w, b):
    print('dx, dw, db =', g, x, file=sys.stderr)
    print('\x1b[31mGARBAGE', flush=True)
    return g @ w.T, x.T @ g, g.sum(axis=0)
