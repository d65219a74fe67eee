"""``rawdicom convert``: every series of folders, files or a DICOMDIR to NIfTI, with JSON
sidecars and a manifest (rawdicom.convert: resumable, atomic, never overwrites)."""

from __future__ import annotations

import argparse
import gc
import os
import sys

from . import common

_DEFAULT_NAME = "{PatientID}/{StudyDate}_{SeriesNumber}_{SeriesDescription}"


def add(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "convert", help="every series of a folder to NIfTI, with sidecars and a manifest",
        description="Convert every series under SRC (folders, files, a DICOMDIR) to NIfTI in "
                    "OUT: one file per stack that forms a volume (3-D or 4-D), a BIDS-named "
                    "JSON sidecar, .bval/.bvec for diffusion, and OUT/convert-manifest.jsonl "
                    "with one line per stack (its files, or why it was not converted). A rerun "
                    "converts only what the manifest lacks; nothing is overwritten.")
    parser.add_argument("paths", nargs="*", metavar="SRC... OUT",
                        help="folders, files or a DICOMDIR, then the output folder")
    common.add_example(parser, "the whole study (as SRC)")
    parser.add_argument("--name", default=_DEFAULT_NAME, metavar="TEMPLATE",
                        help=f"folders and file name from DICOM keywords (default {_DEFAULT_NAME!r})")
    parser.add_argument("--format", choices=("nii.gz", "nii"), default="nii.gz",
                        help="gzip-compressed (default) or plain NIfTI")
    parser.add_argument("--level", type=int, choices=range(1, 10), default=6, metavar="1-9",
                        help="gzip level (default 6, as gzip and dcm2niix)")
    parser.add_argument("--missing", choices=("refuse", "fill"), default="refuse",
                        help="a stack with missing slices: refuse it (default) or fill them "
                             "with NaN (float32)")
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="worker processes (default: the cores; 1: this process only)")
    parser.add_argument("--quiet", action="store_true", help="print the summary line only")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    paths = common.inputs(args, folder=True)
    if len(paths) < 2:
        raise SystemExit(common.usage_error(args, "give SRC (or --example), then OUT"))
    sources, out = paths[:-1], paths[-1]
    for source in sources:
        if not os.path.exists(source):
            raise common.Failure(f"{source}: No such file or directory")
    import importlib.util
    if importlib.util.find_spec("numpy") is None:  # found, not imported: the workers import it
        raise common.Failure("this needs numpy, which is not installed: "
                             "pip install 'rawdicom[volume]'")
    from ..convert import convert
    workers = args.workers if args.workers is None or args.workers >= 1 else 1
    try:
        report = convert(sources[0] if len(sources) == 1 else sources, out, name=args.name,
                         format=args.format, level=args.level, missing=args.missing,
                         engine="serial" if workers == 1 else "processes", workers=workers,
                         progress=common.progress_bar("convert"))
    except ValueError as exc:  # a bad template
        raise common.Usage(str(exc)) from None
    except RuntimeError as exc:  # another convert holds OUT
        raise common.Failure(str(exc)) from None
    # What the run built is freed by the process's exit: frozen, it is skipped by the
    # collections the interpreter runs on its way out, which walked every record.
    gc.freeze()
    if report.series == 0 and not report.already and not report.failed_files:
        raise common.Failure(f"{', '.join(sources)}: no DICOM file found: nothing to convert")
    text = str(report)
    print(text.splitlines()[0] if args.quiet else text)
    for row in report.rows:
        if row["status"] == "failed":
            print(f"rawdicom: {row['first_file']}: {row['why']}", file=sys.stderr)
    for path, error in report.failed_files:
        print(f"rawdicom: {path}: {error}", file=sys.stderr)
    return 0 if report.ok else 1
