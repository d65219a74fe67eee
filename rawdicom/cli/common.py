"""What every command shares: reporting a file's failure, warnings, extras, progress, colour.

A command works through files one at a time and never stops at a bad one: each failure is
one line on stderr naming the file (``rawdicom: PATH: message``) and makes the exit status 1,
with the traceback only under ``--debug``. Usage errors are argparse's (exit status 2).
What a command did not catch itself, main catches: an EXPECTED error (bad input, an output
that cannot be written) is one line and status 1; anything else is a bug, one line naming
the exception and status 3.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import traceback
import warnings
from typing import Any, Callable, Iterator

from ..errors import DicomError, DicomWarning
from ..model.geometry import GeometryError

__all__ = ["Failure", "Usage", "report", "reported_warnings", "need", "progress_bar", "use_colour",
           "add_debug", "add_example", "set_debug", "catch", "inputs", "integer", "usage_error",
           "EXPECTED", "message", "short", "show_traceback", "one_line_warnings"]

_DEBUG = False


class Failure(Exception):
    """A command cannot go on, for a reason that is not a file's bytes (a missing extra, a
    series that is not there): main prints the message and exits with status 1."""


class Usage(Exception):
    """What was asked for does not exist (``--series 9`` of a folder without it): main
    prints the message as a usage error, exit status 2."""


def set_debug(on: bool) -> None:
    global _DEBUG
    _DEBUG = on


def add_debug(parser: argparse.ArgumentParser) -> None:
    """``--debug`` on a subcommand; SUPPRESS keeps ``rawdicom --debug CMD`` working too."""
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="print the traceback of errors")


def add_example(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--example", action="store_true",
                        help=f"use {what} of the built-in example study instead of a path")


# What bad input or a failing output raises in any command: reported in one line, status 1.
# DicomError: a file's bytes (JSONModelError: a DICOM JSON object's); OSError: a path that
# cannot be read or written; GeometryError (a ValueError): a series that makes no grid.
EXPECTED: tuple[type[BaseException], ...] = (DicomError, OSError, GeometryError)


def message(exc: BaseException) -> str:
    """The one line saying what went wrong (an OSError's own words, without its errno)."""
    if isinstance(exc, OSError) and not isinstance(exc, DicomError) and exc.strerror:
        if exc.filename is None:
            return exc.strerror
        return f"{os.fsdecode(exc.filename)}: {exc.strerror}"
    return short(str(exc)) or type(exc).__name__


def short(text: str, limit: int = 500) -> str:
    """One line of at most ``limit`` characters: a message may quote hostile data."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def show_traceback(exc: BaseException) -> None:
    """The traceback of ``exc`` on stderr, under --debug only."""
    if _DEBUG:
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)


def report(path: str, exc: BaseException) -> int:
    """One line on stderr naming ``path`` and what went wrong; returns the exit status 1.

    A broken pipe is the reader of our output going away, not the file's fault: it is
    raised again for main to end quietly.
    """
    if isinstance(exc, BrokenPipeError):
        raise exc
    if isinstance(exc, OSError) and not isinstance(exc, DicomError):
        text = exc.strerror or str(exc)
        if exc.filename is not None and os.fsdecode(exc.filename) != path:
            text = f"{os.fsdecode(exc.filename)}: {text}"  # an output, not the input
    else:
        text = short(str(exc)) or type(exc).__name__
    print(f"rawdicom: {path}: {text}", file=sys.stderr)
    show_traceback(exc)
    return 1


@contextlib.contextmanager
def reported_warnings(path: str) -> Iterator[None]:
    """Print each DicomWarning raised inside the block as one line naming the file.

    Python's default display echoes the source line of the library that warned
    (``reader.py:39: DicomWarning ... ds = read(...)``), which says nothing to a user of
    the command line. The same message twice (one defect met twice) is printed once.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DicomWarning)
        try:
            yield
        finally:
            seen: set[str] = set()
            for warning in caught:
                if not issubclass(warning.category, DicomWarning):
                    warnings.warn_explicit(warning.message, warning.category,
                                           warning.filename, warning.lineno)
                    continue
                message = str(warning.message)
                if message not in seen:
                    seen.add(message)
                    print(f"rawdicom: {path}: warning: {message}", file=sys.stderr)


@contextlib.contextmanager
def one_line_warnings(prefix: str) -> Iterator[None]:
    """Inside the block, a warning no command reported itself is one line on stderr
    (``PREFIX: warning: message``), not Python's display with the library's source line;
    under --debug, Python's display."""
    if _DEBUG:
        yield
        return
    shown = warnings.showwarning

    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
             file: Any = None, line: str | None = None) -> None:
        print(f"{prefix}: warning: {short(str(message))}", file=sys.stderr)

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = shown


def need(module: str, extra: str) -> Any:
    """Import an optional library, or fail with the one line that says what to install."""
    import importlib
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        missing = exc.name or module.split(".")[0]
        raise Failure(f"this needs {missing}, which is not installed: "
                      f"pip install 'rawdicom[{extra}]'") from None


def progress_bar(label: str, stream: Any = None) -> Callable[[int, int], None] | None:
    """A ``(done, total)`` callable drawing a bar on stderr, or None when stderr is no terminal."""
    stream = stream or sys.stderr
    if not stream.isatty():
        return None

    def show(done: int, total: int) -> None:
        width = 30
        filled = width * done // total if total else width
        end = "\n" if done >= total else ""
        stream.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}{end}")
        stream.flush()

    return show


def use_colour(choice: str, stream: Any = None) -> bool:
    """``--color auto`` means a terminal that did not ask for none (NO_COLOR, TERM=dumb)."""
    if choice != "auto":
        return choice == "always"
    stream = stream or sys.stdout
    return (stream.isatty() and "NO_COLOR" not in os.environ
            and os.environ.get("TERM") != "dumb")


def catch(path: str, fn: Callable[[], int]) -> int:
    """Run one file's job with its warnings reported; its DicomError or OSError is reported."""
    with reported_warnings(path):
        try:
            return fn()
        except (DicomError, OSError) as exc:
            return report(path, exc)


def inputs(args: argparse.Namespace, *, folder: bool = False) -> list[str]:
    """The paths given, with the example (the study, or its middle CT slice) first under
    ``--example``; a usage error (exit status 2) when there is neither."""
    from .example import slice_path, study_path

    paths = list(getattr(args, "paths", None) or [])
    if getattr(args, "example", False):
        paths.insert(0, study_path() if folder else slice_path())
    if not paths:
        raise SystemExit(usage_error(args, "give a path, or --example"))
    return paths


def usage_error(args: argparse.Namespace, message: str) -> int:
    """Print a usage error of the command; returns its exit status, 2."""
    print(f"rawdicom {args.command}: error: {message}", file=sys.stderr)
    return 2


def integer(value: Any, default: int) -> int:
    """A header number used for display (Number of Frames "1A"): the default when not one."""
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return int(value) if value is not None else default
    except (TypeError, ValueError):
        return default
