"""The ``hdf`` archive plugin: klepto's ``hdf_archive``, one HDF5 file per archive.

Files are klepto's layout (see ``_layout``), so klepto reads ours and we read
klepto's, in every combination of ``serialized``/``meta``/json protocol. Fixed
against klepto: iteration works (``keys()``, ``list(h)``, ``items()``), keys with
non-ASCII text or ``//`` in them, attribute values over 64 KiB in new files.
Kept: with ``serialized=False`` a ``str`` value comes back from a dataset as
``bytes`` and numbers as numpy scalars (that is how HDF5 stores them).

Safety: HDF5 edits a file in place and a process killed mid-flush leaves it
unreadable, so each write batch (``h[k] = v``, ``update``, ``del``, ``clear``) is
one transaction through a rollback journal (``_journal``), under an exclusive
``flock`` on ``<file>.lock`` (readers share it): a crash leaves the old or the
new contents, concurrent processes serialize. The write handle stays open
between transactions while the file is as its last commit left it (every writer
puts a fresh token in the lock file; writers that skip the lock are caught by
the file's stat), which saves the open and close that dominated a small write.
Measured per write here (small values, 2,000 entries): ~0.49 ms, as klepto's
unsafe in-place edit; rewriting a copy and ``os.replace``-ing it instead cost
1.6 ms at 1,000 entries and 21 ms at 50,000, growing with the file. Reads cost
~0.34 ms (klepto ~0.39: open, look up, close). New files use the HDF5 1.8
format, whose indexed groups keep a write O(log n).

h5py is imported when an archive is opened, never when the plugin is listed;
without it, opening one raises ImportError saying ``pip install klepto-core[hdf]``.
Unpickling is code execution: open only files you trust.
"""

from __future__ import annotations

from klepto_archive_hdf._archive import URL_SCHEMES, HDFArchive
from klepto_core.plugin import PluginSpec, archive_factory, hookimpl

hdf_archive = archive_factory(HDFArchive)

__all__ = ["HDFArchive", "hdf_archive"]


@hookimpl
def klepto_core_archive() -> PluginSpec:
    """Register the ``hdf`` archive."""
    return PluginSpec(
        name="hdf",
        factory=hdf_archive,
        description="one HDF5 file (h5py), klepto's hdf_archive layout; journaled atomic writes",
        url_schemes=URL_SCHEMES,
    )
