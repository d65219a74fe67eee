"""``rawdicom dump``: every element of DICOM files, sequences indented; or as DICOM JSON."""

from __future__ import annotations

import argparse
import re
import sys
import warnings

from ..errors import DicomWarning, TruncatedError
from ..model.scan import TRUNCATION_MARKS
from .. import dictionary
from ..reader import read
from . import common

_TAG_LIST = re.compile(r"\(?[0-9A-Fa-f]{4},[0-9A-Fa-f]{4}\)?|[^,\s]+")


def add(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = commands.add_parser("dump", help="list every element of DICOM files",
                                 description="List the elements of DICOM files, one per line "
                                             "(tag, VR, keyword, value), sequences indented.")
    parser.add_argument("paths", nargs="*", metavar="FILE")
    common.add_example(parser, "the middle slice of the axial CT")
    parser.add_argument("--no-pixels", action="store_true", help="stop before the pixel data")
    parser.add_argument("--tags", action="append", metavar="T[,T...]",
                        help="only these tags or keywords (repeatable; stops reading past the "
                             "last one)")
    parser.add_argument("--json", action="store_true",
                        help="print the DICOM JSON model (PS3.18 F) instead of the listing")
    parser.add_argument("--width", type=int, default=64, help="abbreviate values past this width")
    parser.set_defaults(run=run)
    return parser


def _tags(args: argparse.Namespace) -> list[str] | None:
    if not args.tags:
        return None
    # Commas separate tags, except inside a (gggg,eeee) spelling.
    tags = [t for group in args.tags for t in _TAG_LIST.findall(group)]
    for text in tags:
        try:
            dictionary.parse_tag(text)
        except (KeyError, ValueError):
            raise SystemExit(common.usage_error(args, f"--tags: {text!r} is not a tag or keyword"))
    return tags


def run(args: argparse.Namespace) -> int:
    paths = common.inputs(args)
    tags = _tags(args)
    status = 0
    for path in paths:
        if len(paths) > 1 and not args.json:
            print(f"# {path}")
        status = max(status, common.catch(path, lambda: _one(path, args, tags)))
    return status


def _one(path: str, args: argparse.Namespace, tags: list[str] | None) -> int:
    """Print the file's elements; a file cut short is listed as far as it goes, then
    reported as damaged (exit status 1): the listing alone would look complete."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DicomWarning)
        ds = read(path, stop_before_pixels=args.no_pixels, tags=tags)
    cut = None
    for warning in caught:
        if cut is None and issubclass(warning.category, DicomWarning) \
                and any(mark in str(warning.message) for mark in TRUNCATION_MARKS):
            cut = str(warning.message)  # the error line at the end says it
            continue
        # again, for the command's own one-line report of warnings
        warnings.warn_explicit(warning.message, warning.category, warning.filename,
                               warning.lineno)
    if args.json:
        from ..dicomjson import dumps, to_json
        sys.stdout.write(dumps(to_json(ds), indent=2) + "\n")
    else:
        if ds.file_meta is not None and len(ds.file_meta) and tags is None:
            meta = ds.file_meta.dump(max_value=args.width)
            print(f"# File meta group\n{meta}\n# Dataset ({ds.transfer_syntax.name})")
        if tags is None:
            print(ds.dump(max_value=args.width))
        else:  # only what was asked for (the reader also reads the character set)
            from ..printing import format_element
            wanted = {dictionary.parse_tag(t) for t in tags}
            for el in ds:
                if el.tag in wanted:
                    print(format_element(el, args.width))
    if cut is not None:
        sys.stdout.flush()
        return common.report(path, TruncatedError(f"the file is cut short: {cut}"))
    return 0
