"""Tests of klepto_core._inspect: signature, validate/isvalid, NULL, _keygen and keygen."""

from __future__ import annotations

import copy
import inspect
import pickle
import subprocess
import sys
import textwrap
from functools import partial
from pathlib import Path
from typing import Any

import dill
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from klepto_core._inspect import (
    NULL,
    _keygen,
    isvalid,
    keygen,
    signature,
    strip_markup,
    validate,
)
from klepto_core.base.keymap import Keymap
from klepto_core.keys.null import _Null

REPO = Path(__file__).resolve().parents[2]


def bar(x, y, z, a=1, b=2, *args):
    return x + y + z + a + b


def f3(x, y, z=3, *args, **kw):
    return (x, y, z, args, kw)


def klepto_keymap_class() -> Any:
    """klepto_core.keymaps.keymap, or skip while no keymap plugin provides it yet."""
    try:
        from klepto_core.keymaps import keymap
    except ImportError as exc:
        pytest.skip(f"klepto_core.keymaps.keymap is not available yet: {exc}")
    return keymap


# -- NULL ---------------------------------------------------------------------------------


def test_null_is_a_singleton_with_klepto_repr():
    assert repr(NULL) == "NULL"
    assert _Null() is NULL
    assert copy.copy(NULL) is NULL
    assert copy.deepcopy([NULL])[0] is NULL
    assert NULL == NULL and NULL != None  # noqa: E711 - identity equality is the contract


@pytest.mark.parametrize("dumps", [pickle.dumps, dill.dumps], ids=["pickle", "dill"])
def test_null_pickles_to_itself(dumps):
    assert pickle.loads(dumps(NULL)) is NULL
    assert pickle.loads(dumps((1, NULL, {"x": NULL})))[2]["x"] is NULL


def test_null_hash_is_stable_across_processes():
    # klepto's NULL hashes by id, so keys holding it changed every run; ours must not.
    blob = pickle.dumps((NULL, "k"))
    script = textwrap.dedent(
        f"""
        import pickle
        from klepto_core._inspect import NULL
        loaded = pickle.loads({blob!r})
        assert loaded[0] is NULL
        print(hash(NULL), hash(loaded), pickle.dumps(NULL, 4).hex())
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        env={"PYTHONPATH": str(REPO), "PYTHONHASHSEED": "123"},
    ).stdout.split()
    assert int(out[0]) == hash(NULL)
    assert out[2] == pickle.dumps(NULL, 4).hex()


# -- signature ----------------------------------------------------------------------------


def test_signature_pinned_examples():
    assert signature(bar) == (("x", "y", "z", "a", "b"), {"a": 1, "b": 2}, "args", "")
    assert signature(partial(bar, 0)) == (
        ("y", "z", "a", "b"),
        {"a": 1, "!x": 0, "b": 2},
        "args",
        "",
    )
    assert signature(partial(bar, y=10)) == (
        ("x", "!y", "z", "a", "b"),
        {"a": 1, "y": 10, "b": 2},
        "args",
        "",
    )
    p = partial(bar, 0, b=10)
    assert signature(p) == (("y", "z", "a", "!b"), {"a": 1, "!x": 0, "b": 10}, "args", "")
    assert signature(p, markup=False) == (("y", "z", "a", "b"), {"a": 1, "b": 10}, "args", "")
    assert signature(p, markup=False, variadic=False) == (("y", "z", "a", "b"), {"a": 1, "b": 10})


def test_signature_methods_and_callable_instances():
    class A:
        def m(self, x, y=1, **kw):
            return x

        def __call__(self, p, *rest):
            return p

    assert signature(A().m) == (("x", "y"), {"y": 1}, "", "kw")
    assert signature(A.m) == (("self", "x", "y"), {"y": 1}, "", "kw")
    assert signature(A()) == (("p",), {}, "rest", "")


def test_signature_keyword_only_defaults_are_merged():
    def g(a, *, b, c=3):
        return a

    assert signature(g) == (("a",), {"c": 3}, "", "")


def test_signature_of_builtins_and_impossible_partials():
    with pytest.raises(TypeError, match="is not a Python function"):
        signature(min)
    assert signature(min, safe=True) == (None, None, None, None)
    assert signature(min, variadic=False, safe=True) == (None, None)

    def add(x, y):
        return x + y

    impossible = partial(add, 0, x=0)
    with pytest.raises(TypeError, match="multiple values for keyword argument 'x'"):
        signature(impossible)
    assert signature(impossible, safe=True) == (None, None, None, None)
    assert signature(partial(add, z=0), safe=True) == (("x", "y"), {"z": 0}, "", "")
    assert signature(partial(add, 0), safe=True) == (("y",), {"!x": 0}, "", "")


def test_signature_follows_changed_defaults():
    def g(a, b=1):
        return a

    assert signature(g)[1] == {"b": 1}
    g.__defaults__ = (5,)
    assert signature(g)[1] == {"b": 5}

    def h(a, *, k=1):
        return a

    h.__kwdefaults__["k"] = 9  # changed in place: must not be served from a memo
    assert signature(h)[1] == {"k": 9}


def test_signature_returns_a_fresh_defaults_dict():
    signature(bar)[1]["a"] = 99
    assert signature(bar)[1] == {"a": 1, "b": 2}


def test_signature_of_partial_of_bound_method_names_the_fixed_parameter():
    # Divergence: klepto paired a bound method's fixed arguments with 'self' ('!self': 1).
    class A:
        def m(self, x, y):
            return x + y

    assert signature(partial(A().m, 1)) == (("y",), {"!x": 1}, "", "")


def test_signature_of_falsy_instance_method_drops_self():
    # Divergence: klepto kept 'self' when the bound instance was falsy (e.g. empty container).
    class Empty(list):
        def m(self, x):
            return x

    assert signature(Empty().m) == (("x",), {}, "", "")


def test_strip_markup():
    assert strip_markup(("y", "!b"), {"a": 1, "!x": 0, "b": 10}) == (("y", "b"), {"a": 1, "b": 10})


# -- validate / isvalid -------------------------------------------------------------------


def foo(x, y, z, a=1, b=2):
    return x + y + z + a + b


@pytest.mark.parametrize(
    ("func", "args", "kwds", "message"),
    [
        (foo, (), {}, "foo() takes at least 3 arguments (0 given)"),
        (foo, (1, 2, 3, 4), {"r": 5}, "foo() got an unexpected keyword argument 'r'"),
        (foo, (1, 2, 3, 4, 5, 6), {}, "foo() takes at most 5 arguments (6 given)"),
        (foo, (1, 2, 3), {"x": 1}, "foo() got multiple values for keyword argument 'x'"),
        (partial(foo, 0, r=4), (1,), {}, "foo() got an unexpected keyword argument 'r'"),
        (partial(foo, 0, y=4), (1,), {}, "foo() got multiple values for keyword argument 'y'"),
        (partial(foo, 0, 1, 2, 3, 4, 5), (), {}, "foo() takes at most 5 arguments (6 given)"),
    ],
)
def test_validate_messages(func, args, kwds, message):
    with pytest.raises(TypeError) as info:
        validate(func, *args, **kwds)
    assert str(info.value) == message
    with pytest.raises(TypeError):
        func(*args, **kwds)


def test_validate_accepts_valid_calls():
    assert validate(foo, 1, 2, 3, 4, b=5) is None
    assert validate(partial(foo, 0, a=2), 1, 2) is None
    assert validate(partial(foo, 0, 1), 2) is None


def test_validate_requires_keyword_only_parameters():
    # Divergence (edge 34): klepto returned None for a missing required keyword-only param.
    with pytest.raises(TypeError, match=r"missing 1 required keyword-only argument: 'b'"):
        validate(lambda a, *, b: 0, 1)
    assert not isvalid(lambda a, *, b: 0, 1)


def test_validate_accepts_keyword_only_parameters_by_name():
    # Divergence (edge 34): klepto called a passed keyword-only argument "unexpected".
    assert validate(lambda a, *, b: 0, 1, b=2) is None
    assert validate(lambda a, *, b=1: 0, 1, b=2) is None
    assert validate(partial(lambda a, *, b: 0, b=2), 1) is None
    with pytest.raises(TypeError, match="unexpected keyword argument 'c'"):
        validate(lambda a, *, b=1: 0, 1, c=2)


def test_isvalid_calls_builtins_to_find_out():
    assert isvalid(min, 0, 1) is True
    assert isvalid(min, 0) is False
    assert isvalid(min) is False


def test_isvalid_on_partials():
    def add(x, y):
        return x + y

    p, p2, p3 = partial(add, 0, x=0), partial(add, z=0), partial(add, 0)
    assert [isvalid(p, 0, 1), isvalid(p, 0), isvalid(p)] == [False, False, False]
    assert [isvalid(p2, 0, 1), isvalid(p2, 0), isvalid(p2)] == [False, False, False]
    assert [isvalid(p3, 0, 1), isvalid(p3, 0), isvalid(p3)] == [False, True, False]


# -- _keygen ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ignored", "args", "kwds", "expected"),
    [
        ((), (1, 2), {}, ((), {"z": 3, "x": 1, "y": 2})),
        ((), (1, 2, 9, 8), {"q": 7}, ((8,), {"z": 9, "q": 7, "x": 1, "y": 2})),
        ((0,), (1, 2), {}, ((), {"z": 3, "x": NULL, "y": 2})),
        (("x",), (), {"x": 1, "y": 2}, ((), {"z": 3, "x": NULL, "y": 2})),
        ("x", (1, 2), {}, ((), {"z": 3, "x": NULL, "y": 2})),
        (0, (1, 2), {}, ((), {"z": 3, "x": NULL, "y": 2})),
        (("z",), (1, 2), {}, ((), {"z": NULL, "x": 1, "y": 2})),
        ((4,), (1, 2, 3, 4, 5, 6), {}, ((4, NULL, 6), {"z": 3, "x": 1, "y": 2})),
        (("*",), (1, 2, 3, 4, 5), {}, ((), {"z": 3, "x": 1, "y": 2})),
        (("**",), (1, 2), {"q": 1, "r": 2}, ((), {"z": 3, "x": 1, "y": 2})),
        (("q",), (1, 2), {"q": 1, "r": 2}, ((), {"z": 3, "q": NULL, "r": 2, "x": 1, "y": 2})),
        (("q",), (1, 2), {}, ((), {"z": 3, "x": 1, "y": 2})),
        ((9,), (1, 2), {}, ((), {"z": 3, "x": 1, "y": 2})),
    ],
)
def test_keygen_table(ignored, args, kwds, expected):
    key_args, key_kwds = _keygen(f3, ignored, *args, **kwds)
    assert (key_args, key_kwds) == expected
    assert list(key_kwds) == list(expected[1])  # order matters for flat=False keymaps
    assert all((v is NULL) == (e is NULL) for v, e in zip(key_kwds.values(), expected[1].values()))


def test_keygen_on_partial():
    p = partial(bar, 0, b=10)
    user_args = ("0", "1", "2", "3", "4", "5", "6")
    user_kwds = {"a": "10", "b": "20", "c": "30", "d": "40"}
    assert _keygen(p, (0, 1, 3, 5, "*", "b", "c"), *user_args, **user_kwds) == (
        (),
        {"a": "2", "c": NULL, "b": NULL, "d": "40", "y": NULL, "z": NULL},
    )
    assert _keygen(p, ("*", "**"), *user_args, **user_kwds) == (
        (),
        {"a": "2", "b": "3", "y": "0", "z": "1"},
    )
    assert _keygen(p, (), "0", c="30") == ((), {"a": 1, "y": "0", "b": 10, "c": "30"})


def test_keygen_leaves_builtins_untouched():
    # Kept klepto behaviour (edge 35): no signature, so nothing can be ignored.
    assert _keygen(min, [0, 1], 0) == ((0,), {})
    assert _keygen(min, ["*"], 0) == ((0,), {})
    assert _keygen(min, [], x=0, y=1) == ((), {"x": 0, "y": 1})


def test_keygen_removes_ignored_self_of_a_method_call():
    class A:
        def m(self, x):
            return x

        @classmethod
        def c(cls, x):
            return x

    a = A()
    assert _keygen(A.m, "self", a, 1) == ((), {"x": 1})
    assert _keygen(A.m, ("self",), A(), 1) == ((), {"x": 1})
    assert _keygen(A.c.__func__, "cls", A, 2) == ((), {"x": 2})
    # by index, self is NULLed rather than removed
    assert _keygen(A.m, 0, a, 1) == ((), {"self": NULL, "x": 1})
    # a first argument that is not the bound instance is kept
    assert _keygen(A.m, "self", 5, 1) == ((), {"self": NULL, "x": 1})


def test_keygen_does_not_mutate_inputs():
    kwds = {"q": 1}
    ignored = ["x", "**"]
    _keygen(f3, ignored, 1, 2, **kwds)
    assert kwds == {"q": 1} and ignored == ["x", "**"]


# -- keygen decorator ---------------------------------------------------------------------


def test_keygen_decorator_with_explicit_keymap():
    @keygen("y", tol=1, keymap=Keymap())
    def f(x, y, z=3):
        return x + y + z

    assert f(1.26, 2) == ("x", 1.3, "y", NULL, "z", 3)
    assert f.__args__() == ((1.26, 2), {})
    assert f.call() == pytest.approx(6.26)  # the original gets the raw arguments
    assert f.valid() is True
    assert f.key() == ("x", 1.3, "y", NULL, "z", 3)
    assert f.__ignored__ == ("y",)
    assert f.__func__(1, 2) == 6
    assert f.__name__ == "func"  # klepto applies no update_wrapper


def test_keygen_decorator_deep_rounding():
    @keygen(deep=True, tol=0, keymap=Keymap())
    def f(x):
        return x

    assert f([1.4, (2.6,)]) == ("x", [1.0, (3.0,)])


def test_keygen_register():
    @keygen("x", "**", keymap=Keymap())
    def foo(x, y, z=2):
        return x + y + z

    class Upper(Keymap):
        def encode_key(self, formatted):
            return repr(formatted).upper()

    assert foo(0, 1, r=3) == ("x", NULL, "y", 1, "z", 2)
    assert foo.valid() is False
    foo.register(Upper)  # a class is instantiated
    assert isinstance(foo.keymap(), Upper)
    assert foo.key() == "('X', NULL, 'Y', 1, 'Z', 2)"
    with pytest.raises(TypeError, match="'{}' is not a klepto keymap instance"):
        foo.register(dict)  # instantiated first, then rejected, as in klepto
    with pytest.raises(TypeError, match="'bar' is not a klepto keymap instance"):
        foo.register(bar)
    with pytest.raises(TypeError, match="'3' is not a klepto keymap instance"):
        foo.register(3)


def test_keygen_default_keymap_is_klepto_keymap():
    klepto_keymap_class()

    @keygen("x", "**")
    def foo(x, y, z=2):
        return x + y + z

    assert foo(0, 1, 2) == ("x", NULL, "y", 1, "z", 2)
    assert foo.valid() is True
    assert foo(0, 1, r=3) == ("x", NULL, "y", 1, "z", 2)
    assert foo.valid() is False
    assert foo(0, 1, z=10) == ("x", NULL, "y", 1, "z", 10)
    assert foo.call() == 11


# -- differential tests against klepto ------------------------------------------------------

POOL = ("a", "b", "c", "x", "y")
EXTRA = ("q", "r", "k")


@st.composite
def functions(draw: Any, kwonly: bool = True) -> Any:
    """A generated Python function, optionally wrapped in a partial."""
    n = draw(st.integers(0, len(POOL)))
    names = list(POOL[:n])
    n_defaults = draw(st.integers(0, n))
    params = [f"{name}={i}" if i >= n - n_defaults else name for i, name in enumerate(names)]
    if draw(st.booleans()):
        params.append("*args")
    if kwonly and draw(st.booleans()):
        if "*args" not in params:
            params.append("*")
        params.append("k" if draw(st.booleans()) else "k=7")
    if draw(st.booleans()):
        params.append("**kw")
    namespace: dict[str, Any] = {}
    exec(f"def gen({', '.join(params)}):\n    return None\n", namespace)
    func = namespace["gen"]
    if draw(st.booleans()):
        fixed = draw(st.lists(st.integers(0, 9), max_size=3))
        fixed_kwds = draw(
            st.dictionaries(st.sampled_from(POOL[:n] + EXTRA), st.integers(0, 9), max_size=2)
        )
        func = partial(func, *fixed, **fixed_kwds)
    return func


calls = st.tuples(
    st.lists(st.one_of(st.integers(-3, 30), st.text(max_size=2)), max_size=8).map(tuple),
    st.dictionaries(st.sampled_from(POOL + EXTRA), st.integers(0, 9), max_size=4),
)
ignores = st.one_of(
    st.integers(0, 7),
    st.sampled_from(POOL + EXTRA),
    st.lists(st.one_of(st.integers(0, 7), st.sampled_from((*POOL, *EXTRA, "*", "**"))), max_size=5),
    st.lists(st.integers(0, 7), max_size=3).map(tuple),
)


def _outcome(fn: Any, *args: Any, **kwds: Any) -> tuple[str, Any]:
    try:
        return "ok", fn(*args, **kwds)
    except Exception as exc:
        return "error", (type(exc), str(exc))


def _from_klepto(value: Any, klepto_null: Any) -> Any:
    """Replace klepto's NULL by ours, keeping dict order, so results compare exactly."""
    if value is klepto_null:
        return NULL
    if isinstance(value, tuple):
        return tuple(_from_klepto(v, klepto_null) for v in value)
    if isinstance(value, dict):
        return {k: _from_klepto(v, klepto_null) for k, v in value.items()}
    return value


def _exact(value: Any) -> Any:
    """A form of a result whose equality also checks dict order and NULL identity."""
    if value is NULL:
        return ("<NULL>",)
    if isinstance(value, tuple):
        return ("tuple", *[_exact(v) for v in value])
    if isinstance(value, dict):
        return ("dict", *[(k, _exact(v)) for k, v in value.items()])
    return value


@pytest.fixture(scope="module")
def kinspect() -> Any:
    pytest.importorskip("klepto")
    import klepto._inspect as kinspect

    return kinspect


@settings(max_examples=400)
@given(func=functions(), call=calls, ignored=ignores)
def test_keygen_matches_klepto(kinspect, func, call, ignored):
    args, kwds = call
    ours = _outcome(_keygen, func, ignored, *args, **kwds)
    theirs = _outcome(kinspect._keygen, func, ignored, *args, **kwds)
    if theirs[0] == "ok":
        theirs = ("ok", _from_klepto(theirs[1], kinspect.NULL))
        assert ours[0] == "ok"
        assert _exact(ours[1]) == _exact(theirs[1])
    else:
        assert ours[0] == "error" and ours[1][0] is theirs[1][0]


@settings(max_examples=300)
@given(
    func=functions(),
    variadic=st.booleans(),
    markup=st.booleans(),
    safe=st.booleans(),
)
def test_signature_matches_klepto(kinspect, func, variadic, markup, safe):
    ours = _outcome(signature, func, variadic, markup, safe)
    theirs = _outcome(kinspect.signature, func, variadic, markup, safe)
    assert ours[0] == theirs[0]
    if ours[0] == "ok":
        assert _exact(ours[1]) == _exact(theirs[1])
    else:
        assert ours[1] == theirs[1]


@settings(max_examples=400)
@given(func=functions(kwonly=False), call=calls)
def test_validate_matches_klepto_without_keyword_only_params(kinspect, func, call):
    args, kwds = call
    assert _outcome(validate, func, *args, **kwds) == _outcome(
        kinspect.validate, func, *args, **kwds
    )
    assert isvalid(func, *args, **kwds) == kinspect.isvalid(func, *args, **kwds)


@settings(max_examples=300)
@given(func=functions(kwonly=True), call=calls)
def test_isvalid_agrees_with_calling_plain_functions(func, call):
    if isinstance(func, partial):  # partials: klepto's rules, checked against klepto above
        func = func.func
    args, kwds = call
    try:
        inspect.signature(func).bind(*args, **kwds)
        binds = True
    except TypeError:
        binds = False
    assert isvalid(func, *args, **kwds) == binds


def test_keygen_decorator_matches_klepto(kinspect):
    import klepto

    def add(w, x, y, z):
        return x + y + z + w

    ours = keygen("x", 2, tol=2, keymap=Keymap())(add)
    theirs = klepto.keygen("x", 2, tol=2)(add)
    for call in [(1.11111, 2.222222, 3.333333, 4.444444), (1.11111, 2.2229, 100, 4.447)]:
        assert _exact(ours(*call)) == _exact(_from_klepto(theirs(*call), kinspect.NULL))
        assert ours.call() == theirs.call()


def test_keygen_self_handling_matches_klepto(kinspect):
    class A:
        def m(self, x, y=2):
            return x

        @classmethod
        def c(cls, x):
            return x

    a = A()
    cases = [
        (A.m, "self", (a, 1), {}),
        (A.m, ("self", "y"), (a, 1), {}),
        (A.m, ("self", "**"), (a, 1), {"q": 3}),
        (A.m, 0, (a, 1), {}),
        (A.m, "self", (5, 1), {}),
        (A.m, "self", (), {"x": 1}),
        (a.m, "self", (1,), {}),
        (A.c.__func__, "cls", (A, 2), {}),
    ]
    for func, ignored, args, kwds in cases:
        theirs = _from_klepto(kinspect._keygen(func, ignored, *args, **kwds), kinspect.NULL)
        assert _exact(_keygen(func, ignored, *args, **kwds)) == _exact(theirs)


def test_keygen_default_keys_match_klepto(kinspect):
    klepto_keymap_class()
    import klepto

    def f(x, y, z=3, *args, **kw):
        return x

    ours, theirs = keygen("y", "q")(f), klepto.keygen("y", "q")(f)
    for args, kwds in [((1, 2), {}), ((1, 2, 3, 4), {"q": 5, "r": 6}), ((1.5,), {"y": 2})]:
        expected = _from_klepto(theirs(*args, **kwds), kinspect.NULL)
        assert _exact(ours(*args, **kwds)) == _exact(expected)
        assert ours.valid() == theirs.valid()
