"""klepto's test_hdf, ported: ``safe.lru_cache`` over every hdf_archive layout and every keymap.

klepto only checked that ``hit + miss + load`` adds up; here every result is also
checked (values loaded back from the file included), every computed entry must
reach the file, and a second decorated function on a fresh cache over the same
file computes nothing (``klepto_core.testing.archive.check_cache_reloads_from_archive``).
"""

from __future__ import annotations

import pytest

from klepto_core.archives import hdf_archive
from klepto_core.keymaps import hashmap, keymap, picklemap, stringmap
from klepto_core.safe import lru_cache
from klepto_core.testing.archive import check_cache_reloads_from_archive, keymap_variants

KEYMAPS = keymap_variants(keymap, hashmap, stringmap, picklemap)


@pytest.mark.slow
@pytest.mark.parametrize("layout", ["serialized", "raw", "serialized-meta", "raw-meta"])
@pytest.mark.parametrize("mapper", KEYMAPS, ids=[f"keymap{i}" for i in range(len(KEYMAPS))])
def test_lru_cache_over_hdf_archive(tmp_path, layout, mapper):
    options = {"serialized": layout.startswith("serialized"), "meta": layout.endswith("meta")}
    path = str(tmp_path / "memo.hdf5")
    check_cache_reloads_from_archive(
        lambda **kw: hdf_archive(path, **options, **kw), lru_cache, mapper
    )
