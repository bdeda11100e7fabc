"""The ``explain`` command as ``gradcheck_suite.cli`` loads plug-ins: ``add_parser``/``main``."""
from .cli import add_explain_parser as add_parser, explain_main as main

__all__ = ["add_parser", "main"]
