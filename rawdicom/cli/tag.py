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


def _keywords() -> list[str]:
    return [e.keyword for e in dictionary.elements() if e.keyword]


def _any_case(text: str) -> int | None:
    """``studyid`` is StudyID: a keyword written in another case, when only one matches."""
    found = [k for k in _keywords() if k.lower() == text.strip().lower()]
    return dictionary.tag_for(found[0]) if len(found) == 1 else None


def _suggest(text: str) -> str:
    """Keywords close to ``text`` (difflib) or containing it, for a near miss."""
    import difflib
    keywords = _keywords()
    close = difflib.get_close_matches(text, keywords, n=3, cutoff=0.75)
    close += [k for k in keywords if text.lower() in k.lower() and k not in close]
    return f"; did you mean {', '.join(close[:5])}?" if close and text.strip() else ""


def run(args: argparse.Namespace) -> int:
    status = 0
    for text in args.tags:
        try:
            tag = dictionary.parse_tag(text)
        except (KeyError, ValueError):
            tag = _any_case(text)
            if tag is None:
                print(f"rawdicom tag: {text}: not a tag or keyword{_suggest(text)}",
                      file=sys.stderr)
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
