"""Files are interchangeable with klepto 0.2.8's hdf_archive (the oracle runs in a child process)."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy
import pytest
from klepto_archive_hdf import hdf_archive

pytest.importorskip("klepto", reason="the klepto 0.2.8 oracle is not installed")

COMBOS = [
    pytest.param({"serialized": True, "meta": False}, id="serialized"),
    pytest.param({"serialized": True, "meta": True}, id="serialized-meta"),
    pytest.param({"serialized": False, "meta": False}, id="raw"),
    pytest.param({"serialized": False, "meta": True}, id="raw-meta"),
    pytest.param({"serialized": True, "meta": False, "protocol": 2}, id="protocol-2"),
    pytest.param({"serialized": True, "meta": False, "protocol": "json"}, id="json"),
    pytest.param({"serialized": True, "meta": True, "protocol": "json"}, id="json-meta"),
]

#: (key, value) pairs each layout can hold; klepto writes them, or reads ours
SERIALIZED_ITEMS = (
    "[('a', 1), (7, 'seven'), ((1, 'a'), [1, 2, 3]), ('x/y', 2.5), (b'by', None), ('f', min)]"
)
JSON_ITEMS = "[('a', 1), (7, 'seven'), ('l', [1, 'x', None]), ('d', {'k': [1.5]})]"
RAW_ITEMS = "[('a', 1), (7, 'seven'), ('arr', [1, 2, 3]), ('x/y', 2.5)]"


def klepto(code: str, cwd: Path) -> str:
    """Run ``code`` with the real klepto 0.2.8 in a child process; its stdout."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _items(options: dict) -> str:
    if isinstance(options.get("protocol"), str):
        return JSON_ITEMS
    return SERIALIZED_ITEMS if options["serialized"] else RAW_ITEMS


def _expected(options: dict) -> dict:
    items = dict(eval(_items(options)))  # noqa: S307 - our own literal above
    if not options["serialized"]:  # stored as HDF5 data: numpy scalars and arrays come back
        items = {k: (numpy.array(v) if isinstance(v, list) else v) for k, v in items.items()}
        if not options["meta"]:
            items[7] = b"seven"  # a str in a dataset reads back as bytes (klepto's edge 30, kept)
    return items


def _same(a, b) -> bool:
    if isinstance(b, numpy.ndarray):
        return isinstance(a, numpy.ndarray) and a.tolist() == b.tolist()
    return a == b and (type(a) is type(b) or isinstance(a, numpy.generic))


@pytest.mark.parametrize("options", COMBOS)
def test_reads_what_klepto_wrote(tmp_path, options):
    klepto(
        f"""
        from klepto.archives import hdf_archive
        h = hdf_archive('k.hdf5', cached=False, **{options!r})
        for key, value in {_items(options)}:
            h[key] = value
        """,
        tmp_path,
    )
    ours = hdf_archive(str(tmp_path / "k.hdf5"), cached=False, **options)
    expected = _expected(options)
    contents = ours.__asdict__()  # klepto itself cannot list keys here (edge 29)
    assert set(contents) == set(expected)
    for key, value in expected.items():
        assert _same(contents[key], value), key
        assert _same(ours[key], value), key
        assert key in ours
    assert len(ours) == len(expected)
    ours["added"] = 1  # and the file stays writable
    assert len(ours) == len(expected) + 1


@pytest.mark.parametrize("options", COMBOS)
def test_klepto_reads_what_we_write(tmp_path, options):
    ours = hdf_archive(str(tmp_path / "o.hdf5"), cached=False, **options)
    expected = _expected(options)
    ours.update(dict(eval(_items(options))))  # noqa: S307 - our own literal above
    out = klepto(
        f"""
        from klepto.archives import hdf_archive
        h = hdf_archive('o.hdf5', cached=False, **{options!r})
        found = {{}}
        for key, _ in {_items(options)}:
            value = h[key]
            found[repr(key)] = value.tolist() if hasattr(value, 'tolist') else value
        print(repr(found).replace('<built-in function min>', "'<min>'"))
        print(len(h))
        """,
        tmp_path,
    )
    found_text, length = out.splitlines()
    found = ast.literal_eval(found_text)
    assert int(length) == len(expected)
    for key, value in expected.items():
        if value is min:
            value = "<min>"
        elif isinstance(value, numpy.ndarray):
            value = value.tolist()
        assert found[repr(key)] == value, key


def test_klepto_lists_our_file_with_non_ascii_keys(tmp_path):
    """klepto's __asdict__ reads a non-meta file without nested keys (klepto could not write 'é')."""
    ours = hdf_archive(str(tmp_path / "o.hdf5"), cached=False)
    contents = {"a": 1, 7: [2], (1, "b"): None, "é ✓": "accent", b"\xff": 0}
    ours.update(contents)
    out = klepto(
        """
        from klepto.archives import hdf_archive
        print(repr(sorted(hdf_archive('o.hdf5', cached=False).__asdict__().items(), key=repr)))
        """,
        tmp_path,
    )
    assert ast.literal_eval(out) == sorted(contents.items(), key=repr)
