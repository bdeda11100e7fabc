"""gradcheck-suite plugin: binds the fused Swish to the case `swish` (cases/swish.yaml).

    gradcheck-suite run examples/custom_function/cases --plugin examples/custom_function/plugin.py
"""
import gradcheck_suite
from swish import Swish  # this folder is on sys.path while the plugin loads

gradcheck_suite.subject("swish")(Swish.apply)
