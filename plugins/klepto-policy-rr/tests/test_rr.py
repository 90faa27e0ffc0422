"""The rr policy: klepto-compatible use of the global random module, conformance."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st
from klepto_policy_rr import RRPolicy

import klepto_core
from klepto_core.testing import PolicyConformance, call_key


class TestRRPolicyConformance(PolicyConformance):
    policy_name = "rr"


def test_klepto_example_seed_0():
    # compat spec §1.3: seed 0, calls 1..4 at maxsize 3 -> the victim is 4, the new key
    random.seed(0)
    f = klepto_core.rr_cache(maxsize=3, keymap=call_key)(lambda x: x)
    for x in (1, 2, 3, 4):
        f(x)
    assert sorted(kwds[0][1] for _args, kwds in f.__cache__()) == [1, 2, 3]


@settings(max_examples=200, deadline=None)
@given(size=st.integers(1, 40), seed=st.integers(0, 2**32 - 1))
def test_first_eviction_consumes_the_global_rng_like_random_choice(size, seed):
    policy = RRPolicy(size - 1)
    memory = {}
    for key in range(size):
        memory[key] = None
        policy.admitted(key)
    random.seed(seed)
    expected = random.choice(list(memory))
    after_expected = random.random()
    random.seed(seed)
    assert policy.victims(memory, size - 1) == [expected]
    assert random.random() == after_expected  # exactly one draw, the same one


def test_hits_do_not_touch_the_rng():
    f = klepto_core.rr_cache(maxsize=3, keymap=call_key)(lambda x: x)
    f(1)
    state = random.getstate()
    for _ in range(10):
        f(1)
    assert random.getstate() == state
    assert RRPolicy.on_hit is None


def test_every_key_can_be_chosen():
    seen = set()
    for seed in range(200):
        random.seed(seed)
        policy = RRPolicy(3)
        memory = {}
        for key in range(4):
            memory[key] = None
            policy.admitted(key)
        seen.update(policy.victims(memory, 3))
    assert seen == {0, 1, 2, 3}


def test_removal_keeps_the_index_consistent():
    policy = RRPolicy(3)
    memory = {}
    random.seed(5)
    for key in range(100):
        memory[key] = None
        policy.admitted(key)
        if len(memory) > 3:
            for victim in policy.victims(memory, key):
                del memory[victim]
        assert sorted(policy._keys) == sorted(memory)
        assert all(policy._keys[i] == k for k, i in policy._index.items())
