"""``rawdicom volume``: a series of a folder as a 3-D array with its affine (NIfTI or .npz)."""

from __future__ import annotations

import argparse
import sys
import warnings
from typing import Any

from ..errors import DicomError, DicomWarning
from . import common
from .folder import add_series_option, choose_series, scan_folder


def add(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "volume", help="a series as a 3-D volume: NIfTI (.nii, .nii.gz) or NumPy (.npz)",
        description="Build the volume of one series of a folder (its largest regular stack, "
                    "ordered by position along the slice normal) and write it as NIfTI "
                    "(nibabel: rawdicom[nifti]) or as .npz with the array and its affine "
                    "(LPS and RAS). Diagnostics of the geometry are printed.")
    parser.add_argument("paths", nargs="*", metavar="DIR OUT",
                        help="the folder, then OUT.nii.gz, OUT.nii or OUT.npz")
    common.add_example(parser, "the whole study")
    add_series_option(parser)
    parser.add_argument("--stored", action="store_true",
                        help="stored values, not modality values (HU)")
    parser.add_argument("--resample", action="store_true",
                        help="resample an irregular or tilted stack onto an orthogonal grid")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    paths = common.inputs(args, folder=True)
    if len(paths) != 2:
        raise SystemExit(common.usage_error(args, "give one DIR (or --example), then OUT"))
    out = paths[1]
    if not out.endswith((".nii", ".nii.gz", ".npz")):
        raise SystemExit(common.usage_error(args, f"{out}: the output ends in .nii, .nii.gz or .npz"))
    common.need("numpy", "volume")
    if out.endswith((".nii", ".nii.gz")):
        common.need("nibabel", "nifti")
    collection = scan_folder(paths[0], "volume")
    series = choose_series(collection, args.series)
    label = f"series {series.series_number} ({series.series_description or series.series_instance_uid})"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DicomWarning)
        try:
            volume = series.volume(hounsfield=not args.stored, resample=args.resample)
        except (DicomError, ValueError) as exc:
            raise common.Failure(f"{label}: {exc}") from None
    for warning in caught:
        print(f"rawdicom volume: {label}: warning: {warning.message}", file=sys.stderr)
    write(volume, out)
    print(f"wrote {out}: {label}, {' x '.join(map(str, volume.shape))} (slices, rows, columns) "
          f"{volume.array.dtype}")
    for line in geometry_lines_of(volume):
        print(f"  {line}")
    for diagnostic in volume.diagnostics:
        print(f"  ! {diagnostic}")
    return 1 if collection.failed else 0


def geometry_lines_of(volume: Any) -> list[str]:
    rows = [" ".join(f"{v + 0.0:10.4f}" for v in row) for row in volume.affine]
    return [f"spacing {' x '.join(f'{v:.4f}' for v in volume.spacing)} mm, origin "
            f"{' '.join(f'{v:.2f}' for v in volume.origin)} mm (LPS)",
            "affine (slice, row, column) -> LPS mm:", *(f"  {r}" for r in rows)]


def write(volume: Any, out: str) -> None:
    if out.endswith(".npz"):
        import numpy as np
        np.savez_compressed(out, array=volume.array, affine=volume.affine,
                            affine_ras=volume.affine_ras, spacing=np.asarray(volume.spacing))
    else:
        volume.to_nifti(out)
