"""Binds every planted bug (and the correct versions) to a case of planted/cases/planted.yaml."""
import gradcheck_suite
from bugs import (SlightlyOff, StaleForward, WrongDoubleBackward, affine_backward, affine_backward_batch_one,
                  affine_backward_db_mean, affine_backward_transposed_dw, affine_forward)

gradcheck_suite.subject("stale_forward")(StaleForward.apply)
gradcheck_suite.subject("slightly_off")(SlightlyOff.apply)
gradcheck_suite.subject("wrong_double_backward")(WrongDoubleBackward.apply)
gradcheck_suite.subject("affine_ok", backward=affine_backward)(affine_forward)
gradcheck_suite.subject("db_mean", backward=affine_backward_db_mean)(affine_forward)
gradcheck_suite.subject("transposed_dw", backward=affine_backward_transposed_dw)(affine_forward)
gradcheck_suite.subject("batch_one", backward=affine_backward_batch_one)(affine_forward)
