"""Every policy, through its klepto-style decorator, against a plain reference model.

The model is the documented algorithm written the obvious way (lists, sorting,
no cleverness): klepto's per-call pipeline (hit / archive load / miss, overflow
only after a load or miss, purge to the archive, victims dumped before they
leave) plus the edge-9 fix (entries the policy never saw are evicted first).
Random call sequences, mixed with ``load()``, ``dump()`` and ``clear()``, must
give the same values, counters, memory (in order) and archive contents.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import klepto_core
from klepto_core.memo.memory import cache as cache_type
from klepto_core.registry import REGISTRY

POLICIES = ("lru", "lfu", "mru", "rr", "inf", "no")
HAS_DICT_ARCHIVE = "dict" in REGISTRY.names("archive")


def key_of(*args: Any, **kwds: Any) -> Any:
    """The keymap of these tests: the single argument itself."""
    return kwds["x"]


class Model:
    """The reference: memory, archive and one policy's bookkeeping, as plain lists and dicts."""

    def __init__(self, policy: str, maxsize: int | None, purge: bool, archived: bool) -> None:
        if policy in ("lru", "lfu", "mru", "rr") and maxsize == 0:
            policy = "no"  # klepto redirects maxsize=0 to no_cache
        self.policy = policy
        self.maxsize = {"inf": None, "no": 0}.get(policy, maxsize)
        self.purge = {"inf": False, "no": True}.get(policy, purge)
        self.memory: dict[int, Any] = {}
        self.archive: dict[int, Any] | None = {} if archived else None
        self.computed = 0
        self.hits = self.misses = self.loads = 0
        self.reset()

    def reset(self) -> None:
        self.order: list[int] = []  # lru/mru: least recent first; rr: the choice list
        self.counts: dict[int, int] = {}  # lfu: key -> uses, in admission order

    def tracked(self) -> set[int]:
        return set(self.counts) if self.policy == "lfu" else set(self.order)

    def use(self, key: int) -> None:
        if self.policy in ("lru", "mru"):
            if key in self.order:
                self.order.remove(key)
            self.order.append(key)
        elif self.policy == "lfu":
            self.counts[key] = self.counts.get(key, 0) + 1
        elif self.policy == "rr" and key not in self.order:
            self.order.append(key)

    def compute(self, x: int) -> Any:
        self.computed += 1
        return (x, self.computed)

    def victims(self, new: int) -> list[int]:
        maxsize = self.maxsize or 0
        excess = min(len(self.memory), len(self.memory) - maxsize)
        wanted = excess
        if self.policy == "lfu":
            wanted = min(len(self.memory), max(excess, 2, maxsize // 10))
        tracked = self.tracked()
        out = [k for k in self.memory if k not in tracked][:wanted]
        while len(out) < wanted:
            if self.policy == "lru":
                out.append(self.order.pop(0))
            elif self.policy == "lfu":
                if not self.counts:
                    break
                lowest = sorted(self.counts.items(), key=lambda item: item[1])[0][0]
                del self.counts[lowest]
                out.append(lowest)
            elif self.policy == "mru":
                before = [k for k in self.order if k != new]
                if before:
                    out.append(before[-1])
                    self.order.remove(before[-1])
                else:
                    out.append(new)
                    self.order.remove(new)
            elif self.policy == "rr":
                victim = random.choice(self.order)  # the global generator, as klepto
                index = self.order.index(victim)
                self.order[index] = self.order[-1]
                self.order.pop()
                out.append(victim)
            else:  # inf / no: oldest first
                out.extend(k for k in self.memory if k not in out)
                del out[wanted:]
        return out

    def call(self, x: int) -> Any:
        archive = self.archive
        if self.policy == "no":
            if archive is not None and x in archive:
                self.memory[x] = archive[x]
            if x in self.memory:
                value = self.memory[x]
                self.memory.clear()
                self.loads += 1
                return value
            value = self.memory[x] = self.compute(x)
            self.misses += 1
            if archive is not None:
                archive.update(self.memory)
            self.memory.clear()
            return value
        if x in self.memory:
            self.hits += 1
            if self.policy in ("lru", "mru", "lfu"):
                self.use(x)
            return self.memory[x]
        if archive is not None and x in archive:
            value = self.memory[x] = archive[x]
            self.loads += 1
        else:
            value = self.memory[x] = self.compute(x)
            self.misses += 1
        self.use(x)
        if self.maxsize is not None and len(self.memory) > self.maxsize:
            if archive is not None and self.purge:
                archive.update(self.memory)
                self.memory.clear()
                self.reset()
            else:
                for victim in self.victims(x):
                    if archive is not None:
                        archive[victim] = self.memory[victim]
                    del self.memory[victim]
        return value

    def load(self) -> None:
        if self.archive is not None:
            self.memory.update(self.archive)

    def dump(self) -> None:
        if self.archive is not None:
            self.archive.update(self.memory)

    def clear(self) -> None:
        self.memory.clear()
        self.reset()
        self.hits = self.misses = self.loads = 0

    def state(self, value: Any) -> tuple[Any, ...]:
        info = (self.hits, self.misses, self.loads, self.maxsize, len(self.memory))
        archive = None if self.archive is None else list(self.archive.items())
        return value, info, list(self.memory.items()), archive


def run_real(policy: str, maxsize: int, purge: bool, archived: bool, steps: list[Any]) -> list:
    computed = 0

    def func(x: int) -> Any:
        nonlocal computed
        computed += 1
        return (x, computed)

    memory = None
    if archived:
        memory = cache_type(archive=klepto_core.archives.dict_archive(cached=False))
    decorator = getattr(klepto_core, f"{policy}_cache")
    f = decorator(maxsize=maxsize, cache=memory, keymap=key_of, purge=purge)(func)
    memory = f.__cache__()
    trace = []
    for step in steps:
        value = None
        if step == "load":
            f.load()
        elif step == "dump":
            f.dump()
        elif step == "clear":
            f.clear()
        else:
            value = f(step)
        archive = list(memory.archive.__asdict__().items()) if archived else None
        trace.append((value, tuple(f.info()), list(memory.items()), archive))
    return trace


def run_model(policy: str, maxsize: int, purge: bool, archived: bool, steps: list[Any]) -> list:
    model = Model(policy, maxsize, purge, archived)
    trace = []
    for step in steps:
        value = None
        if step in ("load", "dump", "clear"):
            getattr(model, step)()
        else:
            value = model.call(step)
        trace.append(model.state(value))
    return trace


STEP = st.integers(0, 19).map(lambda i: i if i < 17 else ("load", "dump", "clear")[i - 17])
ARCHIVED = st.booleans() if HAS_DICT_ARCHIVE else st.just(False)


@pytest.mark.parametrize("policy", POLICIES)
@settings(max_examples=150, deadline=None)
@given(
    maxsize=st.integers(0, 8),
    purge=st.booleans(),
    archived=ARCHIVED,
    steps=st.lists(STEP, max_size=60),
    seed=st.integers(0, 2**16),
)
def test_policy_matches_reference_model(policy, maxsize, purge, archived, steps, seed):
    random.seed(seed)
    real = run_real(policy, maxsize, purge, archived, steps)
    random.seed(seed)
    expected = run_model(policy, maxsize, purge, archived, steps)
    for n, (got, want) in enumerate(zip(real, expected)):
        assert got == want, f"step {n} ({steps[n]!r}) of {steps}"


@pytest.mark.parametrize("policy", ("lru", "lfu", "mru", "rr"))
@settings(max_examples=100, deadline=None)
@given(maxsize=st.integers(1, 8), steps=st.lists(st.integers(0, 12), max_size=80))
def test_memory_never_exceeds_maxsize(policy, maxsize, steps):
    f = getattr(klepto_core, f"{policy}_cache")(maxsize=maxsize, keymap=key_of)(lambda x: -x)
    for x in steps:
        assert f(x) == -x
        assert len(f.__cache__()) <= maxsize
