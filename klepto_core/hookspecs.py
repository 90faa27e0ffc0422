"""Deprecated: moved to ``klepto_core.registry.hookspecs``; this path is kept for one release."""

import warnings

from klepto_core.registry.hookspecs import hookimpl as hookimpl
from klepto_core.registry.hookspecs import hookspec as hookspec

warnings.warn(
    "klepto_core.hookspecs is deprecated; import from klepto_core.plugin",
    DeprecationWarning,
    stacklevel=2,
)
