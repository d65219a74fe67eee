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
import re
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


def _parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or of ``only`` (the command being run: its module
    alone is imported, so ``rawdicom convert`` does not pay for ``explain``'s imports)."""
    import importlib

    parser = argparse.ArgumentParser(
        prog="rawdicom", description="Read, inspect and convert DICOM files.",
        epilog="Every command takes --example in place of a path: the built-in example study.")
    parser.add_argument("--debug", action="store_true", help="print the traceback of errors")
    from .. import __version__
    parser.add_argument("--version", action="version", version=f"rawdicom {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in _COMMANDS if only is None else (only,):
        module = importlib.import_module(f".{name}", __name__)
        sub = module.add(commands)
        common.add_debug(sub)
    return parser


# A negative number, or a list of them: "-600,1500", "-1100,1500", "-0.5".
_NEGATIVE = re.compile(r"-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?(,[-+]?[\d.eE+-]*)*")


def _valued_options(parser: argparse.ArgumentParser) -> set[str]:
    """The options, of the program and of every command, that take a value."""
    out: set[str] = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                out |= _valued_options(sub)
        elif action.option_strings and action.nargs != 0:
            out.update(action.option_strings)
    return out


def _negative_values(argv: Sequence[str] | None, options: set[str]) -> list[str]:
    """``--window -600,1500`` as ``--window=-600,1500``: argparse takes a value that starts
    with "-" and is no plain number for an option, where dcmtk, ImageMagick and every user
    of a lung window give it as the option's value."""
    args = list(sys.argv[1:] if argv is None else argv)
    out: list[str] = []
    for arg in args:
        if out and out[-1] in options and _NEGATIVE.fullmatch(arg):
            out[-1] = f"{out[-1]}={arg}"
        else:
            out.append(arg)
    return out


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """argparse, with paths allowed after options too (``png DIR --sheet OUT.png``).

    argparse gives a run of positional arguments to the positionals at once; the ones met
    after an option come back "unrecognized" and are added to the command's paths here.
    """
    words = list(sys.argv[1:] if argv is None else argv)
    command = next((w for w in words if not w.startswith("-")), None)  # after --debug
    parser = _parser(command if command in _COMMANDS else None)
    args, extra = parser.parse_known_args(
        _negative_values(argv, _valued_options(parser)))
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
