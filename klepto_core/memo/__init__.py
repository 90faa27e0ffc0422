"""Memoizing: the option resolver, ``cached()``, the wrappers and the memory before an archive."""
