"""Archives opened with ``mode="r"`` and the CLI's looking commands create nothing."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from klepto_core.archives import dir_archive, file_archive, sql_archive, sqltable_archive
from klepto_core.errors import ArchiveReadOnlyError, ArchiveURLError, InvalidArgumentError

OPENERS = {
    "file": (file_archive, "a.pkl"),
    "dir": (dir_archive, "a_dir"),
    "sqltable": (sqltable_archive, "sqlite:///{}/a.db"),
    "sql": (sql_archive, "sqlite:///{}/a.db"),
}


def _name(tmp_path: Path, kind: str) -> str:
    _factory, name = OPENERS[kind]
    return name.format(tmp_path) if "{}" in name else str(tmp_path / name)


@pytest.mark.parametrize("kind", sorted(OPENERS))
def test_read_only_reads_and_refuses_writes(tmp_path: Path, kind: str) -> None:
    factory, _ = OPENERS[kind]
    name = _name(tmp_path, kind)
    writer = factory(name, cached=False)
    writer["k"] = 1
    writer.close()
    before = sorted(os.listdir(tmp_path))
    reader = factory(name, cached=False, mode="r")
    assert reader["k"] == 1
    for write in (lambda: reader.__setitem__("j", 2), reader.clear, lambda: reader.pop("k")):
        with pytest.raises(ArchiveReadOnlyError) as info:
            write()
        assert isinstance(info.value, OSError)
    assert reader["k"] == 1
    reader.close()
    assert sorted(os.listdir(tmp_path)) == before


@pytest.mark.parametrize("kind", sorted(OPENERS))
def test_read_only_open_of_nothing_is_an_error_and_creates_nothing(
    tmp_path: Path, kind: str
) -> None:
    factory, _ = OPENERS[kind]
    with pytest.raises(ArchiveURLError):
        factory(_name(tmp_path, kind), cached=False, mode="r")
    assert os.listdir(tmp_path) == []


def test_mode_is_checked(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgumentError, match="mode must be"):
        file_archive(str(tmp_path / "x.pkl"), cached=False, mode="rw")


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "klepto_core", *args], cwd=cwd, capture_output=True, text=True
    )


def test_cli_on_another_kinds_table_names_it_and_creates_no_table(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    archive = sql_archive(f"sqlite:///{db}", cached=False)
    archive["k"] = 1
    archive.close()
    for command in ("verify", "info", "keys"):
        result = _cli(command, f"sqlite:///{db}", cwd=tmp_path)
        assert result.returncode == 2, result
        assert "sql:sqlite:///" in result.stderr + result.stdout
    names = {n for (n,) in sqlite3.connect(db).execute("select name from sqlite_master")}
    assert "memo" not in names
    assert _cli("keys", f"sqltable:sqlite:///{db}?table=nosuch", cwd=tmp_path).returncode == 2
    names = {n for (n,) in sqlite3.connect(db).execute("select name from sqlite_master")}
    assert "nosuch" not in names


@pytest.mark.parametrize("url", ["dir:", "file:", "dir:memo", "file:memo.pkl"])
def test_cli_info_on_a_missing_local_archive_creates_nothing(tmp_path: Path, url: str) -> None:
    result = _cli("info", url, cwd=tmp_path)
    assert result.returncode == 2, result
    assert os.listdir(tmp_path) == []
