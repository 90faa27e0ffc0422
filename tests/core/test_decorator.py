"""The klepto-style decorators and cached(): what a decorated function does and carries."""

from __future__ import annotations

import pickle
import threading
from collections import OrderedDict

import pytest

import klepto_core
from klepto_core import safe
from klepto_core.errors import (
    InvalidArgumentError,
    InvalidMaxsizeError,
    UnhashableKeyError,
    UnknownPluginError,
)
from klepto_core.keymaps import keymap
from klepto_core.tools import CacheInfo


def counting(func):
    calls = []

    def wrapped(*args, **kwds):
        calls.append((args, kwds))
        return func(*args, **kwds)

    wrapped.calls = calls
    wrapped.__name__ = func.__name__
    return wrapped


def test_default_key_never_lets_two_calls_share_a_result() -> None:
    # hash(-1) == hash(-2) in CPython: klepto returned f(-2) == f(-1) here
    @klepto_core.lru_cache()
    def times_ten(x):
        return x * 10

    assert (times_ten(-1), times_ten(-2)) == (-10, -20)
    assert times_ten.info() == CacheInfo(0, 2, 0, 100, 2)


def test_positional_and_keyword_calls_share_one_entry() -> None:
    @klepto_core.lru_cache()
    def f(a, b, c=0):
        return a + b + c

    assert f(1, 2) == f(1, b=2) == f(a=1, b=2) == f(1, 2, c=0) == 3
    assert f.info().miss == 1 and f.info().hit == 3


def test_info_counts_hits_misses_and_size() -> None:
    @klepto_core.lru_cache(maxsize=3, keymap=keymap())
    def ident(x):
        return x

    for x in (1, 2, 3, 1, 4):
        ident(x)
    assert ident.info() == CacheInfo(hit=1, miss=4, load=0, maxsize=3, size=3)
    assert sorted(ident.__cache__()) == [("x", 1), ("x", 3), ("x", 4)]


def test_exception_from_the_function_stores_nothing() -> None:
    @klepto_core.lru_cache()
    def fail(x):
        raise ValueError(x)

    with pytest.raises(ValueError):
        fail(1)
    assert fail.info() == CacheInfo(0, 0, 0, 100, 0)


def test_methods_work_without_ignore_self_and_cache_per_instance() -> None:
    class Counter:
        def __init__(self, step):
            self.step = step

        @klepto_core.lru_cache()
        def up(self, x):
            return x + self.step

    a, b = Counter(1), Counter(10)
    assert (a.up(1), a.up(1), b.up(1)) == (2, 2, 11)
    assert Counter.up.info().hit == 1 and Counter.up.info().miss == 2


def test_ignore_self_by_name_shares_entries_between_instances() -> None:
    class A:
        @klepto_core.lru_cache(keymap=keymap(), ignore="self")
        def n(self, x):
            return x * 2

    assert A().n(3) == A().n(3) == 6
    assert A.n.info().hit == 1
    assert A.n.key(A(), 1) == ("x", 1)


def test_ignore_by_name_and_position_shares_results() -> None:
    @klepto_core.lru_cache(keymap=keymap(), ignore=("y",))
    def g(x, y):
        return x + y

    assert g(1, 2) == 3
    assert g(1, 99) == 3  # y is ignored: the first result is returned
    assert g.info().hit == 1
    assert g.key(1, 5) == ("x", 1, "y", klepto_core.NULL)

    @klepto_core.lru_cache(keymap=keymap(), ignore=1)
    def h(x, y):
        return x + y

    assert h.key(1, 5) == h.key(1, y=7) == ("x", 1, "y", klepto_core.NULL)


@pytest.mark.parametrize("size", [0, None])
def test_positional_maxsize_zero_and_none_redirect(size) -> None:
    deco = klepto_core.lru_cache(size)
    expected = "no_cache" if size == 0 else "inf_cache"
    assert type(deco).__name__ == expected
    f = deco(lambda x: x)
    assert f(1) == 1 and f.info().maxsize == size


@pytest.mark.parametrize("bad", ["10", 1.5, True, [3]])
def test_bad_maxsize_is_a_clear_error(bad) -> None:
    with pytest.raises(InvalidMaxsizeError, match="maxsize must be an int or None"):
        klepto_core.lru_cache(maxsize=bad)


def test_unhashable_arguments_are_keyed_by_content_and_safe_caches_them_too() -> None:
    @klepto_core.lru_cache()
    def length(x):
        return len(x)

    assert length([1, 2]) == length([1, 2]) == 2
    assert length([1, 2, 3]) == 3
    assert length.info() == CacheInfo(hit=1, miss=2, load=0, maxsize=100, size=2)
    assert length.lookup([1, 2]) == 2

    @safe.lru_cache()
    def safe_length(x):
        return len(x)

    assert safe_length([1, 2]) == safe_length([1, 2]) == 2
    assert safe_length.info() == CacheInfo(hit=1, miss=1, load=0, maxsize=100, size=1)


def test_an_argument_with_no_content_encoding_is_a_type_error_naming_function_and_argument() -> None:
    @klepto_core.lru_cache()
    def length(x):
        return len(x)

    with pytest.raises(UnhashableKeyError, match="length.*argument 'x' \\(list\\)") as err:
        length([(n for n in range(3))])  # a generator: neither pickle nor dill can encode it
    assert isinstance(err.value, TypeError)


def test_safe_key_does_not_depend_on_keyword_order() -> None:
    @safe.lru_cache()
    def g(a, b, c=0):
        return a + b + c

    g(1, 2, c=3)
    g(1, c=3, b=2)
    assert g.info().hit == 1 and g.info().miss == 1


def test_safe_variant_computes_when_the_key_cannot_be_built() -> None:
    class BadRepr:  # no text, and no content encoding either: nothing can key it
        def __repr__(self):
            raise RuntimeError("no repr")

        def __reduce_ex__(self, protocol):
            raise RuntimeError("no pickle")

    @safe.lru_cache()
    def ident(x):
        return 7

    assert ident(BadRepr()) == ident(BadRepr()) == 7
    assert ident.info().miss == 2 and ident.info().size == 0


def test_cache_accepts_any_mutable_mapping() -> None:
    store: OrderedDict = OrderedDict()

    @klepto_core.lru_cache(cache=store, keymap=keymap())
    def ident(x):
        return x

    ident(1)
    assert list(store) == [("x", 1)]
    assert ident.archived() is False


def test_a_plain_dict_given_as_cache_is_copied_not_updated() -> None:
    seed = {("x", 5): "preset"}

    @klepto_core.lru_cache(cache=seed, keymap=keymap())
    def ident(x):
        return x

    assert ident(5) == "preset"
    ident(6)
    assert seed == {("x", 5): "preset"}


def test_archive_rejects_a_plain_dict() -> None:
    f = klepto_core.lru_cache()(lambda x: x)
    with pytest.raises(InvalidArgumentError):
        f.archive({})


def test_lookup_key_clear_and_keepstats() -> None:
    @klepto_core.lru_cache()
    def sq(x):
        return x * x

    sq(3)
    assert sq.lookup(3) == 9
    with pytest.raises(KeyError):
        sq.lookup(4)
    assert sq.__cache__()[sq.key(3)] == 9  # the displayed key finds the stored entry
    sq.clear(keepstats=True)
    assert sq.info() == CacheInfo(0, 1, 0, 100, 0)
    sq.clear()
    assert sq.info() == CacheInfo(0, 0, 0, 100, 0)


def test_rounding_affects_only_the_key() -> None:
    seen = []

    @klepto_core.lru_cache(keymap=keymap(), tol=0)
    def f(x):
        seen.append(x)
        return x

    assert (f(3.1), f(2.9), f(3.6)) == (3.1, 3.1, 3.6)
    assert seen == [3.1, 3.6]


def test_decorated_function_carries_klepto_attributes() -> None:
    deco = klepto_core.lru_cache(maxsize=5, ignore="x")

    def f(x):
        """Doc."""
        return x

    g = deco(f)
    assert g.__wrapped__ is f and g.__doc__ == "Doc." and g.__name__ == "f"
    assert g.__mask__() == "x"
    assert g.__map__() is deco.__state__["keymap"]
    for name in ("key", "lookup", "load", "dump", "info", "archive", "archived", "clear", "__cache__"):
        assert callable(getattr(g, name))


def test_decorator_objects_pickle() -> None:
    deco = klepto_core.lru_cache(maxsize=7)
    again = pickle.loads(pickle.dumps(deco))
    assert type(again) is type(deco) and again.__state__["maxsize"] == 7


@klepto_core.lru_cache()
def module_level_square(x):
    return x * x


def test_decorated_module_function_pickles_by_reference() -> None:
    assert pickle.loads(pickle.dumps(module_level_square)) is module_level_square


def test_dill_round_trip_copies_the_cache_contents() -> None:
    dill = pytest.importorskip("dill")

    @klepto_core.lru_cache()
    def sq(x):
        return x * x

    sq(3)
    copy = dill.loads(dill.dumps(sq))
    assert copy.lookup(3) == 9


def test_threads_hammering_one_small_cache_get_right_answers() -> None:
    @klepto_core.lru_cache(maxsize=8)
    def sq(x):
        return x * x

    errors = []

    def work(seed):
        try:
            for i in range(2000):
                x = (i * seed) % 23
                assert sq(x) == x * x
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(s,)) for s in (1, 3, 5, 7)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(sq.__cache__()) <= 8
    info = sq.info()
    assert info.size <= 8


def test_cached_by_name_matches_the_klepto_style_decorator() -> None:
    @klepto_core.cached(policy="lru", maxsize=2, keymap="keymap")
    def ident(x):
        return x

    for x in (1, 2, 3, 1, 4):
        ident(x)
    assert ident.info() == CacheInfo(hit=0, miss=5, load=0, maxsize=2, size=2)


def test_cached_with_an_unknown_name_lists_the_installed_ones() -> None:
    with pytest.raises(UnknownPluginError, match="installed policies: .*lru"):
        klepto_core.cached(policy="lur")
    with pytest.raises(UnknownPluginError, match="keymap 'hashmapp'.*did you mean 'hashmap'"):
        klepto_core.cached(keymap="hashmapp")


def test_cached_gives_each_function_its_own_bookkeeping() -> None:
    deco = klepto_core.cached(maxsize=1)
    f = deco(lambda x: x)
    g = deco(lambda x: -x)
    f(1), g(1), f(1)
    assert f.info().hit == 1 and g.info().miss == 1


def test_unknown_policy_decorator_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="lur_cache"):
        klepto_core.lur_cache  # noqa: B018
