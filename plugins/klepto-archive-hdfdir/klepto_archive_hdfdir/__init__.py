"""The ``hdfdir`` archive plugin: klepto's ``hdfdir_archive``, a directory of one-entry HDF5 files.

h5py is imported when an archive is opened, never when the plugin is listed.
"""

from __future__ import annotations

from klepto_archive_hdfdir._archive import HDFDirArchive
from klepto_core.plugin import PluginSpec, archive_factory, hookimpl

hdfdir_archive = archive_factory(HDFDirArchive)

__all__ = ["HDFDirArchive", "hdfdir_archive"]


@hookimpl
def klepto_core_archive() -> PluginSpec:
    """Register the ``hdfdir`` archive."""
    return PluginSpec(
        name="hdfdir",
        factory=hdfdir_archive,
        description="one sub-directory per key holding HDF5 files (h5py), klepto's hdfdir layout",
        url_schemes=("hdfdir",),
    )
