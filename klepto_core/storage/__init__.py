"""Building blocks for archives: record logs, locks, source files, out-of-band blobs."""
