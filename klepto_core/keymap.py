"""Where pickled sentinels point: ``SENTINEL`` and ``NOSENTINEL``, defined in ``base.keymap``.

A picklemap key holding a sentinel pickles it by reference to this module, and
such keys are stored in archives, so this path stays for good; new code imports
from :mod:`klepto_core.keymaps` (klepto's) or :mod:`klepto_core.plugin`.
"""

from klepto_core.base.keymap import NOSENTINEL as NOSENTINEL
from klepto_core.base.keymap import SENTINEL as SENTINEL
from klepto_core.base.keymap import _Sentinel as _Sentinel
