"""Deprecated: moved to ``klepto_core.base.archive``; this path is kept for one release."""

import warnings

from klepto_core.base.archive import Archive as Archive
from klepto_core.base.archive import _rebuild as _rebuild
from klepto_core.base.archive import _reopen as _reopen
from klepto_core.memo.archive_factory import ArchiveFactoryType as ArchiveFactoryType
from klepto_core.memo.archive_factory import archive_factory as archive_factory

warnings.warn(
    "klepto_core.archive_base is deprecated; import from klepto_core.plugin",
    DeprecationWarning,
    stacklevel=2,
)
