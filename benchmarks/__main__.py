"""``python -m benchmarks``: run every benchmark module and print its tables."""

from __future__ import annotations

import importlib
import pkgutil

import benchmarks


def main() -> None:
    """Run each ``benchmarks.bench_*`` module's ``main()``."""
    for module in sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__)):
        if module.startswith("bench_"):
            print(f"\n===== {module} =====")
            importlib.import_module(f"benchmarks.{module}").main()


if __name__ == "__main__":
    main()
