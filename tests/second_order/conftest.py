"""The harness tests' fixtures (cases from YAML text, a primitive swapped for a broken one)."""
from tests.harness.conftest import broken, load_case  # noqa: F401
