"""The inf policy: nothing is ever evicted, whatever maxsize is asked for; conformance."""

from __future__ import annotations

from klepto_policy_inf import InfPolicy

import klepto_core
from klepto_core.testing import PolicyConformance, call_key


class TestInfPolicyConformance(PolicyConformance):
    policy_name = "inf"


def test_maxsize_and_purge_are_forced():
    f = klepto_core.inf_cache(maxsize=3, purge=True, keymap=call_key)(lambda x: x)
    for x in range(10):
        f(x)
    assert f.info() == (0, 10, 0, None, 10)
    assert klepto_core.inf_cache().__state__["purge"] is False


def test_lru_with_maxsize_none_becomes_inf():
    decorator = klepto_core.lru_cache(maxsize=None)
    assert type(decorator).__name__ == "inf_cache"


def test_no_hit_bookkeeping():
    assert InfPolicy(None).on_hit is None


def test_an_archive_is_written_only_by_dump():
    f = klepto_core.inf_cache(cache=klepto_core.archives.dict_archive(), keymap=call_key)(
        lambda x: x
    )
    for x in range(1, 6):
        f(x)
    archive = f.__cache__().archive
    assert len(archive) == 0
    f.dump()
    assert len(archive) == 5
