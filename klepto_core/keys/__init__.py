"""Turning a call's arguments into cache keys: binding, stable encodings, content digests."""
