"""``rawdicom organize``: a folder's DICOM files into Patient/Study/Series folders
(rawdicom.organize: allow-listed names, atomic writes, a manifest, re-runs complete)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from . import common


def add(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "organize", help="sort a folder's DICOM files into Patient/Study/Series folders",
        description="Copy (or link, or move) every DICOM file under SRC into DST/Patient/"
                    "Study/Series/ with readable, safe names; never overwrites, writes a "
                    "manifest, and checks that every source file is in DST.")
    parser.add_argument("paths", nargs="*", metavar="SRC DST",
                        help="the folder to organize, then the target folder")
    common.add_example(parser, "the whole study (as SRC)")
    parser.add_argument("--mode", choices=("copy", "link", "move"), default="copy",
                        help="copy (default), hard link, or move the files")
    parser.add_argument("--dry-run", action="store_true", help="write nothing: print the plan")
    parser.add_argument("--layout", metavar="TEMPLATE",
                        help="folders and names from record fields, e.g. "
                             "'{patient_id}/{study_date}/{series_number}/{instance_number}.dcm'")
    parser.add_argument("--others", action="store_true",
                        help="also put files that are not DICOM under DST/_other/")
    parser.add_argument("--plan", action="store_true",
                        help="list every file's action and target (implied by --dry-run)")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    paths = common.inputs(args, folder=True)
    if len(paths) != 2:
        raise SystemExit(common.usage_error(args, "give SRC (or --example), then DST"))
    source, target = paths
    if not os.path.exists(source):
        raise common.Failure(f"{source}: No such file or directory")
    if args.example and args.mode == "move":
        raise SystemExit(common.usage_error(args, "--example cannot be moved: use copy or link"))
    from ..model.organize import organize
    try:
        report = organize(source, target, mode=args.mode, layout=args.layout,
                          dry_run=args.dry_run, others=args.others,
                          progress=common.progress_bar("organize"))
    except ValueError as exc:  # a bad layout, a target inside the source
        raise common.Usage(str(exc)) from None
    if args.dry_run or args.plan:
        _plan(report, target)
    print(report)
    for entry in report.errors:
        print(f"rawdicom: {entry.source}: {entry.reason}", file=sys.stderr)
    return 0 if report.ok else 1


def _plan(report: Any, target: str) -> None:
    for entry in report.entries:
        where = os.path.relpath(entry.target, report.target) if entry.target else "-"
        note = f"  ({entry.reason})" if entry.reason else ""
        print(f"{entry.action:<5} {entry.source} -> {where}{note}")
