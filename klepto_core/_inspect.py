"""klepto's ``_inspect`` module: signatures, argument validation and key generation."""

from klepto_core.compat.inspect import __all__ as __all__
from klepto_core.compat.inspect import _keygen as _keygen
from klepto_core.compat.inspect import isvalid as isvalid
from klepto_core.compat.inspect import keygen as keygen
from klepto_core.compat.inspect import signature as signature
from klepto_core.compat.inspect import strip_markup as strip_markup
from klepto_core.compat.inspect import validate as validate
from klepto_core.keys.null import NULL as NULL
from klepto_core.keys.null import _Null as _Null  # pickles of NULL by class name (jsonpickle)
