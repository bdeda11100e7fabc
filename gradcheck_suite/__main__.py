"""``python -m gradcheck_suite``: the same command line as ``gradcheck-suite``."""
from .cli import main

raise SystemExit(main())
