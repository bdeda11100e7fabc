"""``python -m gradcheck_suite``: the same command line as ``gradcheck-suite``."""
from .cli import entry

raise SystemExit(entry())
