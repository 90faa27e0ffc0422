"""Helpers the repository's test suites share (core, fuzz, matrix and plugin tests), never shipped.

``tests.helpers.sql``: throwaway tables and databases, raw row access and the
klepto oracle runner for the sql and sqltable archives; ``tests.helpers.redis_cluster``:
a local Redis Cluster of ``redis-server`` processes.
"""
