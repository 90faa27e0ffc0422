"""The pickle keymap (klepto's ``picklemap``): serialized keys, options, and parity with klepto."""

from __future__ import annotations

import json
import pickle
from typing import Any, ClassVar

import pytest

from klepto_core import keymaps
from klepto_core.base.keymap import Keymap
from klepto_core.errors import InvalidArgumentError
from klepto_core.keymaps import SENTINEL, keymap, picklemap
from klepto_core.testing import KeymapConformance

INT = int
ARGS, KWDS = (1, 2), {"a": 3, "b": 4}
DILL_KEY = b"\x80\x04\x95\x0e\x00\x00\x00\x00\x00\x00\x00(K\x01K\x02\x8c\x01c\x94K\x03t\x94."


PICKLERS = {"pickle", "dill", "cloudpickle"}


class TestPickleKeymapConformance(KeymapConformance):
    keymap_name = "picklemap"
    lossy = False
    identity = False
    klepto_name = "picklemap"
    klepto_selector_values = (None, "pickle", "dill", "json", "cloudpickle", "jsonpickle")

    def compare_with_klepto(
        self, options: dict[str, Any], call: Any, ours: tuple[str, Any], theirs: tuple[str, Any]
    ) -> None:
        serializer = options["serializer"]
        if serializer is not None:
            pytest.importorskip(serializer)
        if options["sentinel"] is SENTINEL and (
            serializer in PICKLERS or serializer == "jsonpickle"
        ):
            # divergence (see test_divergence_a_pickled_sentinel_is_ours): same key once loaded
            assert ours[0] == theirs[0] == "ok"
            loaded = __import__(serializer).loads(ours[1])
            args, kwds = call
            raw = keymap(**{k: v for k, v in options.items() if k != "serializer"})(*args, **kwds)
            assert repr(loaded) == repr(raw)  # jsonpickle rebuilds a new _Sentinel: compare reprs
            if serializer in PICKLERS:
                assert loaded == raw
            return
        assert ours == theirs


class TestPickleKeymapPickledConformance(KeymapConformance):
    """Keys as pickle bytes rather than the default repr text."""

    keymap_name = "picklemap"
    keymap_options: ClassVar[dict[str, Any]] = {"serializer": "pickle"}


def test_resolves_through_the_registry_to_the_plugin_class() -> None:
    from klepto_keymap_picklemap import PickleKeymap

    assert picklemap is PickleKeymap
    assert issubclass(PickleKeymap, Keymap)


def test_direct_calls_match_klepto() -> None:
    assert picklemap()(1, 2, c=3) == "(1, 2, 'c', 3)"
    assert picklemap(flat=False)(1, 2, c=3) == "((1, 2), {'c': 3})"
    assert picklemap(serializer="dill")(1, 2, c=3) == DILL_KEY
    assert picklemap(serializer="pickle")(1, 2, c=3) == DILL_KEY
    assert picklemap(serializer="json")(1, 2, c=3) == '[1, 2, "c", 3]'
    assert picklemap()() == "()"


def test_klepto_test_picklemap_cases() -> None:
    dill = pytest.importorskip("dill")
    typed = (1, 2, "a", 3, "b", 4, INT, INT, INT, INT)
    assert picklemap(serializer="dill")(*ARGS, **KWDS) == dill.dumps((1, 2, "a", 3, "b", 4))
    assert dill.loads(picklemap(flat=False, serializer="dill")(*ARGS, **KWDS)) == (ARGS, KWDS)
    assert picklemap(typed=True, serializer="dill")(*ARGS, **KWDS) == dill.dumps(typed)
    key = picklemap(typed=True, flat=False, serializer="dill")(*ARGS, **KWDS)
    assert dill.loads(key) == (ARGS, KWDS, (INT, INT), (INT, INT))


def test_klepto_test_crypto_pickle_equals_repr_string() -> None:
    x = [1, 2, 3, "4", "'5'", min]
    assert picklemap()(x) == keymaps.stringmap(encoding="repr")(x)


def test_serializer_selector_byref_and_repr() -> None:
    assert picklemap()._config == {"byref": True}
    assert picklemap(byref=False)._config == {"byref": False}
    by_module = picklemap(serializer=json)
    assert by_module.__type__ == "json"
    assert repr(by_module) == "picklemap(serializer='json')"
    assert repr(picklemap(sentinel=SENTINEL, serializer="dill")) == (
        "picklemap(sentinel=<SENTINEL>, serializer='dill')"
    )
    assert pickle.loads(pickle.dumps(by_module))(1, c=2) == by_module(1, c=2)


def test_bad_serializers_fail_like_klepto() -> None:
    with pytest.raises(NameError, match="name 'nope' is not defined"):
        picklemap(serializer="nope")(1)


def test_divergence_a_non_module_serializer_is_rejected_when_the_keymap_is_made() -> None:
    # klepto raised AttributeError ('int' object has no attribute '__name__')
    with pytest.raises(InvalidArgumentError, match="module or a module name"):
        picklemap(serializer=3)
    with pytest.raises(TypeError):
        picklemap(serializer=3)


def test_divergence_serializer_options_are_honoured() -> None:
    # klepto edge 21: one refused option (byref) made klepto drop all of them
    assert picklemap(serializer="pickle", protocol=0)(1)[:2] == b"I1"
    assert picklemap(serializer="pickle", protocol=2)(1)[:2] == b"\x80\x02"
    assert picklemap(serializer="dill", protocol=2)(1)[:2] == b"\x80\x02"
    assert picklemap(serializer="json", separators=(",", ":"))({"a": 1}) == '[{"a":1}]'
    kk = pytest.importorskip("klepto.keymaps")
    assert kk.picklemap(serializer="pickle", protocol=0)(1)[:2] == b"\x80\x04"
    assert kk.picklemap(serializer="json", separators=(",", ":"))({"a": 1}) == '[{"a": 1}]'


@pytest.mark.parametrize("serializer", ["pickle", "dill"])
def test_pickled_keys_load_back_to_the_formatted_key(serializer: str) -> None:
    km = picklemap(typed=True, sentinel=SENTINEL, serializer=serializer)
    loaded = pickle.loads(km(1, c="x"))
    assert loaded == keymap(typed=True, sentinel=SENTINEL)(1, c="x")
    assert loaded[1] is SENTINEL


def test_klepto_test_stub_decode() -> None:
    key = [1, 2, 3, 4, 5]
    decoder = keymaps._stub_decoder
    k = picklemap(serializer="pickle")
    assert decoder(k)(k(key))[0] == key
    assert decoder("pickle")(k(key))[0] == key
    k = picklemap()
    assert decoder(k)(k(key))[0] == key
    assert decoder("repr")(k(key))[0] == key
    k = keymap()
    assert decoder(k)(k(key))[0] == key
    assert decoder(None)(k(key))[0] == key


def test_stub_decoder_of_a_repr_picklemap_never_runs_code() -> None:
    with pytest.raises(ValueError):
        keymaps._stub_decoder(picklemap())("exit(3)")
    assert keymaps._stub_decoder("not-a-known-name")("exit(3)") == "exit(3)"


def test_divergence_a_pickled_sentinel_is_ours() -> None:
    # a pickled key holding SENTINEL references klepto_core's singleton by name;
    # klepto's referenced its own class, so the bytes differ (and load to the singleton here)
    kk = pytest.importorskip("klepto.keymaps")
    ours = picklemap(serializer="pickle", sentinel=SENTINEL)(1, c=2)
    theirs = kk.picklemap(serializer="pickle", sentinel=kk.SENTINEL)(1, c=2)
    assert ours != theirs
    assert b"klepto_core.keymap" in ours and b"SENTINEL" in ours
    assert pickle.loads(ours) == (1, SENTINEL, "c", 2)
