"""klepto's ``crypto`` module: hashing, string encodings and serializers for keys."""

from klepto_core.keys.crypto import __all__ as __all__
from klepto_core.keys.crypto import algorithms as algorithms
from klepto_core.keys.crypto import encodings as encodings
from klepto_core.keys.crypto import hash as hash
from klepto_core.keys.crypto import pickle as pickle
from klepto_core.keys.crypto import serializers as serializers
from klepto_core.keys.crypto import string as string
