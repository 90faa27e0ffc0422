"""Deprecated: moved to ``klepto_core.testing.archive``; this path is kept for one release."""

import warnings

from klepto_core.testing.archive import ArchiveConformance as ArchiveConformance
from klepto_core.testing.archive import (
    check_cache_reloads_from_archive as check_cache_reloads_from_archive,
)
from klepto_core.testing.archive import keymap_variants as keymap_variants

warnings.warn(
    "klepto_core.testing_archive is deprecated; import from klepto_core.testing.archive",
    DeprecationWarning,
    stacklevel=2,
)
