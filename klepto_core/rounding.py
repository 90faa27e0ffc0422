"""klepto's ``rounding`` module: decorators that round float arguments before a call."""

from klepto_core.keys.rounding import __all__ as __all__
from klepto_core.keys.rounding import deep_round as deep_round
from klepto_core.keys.rounding import deep_round_factory as deep_round_factory
from klepto_core.keys.rounding import shallow_round as shallow_round
from klepto_core.keys.rounding import shallow_round_factory as shallow_round_factory
from klepto_core.keys.rounding import simple_round as simple_round
from klepto_core.keys.rounding import simple_round_factory as simple_round_factory
