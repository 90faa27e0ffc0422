"""Building blocks archives store with: record logs, locks, source files, out-of-band blobs."""
