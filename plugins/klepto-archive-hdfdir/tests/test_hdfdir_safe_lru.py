"""klepto's test_hdf (its hdfdir half), ported: ``safe.lru_cache`` over hdfdir layouts x keymaps.

klepto only checked that ``hit + miss + load`` adds up; here every result is also
checked (values loaded back from the file included), every computed entry must
reach the file, and a second decorated function on a fresh cache over the same
file computes nothing.
"""

from __future__ import annotations

import random

import pytest

from klepto_core.archives import hdfdir_archive
from klepto_core.keymaps import NOSENTINEL, hashmap, keymap, picklemap, stringmap
from klepto_core.safe import lru_cache

CALLS = 100

LAYOUTS = [
    pytest.param({"serialized": True, "meta": False}, id="serialized"),
    pytest.param({"serialized": False, "meta": False}, id="raw"),
    pytest.param({"serialized": True, "meta": True}, id="serialized-meta"),
    pytest.param({"serialized": False, "meta": True}, id="raw-meta"),
]


def keymaps() -> list:
    maps: list = [None]
    for kind in (keymap, hashmap, stringmap, picklemap):
        for typed, flat in ((False, True), (False, False), (True, True), (True, False)):
            if kind is keymap and (typed, flat) == (True, True):
                continue  # klepto's list leaves this one out
            maps.append(kind(typed=typed, flat=flat, sentinel=NOSENTINEL))
    return maps


KEYMAPS = [pytest.param(i, id=f"keymap{i}") for i in range(len(keymaps()))]


def run(cache, mapper, seed: int):
    rng = random.Random(seed)

    @lru_cache(maxsize=50, cache=cache, keymap=mapper)
    def f(x, y):
        return 3 * x + y

    domain = list(range(10))
    domain += [float(i) for i in domain]
    for _ in range(CALLS):
        x, y = rng.choice(domain), rng.choice(domain)
        assert f(x, y) == 3 * x + y
    f.dump()
    return f.info()


@pytest.mark.slow
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("which", KEYMAPS)
def test_lru_cache_over_hdfdir_archive(tmp_path, layout, which):
    path = str(tmp_path / "memo")
    mapper = keymaps()[which]
    first = run(hdfdir_archive(path, {}, **layout), mapper, seed=1234)
    assert first.hit + first.miss + first.load == CALLS
    stored = len(hdfdir_archive(path, cached=False, **layout))
    again = run(hdfdir_archive(path, {}, **layout), mapper, seed=1234)
    assert again.hit + again.miss + again.load == CALLS
    if first.size:  # (a keymap whose keys are unhashable caches nothing, as in klepto)
        assert stored == first.miss  # every computed entry reached the file
        assert (again.miss, again.load, again.hit) == (0, first.miss, first.hit)
    else:
        assert stored == 0 and again == first
