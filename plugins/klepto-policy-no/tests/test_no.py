"""The no policy: every call computed, memory always empty, counters kept; conformance."""

from __future__ import annotations

from klepto_policy_no import NoPolicy

import klepto_core
from klepto_core.testing import PolicyConformance, call_key


class TestNoPolicyConformance(PolicyConformance):
    policy_name = "no"


def test_every_call_is_a_miss_and_memory_stays_empty():
    calls = []

    @klepto_core.no_cache(maxsize=10, purge=False, keymap=call_key)
    def f(x):
        calls.append(x)
        return x

    for x in (1, 1, 2, 1):
        assert f(x) == x
    assert calls == [1, 1, 2, 1]
    assert f.info() == (0, 4, 0, 0, 0)
    assert len(f.__cache__()) == 0


def test_a_prefilled_value_is_a_load_not_a_hit():
    # klepto's no_cache: a value already in memory is returned once, counted as a load,
    # and memory is emptied
    f = klepto_core.no_cache(cache={call_key(x=1): "old"}, keymap=call_key)(lambda x: x)
    assert f(1) == "old"
    assert f(1) == 1
    assert f.info()[:3] == (0, 1, 1)
    assert len(f.__cache__()) == 0


def test_lru_with_maxsize_zero_becomes_no():
    assert type(klepto_core.lru_cache(maxsize=0)).__name__ == "no_cache"
    assert type(klepto_core.lfu_cache(0)).__name__ == "no_cache"


def test_no_hit_bookkeeping():
    assert NoPolicy(0).on_hit is None


def test_an_uncached_archive_as_cache_is_read_and_written_never_wiped():
    # klepto's no_cache cleared such an archive on every call (compat spec §6 edge 12)
    archive = klepto_core.archives.dict_archive(cached=False)
    archive["precious"] = 42
    f = klepto_core.no_cache(cache=archive, keymap=call_key)(lambda x: 2 * x)
    assert f(1) == 2
    assert f(1) == 2
    assert f.info()[:3] == (0, 1, 1)  # the second call read the archive: a load, not a hit
    f.clear()
    assert dict(archive.items()) == {"precious": 42, call_key(x=1): 2}


def test_with_a_cached_archive_every_result_is_written_and_read_back():
    f = klepto_core.no_cache(cache=klepto_core.archives.dict_archive(), keymap=call_key)(
        lambda x: 2 * x
    )
    for x in (1, 2, 1):
        assert f(x) == 2 * x
    assert f.info()[:3] == (0, 2, 1)
    assert len(f.__cache__()) == 0
    assert sorted(f.__cache__().archive.__asdict__().values()) == [2, 4]
