"""The ``klepto-core`` command: one module per group of subcommands, ``main`` in ``cli.main``."""

from klepto_core.cli.main import main

__all__ = ["main"]
