"""klepto's test_hdf (its hdfdir half), ported: ``safe.lru_cache`` over hdfdir layouts x keymaps.

Each case runs ``klepto_core.testing.archive.check_cache_reloads_from_archive``:
every result checked, every computed entry stored in the directory, and a
second decorated function on a fresh cache computing nothing.
"""

from __future__ import annotations

import pytest

from klepto_core.archives import hdfdir_archive
from klepto_core.keymaps import hashmap, keymap, picklemap, stringmap
from klepto_core.safe import lru_cache
from klepto_core.testing.archive import check_cache_reloads_from_archive, keymap_variants

KEYMAPS = keymap_variants(keymap, hashmap, stringmap, picklemap)


@pytest.mark.slow
@pytest.mark.parametrize("layout", ["serialized", "raw", "serialized-meta", "raw-meta"])
@pytest.mark.parametrize("mapper", KEYMAPS, ids=[f"keymap{i}" for i in range(len(KEYMAPS))])
def test_lru_cache_over_hdfdir_archive(tmp_path, layout, mapper):
    options = {"serialized": layout.startswith("serialized"), "meta": layout.endswith("meta")}
    path = str(tmp_path / "memo")
    check_cache_reloads_from_archive(
        lambda **kw: hdfdir_archive(path, **options, **kw), lru_cache, mapper
    )
