"""klepto 0.2.8's own test files, run unmodified (but for the package name) on klepto_core.

Add a file to ``KLEPTO_TEST_FILES`` once the modules it needs are in place. Each
file runs in its own subprocess; every ``test_*`` function in it must pass,
except those listed in ``EXPECTED_FAILURES`` with the reason.
"""

from __future__ import annotations

import pytest

KLEPTO_TEST_FILES = [
    "test_ignore.py",
    "test_validate.py",
    "test_rounding.py",
    "test_crypto.py",
]

#: source prepended to a file before it runs (e.g. imports klepto only does under __main__)
PRELUDE: dict[str, str] = {}

#: "file::function" -> why klepto_core deliberately behaves differently
EXPECTED_FAILURES: dict[str, str] = {}


@pytest.mark.parametrize("name", KLEPTO_TEST_FILES)
def test_klepto_file(run_klepto_file, name):
    rows = run_klepto_file(name, PRELUDE.get(name, ""))
    assert rows, f"{name}: no test functions found"
    failures = []
    for function, outcome, trace in rows:
        key = f"{name}::{function}"
        if key in EXPECTED_FAILURES:
            assert outcome == "failed", f"{key} now passes; remove it from EXPECTED_FAILURES"
        elif outcome != "passed":
            failures.append(f"--- {key}\n{trace}")
    assert not failures, "\n".join(failures)


def test_rewrite_renames_only_name_tokens(rewrite_klepto_source):
    source = "from klepto.keymaps import x  # klepto\nimport klepto as kl\ns = 'klepto'\nklepto.y\n"
    assert rewrite_klepto_source(source) == (
        "from klepto_core.keymaps import x  # klepto\n"
        "import klepto_core as kl\ns = 'klepto'\nklepto_core.y\n"
    )


def test_original_klepto_cannot_be_imported_by_a_port(run_klepto_file):
    rows = run_klepto_file("test_crypto.py", "import klepto\n")
    assert [row[:2] for row in rows] == [("<module>", "failed")]
    assert "blocked" in rows[0][2]
