"""The plugin names used when a caller does not choose one.

These are names, resolved through the registry like any other: a third-party
distribution that registers the same name replaces nothing (duplicates are an
error), but a caller can always pass another name or a plugin object.
"""

from __future__ import annotations

#: the keymap of klepto-style decorators (klepto uses ``hashmap(flat=True)``)
KEYMAP = "hashmap"
#: the keymap of the ``safe`` decorators (klepto uses ``stringmap(flat=False)``)
SAFE_KEYMAP = "stringmap"
#: the policy of ``cached()``
POLICY = "lru"
#: what ``<policy>_cache(maxsize=0)`` and ``maxsize=None`` become, as klepto does
DISABLED_POLICY = "no"
UNBOUNDED_POLICY = "inf"
#: the serializer of archives (klepto pickles with dill)
SERIALIZER = "dill"
#: the serializer chosen when klepto's ``protocol`` is a string (klepto then wrote json)
TEXT_SERIALIZER = "json"
#: the keymap of klepto's ``keygen`` decorator (klepto uses ``keymap()``)
KEYGEN_KEYMAP = "keymap"
#: the archive a DataFrame that names none becomes (klepto uses ``dict_archive``)
FRAME_ARCHIVE = "dict"
