"""gradcheck-suite plugin: a new primitive, squareplus(x) = (x + √(x² + 4))/2, a smooth ReLU.

Its derivative is written once; the VJP and JVP rules are generated from it, batch axes
are handled by the helper.  After loading this plugin a case file can call squareplus().

    gradcheck-suite run examples/new_primitive/cases --plugin examples/new_primitive/squareplus_plugin.py
"""
import numpy as np
import torch

from gradcheck_suite import extend

extend.elementwise(
    "squareplus",
    forward=lambda x: (x + np.sqrt(x * x + 4.0)) / 2,
    derivative=lambda x, out: (1 + x / np.sqrt(x * x + 4.0)) / 2,  # d/dx (x + √(x²+4))/2
    torch=lambda x: (x + torch.sqrt(x * x + 4.0)) / 2,
    text="∂squareplus({x})/∂{x} = (1 + {x}/√({x}² + 4))/2",
    doc="squareplus(x) = (x + √(x² + 4))/2, a smooth ReLU",
)
