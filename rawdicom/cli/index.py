"""``rawdicom index``: one row per file of a folder, in SQLite or Parquet (rawdicom.index)."""

from __future__ import annotations

import argparse
import os
import sqlite3

from . import common


def add(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "index", help="index a folder: one row per file, in SQLite or Parquet",
        description="Read every file's header under SRC (a folder, a glob, an fsspec URL) "
                    "into OUT: an SQLite file (.sqlite, .sqlite3, .db; incremental, and one file may hold "
                    "several folders: a run updates the rows under its SRC only) or a "
                    "Parquet folder (needs rawdicom[index]).")
    parser.add_argument("paths", nargs="*", metavar="SRC OUT",
                        help="what to index, then OUT.sqlite or OUT.parquet")
    common.add_example(parser, "the whole study (as SRC)")
    parser.add_argument("--engine", choices=("serial", "processes", "dask"),
                        default="processes", help="how to read (default: worker processes)")
    parser.add_argument("--workers", type=int, metavar="N", help="worker processes")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    paths = common.inputs(args, folder=True)
    if len(paths) != 2:
        raise SystemExit(common.usage_error(args, "give SRC (or --example), then OUT"))
    source, out = paths
    if "://" not in source and not any(c in source for c in "*?[") \
            and not os.path.exists(source):
        raise common.Failure(f"{source}: No such file or directory")
    from ..index import build
    try:
        summary = build(source, out, engine=args.engine, workers=args.workers)
    except ImportError as exc:
        raise common.Failure(str(exc)) from None
    except sqlite3.DatabaseError as exc:  # OUT cannot be opened or is not an SQLite database
        raise common.Failure(f"{out}: cannot be used as an SQLite index: {exc}") from None
    print(summary)
    errors = sum(n for status, n in summary.statuses.items() if status not in ("ok", "not_dicom"))
    return 1 if errors else 0
