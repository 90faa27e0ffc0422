"""Deprecated: moved to ``klepto_core.registry.specs``; this path is kept for one release."""

import warnings

from klepto_core.registry.specs import GROUPS as GROUPS
from klepto_core.registry.specs import KINDS as KINDS
from klepto_core.registry.specs import PluginInfo as PluginInfo
from klepto_core.registry.specs import PluginSpec as PluginSpec

warnings.warn(
    "klepto_core.types is deprecated; import from klepto_core.plugin",
    DeprecationWarning,
    stacklevel=2,
)
