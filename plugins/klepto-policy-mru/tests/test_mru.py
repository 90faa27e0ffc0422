"""The mru policy: klepto's victim choice, the pre-filled-cache crash fixed, conformance."""

from __future__ import annotations

import pytest
from klepto_policy_mru import MRUPolicy

import klepto_core
from klepto_core.testing import PolicyConformance, call_key


class TestMRUPolicyConformance(PolicyConformance):
    policy_name = "mru"


def traced(maxsize, calls, cache=None):
    f = klepto_core.mru_cache(maxsize=maxsize, keymap=call_key, cache=cache)(lambda x: x)
    for x in calls:
        assert f(x) == x
    return f


def xs(f):
    return sorted(kwds[0][1] for _args, kwds in f.__cache__())


def test_klepto_examples():
    # compat spec §1.3
    f = traced(3, [1, 2, 3, 1, 4])
    assert xs(f) == [2, 3, 4] and f.info()[:2] == (1, 4)
    f = traced(3, [1, 2, 3, 4, 5])
    assert xs(f) == [1, 2, 5] and f.info()[:2] == (0, 5)


def test_the_victim_is_the_most_recent_use_before_the_call_never_the_new_key():
    policy = MRUPolicy(2)
    memory = {}
    for key in (1, 2):
        memory[key] = None
        policy.admitted(key)
    policy.on_hit(1)  # 1 is now the most recent
    memory[3] = None
    policy.admitted(3)
    assert policy.victims(memory, 3) == [1]


def test_a_cyclic_scan_keeps_most_of_the_cache():
    # the case MRU exists for: a loop over more keys than fit; LRU would hit nothing
    f = traced(4, list(range(6)) * 5)
    assert f.info().hit >= 10


def test_prefilled_cache_no_longer_raises():
    # klepto raised IndexError('pop from an empty deque') here (compat spec §6 edge 9)
    prefill = {call_key(x=-i): "old" for i in range(1, 6)}
    f = traced(2, [1], cache=prefill)
    assert len(f.__cache__()) <= 2
    assert call_key(x=1) in f.__cache__()


def test_negative_maxsize_is_refused():
    # klepto took maxsize=-1 and kept nothing, silently: we refuse it (issue 14)
    from klepto_core.errors import InvalidMaxsizeError

    with pytest.raises(InvalidMaxsizeError, match="not negative"):
        traced(-1, [1])


def test_a_key_used_after_the_new_one_is_the_victim_and_a_key_gone_is_skipped():
    policy = MRUPolicy(3)
    memory = {}

    def admit(key):
        memory[key] = None
        policy.admitted(key)

    for key in (1, 2, 3):
        admit(key)
    admit(4)
    policy.on_hit(2)  # another thread's hit lands between the admission and the eviction
    assert policy.victims(memory, 4) == [2]
    del memory[2]
    del memory[3]  # 3 leaves memory behind the policy's back, still its most recent use but 4
    admit(5)
    admit(6)  # memory {1, 4, 5, 6}: the use before 6 is 5
    assert policy.victims(memory, 6) == [5]
    del memory[5]
    policy.on_hit(4)
    admit(7)  # memory {1, 4, 6, 7}; uses, oldest first: 1, 3 (gone), 6, 4, 7
    assert policy.victims(memory, 7) == [4]


def test_the_most_recent_key_gone_from_memory_is_passed_over():
    policy = MRUPolicy(2)
    for key in (1, 3, 2, 4):
        policy.admitted(key)
    memory = dict.fromkeys((1, 3, 4))  # 2, used just before 4, left memory behind our back
    assert policy.victims(memory, 4) == [3]
