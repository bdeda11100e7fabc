"""The ``grade`` command as ``gradcheck_suite.cli`` loads plug-ins: ``add_parser``/``main``."""
from .cli import add_grade_parser as add_parser, grade_main as main

__all__ = ["add_parser", "main"]
