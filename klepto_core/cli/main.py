"""The ``klepto-core`` command: list plugins, inspect, copy and verify archives, scaffold plugins.

Each subcommand is a small function taking parsed arguments and returning an
exit code (see ``klepto_core.cli.common``: 1 corrupt entries, 2 bad URL or
arguments, 3 archive unreachable, 4 no such key, 5 other errors); the logic
lives in one private module per subcommand, imported when it runs. Errors
become one-line messages, and ``--json`` makes every subcommand's output (and
errors) machine-readable.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from klepto_core.cli import copy, demo, inspect_cmds, scaffold
from klepto_core.cli.common import FAILED, INTERRUPTED, CommandError, exit_code_of
from klepto_core.errors import KleptoCoreError
from klepto_core.registry import plugins
from klepto_core.registry.specs import KINDS


def _plugins(args: argparse.Namespace) -> int:
    rows = plugins(args.kind)
    if args.json:
        print(json.dumps([{f: getattr(row, f) for f in row._fields} for row in rows], indent=2))
        return 0
    widths = (10, 12, 28, 9)
    print(f"{'KIND':{widths[0]}} {'NAME':{widths[1]}} {'DISTRIBUTION':{widths[2]}} "
          f"{'VERSION':{widths[3]}} DESCRIPTION")
    for r in rows:
        note = f"BROKEN: {r.error}" if r.error else r.description
        print(f"{r.kind:{widths[0]}} {r.name:{widths[1]}} {r.distribution:{widths[2]}} "
              f"{r.version:{widths[3]}} {note}")
    return 0


def _info(args: argparse.Namespace) -> int:
    return inspect_cmds.info(args.url, args.json)


def _keys(args: argparse.Namespace) -> int:
    return inspect_cmds.keys(args.url, args.json)


def _get(args: argparse.Namespace) -> int:
    return inspect_cmds.get(args.url, args.key, args.json)


def _verify(args: argparse.Namespace) -> int:
    return inspect_cmds.verify(args.url, args.json, args.progress)


def _copy(args: argparse.Namespace) -> int:
    return copy.run(
        args.src,
        args.dst,
        batch=args.batch,
        overwrite=args.overwrite,
        progress=args.progress,
        as_json=args.json,
    )


def _new_plugin(args: argparse.Namespace) -> int:
    return scaffold.run(args.kind, args.name, args.dir, args.json)


def _demo(args: argparse.Namespace) -> int:
    return demo.run(args.dir, as_json=args.json)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


_URL_HELP = "archive URL: dir:./memo, file:./memo.pkl, sqlite:///memo.db, <plugin>:<name> ..."


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``klepto-core`` command."""
    parser = argparse.ArgumentParser(
        prog="klepto-core",
        description="Inspect klepto_core plugins and archives; copy and verify archives.",
        epilog="exit codes: 0 ok, 1 corrupt entries, 2 bad URL, no archive there or bad "
        "arguments, 3 archive unreachable, 4 no such key, 5 other errors",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="machine-readable output")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("plugins", parents=[common], help="list installed plugins")
    p.add_argument("kind", nargs="?", choices=KINDS)
    p.set_defaults(run=_plugins)

    p = sub.add_parser("info", parents=[common], help="describe an archive")
    p.add_argument("url", help=_URL_HELP)
    p.set_defaults(run=_info)

    p = sub.add_parser("keys", parents=[common], help="list an archive's keys, one repr a line")
    p.add_argument("url", help=_URL_HELP)
    p.set_defaults(run=_keys)

    p = sub.add_parser("get", parents=[common], help="print the value stored under a key")
    p.add_argument("url", help=_URL_HELP)
    p.add_argument("key", help="a Python literal (7, 'x', (1, 2)); anything else is a string")
    p.set_defaults(run=_get)

    p = sub.add_parser("copy", parents=[common], help="copy entries from one archive to another")
    p.add_argument("src", help="source " + _URL_HELP)
    p.add_argument("dst", help="destination archive URL (created if needed)")
    p.add_argument("--batch", type=_positive, default=500, help="entries per update (500)")
    p.add_argument(
        "--overwrite", action="store_true", help="copy every key, not only those DST lacks"
    )
    p.add_argument("--progress", action="store_true", help="progress bar even if not a TTY")
    p.set_defaults(run=_copy)

    p = sub.add_parser("verify", parents=[common], help="read every entry; list corrupt ones")
    p.add_argument("url", help=_URL_HELP)
    p.add_argument("--progress", action="store_true", help="progress bar even if not a TTY")
    p.set_defaults(run=_verify)

    p = sub.add_parser(
        "new-plugin", parents=[common], help="write a working plugin distribution skeleton"
    )
    p.add_argument("kind", choices=KINDS)
    p.add_argument("name", help="the name users will type, e.g. 'arc' or 's3'")
    p.add_argument("--dir", default=None, help="where to create klepto-<kind>-<name>/ (.)")
    p.set_defaults(run=_new_plugin)

    d = sub.add_parser(
        "demo", parents=[common], help="show a cached function whose results outlive the process"
    )
    d.add_argument("--dir", default=None, help="where to keep the demo archive (a temp dir)")
    d.set_defaults(run=_demo)
    return parser


def _fail(message: str, code: int, as_json: bool) -> int:
    print(f"klepto-core: error: {message}", file=sys.stderr)
    if as_json:
        print(json.dumps({"error": message, "exit_code": code}))
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    args = build_parser().parse_args(argv)
    as_json = bool(getattr(args, "json", False))
    try:
        code: int = args.run(args)
    except CommandError as exc:
        return _fail(str(exc), exc.code, as_json)
    except (KleptoCoreError, OSError) as exc:
        if isinstance(exc, BrokenPipeError):  # e.g. ``klepto-core keys URL | head``
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
        return _fail(str(exc), exit_code_of(exc), as_json)
    except KeyboardInterrupt:
        return _fail("interrupted", INTERRUPTED, as_json)
    except Exception as exc:
        if os.environ.get("KLEPTO_CORE_TRACEBACK"):
            raise
        message = f"{type(exc).__name__}: {exc} (KLEPTO_CORE_TRACEBACK=1 shows the traceback)"
        return _fail(message, FAILED, as_json)
    return code
