"""A cache whose archive cannot store still answers (or raises, when asked to)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from klepto_core import cached
from klepto_core.archives import file_archive
from klepto_core.errors import ArchiveReadOnlyError, ArchiveStoreWarning, InvalidArgumentError


def _read_only_archive(tmp_path: Path) -> str:
    name = str(tmp_path / "ro.pkl")
    file_archive(name, cached=False)["seed"] = 0
    return name


def test_a_cache_that_cannot_store_answers_and_warns_once(tmp_path: Path) -> None:
    name = _read_only_archive(tmp_path)

    @cached(archive="file", name=name, mode="r", maxsize=2)
    def double(x: int) -> int:
        return 2 * x

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert [double(i) for i in range(6)] == [0, 2, 4, 6, 8, 10]
    assert [w.category for w in caught] == [ArchiveStoreWarning]
    assert "seed" in file_archive(name, cached=False, mode="r")


def test_on_store_error_raise_restores_strictness(tmp_path: Path) -> None:
    name = _read_only_archive(tmp_path)

    @cached(archive="file", name=name, mode="r", on_store_error="raise")
    def double(x: int) -> int:
        return 2 * x

    with pytest.raises(ArchiveReadOnlyError):
        double(1)


def test_on_store_error_is_checked() -> None:
    with pytest.raises(InvalidArgumentError, match="on_store_error"):
        cached(on_store_error="ignore")
