"""The hash keymap (klepto's ``hashmap``): builtin hash as HashKey, hashlib digests, 'stable'."""

from __future__ import annotations

import copy
import os
import pickle
import subprocess
import sys
import textwrap
from typing import Any, ClassVar

import pytest

from klepto_core import keymaps
from klepto_core.base.keymap import Keymap
from klepto_core.keymaps import SENTINEL, hashmap, keymap
from klepto_core.keys.stable import stable_digest
from klepto_core.testing import KeymapConformance

INT = int


class TestHashKeymapConformance(KeymapConformance):
    """Builtin hash: HashKeys carrying the raw key, so the raw key must be hashable."""

    keymap_name = "hashmap"
    lossy = True
    accepts_unhashable = False
    stable = False  # builtin hash of a str changes with the hash seed
    klepto_name = "hashmap"
    klepto_selector_values = (None, "md5", "sha1")

    def compare_with_klepto(
        self, options: dict[str, Any], call: Any, ours: tuple[str, Any], theirs: tuple[str, Any]
    ) -> None:
        args, kwds = call
        if options["algorithm"] is None and options["sentinel"] is SENTINEL and ours[0] == "ok":
            # divergence (see test_divergence_builtin_hash_of_a_sentinel_key): compare the raw key
            raw_options = {k: v for k, v in options.items() if k != "algorithm"}
            assert ours[1].raw == keymap(**raw_options)(*args, **kwds)
            assert int(ours[1]) == hash(ours[1].raw)
            assert theirs[0] == "ok"
            return
        assert ours[0] == theirs[0]
        if ours[0] == "ok":
            if options["algorithm"] is None:
                assert int(ours[1]) == theirs[1]
                # a key that is itself an int equals only that int (see the HashKey divergence)
                if type(ours[1].raw) is not int:
                    assert ours[1] == theirs[1]
            else:
                assert ours[1] == theirs[1]
        else:
            assert issubclass(ours[1], theirs[1])


class TestHashKeymapMd5Conformance(KeymapConformance):
    keymap_name = "hashmap"
    keymap_options: ClassVar[dict[str, Any]] = {"algorithm": "md5"}
    lossy = False


class TestHashKeymapStableConformance(KeymapConformance):
    keymap_name = "hashmap"
    keymap_options: ClassVar[dict[str, Any]] = {"algorithm": "stable"}
    lossy = False


def test_resolves_through_the_registry_to_the_plugin_class() -> None:
    from klepto_keymap_hashmap import HashKeymap

    assert hashmap is HashKeymap
    assert issubclass(HashKeymap, Keymap)


# -- klepto's outputs ------------------------------------------------------------


def test_klepto_test_hashmap_cases() -> None:
    args, kwds = (1, 2), {"a": 3, "b": 4}
    assert hashmap()(*args, **kwds) == hash((1, 2, "a", 3, "b", 4))
    assert hashmap(typed=True)(*args, **kwds) == hash((1, 2, "a", 3, "b", 4, INT, INT, INT, INT))


def test_direct_calls_match_klepto() -> None:
    assert int(hashmap()(1, 2, c=3)) == hash((1, 2, "c", 3))
    assert hashmap(algorithm="md5")(1, 2, c=3) == "4949ee77b627e4b89b24fdeebab2444e"
    assert hashmap(algorithm="md5")(1) == "c4ca4238a0b923820dcc509a6f75849b"
    assert int(hashmap()()) == hash(())
    with pytest.raises(TypeError, match="unhashable type: 'dict'"):
        hashmap(flat=False)(1, 2, c=3)


def test_klepto_test_crypto_sha1_of_a_list_key() -> None:
    key = [1, 2, 3, "4", "'5'", min]
    assert hashmap(algorithm="sha1").encode_key(key) == "3bdd73e79be4277dcb874d193b8dd08a46bc6885"


def test_unknown_algorithms_and_options_fail_like_klepto() -> None:
    with pytest.raises(ValueError, match="unsupported hash type nope"):
        hashmap(algorithm="nope")(1)
    with pytest.raises(TypeError, match="unexpected keyword argument 'foo'"):
        hashmap(foo=1)(1)
    with pytest.raises(TypeError, match="unexpected keyword argument 'foo'"):
        hashmap(algorithm="md5", foo=1)(1)


def test_repr_and_selector() -> None:
    assert repr(hashmap()) == "hashmap()"
    assert repr(hashmap(algorithm="md5")) == "hashmap(algorithm='md5')"
    assert (
        repr(hashmap(algorithm="stable", typed=True)) == "hashmap(typed=True, algorithm='stable')"
    )
    h = hashmap(algorithm="md5")
    assert (h.__stub__, h.__type__) == ("algorithm", "md5")


def test_chaining_matches_kleptos_test_chaining() -> None:
    picklemap = pytest.importorskip("klepto_keymap_picklemap").PickleKeymap
    h = hashmap(algorithm="md5")
    p = picklemap(serializer="dill")
    hp = p + h
    assert repr(hp) == "hashmap(algorithm='md5')*"
    if sys.version_info >= (3, 14):
        assert hp(1) == "c7483051dc5df58359faa78d4593981c"
    else:
        assert hp(1) == "bfac8a39dc4b0d616a0805a453698556"
    assert hp(1) == h(p(1))
    assert hp.inner(1) == p(1)
    assert hp.outer(1) == h(1)
    assert not h.inner and not h.outer and hp.inner and hp.outer


def test_chains_nest() -> None:
    s = keymaps.stringmap()
    p = keymaps.picklemap()
    shp = (s + hashmap(algorithm="md5")) + p
    assert repr(shp) == "picklemap()*"
    assert repr(shp.inner) == "hashmap(algorithm='md5')*"
    assert repr(shp.inner.inner) == "stringmap()"
    assert shp(1, c=3) == "'3ea987473031384315968aed4431f149'"  # klepto: the same


# -- HashKey: builtin hash without collisions ------------------------------------


def test_builtin_hash_keys_are_ints_carrying_the_formatted_key() -> None:
    from klepto_keymap_hashmap import HashKey

    key = hashmap()(1, 2, c=3)
    assert isinstance(key, int) and type(key) is HashKey
    assert key.raw == (1, 2, "c", 3)
    assert int(key) == hash((1, 2, "c", 3))
    assert repr(key) == repr(hash((1, 2, "c", 3)))
    assert hashmap().lossy is True
    assert hashmap(algorithm="md5").lossy is False
    assert hashmap(algorithm="stable").lossy is False


def test_keys_with_equal_hashes_do_not_collide() -> None:
    assert hash(-1) == hash(-2)
    k1, k2 = hashmap()(-1), hashmap()(-2)
    assert int(k1) == int(k2)
    assert k1 != k2
    assert {k1: "minus one", k2: "minus two"}[hashmap()(-1)] == "minus one"


def test_a_hash_key_finds_the_raw_key_a_cache_stores() -> None:
    memory = {(1, 2, "c", 3): "value", -1: "minus one", -2: "minus two"}
    assert memory[hashmap()(1, 2, c=3)] == "value"
    assert memory[hashmap()(-1)] == "minus one"
    assert memory[hashmap()(-2)] == "minus two"
    assert hashmap()(1, 2, c=3) == (1, 2, "c", 3)


def test_hash_key_equality() -> None:
    from klepto_keymap_hashmap import HashKey

    assert HashKey((1, 2)) == HashKey((1, 2))
    assert HashKey((1, 2)) == hash((1, 2))  # klepto compared keys with hash(...)
    assert HashKey((1, 2)) != hash((1, 3))
    assert HashKey((1, 2)) != (1, 3)
    assert HashKey(5) == 5 and HashKey(5) == HashKey(5)
    assert hash(HashKey((1, 2))) == hash((1, 2))


def test_divergence_a_hash_key_of_an_int_is_not_equal_to_another_int_with_the_same_hash() -> None:
    # klepto returned the plain int hash(-1) == -2, so its key for -1 equalled -2;
    # ours keeps the raw key -1 and is equal only to -1, so -1 and -2 stay distinct.
    assert int(hashmap()(-1)) == -2
    assert hashmap()(-1) != -2
    assert hashmap()(-1) == -1


@pytest.mark.parametrize("dumps", [pickle.dumps, copy.copy, copy.deepcopy], ids=repr)
def test_hash_keys_copy_and_pickle_with_their_raw_key(dumps: Any) -> None:
    key = hashmap()(1, "x", c=(2.5,))
    clone = pickle.loads(dumps(key)) if dumps is pickle.dumps else dumps(key)
    assert clone == key and clone.raw == key.raw and int(clone) == int(key)


def test_hash_keys_round_trip_through_dill() -> None:
    dill = pytest.importorskip("dill")
    key = hashmap()(1, c=3)
    clone = dill.loads(dill.dumps(key))
    assert clone == key and clone.raw == (1, "c", 3)


def _run(code: str, seed: str) -> str:
    env = dict(os.environ, PYTHONHASHSEED=seed)
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return done.stdout


def test_a_pickled_hash_key_rehashes_in_a_process_with_another_hash_seed() -> None:
    data = _run(
        """
        from klepto_core.keymaps import hashmap
        import pickle, sys
        sys.stdout.write(pickle.dumps(hashmap()("a", b="c")).hex())
        """,
        "1",
    )
    out = _run(
        f"""
        import pickle
        key = pickle.loads(bytes.fromhex({data!r}))
        print(key.raw == ("a", "b", "c"), int(key) == hash(("a", "b", "c")), key == hash(key.raw))
        """,
        "2",
    )
    assert out.split() == ["True", "True", "True"]


# -- 'stable': the same digest in every process ---------------------------------


def test_stable_algorithm_is_the_stable_digest_of_the_formatted_key() -> None:
    assert hashmap(algorithm="stable")(1, 2, c=3) == stable_digest((1, 2, "c", 3))
    assert hashmap(algorithm="stable")("a") == stable_digest("a")
    # dicts and sets are fine: flat=False keys hash too, unlike builtin hash
    assert hashmap(algorithm="stable", flat=False)(1, c={3}) == stable_digest(((1,), {"c": {3}}))
    assert hashmap(algorithm="stable", size=8)(1) == stable_digest(1, size=8)
    assert len(hashmap(algorithm="stable")(1)) == 32


def test_stable_keys_tell_apart_values_klepto_merged() -> None:
    stable = hashmap(algorithm="stable")
    assert stable(1) != stable(1.0) != stable(True)
    assert stable(-1) != stable(-2)
    assert stable(typed=True) != stable(typed=1.0)


STABLE_CORPUS = """
from klepto_core.keymaps import hashmap, SENTINEL
from klepto_core.keys.stable import stable_digest
h = hashmap(algorithm="stable")
hs = hashmap(algorithm="stable", typed=True, flat=False, sentinel=SENTINEL)
calls = [
    ((), {}), (("text é",), {}), ((b"\\x00bytes",), {}), ((1.5, -0.0, float("inf")), {}),
    (((1, ("a", b"b")),), {"k": "v"}), (({"z": 1, "a": {2, 3}},), {}),
    (({"s", "t", "u", "v"}, frozenset({"x", "y"})), {"w": [1, 2]}),
]
for args, kwds in calls:
    print(h(*args, **kwds), hs(*args, **kwds), stable_digest((args, kwds)))
"""


def test_stable_keys_are_identical_under_different_hash_seeds() -> None:
    first, second = _run(STABLE_CORPUS, "1"), _run(STABLE_CORPUS, "2")
    assert first == second
    assert len(first.split()) == 21


def test_divergence_builtin_hash_of_a_sentinel_key() -> None:
    # klepto's SENTINEL hashed by identity, so keys holding it changed with every
    # process; ours hashes its name, so such a key hashes like any tuple of strings.
    kk = pytest.importorskip("klepto.keymaps")
    assert hash(SENTINEL) == hash("SENTINEL")
    ours = hashmap(sentinel=SENTINEL)(1, c=3)
    theirs = kk.hashmap(sentinel=kk.SENTINEL)(1, c=3)
    assert int(ours) == hash((1, SENTINEL, "c", 3))
    assert theirs == hash((1, kk.SENTINEL, "c", 3))
