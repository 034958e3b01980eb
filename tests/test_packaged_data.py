"""The case tables shipped in the package are the ones the tests run."""

from pathlib import Path

import pytest

TESTS_DATA = Path(__file__).parent / "data"
PACKAGED_CASES = Path(__file__).parent.parent / "mailtriage" / "data" / "cases"


@pytest.mark.parametrize("name", ["triage_cases.json", "nonreporting_cases.json"])
def test_packaged_case_table_matches_tests(name):
    assert (PACKAGED_CASES / name).read_bytes() == (TESTS_DATA / name).read_bytes()
