"""The ``sim`` command: run, sweep, validate, calibrate, plot, and more.

The only part of the package that prints. Bad input exits with status 2 and a
message naming the file, the field and the fix, before anything is written; a
missing tool (``SetupError``) or a failed write (a full disk) exits with status 1.
"""

from __future__ import annotations

import argparse
import logging
import sys

from sim.cli import experiments, figures, runs
from sim.errors import InputError, SetupError

log = logging.getLogger("sim")


def build_parser() -> argparse.ArgumentParser:
    """The ``sim`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="sim", description="Patrol encounters around al-Malikiyah (Derik): run scenarios, "
        "sweep and calibrate them, and look at the results.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in (runs, experiments, figures):
        module.add_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``sim`` command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = argv  # the command as typed, for the resume line an interrupted command prints
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except SetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # a full disk, a folder made read-only under us, ...
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc} (nothing half-written was left in place; "
              "check free space and permissions, then run again)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
