"""Hypothesis profiles for the whole test tree, chosen by KLEPTO_CORE_HYPOTHESIS_PROFILE.

``ci`` (the default) keeps the property tests to a few examples so the plugin
matrix stays within minutes on two cores; ``thorough`` runs many more for a
nightly or pre-release run.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_SLOW_BACKENDS = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]

settings.register_profile(
    "ci", max_examples=20, stateful_step_count=15, deadline=None,
    suppress_health_check=_SLOW_BACKENDS, print_blob=True,
)
settings.register_profile(
    "thorough", max_examples=300, stateful_step_count=40, deadline=None,
    suppress_health_check=_SLOW_BACKENDS, print_blob=True,
)
settings.load_profile(os.environ.get("KLEPTO_CORE_HYPOTHESIS_PROFILE", "ci"))
