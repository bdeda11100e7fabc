"""Imports a module that does not exist."""
import numpy as np  # noqa: F401

from right import affine_backward, batchnorm_backward, batchnorm_forward, softmax_loss_backward  # noqa: F401  (the parts done right)


import scipy_is_not_a_module_here  # noqa: E402,F401
