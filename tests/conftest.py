"""Settings for the whole suite."""
from __future__ import annotations

import pytest

from gradcheck_suite.contract import CACHE_ENV


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    """The suite keeps its caches (``gradcheck-suite ops``'s symbolic texts) in a folder of its own,
    never in the user's: a test neither reads what an earlier run left nor leaves anything behind.
    Set in the environment, so the commands the tests start get it too."""
    mp = pytest.MonkeyPatch()
    mp.setenv(CACHE_ENV, str(tmp_path_factory.mktemp("cache")))
    yield
    mp.undo()
