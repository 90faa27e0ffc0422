"""The rollback journal: committed batches land whole, interrupted ones leave the old file."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from klepto_archive_hdf import hdf_archive
from klepto_archive_hdf._journal import PAGE, JournaledFile, journal_path, recover

_ops = st.lists(
    st.one_of(
        st.tuples(
            st.just("write"), st.integers(0, 6 * PAGE), st.binary(min_size=1, max_size=2 * PAGE)
        ),
        st.tuples(st.just("truncate"), st.integers(0, 6 * PAGE), st.just(b"")),
        st.tuples(st.just("read"), st.integers(0, 7 * PAGE), st.integers(0, 3 * PAGE)),
    ),
    max_size=25,
)


def _run(journaled, model, ops):
    for op, at, arg in ops:
        if op == "write":
            journaled.seek(at)
            journaled.write(arg)
            if at > len(model):
                model.extend(bytes(at - len(model)))
            model[at : at + len(arg)] = arg
        elif op == "truncate":
            journaled.truncate(at)
            del model[at:]
            model.extend(bytes(at - len(model)))
        else:
            journaled.seek(at)
            got = journaled.read(arg)
            expected = bytes(model[at : at + arg])
            assert got == expected + bytes(arg - len(expected))  # past the end reads zeros
        journaled.seek(0, os.SEEK_END)
        assert journaled.tell() == len(model)


@settings(max_examples=150, deadline=None)
@given(
    original=st.binary(max_size=5 * PAGE),
    ops=_ops,
    spill=st.sampled_from([PAGE, 3 * PAGE, 1 << 30]),
)
def test_commit_writes_exactly_the_edits(tmp_path_factory, original, ops, spill):
    path = str(tmp_path_factory.mktemp("j") / "f")
    with open(path, "wb") as handle:
        handle.write(original)
    model = bytearray(original)
    journaled = JournaledFile(path, spill=spill)
    _run(journaled, model, ops)
    journaled.commit()
    with open(path, "rb") as handle:
        assert handle.read() == bytes(model)
    assert not os.path.exists(journal_path(path))


@settings(max_examples=150, deadline=None)
@given(original=st.binary(max_size=5 * PAGE), ops=_ops, spill=st.sampled_from([PAGE, 1 << 30]))
def test_abort_and_crash_leave_the_original(tmp_path_factory, original, ops, spill):
    folder = tmp_path_factory.mktemp("j")
    for ending in ("abort", "crash"):
        path = str(folder / ending)
        with open(path, "wb") as handle:
            handle.write(original)
        journaled = JournaledFile(path, spill=spill)
        _run(journaled, bytearray(original), ops)
        if ending == "abort":
            journaled.abort()
        else:
            journaled._apply()  # every page on disk, the journal still there: a crash before commit
            journaled.close()
            recover(path)
        with open(path, "rb") as handle:
            assert handle.read() == original
        assert not os.path.exists(journal_path(path))


def test_a_torn_journal_record_stops_the_rollback_safely(tmp_path):
    path = str(tmp_path / "f")
    original = bytes(range(256)) * 64  # 4 pages
    with open(path, "wb") as handle:
        handle.write(original)
    journaled = JournaledFile(path, spill=1 << 30)
    journaled.seek(0)
    journaled.write(b"\x01" * PAGE)
    journaled._apply()  # page 0 journaled, then overwritten
    journaled.seek(2 * PAGE)
    journaled.write(b"\x02" * PAGE)
    journaled._save([2])  # page 2 journaled but the crash comes before its write ...
    journaled.close()
    with open(journal_path(path), "r+b") as handle:  # ... and tore the record's tail
        handle.truncate(os.path.getsize(journal_path(path)) - 7)
    assert recover(path)
    with open(path, "rb") as handle:
        assert handle.read() == original


# -- real processes killed mid-commit ------------------------------------------------------

_CHILD = textwrap.dedent(
    """
    import os, sys
    import klepto_archive_hdf._journal as journal
    from klepto_archive_hdf import hdf_archive

    path, die_after, where = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    archive = hdf_archive(path, cached=False)
    real = getattr(os, where)
    calls = [0]

    def dying(*args):
        if where == "unlink" and not str(args[0]).endswith("-journal"):
            return real(*args)
        if calls[0] == die_after:  # the commit point: the journal is about to go
            os.kill(os.getpid(), 9)
        calls[0] += 1
        return real(*args)

    setattr(journal.os, where, dying)
    archive.update({("new", i): "n" * (i % 300) for i in range(200)})
    archive["old-3"] = "replaced"
    """
)


@pytest.mark.parametrize(
    ("where", "die_after"), [("pwrite", n) for n in (0, 1, 3, 8, 20)] + [("unlink", 0)]
)
def test_a_writer_killed_mid_commit_leaves_the_old_contents(tmp_path, where, die_after):
    path = str(tmp_path / "crash.h5")
    archive = hdf_archive(path, cached=False)
    old = {f"old-{i}": list(range(i)) for i in range(30)}
    archive.update(old)
    with open(path, "rb") as handle:
        before = handle.read()
    child = subprocess.run([sys.executable, "-c", _CHILD, path, str(die_after), where])
    assert child.returncode == -9
    assert os.path.exists(journal_path(path))  # the dead writer's journal
    with open(path, "rb") as handle:
        assert (handle.read() == before) == (where == "pwrite" and die_after == 0)
    assert archive.__asdict__() == old  # rolled back by the next opener
    assert not os.path.exists(journal_path(path))
    archive["after"] = 1
    assert len(archive) == 31


def test_a_writer_killed_at_random_moments_never_breaks_the_file(tmp_path):
    path = str(tmp_path / "random.h5")
    archive = hdf_archive(path, cached=False)
    script = textwrap.dedent(
        """
        import sys
        from klepto_archive_hdf import hdf_archive
        archive = hdf_archive(sys.argv[1], cached=False)
        print("ready", flush=True)
        i = 0
        while True:
            archive.update({("k", i, j): ("v", i, j) for j in range(5)})
            i += 1
        """
    )
    import random
    import signal
    import time

    rng = random.Random(7)
    for _round in range(12):
        child = subprocess.Popen([sys.executable, "-c", script, path], stdout=subprocess.PIPE)
        assert child.stdout.readline() == b"ready\n"
        time.sleep(rng.uniform(0.0, 0.3))
        child.send_signal(signal.SIGKILL)
        child.wait()
        contents = archive.__asdict__()  # readable, whatever the moment of death
        batches: dict[int, int] = {}
        for key, value in contents.items():
            assert value == ("v", *key[1:])
            batches[key[1]] = batches.get(key[1], 0) + 1
        assert set(batches.values()) <= {5}  # every batch landed whole or not at all
