"""Hypothesis settings for the fuzz tests: bounded in CI, many more examples on demand.

Two profiles are registered:

* ``gradcheck-ci`` (the default): each fuzz test runs its own small number of examples,
  so the whole of ``tests/robustness/`` stays well under a minute on two cores;
* ``gradcheck-fuzz``: 50 times as many examples, for long local runs. Select it with
  ``GRADCHECK_FUZZ=1 pytest tests/robustness`` (``GRADCHECK_FUZZ=<n>`` multiplies by n).

Tests take their settings from :func:`examples` rather than loading a profile, so the
choice never leaks into the other tests of the session.
"""
from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

__all__ = ["examples", "SCALE", "PROFILE"]

_env = os.environ.get("GRADCHECK_FUZZ", "").strip()
#: how many times the CI number of examples each fuzz test runs
SCALE = (50 if _env in ("1", "true", "yes") else int(_env) if _env.isdigit() and int(_env) > 1 else 1)
PROFILE = "gradcheck-fuzz" if SCALE > 1 else "gradcheck-ci"

settings.register_profile("gradcheck-ci", deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                 HealthCheck.filter_too_much])
settings.register_profile("gradcheck-fuzz", settings.get_profile("gradcheck-ci"))


def examples(n: int) -> settings:
    """Settings of a fuzz test that runs ``n`` examples in CI (``n × SCALE`` when fuzzing)."""
    return settings(settings.get_profile(PROFILE), max_examples=n * SCALE)
