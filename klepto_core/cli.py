"""The ``klepto-core`` command: list plugins and run the demo.

Each subcommand is a small function taking parsed arguments and returning an
exit code; errors from klepto_core become one-line messages, not tracebacks.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from klepto_core.errors import KleptoCoreError


def _plugins(args: argparse.Namespace) -> int:
    from klepto_core.api import plugins

    rows = plugins(args.kind)
    if args.json:
        print(json.dumps([row.__dict__ for row in rows], indent=2))
        return 0
    widths = (10, 12, 28, 9)
    print(f"{'KIND':{widths[0]}} {'NAME':{widths[1]}} {'DISTRIBUTION':{widths[2]}} "
          f"{'VERSION':{widths[3]}} DESCRIPTION")
    for r in rows:
        note = f"BROKEN: {r.error}" if r.error else r.description
        print(f"{r.kind:{widths[0]}} {r.name:{widths[1]}} {r.distribution:{widths[2]}} "
              f"{r.version:{widths[3]}} {note}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from klepto_core.demo import run

    return run(args.dir)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``klepto-core`` command."""
    parser = argparse.ArgumentParser(
        prog="klepto-core", description="Inspect klepto_core plugins and archives."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("plugins", help="list installed plugins")
    p.add_argument("kind", nargs="?", choices=["policy", "keymap", "serializer", "archive"])
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(run=_plugins)
    d = sub.add_parser("demo", help="show a cached function whose results outlive the process")
    d.add_argument("--dir", default=None, help="where to keep the demo archive (default: a temp dir)")
    d.set_defaults(run=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except KleptoCoreError as exc:
        print(f"klepto-core: error: {exc}", file=sys.stderr)
        return 2
    return code
