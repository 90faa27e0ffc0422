"""Turning a call's arguments into cache keys: binding, rounding, stable encodings, content."""
