"""Building blocks for archives: the record log and its format, per-key locks, value encodings."""
