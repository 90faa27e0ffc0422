"""klepto_core's six decorators against klepto 0.2.8's, on the same random call sequences.

With ``keymap()`` keys on both sides, every call must return the same value
(including *which* computation produced it), and ``info()``, the memory keys
(in order) and, with an archive, the archive contents must agree after every
step. ``rr`` draws from the global ``random`` module on both sides; klepto
picks from ``list(memory)``, klepto_core from its own list that matches memory
order until the first eviction, so rr is compared up to and including it.
Sequences never ``load()`` the archive: entries the policy has not seen are
evicted first in klepto_core (compat spec §6 edge 9) and differently in klepto.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import klepto_core

klepto = pytest.importorskip("klepto")

POLICIES = ("lru", "lfu", "mru", "rr", "inf", "no")


def run(module, policy, maxsize, purge, archived, steps):
    computed = 0

    def func(x):
        nonlocal computed
        computed += 1
        return (x, computed)

    cache = module.archives.dict_archive() if archived else None
    decorator = getattr(module, f"{policy}_cache")
    f = decorator(maxsize=maxsize, cache=cache, keymap=module.keymaps.keymap(), purge=purge)(func)
    memory = f.__cache__()
    trace = []
    for step in steps:
        value = None
        if step == "dump":
            f.dump()
        elif step == "clear":
            f.clear()
        else:
            value = f(step)
        archive = sorted(memory.archive.__asdict__().items()) if archived else None
        trace.append((value, tuple(f.info()), list(memory), archive, hash(random.getstate())))
    return trace


def first_eviction(trace):
    """Index of the first step after which a key left memory and memory is not empty."""
    before: set = set()
    for n, (_value, _info, keys, _archive, _rng) in enumerate(trace):
        if before - set(keys) and keys:
            return n
        before = set(keys)
    return len(trace)


def steps_over(span):
    """Calls on keys 0..span, with an occasional ``dump()`` or ``clear()``."""
    step = st.tuples(st.integers(0, 19), st.integers(0, span))
    return st.lists(step.map(lambda t: t[1] if t[0] < 18 else ("dump", "clear")[t[0] - 18]))


@pytest.mark.parametrize("policy", POLICIES)
@settings(max_examples=150, deadline=None)
@given(
    maxsize=st.integers(0, 12),
    purge=st.booleans(),
    archived=st.booleans(),
    span=st.integers(1, 19),
    data=st.data(),
    seed=st.integers(0, 2**16),
)
def test_same_results_counters_and_memory_as_klepto(
    policy, maxsize, purge, archived, span, data, seed
):
    steps = data.draw(steps_over(span), label="steps")
    random.seed(seed)
    want = run(klepto, policy, maxsize, purge, archived, steps)
    random.seed(seed)
    got = run(klepto_core, policy, maxsize, purge, archived, steps)
    if policy == "rr":
        stop = first_eviction(want) + 1
        want, got = want[:stop], got[:stop]
    for n, (mine, theirs) in enumerate(zip(got, want)):
        assert mine == theirs, f"step {n} ({steps[n]!r}) of {steps}"


@pytest.mark.parametrize("policy", ("lru", "lfu", "mru", "rr"))
@pytest.mark.parametrize("purge", (False, True))
def test_compat_table_with_a_dict_archive(policy, purge):
    # compat spec §1.3: calls 1..5 at maxsize 3 with a cached dict_archive
    def memory_and_archive(module):
        random.seed(0)
        f = getattr(module, f"{policy}_cache")(
            maxsize=3,
            cache=module.archives.dict_archive("a"),
            keymap=module.keymaps.keymap(),
            purge=purge,
        )(lambda x: x)
        for x in range(1, 6):
            f(x)
        memory = f.__cache__()
        return sorted(memory), sorted(memory.archive.__asdict__())

    assert memory_and_archive(klepto_core) == memory_and_archive(klepto)
