"""The ``rawdicom`` command line.

    rawdicom dump FILE...        every element, sequences indented
    rawdicom dump --example      the same, on the example file shipped with rawdicom
    rawdicom tag 0020,000E       the data dictionary entry of a tag (or keyword)
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import warnings
from importlib import resources
from typing import Iterator, Sequence

from . import dictionary
from .errors import DicomError, DicomWarning, format_tag
from .reader import read

__all__ = ["main", "example_path"]


def example_path() -> str:
    """Path of the synthetic CT slice shipped with the package (made by tools/make_example.py)."""
    return str(resources.files("rawdicom") / "examples" / "ct_phantom.dcm")


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


def _dump(args: argparse.Namespace) -> int:
    paths = list(args.files)
    if args.example:
        paths.insert(0, example_path())
    if not paths:
        print("rawdicom dump: give a file, or --example", file=sys.stderr)
        return 2
    status = 0
    for path in paths:
        if len(paths) > 1:
            print(f"# {path}")
        with reported_warnings(path):
            status = max(status, _dump_one(path, args))
    return status


def _dump_one(path: str, args: argparse.Namespace) -> int:
    """Print one file's elements; 1 (and one line on stderr) when the file cannot be read."""
    try:
        ds = read(path, stop_before_pixels=args.no_pixels)
        if ds.file_meta is not None and len(ds.file_meta):
            meta = ds.file_meta.dump(max_value=args.width)
            print(f"# File meta group\n{meta}\n# Dataset ({ds.transfer_syntax.name})")
        print(ds.dump(max_value=args.width))
    except DicomError as exc:
        print(f"rawdicom: {path}: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):
            raise
        print(f"rawdicom: {path}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0


def _tag(args: argparse.Namespace) -> int:
    status = 0
    for text in args.tags:
        try:
            tag = dictionary.parse_tag(text)
        except (KeyError, ValueError):
            print(f"{text}: not a tag or keyword", file=sys.stderr)
            status = 1
            continue
        entry = dictionary.lookup(tag)
        if entry is None:
            print(f"{format_tag(tag)}: unknown (not in the DICOM data dictionary)")
            continue
        retired = " (retired)" if entry.retired else ""
        print(f"{format_tag(tag)} {entry.keyword or '-'}\n  name: {entry.name}{retired}\n"
              f"  VR: {entry.vr}\n  VM: {entry.vm}\n  kind: {entry.kind}")
    return status


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rawdicom", description="Read DICOM files.")
    commands = parser.add_subparsers(dest="command", required=True)
    dump = commands.add_parser("dump", help="list every element of DICOM files")
    dump.add_argument("files", nargs="*")
    dump.add_argument("--example", action="store_true", help="dump the built-in example file")
    dump.add_argument("--no-pixels", action="store_true", help="stop before the pixel data")
    dump.add_argument("--width", type=int, default=64, help="abbreviate values past this width")
    dump.set_defaults(run=_dump)
    tag = commands.add_parser("tag", help="look up tags or keywords in the data dictionary")
    tag.add_argument("tags", nargs="+")
    tag.set_defaults(run=_tag)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except BrokenPipeError:  # `rawdicom dump f | head`
        return 0


if __name__ == "__main__":
    sys.exit(main())
