"""Each archive kind, behind klepto's memory cache, against a model of two plain dicts.

Random sequences of set, get, delete, dump, load, sync, drop and reopen; after
every step the cache's memory equals the memory model and the archive equals
the stored model. Persistent kinds are reopened from their location (memory
starts empty); the others travel through pickle (memory and contents kept).
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)

from tests import services
from tests.matrix.strategies import (
    Location,
    Target,
    all_targets,
    hashable_values,
    json_values,
    place,
)

_MISSING = object()


class ArchiveMachine(RuleBasedStateMachine):
    """A cache over one archive; ``target`` and ``base`` are set by the test."""

    target: ClassVar[Target]
    base: ClassVar[Path]
    made: ClassVar[list[Location]]

    def __init__(self) -> None:
        super().__init__()
        self.location = place(self.target, self.base)
        self.made.append(self.location)
        self.cache = self.location.open(cached=True)
        self.memory: dict[Any, Any] = {}
        self.stored: dict[Any, Any] = {}
        self.keeps = not self.target.is_null  # a null archive stores nothing

    def _store(self, entries: dict[Any, Any]) -> None:
        if self.keeps:
            self.stored.update(entries)

    # -- memory ----------------------------------------------------------------------------

    @rule(key=hashable_values(), value=json_values())
    def set(self, key: Any, value: Any) -> None:
        self.cache[key] = value
        self.memory[key] = value

    @rule(key=hashable_values())
    def get(self, key: Any) -> None:
        assert self.cache.get(key, _MISSING) == self.memory.get(key, _MISSING)

    @rule(key=hashable_values())
    def delete(self, key: Any) -> None:
        if key in self.memory:
            del self.cache[key]
            del self.memory[key]
        else:
            with pytest.raises(KeyError):
                del self.cache[key]

    # -- between memory and archive ----------------------------------------------------------

    @rule(keys=st.lists(hashable_values(), max_size=2))
    def dump(self, keys: list[Any]) -> None:
        self.cache.dump(*keys)
        chosen = keys or list(self.memory)
        self._store({k: self.memory[k] for k in chosen if k in self.memory})

    @rule(keys=st.lists(hashable_values(), max_size=2))
    def load(self, keys: list[Any]) -> None:
        self.cache.load(*keys)
        chosen = keys or list(self.stored)
        self.memory.update({k: self.stored[k] for k in chosen if k in self.stored})

    @rule(clear=st.booleans())
    def sync(self, clear: bool) -> None:
        self.cache.sync(clear=clear)
        if clear:
            self.stored.clear()
            self._store(self.memory)
        else:
            self._store(self.memory)
            self.memory.update(self.stored)

    @rule()
    def drop(self) -> None:
        """Remove the archive's storage, then open its location again: it is empty."""
        self.cache.archive.__drop__()
        self.cache.archive.close()
        self.cache.archive = self.location.open()
        self.stored.clear()

    @rule()
    def reopen(self) -> None:
        if self.target.persistent:
            self.cache.archive.close()
            self.cache = self.location.open(cached=True)
            self.memory.clear()
        else:
            self.cache = pickle.loads(pickle.dumps(self.cache))

    @invariant()
    def agrees(self) -> None:
        assert dict(self.cache) == self.memory, self.target.label
        assert self.cache.archive.__asdict__() == self.stored, self.target.label

    def teardown(self) -> None:
        self.cache.archive.close()


@pytest.mark.parametrize("target", all_targets(), ids=lambda t: t.label)
def test_archive_agrees_with_a_dict_model(target: Target, tmp_path: Path) -> None:
    if target.service is not None:
        services.require(target.service)
    made: list[Location] = []
    machine = type(
        f"{target.label}Machine", (ArchiveMachine,), {"target": target, "base": tmp_path, "made": made}
    )
    try:
        budget = settings()
        if target.service is not None:  # a round trip per step: keep "thorough" within the timeout
            budget = settings(budget, max_examples=min(budget.max_examples, 40))
        run_state_machine_as_test(machine, settings=budget)
    finally:
        for location in made:
            location.cleanup()
