"""Keys by content: arrays, frames, containers and objects as arguments, in memory and on disk.

The issue-10 reproductions (2,000-element arrays differing at index 1000), what the
key of an array covers (and the memory-order choice: C, Fortran and strided views
of equal values share a key), every keymap's exactness, lazy imports, and keys
that a fresh interpreter finds.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import textwrap
from typing import Any

import pytest

import klepto_core
from klepto_core import safe
from klepto_core.errors import UnhashableKeyError
from klepto_core.keymaps import hashmap, keymap, picklemap, stringmap
from klepto_core.keys.content import ContentKey, content_key, exact_key, hashable_key

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")

#: every way a user can cache f(a): the decorator and keymap it is built with
DECORATORS: dict[str, Any] = {
    "lru_cache()": lambda: klepto_core.lru_cache(),
    "cached()": lambda: klepto_core.cached(),
    "cached(keymap='stringmap')": lambda: klepto_core.cached(keymap="stringmap"),
    "cached(keymap='picklemap')": lambda: klepto_core.cached(keymap="picklemap"),
    "safe.lru_cache()": lambda: safe.lru_cache(),
    "lru_cache(keymap=picklemap())": lambda: klepto_core.lru_cache(keymap=picklemap()),
    "lru_cache(keymap=stringmap())": lambda: klepto_core.lru_cache(keymap=stringmap()),
    "lru_cache(keymap=picklemap(serializer='pickle'))": lambda: klepto_core.lru_cache(
        keymap=picklemap(serializer="pickle")
    ),
    "lru_cache(keymap=hashmap(algorithm='md5'))": lambda: klepto_core.lru_cache(
        keymap=hashmap(algorithm="md5")
    ),
    "lru_cache(keymap=hashmap(algorithm='stable'))": lambda: klepto_core.lru_cache(
        keymap=hashmap(algorithm="stable")
    ),
    "lru_cache(keymap=keymap())": lambda: klepto_core.lru_cache(keymap=keymap()),
    "lru_cache(keymap=stringmap(flat=False, typed=True))": lambda: klepto_core.lru_cache(
        keymap=stringmap(flat=False, typed=True)
    ),
}


def counting(decorator: Any) -> Any:
    """A decorated function returning how many times it ran, so a shared key shows."""
    calls = []

    def f(x: Any) -> int:
        calls.append(1)
        return len(calls)

    return DECORATORS[decorator]()(f)


def pair(kind: str) -> tuple[Any, Any]:
    """The issue's two arguments: equal but for one element (index 1000)."""
    a = np.arange(2000.0)
    b = a.copy()
    b[1000] = -1
    if kind == "frame":
        return pd.DataFrame({"x": a, "y": a * 2}), pd.DataFrame({"x": b, "y": a * 2})
    if kind == "series":
        return pd.Series(a), pd.Series(b)
    return a, b


@pytest.mark.parametrize("kind", ["array", "frame", "series"])
@pytest.mark.parametrize("decorator", list(DECORATORS))
def test_the_issue_reproduction_never_shares_a_result(decorator: str, kind: str) -> None:
    f = counting(decorator)
    a, b = pair(kind)
    assert f(a) == 1
    assert f(b) == 2  # klepto returned f(a)'s result here
    assert f(a.copy()) == 1  # equal content built separately: a hit
    assert f(b.copy()) == 2


@dataclasses.dataclass
class Point:
    x: float
    tags: list[str]


@pytest.mark.parametrize("decorator", list(DECORATORS))
def test_lists_dicts_sets_and_dataclasses_are_keyed_by_content(decorator: str) -> None:
    f = counting(decorator)
    assert f([1, 2]) == 1 and f([1, 2]) == 1 and f([2, 1]) == 2
    assert f(Point(1.0, ["t"])) == 3 and f(Point(1.0, ["t"])) == 3 and f(Point(1.0, ["u"])) == 4
    assert f({"a": [1], "b": 2}) == 5
    reordered = f({"b": 2, "a": [1]})
    if "map" in decorator or "safe" in decorator:
        assert reordered in (5, 6)  # a text or pickle key keeps klepto's order: maybe a miss
    else:
        assert reordered == 5  # by content, insertion order does not matter


def test_what_the_key_of_an_array_covers() -> None:
    a = np.arange(12.0).reshape(3, 4)
    key = content_key(a)
    assert isinstance(key, ContentKey) and key.kind == "ndarray" and len(key.digest) == 32
    assert content_key(a.copy()) == key and hash(content_key(a.copy())) == hash(key)
    different = [
        a.astype("float32"),  # dtype
        a.astype(">f8"),  # byte order is part of the dtype
        a.reshape(4, 3),  # shape
        a.reshape(12),
        np.where(a == 5, -1.0, a),  # one element
        np.where(a == 0, -0.0, a),  # -0.0 is not 0.0 (1/x tells them apart)
        a.tolist(),  # a list of the same numbers is not an array
        np.ma.masked_array(a, mask=a > 5),  # masked: the mask counts
    ]
    keys = [content_key(x) for x in different]
    assert key not in keys and len(set(keys)) == len(keys)
    assert content_key(np.ma.masked_array(a, mask=a > 5)) != content_key(
        np.ma.masked_array(a, mask=a > 6)
    )


def test_memory_order_is_not_part_of_the_key() -> None:
    # the documented choice: equal values share a key whatever their memory layout
    a = np.arange(24.0).reshape(2, 3, 4)
    key = content_key(a)
    assert content_key(np.asfortranarray(a)) == key
    assert content_key(np.ascontiguousarray(a.transpose(2, 1, 0)).transpose(2, 1, 0)) == key
    big = np.arange(4_000_000.0).reshape(2000, 2000)  # strided views hashed block by block
    assert content_key(big[:, ::2]) == content_key(big[:, ::2].copy())
    assert content_key(np.asfortranarray(big)) == content_key(big)
    assert content_key(big[::-1]) != content_key(big)


@pytest.mark.parametrize(
    "value",
    [
        np.array(3.5),
        np.zeros(0),
        np.zeros((0, 3)),
        np.array(["a", "bc"]),
        np.array([b"a", b"bc"]),
        np.array(["2020-01-01", "2021-06-30"], dtype="M8[D]"),
        np.array([1, 2], dtype="m8[s]"),
        np.array([(1, 2.0), (3, 4.0)], dtype=[("i", "i4"), ("f", "f8")]),
        np.array([[1, "x"], [None, 2.5]], dtype=object),
        np.array([1 + 2j]),
        np.array([True, False]),
    ],
    ids=repr,
)
def test_every_kind_of_array_is_keyed_exactly(value: Any) -> None:
    key = content_key(value)
    assert content_key(value.copy()) == key
    flat = value.reshape(-1)
    if value.size > 1 and np.any(flat[0] != flat[-1]):
        changed = value.copy()
        changed.reshape(-1)[0] = flat[-1]
        assert content_key(changed) != key


def test_structured_field_names_count_and_padding_does_not() -> None:
    one = np.array([(1, 2.0)], dtype=[("i", "i4"), ("f", "f8")])
    other = np.array([(1, 2.0)], dtype=[("j", "i4"), ("f", "f8")])
    padded = np.zeros(1, dtype=np.dtype({"names": ["i", "f"], "formats": ["i4", "f8"],
                                         "offsets": [0, 8], "itemsize": 24}))
    padded["i"], padded["f"] = 1, 2.0
    assert content_key(one) != content_key(other)
    assert content_key(one) == content_key(padded)


def test_pandas_names_index_and_dtypes_count() -> None:
    df = pd.DataFrame({"x": [1.0, 2.0], "y": ["a", "b"]}, index=pd.Index([10, 20], name="k"))
    key = content_key(df)
    assert content_key(df.copy()) == key
    variants = [
        df.rename(columns={"x": "z"}),
        df.rename_axis("other"),
        df.set_axis([10, 21]),
        df.astype({"x": "float32"}),
        df.iloc[::-1],
        df[["y", "x"]],
        df.assign(y=pd.Categorical(["a", "b"])),
        df.assign(y=pd.Categorical(["a", "b"], categories=["b", "a"])),
    ]
    keys = [content_key(v) for v in variants]
    assert key not in keys and len(set(keys)) == len(keys)
    s = pd.Series([1, 2], name="s")
    assert content_key(s) != content_key(s.rename("t")) != content_key(s.to_frame())
    mi = pd.MultiIndex.from_tuples([(1, "a"), (2, "b")], names=["n", "m"])
    assert content_key(mi) != content_key(mi.set_names(["n", "other"]))
    assert content_key(pd.RangeIndex(3)) != content_key(pd.Index([0, 1, 2]))


def test_text_keys_of_plain_arguments_are_what_they_always_were() -> None:
    for key in [(1, 2, "c", 3), ((1, (2, "t")), {"k": [1.5, None]}), ("a", b"x", {1, 2}), (min,)]:
        assert exact_key(key) is key  # unchanged: the same text, the same persisted keys
    assert stringmap()(1, 2, c=3) == "(1, 2, 'c', 3)"
    assert hashmap(algorithm="md5")(1, 2, c=3) == "4949ee77b627e4b89b24fdeebab2444e"
    assert picklemap()([1, 2, 3, "4", "'5'", min]) == "([1, 2, 3, '4', \"'5'\", <built-in function min>],)"


def test_arguments_whose_repr_is_lossy_are_written_as_their_content_key() -> None:
    class Opaque:
        def __init__(self, n: int) -> None:
            self.n = n

    a = np.arange(2000.0)
    text = stringmap()(a)
    assert text == f"({content_key(a)!r},)" and "..." not in text
    assert stringmap()(Opaque(1)) != stringmap()(Opaque(2))  # '<Opaque object at 0x...>' no more
    assert stringmap()(Opaque(1)) == stringmap()(Opaque(1))
    assert "0x" not in stringmap()([Opaque(1)])
    # a pickled key holds the digest, not 16 kB of array
    assert len(picklemap(serializer="pickle")(a)) < 200


def test_hashable_key_replaces_only_what_has_no_hash() -> None:
    a = np.arange(3)
    key = ("ns", ("a", a, "b", 2))
    out = hashable_key(key)
    assert out == ("ns", ("a", content_key(a), "b", 2))
    assert hashable_key((1, "x")) == (1, "x")


def test_an_argument_nothing_can_encode_is_a_clear_error_and_safe_computes_it() -> None:
    @klepto_core.lru_cache()
    def f(x, y=0):
        return 1

    with pytest.raises(UnhashableKeyError, match="argument 'x' \\(list\\)") as err:
        f([n for n in range(3)] + [(n for n in range(3))])
    assert "cannot key a generator by content" in str(err.value)

    @safe.lru_cache()
    def g(x):
        return 2

    assert g([(n for n in range(3))]) == 2 and g.info().miss == 1 and g.info().size == 0


def test_hashable_arguments_keep_their_plain_key() -> None:
    f = klepto_core.lru_cache()(lambda x, y: x + y)
    f(1, 2)
    assert list(f.__cache__()) == [("x", 1, "y", 2)]  # no content key on the fast path


LAZY = textwrap.dedent(
    """
    import sys
    import klepto_core

    @klepto_core.lru_cache()
    def f(a, b):
        return a + b

    f(1, 2); f(1, 2)
    g = klepto_core.cached()(lambda x: x)
    g(3)
    print(sorted(m for m in ("numpy", "pandas", "xxhash") if m in sys.modules))
    f([1], [2])  # a content key: xxhash now, never numpy or pandas
    print(sorted(m for m in ("numpy", "pandas", "xxhash") if m in sys.modules))
    """
)


def test_import_and_plain_calls_import_neither_numpy_pandas_nor_xxhash() -> None:
    done = subprocess.run(
        [sys.executable, "-c", LAZY],
        capture_output=True,
        text=True,
        check=True,
        env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)),
    )
    assert done.stdout.split("\n")[:2] == ["[]", "['xxhash']"]


FRESH = textwrap.dedent(
    """
    import sys
    import numpy, pandas, klepto_core

    calls = []

    @klepto_core.cached(archive=sys.argv[1], name=sys.argv[2])
    def f(a, frame, options):
        calls.append(1)
        return a * 2, frame.x.sum()

    a = numpy.arange(2000.0)
    b = a.copy(); b[1000] = -1
    frame = pandas.DataFrame({"x": [1, 2]})
    out, total = f(a, frame, {"k": [1, 2]})
    f(b, frame, {"k": [1, 2]})
    print(len(calls), float(out[3]), int(total))
    """
)


@pytest.mark.parametrize("kind", ["dir", "file"])
def test_a_fresh_interpreter_finds_results_keyed_by_content(tmp_path: Any, kind: str) -> None:
    name = str(tmp_path / ("memo" if kind == "dir" else "memo.pkl"))
    runs = []
    for seed in ("1", "2"):
        done = subprocess.run(
            [sys.executable, "-c", FRESH, kind, name],
            capture_output=True,
            text=True,
            check=True,
            env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path), PYTHONHASHSEED=seed),
        )
        runs.append(done.stdout.split())
    assert runs[0] == ["2", "6.0", "3"]  # two different calls: two misses
    assert runs[1] == ["0", "6.0", "3"]  # a new interpreter, another hash seed: two hits
