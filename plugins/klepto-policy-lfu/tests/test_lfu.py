"""The lfu policy: klepto's counting and tie-breaking, O(1) bookkeeping, conformance."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from klepto_policy_lfu import LFUPolicy

import klepto_core
from klepto_core.testing import PolicyConformance


class TestLFUPolicyConformance(PolicyConformance):
    policy_name = "lfu"


def run(policy: LFUPolicy, calls: list[int]) -> tuple[dict[int, None], list[list[int]]]:
    """Drive the policy as the decorator does; return memory and the victims of each overflow."""
    memory: dict[int, None] = {}
    evicted = []
    for key in calls:
        if key in memory:
            policy.on_hit(key)
            continue
        memory[key] = None
        policy.admitted(key)
        if len(memory) > policy.maxsize:
            victims = policy.victims(memory, key)
            evicted.append(victims)
            for victim in victims:
                del memory[victim]
    return memory, evicted


def test_klepto_examples():
    # compat spec §1.3: 1,1,2,2,3,3,4 at maxsize 3 evicts 4 then 1
    memory, evicted = run(LFUPolicy(3), [1, 1, 2, 2, 3, 3, 4])
    assert evicted == [[4, 1]]
    assert list(memory) == [2, 3]
    memory, evicted = run(LFUPolicy(1), [1, 2])
    assert evicted == [[1, 2]] and memory == {}
    memory, evicted = run(LFUPolicy(30), list(range(31)))
    assert evicted == [[0, 1, 2]] and len(memory) == 28


def test_ties_go_to_the_earliest_admitted_key_even_after_reordering():
    # 2 reaches count 2 before 1 does; among equal counts 1 (admitted first) still goes first
    policy = LFUPolicy(2)
    memory, evicted = run(policy, [1, 2, 2, 1, 3])
    assert evicted == [[3, 1]]
    assert list(memory) == [2]


def test_a_key_back_after_eviction_counts_as_new():
    memory, evicted = run(LFUPolicy(3), [1, 2, 3, 4, 1, 5])
    # first overflow at 4: counts all 1 -> 1 and 2 leave; 1 re-enters as the newest key
    assert evicted[0] == [1, 2]
    assert evicted[1] == [3, 4]


def test_counts_survive_many_uses_and_buckets_stay_linked():
    policy = LFUPolicy(4)
    memory, _ = run(policy, [1] * 50 + [2] * 3 + [3, 4])
    # 5 overflows: 3 and 4 (count 1) are the lowest, 3 was admitted first
    memory[5] = None
    policy.admitted(5)
    assert policy.victims(memory, 5) == [3, 4]


def test_clear_forgets_counts():
    policy = LFUPolicy(2)
    run(policy, [1, 1, 1, 2])
    policy.clear()
    memory = {3: None, 4: None, 5: None}
    for key in memory:
        policy.admitted(key)
    assert policy.victims(memory, 5) == [3, 4]


klepto = pytest.importorskip("klepto")


@settings(max_examples=300, deadline=None)
@given(data=st.data(), maxsize=st.integers(1, 30))
def test_evictions_match_klepto_lfu_cache(data, maxsize):
    # keys from a range a little wider than the cache, so counts climb and ties reorder
    span = st.integers(0, maxsize + data.draw(st.integers(1, 6), label="extra keys"))
    calls = data.draw(st.lists(span, max_size=150), label="calls")

    def trace(module):
        called = []

        @module.lfu_cache(maxsize=maxsize, keymap=module.keymaps.keymap())
        def f(x):
            called.append(x)
            return x

        sizes = []
        for x in calls:
            assert f(x) == x
            sizes.append(sorted(f.__cache__()))
        return called, sizes, tuple(f.info())

    assert trace(klepto_core) == trace(klepto)


def assert_sound(policy: LFUPolicy) -> None:
    """The bucket list is linked both ways, counts rise, no bucket is empty, ``_where`` agrees."""
    with policy._lock:
        seen: dict[object, object] = {}
        previous, bucket, last_count = policy._head, policy._head.next, 0
        while bucket is not None:
            assert bucket.prev is previous
            assert bucket.count > last_count, "bucket counts must rise along the list"
            assert bucket.keys, "an empty bucket left linked"
            for key in bucket.keys:
                assert key not in seen, f"{key!r} in two buckets"
                seen[key] = bucket
            previous, last_count, bucket = bucket, bucket.count, bucket.next
        assert seen.keys() == policy._where.keys()
        assert all(policy._where[key] is owner for key, owner in seen.items())


class ModelLFU:
    """The policy written the obvious way: a count per key, in admission order."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self.counts: dict[int, int] = {}

    def use(self, key: int) -> None:
        self.counts[key] = self.counts.get(key, 0) + 1

    def victims(self, memory: dict[int, None]) -> list[int]:
        excess = len(memory) - self.maxsize
        total = min(len(memory), max(excess, 2, self.maxsize // 10))
        out = [k for k in memory if k not in self.counts][:total]
        for key, _ in sorted(self.counts.items(), key=lambda item: item[1]):
            if len(out) >= total:
                break
            del self.counts[key]
            if key in memory:
                out.append(key)
        return out


OP = st.one_of(
    st.tuples(st.just("call"), st.integers(0, 12)),
    st.tuples(st.just("call"), st.integers(0, 3)),  # hot keys: long runs of hits
    st.tuples(st.just("prefill"), st.integers(0, 12)),
    st.tuples(st.just("forget"), st.integers(0, 12)),
)


@settings(max_examples=60, deadline=None)
@given(maxsize=st.integers(1, 10), ops=st.lists(OP, min_size=200, max_size=900))
def test_batched_hits_give_the_counts_and_victims_of_one_hit_at_a_time(maxsize, ops):
    # runs long enough that pending hits are applied in batches, repeats coalesced
    policy, model = LFUPolicy(maxsize), ModelLFU(maxsize)
    memory: dict[int, None] = {}
    for op, key in ops:
        if op == "prefill":  # an entry the policy never saw; its first hit admits it
            memory.setdefault(key, None)
        elif op == "forget":
            memory.pop(key, None)
            policy.forget(key)
            model.counts.pop(key, None)
        elif key in memory:
            policy.on_hit(key)
            model.use(key)
        else:
            memory[key] = None
            policy.admitted(key)
            model.use(key)
            if len(memory) > maxsize:
                victims = policy.victims(memory, key)
                assert victims == model.victims(memory)
                for victim in victims:
                    del memory[victim]
    assert list(policy.counts().items()) == sorted(model.counts.items(), key=lambda i: i[1])
    assert_sound(policy)


def test_many_hits_on_one_key_keep_one_bucket():
    policy = LFUPolicy(10)
    for key in range(5):
        policy.admitted(key)
    for _ in range(10_000):
        policy.on_hit(2)
    assert policy.counts() == {0: 1, 1: 1, 3: 1, 4: 1, 2: 10_001}
    assert_sound(policy)
    assert len(policy._pending) == 0


def hammer(f, keys: range, calls: int, threads: int, seed: int) -> None:
    """Call ``f`` from several threads at once on random keys."""
    import random
    import sys
    import threading

    start = threading.Barrier(threads)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        rng = random.Random(seed + n)
        sequence = [rng.choice(keys) for _ in range(calls)]
        start.wait()
        try:
            for x in sequence:
                assert f(x) == 3 * x
        except BaseException as exc:  # re-raised in the calling thread below
            errors.append(exc)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        pool = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    if errors:
        raise errors[0]


def test_threads_hitting_without_evictions_lose_no_use():
    # every call is one use: with nothing evicted, the counts add up to the calls
    f = klepto_core.lfu_cache(maxsize=10_000)(lambda x: 3 * x)
    hammer(f, range(50), calls=20_000, threads=4, seed=1)
    policy = f.__policy__()
    assert sum(policy.counts().values()) == 4 * 20_000
    info = f.info()
    assert info.hit + info.miss == 4 * 20_000 and info.size == 50
    assert_sound(policy)


def test_threads_hitting_and_evicting_keep_the_structure_sound():
    f = klepto_core.lfu_cache(maxsize=40)(lambda x: 3 * x)
    hammer(f, range(60), calls=20_000, threads=4, seed=2)
    policy = f.__policy__()
    counts = policy.counts()
    assert_sound(policy)
    memory = f.__cache__()
    assert len(memory) <= 40
    assert set(memory) == set(counts), "memory and the bookkeeping disagree"
