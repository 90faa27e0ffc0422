"""Conformance suites a plugin's tests subclass, importable by third parties.

Mix one into a pytest test class and name the plugin::

    from klepto_core.testing import PolicyConformance

    class TestMyPolicyConformance(PolicyConformance):
        policy_name = "mine"

``PolicyConformance`` runs a policy both directly (the ``admitted``/``on_hit``/
``victims`` protocol the decorator relies on) and through a klepto-style
decorator; ``SerializerConformance`` (set ``serializer_name``),
``KeymapConformance`` (``keymap_name``) and ``ArchiveConformance``
(implement ``make_archive``) do the same for their kinds.
:mod:`klepto_core.testing.shared` is the multi-process shared-cache harness.
"""

from klepto_core.testing.archive import ArchiveConformance
from klepto_core.testing.calls import call_key
from klepto_core.testing.keymap import KeymapConformance
from klepto_core.testing.policy import PolicyConformance
from klepto_core.testing.serializer import SerializerConformance

__all__ = [
    "ArchiveConformance",
    "KeymapConformance",
    "PolicyConformance",
    "SerializerConformance",
    "call_key",
]
