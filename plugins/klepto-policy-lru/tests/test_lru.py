"""The lru policy: klepto's eviction order, untracked entries first, conformance."""

from __future__ import annotations

import pytest
from klepto_policy_lru import LRUPolicy

import klepto_core
from klepto_core.testing import PolicyConformance


class TestLRUPolicyConformance(PolicyConformance):
    policy_name = "lru"


def test_klepto_example_evicts_the_least_recently_used() -> None:
    # compat spec §1.3: calls 1,2,3,1,4 with maxsize 3 keep 1, 3, 4
    f = klepto_core.lru_cache(maxsize=3, keymap=klepto_core.keymaps.keymap())(lambda x: x)
    for x in (1, 2, 3, 1, 4):
        f(x)
    assert sorted(k[1] for k in f.__cache__()) == [1, 3, 4]
    assert f.info()[:2] == (1, 4)


def test_entries_the_policy_never_saw_leave_first() -> None:
    policy = LRUPolicy(2)
    memory = {"old1": 1, "old2": 2, "new": 3}
    policy.admitted("new")
    assert policy.victims(memory, "new") == ["old1"]


def test_negative_maxsize_is_refused() -> None:
    # klepto took maxsize=-1 and kept nothing, silently: we refuse it (issue 14)
    from klepto_core.errors import InvalidMaxsizeError

    with pytest.raises(InvalidMaxsizeError, match="not negative"):
        klepto_core.lru_cache(maxsize=-1)
