"""``rawdicom explain``: the bytes of a file, annotated, from offset 0 (rawdicom/explain.py)."""

from __future__ import annotations

import argparse
import os
import sys
import warnings

from .. import dictionary
from ..errors import DicomError, NotDicomError
from ..explain import Walk, format_walk
from ..reader import read
from ..regular_file import open_regular
from . import common

# Whether a file is DICOM at all shows in its first bytes: only those are read to decide.
_HEAD = 1 << 16


def _offset(text: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an offset: {text!r} (420, 0x1A4)") from None


def add(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "explain", help="the bytes of a file, annotated: preamble, tags, VRs, lengths, values",
        description="An annotated hex listing of a DICOM file from offset 0: the preamble, "
                    "DICM, and for each element its tag, VR, length (with its byte order) and "
                    "value bytes beside their meaning; items, delimiters, undefined lengths, "
                    "encapsulated fragments and the offset table marked.")
    parser.add_argument("paths", nargs="*", metavar="FILE")
    common.add_example(parser, "the middle slice of the axial CT")
    parser.add_argument("--limit", type=int, metavar="N", help="show at most N entries")
    parser.add_argument("--offset", type=_offset, metavar="X",
                        help="start at the entry holding byte X (decimal or 0x hex; in a "
                             "deflated file, an offset in the inflated data set)")
    parser.add_argument("--tag", metavar="T", help="only the elements with this tag or keyword")
    parser.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                        help="colour the parts (default: on a terminal)")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    tag = None
    if args.tag:
        try:
            tag = dictionary.parse_tag(args.tag)
        except (KeyError, ValueError):
            raise SystemExit(common.usage_error(args, f"--tag: {args.tag!r} is not a tag or keyword"))
    colour = common.use_colour(args.color)
    status = 0
    for path in common.inputs(args):
        status = max(status, common.catch(path, lambda: _one(path, args, tag, colour)))
    return status


def _one(path: str, args: argparse.Namespace, tag: int | None, colour: bool) -> int:
    """Stream the listing of one file: memory is bounded by what is printed, not by the
    file (rawdicom.explain.Walk reads headers and the bytes shown, never a whole value)."""
    with os.fdopen(open_regular(path), "rb") as f:  # never a FIFO or a device
        try:
            with warnings.catch_warnings():  # of the head only: the walk tells what is wrong
                warnings.simplefilter("ignore")
                read(f.read(_HEAD), stop_before_pixels=True)
        except NotDicomError as exc:
            return common.report(path, exc)  # not DICOM: its bytes explain nothing
        except DicomError:
            pass  # a damaged file (or only its start read) is what explain is for: go on
        walk = Walk(f)
        for line in format_walk(walk, colour=colour, limit=args.limit, offset=args.offset,
                                tag=tag):
            sys.stdout.write(line + "\n")
    if walk.problem:
        print(f"rawdicom: {path}: the walk stopped: {walk.problem}", file=sys.stderr)
        return 1
    return 0
