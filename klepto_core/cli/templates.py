"""The files ``klepto-core new-plugin`` writes, as ``string.Template`` text per kind of plugin.

Placeholders: ``$kind``, ``$name`` (the entry point name users type), ``$Class``
(its CamelCase), ``$package``, ``$dist`` and ``$group`` (the entry point group).
Each kind's module is a minimal but working plugin, and its tests run klepto_core's
conformance suite for that kind where one exists.
"""

from __future__ import annotations

PYPROJECT = """\
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "$dist"
version = "0.1.0"
description = "$summary"
requires-python = ">=3.10"
dependencies = ["klepto-core"]

[project.optional-dependencies]
test = ["pytest"]

[project.entry-points."$group"]
$name = "$package"

[tool.setuptools]
packages = ["$package"]

[tool.pytest.ini_options]
testpaths = ["tests"]
markers = ["slow: takes more than a few seconds"]
"""

README = """\
# $dist

$summary: a klepto_core $kind plugin named `$name`.

```sh
pip install -e ".[test]"  # registers the entry point "$name" in the group "$group"
python -m pytest tests    # klepto_core's conformance suite plus this plugin's own tests
klepto-core plugins $kind # lists it with its distribution and version
```
$usage
"""

USAGE = {
    "observer": """
```python
import klepto_core
from $package import counts

@klepto_core.cached()      # installed observers see every function decorated after import
def f(x): ...

f(1), f(1)
counts()                   # {'f': Counter({'miss': 1, 'hit': 1})}
```""",
    "policy": """
```python
import klepto_core

@klepto_core.cached(policy="$name", maxsize=100)
def f(x): ...

@klepto_core.${name}_cache(maxsize=100)   # the klepto-style decorator
def g(x): ...
```""",
    "keymap": """
```python
import klepto_core

@klepto_core.cached(keymap="$name")
def f(x): ...
```""",
    "serializer": """
```python
from klepto_core.plugin import get_serializer

get_serializer("$name").dumps(obj)   # archives take serializer="$name"
```""",
    "archive": """
```python
import klepto_core

store = klepto_core.open_archive("$name:somewhere")

@klepto_core.cached(archive="$name")
def f(x): ...
```""",
}

SUMMARY = {
    "observer": "An observer for klepto_core that counts cache events per function",
    "policy": "A first-in-first-out eviction policy for klepto_core",
    "keymap": "A keymap for klepto_core whose keys are the repr of the arguments",
    "serializer": "A pickle-based serializer for klepto_core",
    "archive": "An in-memory archive for klepto_core (a template for a real backend)",
}

MODULE = {
    "observer": '''\
"""Counts each decorated function's cache events: hits, misses, loads and evictions."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Hashable
from typing import Any

from klepto_core.plugin import Observer, PluginSpec, hookimpl


class ${Class}Observer(Observer):
    """Event counts per function name; one instance per process (klepto_core makes it once)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: dict[str, Counter[str]] = {}

    def _count(self, func: Callable[..., Any], event: str) -> None:
        with self._lock:
            self.counts.setdefault(func.__qualname__, Counter())[event] += 1

    def hit(self, func: Callable[..., Any], key: Hashable) -> None:
        self._count(func, "hit")

    def miss(self, func: Callable[..., Any], key: Hashable) -> None:
        self._count(func, "miss")

    def load(self, func: Callable[..., Any], key: Hashable) -> None:
        self._count(func, "load")

    def evict(self, func: Callable[..., Any], key: Hashable) -> None:
        self._count(func, "evict")


OBSERVER = ${Class}Observer()


def counts() -> dict[str, Counter[str]]:
    """A snapshot of the event counts per function."""
    with OBSERVER._lock:
        return {name: Counter(c) for name, c in OBSERVER.counts.items()}


@hookimpl
def klepto_core_observer() -> PluginSpec:
    return PluginSpec(
        name="$name",
        factory=lambda: OBSERVER,
        description="counts cache events per function",
    )
''',
    "policy": '''\
"""First in, first out: the entry stored earliest leaves memory first, whatever was used since."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Mapping
from typing import Any

from klepto_core.plugin import PluginSpec, Policy, hookimpl, untracked_victims


class ${Class}Policy(Policy):
    """Evict keys in the order they were admitted; a hit changes nothing, so ``on_hit`` is None.

    The decorator calls ``admitted`` after a miss stores a key and ``victims``
    when memory holds more than ``maxsize`` entries; it does the evicting.
    """

    def __init__(self, maxsize: int | None) -> None:
        super().__init__(maxsize)
        self._order: OrderedDict[Hashable, None] = OrderedDict()

    def admitted(self, key: Hashable) -> None:
        self._order[key] = None  # a key already tracked keeps its place

    def victims(self, memory: Mapping[Hashable, Any], new_key: Hashable) -> list[Hashable]:
        # entries never admitted (a pre-filled cache) leave first; then the oldest admitted
        out, excess = untracked_victims(memory, self._order, self.maxsize)
        while len(out) < excess and self._order:
            key, _ = self._order.popitem(last=False)
            if key in memory:
                out.append(key)
        return out

    def forget(self, key: Hashable) -> None:
        self._order.pop(key, None)

    def clear(self) -> None:
        self._order.clear()


@hookimpl
def klepto_core_policy() -> PluginSpec:
    """Register the ``$name`` policy."""
    return PluginSpec(
        name="$name",
        factory=${Class}Policy,
        description="first in, first out: the oldest stored entry is evicted first",
    )
''',
    "keymap": '''\
"""A keymap whose keys are the ``repr`` of the formatted arguments: any arguments give a key."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from klepto_core.keys.content import exact_key
from klepto_core.plugin import Keymap, PluginSpec, hookimpl


class ${Class}Keymap(Keymap):
    """Key a call by the text ``repr`` gives its formatted arguments (lists and dicts included).

    The base class formats the call (flat or ``(args, kwds)``, ``typed``, ``sentinel``);
    a keymap plugin only encodes the result. ``exact_key`` first replaces each
    argument whose repr could stand for another value (a numpy array's summary,
    ``<object at 0x...>``) by its content key, so two calls never share a key.
    """

    name = "$name"

    def encode_key(self, formatted: Any) -> Hashable:
        return repr(exact_key(formatted))


@hookimpl
def klepto_core_keymap() -> PluginSpec:
    """Register the ``$name`` keymap."""
    return PluginSpec(
        name="$name",
        factory=${Class}Keymap,
        description="the repr of the arguments",
    )
''',
    "serializer": '''\
"""A serializer storing values as standard-library pickles."""

from __future__ import annotations

import pickle
from typing import Any, ClassVar

from klepto_core.plugin import PluginSpec, Serializer, hookimpl


class ${Class}Serializer(Serializer):
    """Values as pickles; an int ``protocol`` picks the pickle protocol.

    The base class turns any error of ``_dumps`` into a SerializationError, so
    an archive refuses the value before writing anything.
    """

    name: ClassVar[str] = "$name"
    roundtrips_any: ClassVar[bool] = True

    def _dumps(self, obj: Any) -> bytes:
        protocol = self.protocol if isinstance(self.protocol, int) else pickle.DEFAULT_PROTOCOL
        return pickle.dumps(obj, protocol=protocol)

    def _loads(self, data: bytes) -> Any:
        return pickle.loads(data)


@hookimpl
def klepto_core_serializer() -> PluginSpec:
    """Register the ``$name`` serializer."""
    return PluginSpec(
        name="$name",
        factory=${Class}Serializer,
        description="standard-library pickles",
    )
''',
    "archive": '''\
"""An archive held in process memory as serialized bytes: replace the dict with real storage.

klepto_core's Archive base class provides the whole dict API (and klepto's)
over the few primitives below; values reach ``_write`` already serialized and
leave ``_read`` still serialized, exactly as a file or database backend sees them.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any, ClassVar

from klepto_core.plugin import Archive, PluginSpec, archive_factory, get_serializer, hookimpl


class ${Class}Archive(Archive):
    """Entries are serialized bytes in a private dict; ``serializer`` names the format.

    A persistent backend sets ``persistent = True`` and makes ``_reopen_args``
    return what reaches the same storage again; optional primitives
    (``_write_many``, ``_count``, ``_has``, ``_items``) make batches faster.
    """

    __kind_name__: ClassVar[str] = "${name}_archive"

    def __init__(self, name: str | None = None, serializer: Any = None, **ignored: Any) -> None:
        super().__init__(name, {"id": name}, get_serializer(serializer))
        self._serializer_name = serializer if isinstance(serializer, str) else None
        self._data: dict[Hashable, bytes] = {}

    def _read(self, key: Hashable) -> bytes:
        return self._data[key]  # KeyError when absent, as the base class expects

    def _write(self, key: Hashable, payload: bytes) -> None:
        self._data[key] = payload

    def _delete(self, key: Hashable) -> None:
        del self._data[key]

    def _keys(self) -> Iterable[Hashable]:
        return list(self._data)

    def _clear(self) -> None:
        self._data.clear()

    def _reopen_args(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        return (self._name,), {"serializer": self._serializer_name}


${name}_archive = archive_factory(${Class}Archive)


@hookimpl
def klepto_core_archive() -> PluginSpec:
    """Register the archive: opened by its name, or by the URL ``<name>:``."""
    return PluginSpec(
        name="$name",
        factory=${name}_archive,
        description="entries in process memory, serialized",
        url_schemes=("$name",),
    )
''',
}

TESTS = {
    "observer": '''\
"""The observer is found by name and counts what a decorated function does."""

from __future__ import annotations

import klepto_core
from klepto_core.registry import REGISTRY

import $package as plugin

NAME = "$name"
DIST = "$dist"


def test_registered_under_its_name() -> None:
    assert REGISTRY.resolve("observer", NAME).factory() is plugin.OBSERVER
    row = next(r for r in klepto_core.plugins("observer") if r.name == NAME)
    assert row.distribution == DIST and row.error is None


def test_counts_hits_misses_and_evictions() -> None:
    @klepto_core.cached(maxsize=1)
    def scaffold_square(x: int) -> int:
        return x * x

    scaffold_square(2), scaffold_square(2), scaffold_square(3)
    seen = plugin.counts()[scaffold_square.__wrapped__.__qualname__]
    assert (seen["miss"], seen["hit"], seen["evict"]) == (2, 1, 1)


def test_a_function_can_opt_out() -> None:
    @klepto_core.cached(observers=[])
    def quiet(x: int) -> int:
        return x

    quiet(1)
    assert not any(name.endswith("quiet") for name in plugin.counts())
''',
    "policy": '''\
"""klepto_core's policy conformance suite, then the first-in-first-out rule itself."""

from __future__ import annotations

import klepto_core
from klepto_core.registry import REGISTRY
from klepto_core.testing import PolicyConformance

import $package as plugin

NAME = "$name"
DIST = "$dist"


class Test${Class}PolicyConformance(PolicyConformance):
    policy_name = NAME


def test_registered_under_its_name() -> None:
    assert REGISTRY.resolve("policy", NAME).factory is plugin.${Class}Policy
    row = next(r for r in klepto_core.plugins("policy") if r.name == NAME)
    assert row.distribution == DIST and row.error is None


def test_the_first_key_stored_is_the_first_evicted() -> None:
    computed = []

    @klepto_core.cached(policy=NAME, maxsize=2)
    def square(x: int) -> int:
        computed.append(x)
        return x * x

    for x in (1, 2, 1, 3):  # the hit on 1 does not keep it, as it would under lru
        square(x)
    assert computed == [1, 2, 3]
    assert square(2) == 4 and square(3) == 9 and computed == [1, 2, 3]
    assert square(1) == 1 and computed == [1, 2, 3, 1]


def test_the_klepto_style_decorator_exists() -> None:
    @klepto_core.${name}_cache(maxsize=1)
    def double(x: int) -> int:
        return 2 * x

    assert double(2) == 4 and double(2) == 4
    assert double.info().hit == 1
''',
    "keymap": '''\
"""klepto_core's keymap conformance suite, then what is this keymap's own."""

from __future__ import annotations

import klepto_core
from klepto_core.registry import REGISTRY
from klepto_core.testing import KeymapConformance

import $package as plugin

NAME = "$name"
DIST = "$dist"


class Test${Class}KeymapConformance(KeymapConformance):
    keymap_name = NAME
    lossy = False  # different calls never share a key
    identity = False
    accepts_unhashable = True  # lists and dicts among the arguments give text keys


def test_registered_under_its_name() -> None:
    assert REGISTRY.resolve("keymap", NAME).factory is plugin.${Class}Keymap
    row = next(r for r in klepto_core.plugins("keymap") if r.name == NAME)
    assert row.distribution == DIST and row.error is None


def test_keys_are_text_even_for_unhashable_arguments() -> None:
    km = plugin.${Class}Keymap()
    key = km([1, 2], {"a": 3})
    assert isinstance(key, str)
    assert key != km([1, 2], {"a": 4})
    assert km("1") != km(1)  # repr keeps the quotes


def test_a_cached_function_takes_list_arguments() -> None:
    computed = []

    @klepto_core.cached(keymap=NAME, maxsize=10)
    def total(values: list[int]) -> int:
        computed.append(values)
        return sum(values)

    assert total([1, 2]) == 3 and total([1, 2]) == 3 and total([2, 2]) == 4
    assert computed == [[1, 2], [2, 2]]
''',
    "serializer": '''\
"""klepto_core's serializer conformance suite, then what is this serializer's own."""

from __future__ import annotations

import pickle
from typing import ClassVar

import klepto_core
import pytest
from klepto_core.errors import SerializationError
from klepto_core.plugin import get_serializer
from klepto_core.testing import SerializerConformance

import $package as plugin

NAME = "$name"
DIST = "$dist"


class Test${Class}SerializerConformance(SerializerConformance):
    serializer_name = NAME
    roundtrips_any = True  # ANY_VALUES of klepto_core.testing.archive come back equal
    # what dumps(1) starts with under each protocol
    protocol_headers: ClassVar[dict[int, bytes]] = {2: b"\\x80\\x02", 4: b"\\x80\\x04"}
    load_error = pickle.UnpicklingError  # what loads raises for bytes that are not a pickle


def test_registered_under_its_name() -> None:
    assert isinstance(get_serializer(NAME), plugin.${Class}Serializer)
    row = next(r for r in klepto_core.plugins("serializer") if r.name == NAME)
    assert row.distribution == DIST and row.error is None


def test_a_lambda_is_refused() -> None:
    # the standard pickle stores functions by name only; a lambda has none
    with pytest.raises(SerializationError, match=NAME):
        get_serializer(NAME).dumps(lambda: 0)
''',
    "archive": '''\
"""klepto_core's archive conformance suite, then the archive used by name and by URL."""

from __future__ import annotations

from collections.abc import Hashable
from pathlib import Path

import klepto_core
from klepto_core.plugin import Archive
from klepto_core.testing import ArchiveConformance

import $package as plugin

NAME = "$name"
DIST = "$dist"
factory = plugin.${name}_archive


class Test${Class}ArchiveConformance(ArchiveConformance):
    persistent = False  # entries live in process memory

    def make_archive(self, tmp_path: Path) -> Archive:
        return factory(str(tmp_path), cached=False)  # type: ignore[no-any-return]

    def corrupt(self, archive: Archive, key: Hashable) -> None:
        archive._data[key] = b"not a pickle"  # type: ignore[attr-defined]


def test_registered_under_its_name() -> None:
    row = next(r for r in klepto_core.plugins("archive") if r.name == NAME)
    assert row.distribution == DIST and row.error is None


def test_opens_by_url_and_by_name() -> None:
    archive_type = plugin.${Class}Archive
    assert isinstance(klepto_core.open_archive(f"{NAME}:"), archive_type)
    named = klepto_core.open_archive(f"{NAME}:somewhere")
    assert isinstance(named, archive_type) and named.name == "somewhere"


def test_values_are_stored_serialized() -> None:
    archive = factory(cached=False)
    archive["k"] = [1, "two"]
    assert isinstance(archive._data["k"], bytes)
    assert archive["k"] == [1, "two"]


def test_a_cached_function_stores_its_results_in_it() -> None:
    @klepto_core.cached(archive=NAME, maxsize=1)
    def square(x: int) -> int:
        return x * x

    assert square(2) == 4 and square(3) == 9
    archive = square.__cache__().archive
    assert isinstance(archive, plugin.${Class}Archive)
    assert sorted(archive.values()) == [4, 9]
''',
}
