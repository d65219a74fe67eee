"""``rawdicom json``: a file as the DICOM JSON model (PS3.18 Annex F, rawdicom/dicomjson.py)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from ..dicomjson import dumps, to_json
from ..reader import read
from . import common


def add(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "json", help="the DICOM JSON model (PS3.18 F) of a file",
        description="Print a file's dataset as the DICOM JSON model (PS3.18 Annex F): vr, "
                    "Value, InlineBinary (base64) or BulkDataURI; read back with "
                    "rawdicom.from_json.")
    parser.add_argument("paths", nargs="*", metavar="FILE")
    common.add_example(parser, "the middle slice of the axial CT")
    parser.add_argument("--indent", type=int, default=2, help="spaces per level (default 2; "
                                                              "-1: one line)")
    parser.add_argument("--bulk-data", metavar="DIR",
                        help="write binary values longer than --bulk-data-threshold to files in "
                             "DIR, named by their tag path, and refer to them by BulkDataURI")
    parser.add_argument("--bulk-data-threshold", type=int, default=1024, metavar="N",
                        help="with --bulk-data: values longer than N bytes (default 1024)")
    parser.add_argument("--no-pixels", action="store_true", help="stop before the pixel data")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    status = 0
    for path in common.inputs(args):
        status = max(status, common.catch(path, lambda: _one(path, args)))
    return status


def _one(path: str, args: argparse.Namespace) -> int:
    ds = read(path, stop_before_pixels=args.no_pixels)
    options: dict[str, Any] = {}
    if args.bulk_data:
        folder = args.bulk_data
        os.makedirs(folder, exist_ok=True)
        stem = os.path.basename(path)

        def uri(el: Any, tag_path: tuple[int, ...]) -> str:
            name = ".".join(f"{t:08X}" if t > 0xFFFF else str(t) for t in tag_path)
            target = os.path.abspath(os.path.join(folder, f"{stem}.{name}.bin"))
            from ..dicomjson import bulk_bytes  # the bytes the model holds: little endian
            with open(target, "wb") as f:
                f.write(bulk_bytes(el, ds))
            from pathlib import Path
            return Path(target).as_uri()

        options = {"bulk_data_threshold": args.bulk_data_threshold, "bulk_data_uri": uri}
    sys.stdout.write(dumps(to_json(ds, **options),
                           indent=None if args.indent < 0 else args.indent) + "\n")
    return 0
