"""The per-case deadline ends its block even when code inside swallows the first alarm."""
from __future__ import annotations

import time

import pytest

from gradcheck_suite.budget import OutOfTime, deadline


def test_a_deadline_ends_a_block_that_swallows_its_first_alarm():
    # library code with a bare `except:` (as parts of sympy have) can swallow one OutOfTime;
    # the deadline must fire again rather than let the block run on for ever
    start = time.monotonic()
    swallowed = 0
    with pytest.raises(OutOfTime):
        with deadline(0.2):
            while time.monotonic() - start < 10:
                try:
                    time.sleep(0.01)
                except BaseException:  # noqa: BLE001 - what the test is about
                    swallowed += 1
                    if swallowed > 1:
                        raise
    assert swallowed == 2 and time.monotonic() - start < 5


def test_no_alarm_outlives_its_deadline():
    with deadline(0.05):
        pass
    time.sleep(0.4)  # a stray alarm would raise OutOfTime here
