"""``rawdicom tag``: the data dictionary entry of tags or keywords."""

from __future__ import annotations

import argparse
import sys

from .. import dictionary
from ..errors import format_tag


def add(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = commands.add_parser("tag", help="look up tags or keywords in the data dictionary",
                                 description="Look up tags (0020,000E, 0020000E) or keywords "
                                             "(SeriesInstanceUID) in the data dictionary.")
    parser.add_argument("tags", nargs="+", metavar="TAG")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
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
