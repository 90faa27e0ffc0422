"""The ``klepto-core`` command against real dir, file and SQLite archives, run as a subprocess."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import klepto_core

#: (archive plugin, URL template) of every plugin that can store into an SQLite file
SQLITE_TARGETS = [("sql", "sql:sqlite:///{}"), ("sqltable", "sqlite:///{}")]

ENTRIES = {"a": 1, "b": [2, "two"], 7: "int seven", "7": "str seven", (1, 2): {"x": 3.5}}
#: klepto's dir_archive files 7 and "7" in one directory, so its archives hold one of them
LEGACY = {"a": 1, "b": [2, "two"], 7: "int seven", (1, 2): {"x": 3.5}, "text key": None}


def make_archive(url: str, entries: dict) -> None:
    with klepto_core.open_archive(url) as archive:
        archive.update(entries)


def contents(url: str) -> dict:
    with klepto_core.open_archive(url) as archive:
        return archive.__asdict__()


def corrupt_on_disk(root: Path, marker: bytes) -> None:
    """Overwrite the stored bytes that hold ``marker`` (layout-independent: search the files)."""
    files = [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()]
    hit = [p for p in files if marker in p.read_bytes()]
    assert hit, f"no file under {root} holds {marker!r}"
    for path in hit:
        data = path.read_bytes()
        path.write_bytes(data.replace(marker, b"\xff" * len(marker)))


# -- plugins, info, keys, get ------------------------------------------------------------------


def test_plugins_lists_every_installed_plugin_with_its_distribution(cli) -> None:
    result = cli("plugins", "--json")
    assert result.code == 0, result.err
    rows = {(r["kind"], r["name"]): r for r in result.json()}
    for info in klepto_core.plugins():
        assert rows[(info.kind, info.name)]["distribution"] == info.distribution
        assert rows[(info.kind, info.name)]["version"] == info.version
    table = cli("plugins", "policy")
    assert table.code == 0
    assert table.out.splitlines()[0].split()[:4] == ["KIND", "NAME", "DISTRIBUTION", "VERSION"]
    assert all(line.startswith("policy ") for line in table.out.splitlines()[1:])


def test_info_describes_a_dir_archive(cli, need_archives, tmp_path) -> None:
    need_archives("dir")
    make_archive(f"dir:{tmp_path / 'memo'}", ENTRIES)
    result = cli("info", "dir:memo", "--json")
    assert result.code == 0, result.err
    info = result.json()
    assert info["plugin"] == "dir" and info["distribution"] == "klepto-archive-dir"
    assert info["type"] == "dir_archive"
    assert info["entries"] == len(ENTRIES)
    assert info["bytes"] == sum(p.stat().st_size for p in (tmp_path / "memo").rglob("*") if p.is_file())
    assert info["bytes"] > 0
    text = cli("info", "dir:memo")
    assert text.code == 0 and f"entries      {len(ENTRIES)}" in text.out


def test_info_shows_a_file_archives_format(cli, need_archives, tmp_path) -> None:
    need_archives("file")
    make_archive(f"file:{tmp_path / 'memo.pkl'}", {"a": 1})
    info = cli("info", "file:memo.pkl", "--json").json()
    assert info["entries"] == 1 and info["type"] == "file_archive"
    assert info["bytes"] == (tmp_path / "memo.pkl").stat().st_size
    assert info["format"] is not None


def test_info_counts_an_sqlite_database_and_refuses_a_missing_one(cli, need_archives, tmp_path) -> None:
    need_archives("sqltable")
    make_archive(f"sqlite:///{tmp_path / 'memo.db'}", {"a": 1, "b": 2})
    info = cli("info", "sqlite:///memo.db", "--json")
    assert info.code == 0, info.err
    assert info.json()["entries"] == 2
    assert info.json()["bytes"] >= (tmp_path / "memo.db").stat().st_size > 0
    missing = cli("keys", "sqlite:///absent.db")
    assert missing.code == 2 and "no archive at" in missing.err
    assert not (tmp_path / "absent.db").exists()  # reading never creates a database


def test_keys_prints_reprs_that_get_takes_back(cli, need_archives, tmp_path) -> None:
    need_archives("dir")
    make_archive(f"dir:{tmp_path / 'memo'}", ENTRIES)
    listed = cli("keys", "dir:memo", "--json").json()
    assert listed["count"] == len(ENTRIES)
    assert sorted(listed["keys"]) == sorted(repr(k) for k in ENTRIES)
    text = cli("keys", "dir:memo")
    assert sorted(text.out.splitlines()) == sorted(repr(k) for k in ENTRIES)
    for key, value in ENTRIES.items():
        got = cli("get", "dir:memo", repr(key), "--json")
        assert got.code == 0, got.err
        assert got.json()["repr"] == repr(value)
        assert got.json()["key"] == repr(key)


def test_get_parses_literals_and_falls_back_to_text(cli, need_archives, tmp_path) -> None:
    need_archives("dir")
    make_archive(f"dir:{tmp_path / 'memo'}", {7: "int", "7": "str", "hello world": 1, (1, 2): 3})
    assert cli("get", "dir:memo", "7", "--json").json()["value"] == "int"
    assert cli("get", "dir:memo", "'7'", "--json").json()["value"] == "str"
    assert cli("get", "dir:memo", "hello world", "--json").json()["value"] == 1
    assert cli("get", "dir:memo", "(1, 2)").out.strip() == "3"
    missing = cli("get", "dir:memo", "nope")
    assert missing.code == 4
    assert missing.err.strip() == "klepto-core: error: no key 'nope' in 'dir:memo'"


def test_get_of_a_string_key_that_looks_like_a_number(cli, need_archives, tmp_path) -> None:
    need_archives("dir")
    make_archive(f"dir:{tmp_path / 'memo'}", {"42": "only a str key"})
    got = cli("get", "dir:memo", "42", "--json")
    assert got.code == 0 and got.json()["value"] == "only a str key"


# -- copy ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "plugin", "template"),
    [("dir", *SQLITE_TARGETS[0]), ("dir", *SQLITE_TARGETS[1]), ("file", *SQLITE_TARGETS[0])],
)
def test_a_klepto_written_archive_copies_into_sqlite(
    cli, need_archives, tmp_path, kind, plugin, template
) -> None:
    need_archives(kind, plugin)
    from klepto import archives  # the original klepto writes the source

    legacy = getattr(archives, f"{kind}_archive")(str(tmp_path / "legacy"), cached=False)
    legacy.update(LEGACY)
    url = template.format(tmp_path / "copy.db")
    result = cli("copy", f"{kind}:legacy", url, "--json")
    assert result.code == 0, result.err
    report = result.json()
    assert (report["total"], report["copied"], report["skipped"]) == (5, 5, 0)
    assert contents(url) == LEGACY
    assert cli("verify", url).code == 0


def test_copy_is_resumable_and_overwrite_copies_everything(cli, need_archives, tmp_path) -> None:
    need_archives("dir", "file")
    source = {f"k{i}": i for i in range(30)}
    make_archive(f"dir:{tmp_path / 'src'}", source)
    # an earlier, interrupted run left 10 entries (here with other values, to see them kept)
    make_archive(f"file:{tmp_path / 'dst.log'}", {f"k{i}": -1 for i in range(10)})

    first = cli("copy", "dir:src", "file:dst.log", "--batch", "7", "--json").json()
    assert (first["total"], first["copied"], first["skipped"]) == (30, 20, 10)
    copied = contents(f"file:{tmp_path / 'dst.log'}")
    assert copied == {**source, **{f"k{i}": -1 for i in range(10)}}

    again = cli("copy", "dir:src", "file:dst.log", "--json").json()
    assert (again["copied"], again["skipped"]) == (0, 30)

    forced = cli("copy", "dir:src", "file:dst.log", "--overwrite", "--json").json()
    assert (forced["copied"], forced["skipped"]) == (30, 0)
    assert contents(f"file:{tmp_path / 'dst.log'}") == source


def test_copy_shows_a_progress_bar_only_when_asked_or_on_a_tty(cli, need_archives, tmp_path) -> None:
    need_archives("dir")
    make_archive(f"dir:{tmp_path / 'src'}", {i: i for i in range(12)})
    quiet = cli("copy", "dir:src", "dir:one")
    assert quiet.code == 0 and quiet.err == ""  # stderr is a pipe here, not a TTY
    assert quiet.out.strip() == "12 copied, 0 already in the destination, 0 corrupt, 0 not storable"
    loud = cli("copy", "dir:src", "dir:two", "--progress", "--batch", "5")
    assert loud.code == 0
    assert "copy [" in loud.err and "12/12 100.0%" in loud.err
    assert contents(f"dir:{tmp_path / 'two'}") == {i: i for i in range(12)}


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_copy_draws_the_bar_when_stderr_is_a_terminal(need_archives, tmp_path) -> None:
    need_archives("dir")
    import os
    import pty
    import subprocess

    make_archive(f"dir:{tmp_path / 'src'}", {i: i for i in range(5)})
    master, slave = pty.openpty()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "klepto_core", "copy", "dir:src", "dir:dst"],
            cwd=tmp_path, stdout=subprocess.PIPE, stderr=slave, text=True, timeout=300,
            env={**os.environ, "TERM": "xterm"},
        )
        drawn = os.read(master, 65536).decode()
    finally:
        os.close(slave)
        os.close(master)
    assert proc.returncode == 0
    assert "copy [" in drawn and "5/5 100.0%" in drawn


def test_copy_skips_and_reports_a_corrupt_source_entry(cli, need_archives, tmp_path) -> None:
    need_archives("dir")
    make_archive(f"dir:{tmp_path / 'src'}", {"good": 1, "bad": "CORRUPT-ME-0123456789"})
    corrupt_on_disk(tmp_path / "src", b"CORRUPT-ME-0123456789")
    result = cli("copy", "dir:src", "dir:dst", "--json")
    assert result.code == 1
    report = result.json()
    assert report["copied"] == 1 and [row["key"] for row in report["corrupt"]] == ["'bad'"]
    assert contents(f"dir:{tmp_path / 'dst'}") == {"good": 1}


# -- verify --------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["dir", "file"])
def test_verify_finds_a_corrupted_entry(cli, need_archives, tmp_path, kind) -> None:
    need_archives(kind)
    url = f"{kind}:{tmp_path / 'memo'}"
    make_archive(url, {"good": 1, "bad": "CORRUPT-ME-0123456789", (1, 2): [3]})
    healthy = cli("verify", url, "--json")
    assert healthy.code == 0 and healthy.json() == {"url": url, "checked": 3, "corrupt": []}

    corrupt_on_disk(tmp_path / "memo", b"CORRUPT-ME-0123456789")
    result = cli("verify", url, "--json")
    assert result.code == 1
    report = result.json()
    assert report["checked"] == 3
    assert [row["key"] for row in report["corrupt"]] == ["'bad'"]
    assert report["corrupt"][0]["reason"]
    text = cli("verify", url)
    assert text.code == 1
    assert text.out.splitlines()[-1] == "3 entries checked, 1 corrupt"
    assert text.out.splitlines()[0].startswith("'bad': ")
    assert cli("get", url, "bad").code == 1
    assert cli("get", url, "good").out.strip() == "1"


# -- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("info", "no-scheme-here"),
        ("keys", "nosuchplugin:x"),
        ("get", "dir:missing-dir", "k"),
        ("verify", "file:missing.log"),
        ("copy", "dir:missing-dir", "dir:out"),
        ("copy", "no-scheme", "dir:out"),
    ],
)
def test_bad_urls_exit_2_with_one_line(cli, need_archives, tmp_path, args) -> None:
    need_archives("dir", "file")
    result = cli(*args)
    assert result.code == 2
    assert result.out == ""
    assert result.err.count("\n") == 1 and result.err.startswith("klepto-core: error: ")
    as_json = cli(*args, "--json")
    assert as_json.code == 2 and as_json.json()["exit_code"] == 2
    assert not (tmp_path / "missing-dir").exists()  # a read never creates the archive
    assert not (tmp_path / "out").exists()


def test_a_file_that_is_not_an_archive_exits_2_untouched(cli, need_archives, tmp_path) -> None:
    need_archives("file")
    (tmp_path / "notes.txt").write_text("not an archive\n")
    for args in (("info", "file:notes.txt"), ("copy", "file:notes.txt", "dir:out")):
        result = cli(*args)
        assert result.code == 2, result.err
        assert "notes.txt" in result.err and result.err.count("\n") == 1
    assert (tmp_path / "notes.txt").read_text() == "not an archive\n"


def test_unknown_scheme_lists_the_known_ones(cli) -> None:
    from klepto_core.registry.urls import url_schemes

    result = cli("info", "nosuchplugin:x")
    assert result.code == 2
    for scheme in url_schemes():
        assert scheme in result.err


def test_unreachable_server_exits_3(cli) -> None:
    from klepto_core.registry.urls import url_schemes

    schemes = url_schemes()
    if "redis" in schemes:
        url = "redis://127.0.0.1:1/0"
    elif "postgresql" in schemes:
        url = "postgresql://nobody@127.0.0.1:1/nothing"
    else:
        pytest.skip("no installed archive plugin opens redis:// or postgresql:// URLs")
    result = cli("info", url)
    assert result.code == 3, result.err
    assert result.err.count("\n") == 1 and "127.0.0.1" in result.err
    assert cli("keys", url, "--json").json()["exit_code"] == 3


def test_usage_errors_exit_2(cli) -> None:
    assert cli().code == 2
    assert cli("copy", "dir:a").code == 2
    assert cli("copy", "dir:a", "dir:b", "--batch", "0").code == 2


# -- the same command two ways, and --json everywhere ---------------------------------------------


def test_python_dash_m_is_the_same_command(cli, need_archives, tmp_path) -> None:
    need_archives("dir")
    make_archive(f"dir:{tmp_path / 'memo'}", {"a": 1})
    by_module = cli("info", "dir:memo", "--json", command=[sys.executable, "-m", "klepto_core"])
    by_script = cli("info", "dir:memo", "--json")
    assert by_module.code == by_script.code == 0
    assert by_module.json() == by_script.json()


def test_every_subcommand_speaks_json(cli, need_archives, tmp_path) -> None:
    need_archives("dir")
    make_archive(f"dir:{tmp_path / 'memo'}", {"a": 1})
    commands = [
        ("plugins",),
        ("info", "dir:memo"),
        ("keys", "dir:memo"),
        ("get", "dir:memo", "a"),
        ("copy", "dir:memo", "dir:other"),
        ("verify", "dir:memo"),
        ("new-plugin", "policy", "jsoncheck", "--dir", str(tmp_path / "skeletons")),
    ]
    for args in commands:
        result = cli(*args, "--json")
        assert result.code == 0, (args, result.err)
        json.loads(result.out)


def test_demo_json_shows_the_second_interpreter_computes_nothing(cli, need_archives, tmp_path):
    need_archives("dir")
    result = cli("demo", "--dir", str(tmp_path), "--json")
    assert result.code == 0, result.err
    first, second = result.json()["runs"]
    assert first["computed"] == 10 and second["computed"] == 0 and second["loaded"] == 10
