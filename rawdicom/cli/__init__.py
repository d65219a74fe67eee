"""The ``rawdicom`` command line: one module per command, each with ``add(commands)``.

    rawdicom dump FILE...       every element, sequences indented (--tags, --json)
    rawdicom info FILE|DIR      one screen: patient, study, series, image, geometry, HU range
    rawdicom json FILE          the DICOM JSON model (PS3.18 Annex F)
    rawdicom explain FILE       the bytes themselves, annotated, from offset 0
    rawdicom png FILE OUT       a windowed 8-bit PNG
    rawdicom hist FILE          the Hounsfield histogram, tissue ranges marked
    rawdicom tag 0020,000E      the data dictionary entry of a tag (or keyword)

Every command takes ``--example`` in place of a path. Exit status: 0 ok, 1 an input could
not be read or an output not written (one line on stderr naming it), 2 a usage error, 3 an
unexpected exception: a bug in rawdicom, shown as one line naming the exception (its
traceback only under ``--debug``). No traceback is printed without ``--debug``.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from . import common
from .example import slice_path, study_path

__all__ = ["main", "example_path", "study_path"]

INTERNAL_ERROR = 3  # an exception no command expects: a bug, never bad input

# The commands, in the order --help lists them; each module has add(commands).

_COMMANDS = ("tree", "info", "dump", "json", "explain", "png", "hist", "volume", "convert",
             "organize", "index", "tag")


def example_path() -> str:
    """The example file of the one-file commands: the middle slice of the example's axial CT."""
    return slice_path()


def _parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(
        prog="rawdicom", description="Read, inspect and convert DICOM files.",
        epilog="Every command takes --example in place of a path: the built-in example study.")
    parser.add_argument("--debug", action="store_true", help="print the traceback of errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in _COMMANDS:
        module = importlib.import_module(f".{name}", __name__)
        sub = module.add(commands)
        common.add_debug(sub)
    return parser


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """argparse, with paths allowed after options too (``png DIR --sheet OUT.png``).

    argparse gives a run of positional arguments to the positionals at once; the ones met
    after an option come back "unrecognized" and are added to the command's paths here.
    """
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    unknown = [e for e in extra if e.startswith("-") and e != "-"]
    if unknown or (extra and not hasattr(args, "paths")):
        parser.error(f"unrecognized arguments: {' '.join(unknown or extra)}")
    if extra:
        args.paths = list(args.paths) + extra
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; its exit status (see the module docstring)."""
    args = _parse(argv)
    common.set_debug(bool(getattr(args, "debug", False)))
    try:
        with common.one_line_warnings(f"rawdicom {args.command}"):
            status = args.run(args)
        sys.stdout.flush()
        return status
    except BrokenPipeError:
        # `rawdicom dump f | head`: the reader has gone. Point stdout at nothing, so that the
        # interpreter's last flush at exit does not fail again on the closed pipe.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 0
    except common.Failure as exc:
        print(f"rawdicom {args.command}: {exc}", file=sys.stderr)
        return 1
    except common.Usage as exc:
        print(f"rawdicom {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except common.EXPECTED as exc:
        # Bad input a command did not report itself (a folder's DicomError, an output path
        # that cannot be written): the same one line, status 1.
        common.show_traceback(exc)
        print(f"rawdicom {args.command}: {common.message(exc)}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - the last net: a bug, named in one line
        common.show_traceback(exc)
        print(f"rawdicom {args.command}: internal error: {type(exc).__name__}: "
              f"{common.short(str(exc))} (a bug in rawdicom: rerun with --debug for the "
              "traceback)", file=sys.stderr)
        return INTERNAL_ERROR


if __name__ == "__main__":
    sys.exit(main())
