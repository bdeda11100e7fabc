"""gradcheck-suite plugin: binds the hand-written numpy layers of layers.py to the cases in cases/.

    gradcheck-suite run examples/numpy_layers/cases --plugin examples/numpy_layers/plugin.py
"""
import gradcheck_suite
from layers import (affine_backward, affine_forward, batchnorm_backward, batchnorm_forward, relu_backward,
                    relu_forward, softmax_loss_backward, softmax_loss_forward)

gradcheck_suite.subject("course_affine", backward=affine_backward)(affine_forward)
gradcheck_suite.subject("course_relu", backward=relu_backward)(relu_forward)
gradcheck_suite.subject("course_batchnorm", backward=batchnorm_backward, cache=True)(batchnorm_forward)
gradcheck_suite.subject("course_softmax_loss", backward=softmax_loss_backward, args=("s", "y"))(softmax_loss_forward)
