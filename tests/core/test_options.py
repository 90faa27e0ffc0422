"""Both front doors, ``cached()`` and klepto's ``lru_cache(...)``, check options the same way."""

from __future__ import annotations

import pickle
import warnings

import pytest

import klepto_core
from klepto_core.errors import (
    AmbiguousSchemeError,
    ArchiveURLError,
    IgnoredNameWarning,
    InvalidArgumentError,
    InvalidMaxsizeError,
    KleptoCoreError,
    UnknownPluginError,
    UnknownPluginKindError,
)

# (options, the error both doors raise, a piece of its message)
BAD_OPTIONS = [
    ({"maxsize": -1}, InvalidMaxsizeError, "not negative"),
    ({"maxsize": "10"}, InvalidMaxsizeError, "maxsize must be an int or None"),
    ({"maxsize": 2.5}, InvalidMaxsizeError, "maxsize must be an int or None"),
    ({"tol": "x"}, InvalidArgumentError, "tol must be an int or None"),
    ({"tol": 1.5}, InvalidArgumentError, "tol must be an int or None"),
    ({"keymap": 3}, InvalidArgumentError, "keymap must be a keymap name"),
    ({"keymap": "nosuchkeymap"}, UnknownPluginError, "unknown keymap 'nosuchkeymap'"),
    ({"deep": "yes"}, InvalidArgumentError, "deep must be True or False"),
    ({"single_flight": "yes"}, InvalidArgumentError, "single_flight must be True or False"),
    ({"typed": "yes"}, InvalidArgumentError, "typed must be True or False"),
    ({"ignore": 1.5}, InvalidArgumentError, "ignore must hold parameter names or positions"),
    ({"observers": [object()]}, InvalidArgumentError, "observers must be Observer objects"),
    ({"observers": ["nosuchobserver"]}, UnknownPluginError, "unknown observer"),
    ({"keymap": klepto_core.keymaps.hashmap(), "typed": True}, InvalidArgumentError, "typed=True"),
]


@pytest.mark.parametrize(("options", "error", "message"), BAD_OPTIONS)
def test_a_bad_option_is_the_same_error_through_either_door(options, error, message) -> None:
    with pytest.raises(error, match=message) as by_name:
        klepto_core.cached(**options)
    with pytest.raises(error, match=message) as klepto_style:
        klepto_core.lru_cache(**options)
    assert type(by_name.value) is type(klepto_style.value)
    assert str(by_name.value) == str(klepto_style.value)
    assert isinstance(by_name.value, KleptoCoreError)


def test_negative_maxsize_is_refused_not_taken_for_zero() -> None:
    # klepto accepted lru_cache(maxsize=-1) and kept nothing: a typo that silently disables caching
    for door in (klepto_core.cached, klepto_core.lru_cache, klepto_core.lfu_cache):
        with pytest.raises(InvalidMaxsizeError):
            door(maxsize=-3)


@pytest.mark.parametrize("door", [klepto_core.cached, klepto_core.lru_cache])
def test_typed_keys_equal_values_of_different_types_apart(door) -> None:
    calls = []

    @door(typed=True)
    def f(x):
        calls.append(x)
        return repr(x)

    assert (f(1), f(1.0), f(1)) == ("1", "1.0", "1")
    assert calls == [1, 1.0]
    assert f.info().hit == 1


def test_untyped_keys_equal_values_of_different_types_together() -> None:
    @klepto_core.cached()
    def f(x):
        return repr(x)

    assert (f(1), f(1.0)) == ("1", "1")


def test_typed_decorator_still_pickles_and_keeps_typed_keys() -> None:
    decorator = pickle.loads(pickle.dumps(klepto_core.lru_cache(typed=True)))

    @decorator
    def f(x):
        return repr(x)

    assert (f(1), f(1.0)) == ("1", "1.0")


@pytest.mark.parametrize("door", [klepto_core.cached, klepto_core.lru_cache])
def test_ignoring_a_parameter_the_function_lacks_warns(door) -> None:
    def f(x, y):
        return x + y

    with pytest.warns(IgnoredNameWarning, match="no parameter named 'nope'"):
        door(ignore=("y", "nope"))(f)
    with pytest.warns(IgnoredNameWarning, match="no positional parameter 5"):
        door(ignore=5)(f)


def test_ignoring_what_kwargs_or_varargs_may_receive_does_not_warn() -> None:
    def f(x, *args, **kwds):
        return x

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        decorated = klepto_core.lru_cache(ignore=("q", 7, "*", "**"))(f)
    assert decorated(1, q=2) == 1


def test_an_unknown_archive_option_names_it_and_lists_the_valid_ones(tmp_path) -> None:
    with pytest.raises(InvalidArgumentError, match="no option 'max_entris'") as err:
        klepto_core.cached(archive="dir", name=str(tmp_path / "m"), max_entris=5)(abs)
    assert "its options are:" in str(err.value) and "serializer" in str(err.value)
    with pytest.raises(InvalidArgumentError, match="no option 'bogus'"):
        klepto_core.archives.dir_archive(str(tmp_path / "m"), bogus=1)
    assert not (tmp_path / "m").exists()  # refused before anything was created


def test_a_path_named_archive_given_a_number_for_its_name_is_a_clear_error() -> None:
    with pytest.raises(InvalidArgumentError, match="named by a path"):
        klepto_core.cached(archive="dir", name=5)(abs)


def test_archive_options_without_an_archive_are_refused() -> None:
    with pytest.raises(InvalidArgumentError, match="given without an archive"):
        klepto_core.cached(name="memo")


def test_unknown_plugin_kind_is_a_klepto_core_error() -> None:
    with pytest.raises(UnknownPluginKindError, match="kinds are policy"):
        klepto_core.plugins("bogus")
    assert issubclass(UnknownPluginKindError, ValueError)


def test_a_url_without_a_scheme_is_a_url_error_not_an_unreachable_server() -> None:
    with pytest.raises(ArchiveURLError, match="needs a scheme"):
        klepto_core.open_archive("noscheme")


def test_a_scheme_two_plugins_claim_is_its_own_error() -> None:
    from klepto_core.registry import REGISTRY, PluginSpec
    from klepto_core.registry.urls import resolve_url

    dir_factory = REGISTRY.resolve("archive", "dir").factory
    klepto_core.register_plugin("archive", PluginSpec("dir2", dir_factory, url_schemes=("dir",)))
    try:
        with pytest.raises(AmbiguousSchemeError) as err:
            resolve_url("dir:./memo")
    finally:
        REGISTRY.unregister("archive", "dir2")
    assert err.value.names == ["dir", "dir2"]
    assert "pass kind=<name>" in str(err.value)
