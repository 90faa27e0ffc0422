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
