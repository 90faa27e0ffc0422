"""The conformance suite a keymap plugin's tests subclass: ``KeymapConformance``."""

from __future__ import annotations

import copy
import os
import pickle
import subprocess
import sys
from collections.abc import Callable, Hashable
from typing import Any, ClassVar

import pytest

import klepto_core
from klepto_core import keymaps
from klepto_core.base.keymap import NOSENTINEL, SENTINEL, Keymap
from klepto_core.registry import REGISTRY, defaults

Call = tuple[tuple[Any, ...], dict[str, Any]]

#: calls of hashable arguments that differ under every keymap option (no int/str pairs
#: such as 1 and "1", which klepto's ``str`` encoding gives one key)
_CALLS: list[Call] = [
    ((), {}),
    ((1,), {}),
    ((2,), {}),
    ((1, 2), {}),
    ((2, 1), {}),
    ((1,), {"b": 2}),
    ((1,), {"c": 2}),
    ((1,), {"b": 3}),
    ((), {"a": 1, "b": 2}),
    (("a",), {}),
    (("b", "a"), {}),
    ((1.5,), {}),
    ((None,), {}),
    ((b"x",), {}),
    (((1, 2),), {}),
    (((1, (2, "t")),), {"k": "v"}),
]
#: calls with arguments that have no hash
_UNHASHABLE_CALLS: list[Call] = [
    (([1, 2],), {}),
    (([1, 3],), {}),
    (({"a": 1},), {}),
    ((1,), {"b": [2]}),
]

#: the script a fresh interpreter runs: pickled (keymap class, options, calls) in,
#: hex of the pickled keys out
_KEYS_ELSEWHERE = """
import pickle, sys
factory, option_sets, calls = pickle.loads(sys.stdin.buffer.read())
keys = [[factory(**options)(*args, **kwds) for args, kwds in calls] for options in option_sets]
sys.stdout.write(pickle.dumps(keys).hex())
"""


def _counter() -> Callable[[Any], int]:
    """A function of one argument returning how many times it ran."""
    calls: list[int] = []

    def f(x: Any) -> int:
        calls.append(1)
        return len(calls)

    return f


class _Opaque:
    """An argument with the default repr (``<... object at 0x...>``): equal ones differ in text."""

    def __init__(self, n: int) -> None:
        self.n = n


def _outcome(make: Callable[[], Any]) -> tuple[str, Any]:
    """``("ok", value)`` or ``("error", exception type)``: two keymaps compared either way."""
    try:
        return ("ok", make())
    except Exception as exc:
        return ("error", type(exc))


def _as_ours(obj: Any, klepto_keymaps: Any) -> Any:
    """klepto's key with its SENTINEL object replaced by ours (the only object that differs)."""
    if obj is klepto_keymaps.SENTINEL:
        return SENTINEL
    if type(obj) is tuple:
        return tuple(_as_ours(o, klepto_keymaps) for o in obj)
    return obj


class KeymapConformance:
    """What every keymap promises; subclasses set ``keymap_name``.

    Options, for what differs between keymaps:

    - ``keymap_options``: options every keymap the suite makes gets (e.g. an ``algorithm``).
    - ``lossy`` / ``identity``: what the keymap must declare (None: taken as given).
      A lossy keymap's keys may collide; the suite then checks ``memo_key``, the
      formatted key a cache stores.
    - ``accepts_unhashable``: keys are hashable even for lists and dicts among the
      arguments and under ``flat=False`` (False for keymaps that keep or hash the raw key).
    - ``stable``: a fresh interpreter with another hash seed gives the same keys.
    - ``klepto_name``: the ``klepto.keymaps`` class with the same keys (None: no
      differential check); ``klepto_selector_values`` are the values of the keymap's
      selector option (``__stub__``) compared. Override :meth:`compare_with_klepto`
      where a documented divergence makes the keys differ.
    """

    keymap_name: ClassVar[str] = ""
    keymap_options: ClassVar[dict[str, Any]] = {}
    lossy: ClassVar[bool | None] = None
    identity: ClassVar[bool | None] = None
    accepts_unhashable: ClassVar[bool] = True
    stable: ClassVar[bool] = True
    klepto_name: ClassVar[str | None] = None
    klepto_selector_values: ClassVar[tuple[Any, ...]] = (None,)
    klepto_examples: ClassVar[int] = 50

    # -- helpers -------------------------------------------------------------------

    def keymap_type(self) -> type[Keymap]:
        """The keymap class the plugin registers under ``keymap_name``."""
        if not self.keymap_name:
            raise TypeError(f"{type(self).__name__} must set keymap_name")
        factory: type[Keymap] = REGISTRY.resolve("keymap", self.keymap_name).factory
        return factory

    def keymap(self, **options: Any) -> Keymap:
        """A new keymap with ``keymap_options`` and these options."""
        return self.keymap_type()(**{**self.keymap_options, **options})

    def option_sets(self) -> list[dict[str, Any]]:
        """Every combination of ``typed``, ``flat`` and ``sentinel`` the keymap supports."""
        flats = (True, False) if self.accepts_unhashable else (True,)
        return [
            {"typed": typed, "flat": flat, "sentinel": sentinel}
            for typed in (False, True)
            for flat in flats
            for sentinel in (NOSENTINEL, SENTINEL)
        ]

    def calls(self) -> list[Call]:
        """Calls that differ from one another; with unhashable ones where keys allow them."""
        return _CALLS + (_UNHASHABLE_CALLS if self.accepts_unhashable else [])

    def klepto_options(self) -> list[dict[str, Any]]:
        """The option sets of the differential check against klepto's counterpart."""
        stub = self.keymap_type().__stub__
        return [
            {
                "typed": typed,
                "flat": flat,
                "sentinel": sentinel,
                **({stub: selector} if stub else {}),
            }
            for selector in self.klepto_selector_values
            for typed in (False, True)
            for flat in (True, False)
            for sentinel in (NOSENTINEL, SENTINEL)
        ]

    def compare_with_klepto(
        self, options: dict[str, Any], call: Call, ours: tuple[str, Any], theirs: tuple[str, Any]
    ) -> None:
        """Assert our outcome of ``call`` is klepto's: the same key (type, repr) or error type.

        ``ours`` and ``theirs`` are ``("ok", key)`` or ``("error", exception type)``.
        """
        kk = pytest.importorskip("klepto.keymaps")
        assert ours[0] == theirs[0], (ours, theirs)
        if ours[0] == "ok":
            expected = _as_ours(theirs[1], kk)
            assert ours[1] == expected
            assert type(ours[1]) is type(expected)
            assert repr(ours[1]) == repr(expected)
        else:
            assert ours[1] is theirs[1]

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        """Parametrize the differential check by option set (pytest calls this hook)."""
        if "klepto_options" in metafunc.fixturenames:
            sets = self.klepto_options() if self.klepto_name else [None]
            metafunc.parametrize("klepto_options", sets, ids=repr)

    # -- the contract ---------------------------------------------------------------

    def test_resolves_by_name_as_a_keymap(self) -> None:
        factory = self.keymap_type()
        assert issubclass(factory, Keymap)
        assert factory.name == self.keymap_name
        assert self.keymap_name in keymaps.__all__
        assert getattr(keymaps, self.keymap_name) is factory
        if self.lossy is not None:
            assert self.keymap().lossy is self.lossy
        if self.identity is not None:
            assert self.keymap().identity is self.identity

    def test_options_are_kept(self) -> None:
        for options in self.option_sets():
            km = self.keymap(**options)
            assert (km.typed, km.flat, km.sentinel) == (
                options["typed"],
                options["flat"],
                options["sentinel"],
            )
        assert self.keymap().sentinel is NOSENTINEL

    def test_equal_calls_give_equal_keys(self) -> None:
        for options in self.option_sets():
            for args, kwds in self.calls():
                first = self.keymap(**options)(*args, **kwds)
                again_args, again_kwds = copy.deepcopy((args, kwds))
                second = self.keymap(**options)(*again_args, **again_kwds)
                assert first == second, (options, args, kwds)
                assert hash(first) == hash(second)
                memo = self.keymap(**options).memo_key(*args, **kwds)
                assert memo == self.keymap(**options).memo_key(*again_args, **again_kwds)

    def test_different_calls_give_different_keys(self) -> None:
        for options in self.option_sets():
            km = self.keymap(**options)
            memos = [km.memo_key(*args, **kwds) for args, kwds in self.calls()]
            keys = [km(*args, **kwds) for args, kwds in self.calls()]
            for i, memo in enumerate(memos):
                others = memos[:i] + memos[i + 1 :]
                assert memo not in others, (options, self.calls()[i])
                if not km.lossy:
                    # an exact key is what the cache stores; it must not collide either
                    assert memo == keys[i]

    def test_keys_are_hashable_and_find_their_entry(self) -> None:
        for options in self.option_sets():
            memory: dict[Hashable, int] = {}
            for n, (args, kwds) in enumerate(self.calls()):
                hash(self.keymap(**options)(*args, **kwds))
                memory[self.keymap(**options).memo_key(*args, **kwds)] = n
            for n, (args, kwds) in enumerate(self.calls()):
                assert memory[self.keymap(**options).memo_key(*args, **kwds)] == n

    def test_the_key_is_the_encoded_formatted_call(self) -> None:
        for options in self.option_sets():
            km = self.keymap(**options)
            for args, kwds in self.calls():
                formatted = km.format(args, kwds)
                assert km(*args, **kwds) == km.encode_key(formatted)
                expected = formatted if km.lossy else km.encode_key(formatted)
                assert km.memo_key(*args, **kwds) == expected

    def test_typed_tells_argument_types_apart(self) -> None:
        for flat in (True, False):
            km = self.keymap(typed=True, flat=flat)
            assert km.memo_key(1) != km.memo_key(1.0)
            assert km.memo_key(1) != km.memo_key(True)
            assert km.memo_key(x=1) != km.memo_key(x=1.0)
            assert km.memo_key(1, 2) == self.keymap(typed=True, flat=flat).memo_key(1, 2)

    def test_flat_false_or_a_sentinel_tells_positions_from_keywords(self) -> None:
        for options in ({"flat": False}, {"sentinel": SENTINEL}):
            km = self.keymap(**options)
            assert km.memo_key(1, "c", 2) != km.memo_key(1, c=2), options
        # klepto's default flat key joins the two parts: the same tuple for both calls
        km = self.keymap()
        assert km.format((1, "c", 2), {}) == km.format((1,), {"c": 2})

    def test_keymap_pickles_with_its_options(self) -> None:
        for options in self.option_sets():
            km = self.keymap(**options)
            for dumps in (pickle.dumps, copy.copy, copy.deepcopy):
                clone = pickle.loads(dumps(km)) if dumps is pickle.dumps else dumps(km)
                assert type(clone) is type(km) and repr(clone) == repr(km)
                assert (clone.typed, clone.flat) == (km.typed, km.flat)
                assert clone.sentinel is km.sentinel
                for args, kwds in self.calls():
                    assert clone(*args, **kwds) == km(*args, **kwds), (options, args, kwds)

    def test_same_keys_in_a_fresh_interpreter(self) -> None:
        if not self.stable:
            pytest.skip("the keymap's keys depend on the process (e.g. the hash seed)")
        option_sets = [{**self.keymap_options, **options} for options in self.option_sets()]
        calls = self.calls()
        here = [[self.keymap(**options)(*a, **k) for a, k in calls] for options in option_sets]
        payload = pickle.dumps((self.keymap_type(), option_sets, calls))
        for seed in ("1", "2"):
            env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=os.pathsep.join(sys.path))
            done = subprocess.run(
                [sys.executable, "-c", _KEYS_ELSEWHERE],
                input=payload,
                env=env,
                capture_output=True,
                check=True,
                timeout=120,
            )
            assert pickle.loads(bytes.fromhex(done.stdout.decode())) == here, seed

    def test_no_call_gets_another_calls_result_under_a_decorator(self) -> None:
        """Arguments whose repr is lossy (a numpy array's summary, an address) or that have
        no hash never share a key with a different argument: issue 10's reproduction."""
        np = pytest.importorskip("numpy")
        a = np.arange(2000.0)
        b = a.copy()
        b[1000] = -1
        arguments = [a, b, _Opaque(1), _Opaque(2), [1, 2], [1, 3]]
        unbounded = getattr(klepto_core, f"{defaults.UNBOUNDED_POLICY}_cache")
        for options in self.option_sets():
            g = unbounded(keymap=self.keymap(**options))(_counter())
            results = [g(x) for x in arguments]
            assert results == list(range(1, len(arguments) + 1)), (options, results)
            assert g(a.copy()) == 1, options  # equal content: a hit
            # a hashable object is keyed by its own ==: by content (a hit) or by identity (a miss)
            assert g(_Opaque(2)) in (4, len(arguments) + 1), options

    def test_keys_equal_kleptos(self, klepto_options: dict[str, Any] | None) -> None:
        if klepto_options is None:
            pytest.skip("no klepto keymap to compare with")
        kk = pytest.importorskip("klepto.keymaps")
        pytest.importorskip("hypothesis")
        from hypothesis import given, settings
        from hypothesis import strategies as st

        scalars = st.one_of(st.integers(), st.text(max_size=6), st.floats(allow_nan=False))
        values = st.recursive(
            scalars, lambda inner: st.lists(inner, max_size=3).map(tuple), max_leaves=6
        )
        names = st.from_regex(r"[a-z][a-z0-9_]{0,4}", fullmatch=True).filter(lambda n: n != "self")
        options = {**self.keymap_options, **klepto_options}
        with_sentinel = options["sentinel"] is SENTINEL
        theirs_options = dict(options, sentinel=kk.SENTINEL if with_sentinel else kk.NOSENTINEL)
        theirs_class = getattr(kk, str(self.klepto_name))

        @settings(max_examples=self.klepto_examples, deadline=None)
        @given(
            args=st.lists(values, max_size=4).map(tuple),
            kwds=st.dictionaries(names, values, max_size=3),
        )
        def check(args: tuple[Any, ...], kwds: dict[str, Any]) -> None:
            ours = _outcome(lambda: self.keymap(**options)(*args, **kwds))
            theirs = _outcome(lambda: theirs_class(**theirs_options)(*args, **kwds))
            self.compare_with_klepto(options, (args, kwds), ours, theirs)

        check()
