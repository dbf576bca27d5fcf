"""Test-wide settings."""

import pytest


@pytest.fixture(autouse=True, scope="session")
def _trace_cache_in_a_temporary_folder(tmp_path_factory):
    """Parsed-trace cache entries go to a temporary folder, never the user's cache."""
    mp = pytest.MonkeyPatch()
    mp.setenv("VSIM_CACHE", str(tmp_path_factory.mktemp("vsim-cache")))
    yield
    mp.undo()
