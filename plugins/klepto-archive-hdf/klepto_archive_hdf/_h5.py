"""h5py, imported the first time an HDF archive is opened (never when the plugin is listed)."""

from __future__ import annotations

from typing import Any

INSTALL_HINT = "pip install klepto-core[hdf]"


def h5py() -> Any:
    """The h5py module; an ImportError telling how to install it when it is absent.

    klepto raised ImportError here too, so ``except ImportError`` keeps working.
    """
    try:
        import h5py as module  # type: ignore[import-untyped]
    except ImportError as exc:
        raise ImportError(
            f"the hdf and hdfdir archives need h5py, which is not installed: {INSTALL_HINT}",
            name="h5py",
        ) from exc
    return module
