"""``rawdicom volume``: a series of a folder as a 3-D array with its affine (NIfTI or .npz)."""

from __future__ import annotations

import argparse
import math
import sys
import warnings
from typing import Any

from ..errors import DicomError, DicomWarning
from . import common
from .folder import add_series_option, choose_series, scan_folder
from .labels import text


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
    parser.add_argument("--fill", metavar="VALUE",
                        help="the value of slices no image fills (a missing slice): a number, "
                             "or nan (the volume is then float32); default: the volume's "
                             "lowest value (air in CT), NaN for a float volume")
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
    _fill_value(args)  # a usage error before the folder is read
    if out.endswith((".nii", ".nii.gz")):
        common.need("nibabel", "nifti")
    collection = scan_folder(paths[0], "volume")
    series = choose_series(collection, args.series)
    label = f"series {series.series_number} " \
            f"({text(series.series_description) or series.series_instance_uid})"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DicomWarning)
        try:
            volume = series.volume(hounsfield=not args.stored, resample=args.resample)
        except (DicomError, ValueError) as exc:
            hint = " (--resample does that here)" if "resample=True" in str(exc) else ""
            raise common.Failure(f"{label}: {exc}{hint}") from None
    for warning in caught:
        print(f"rawdicom volume: {label}: warning: {warning.message}", file=sys.stderr)
    fill_note = fill(volume, args)
    write(volume, out)
    four_d = volume.array.ndim - volume.colour == 4
    axes = "(volumes, slices, rows, columns" if four_d else "(slices, rows, columns"
    axes += ", RGB)" if volume.colour else ")"
    print(f"wrote {out}: {label}, {' x '.join(map(str, volume.array.shape))} {axes} "
          f"{volume.array.dtype}")
    if four_d:
        print(f"  {_volumes_line(volume, out)}")
    if fill_note:
        print(f"  {fill_note}")
    for line in geometry_lines_of(volume):
        print(f"  {line}")
    for diagnostic in volume.diagnostics:
        print(f"  ! {diagnostic}")
    return 1 if collection.failed else 0


def _fill_value(args: argparse.Namespace) -> float | None:
    if args.fill is None:
        return None
    try:
        return float(args.fill)
    except ValueError:
        raise SystemExit(common.usage_error(args, f"--fill {args.fill!r}: give a number or "
                                                  "nan")) from None


def fill(volume: Any, args: argparse.Namespace) -> str:
    """Set the value of the volume's filled slices (``--fill``, else the lowest value of
    the slices that were read, NaN in a float volume), and say which slices hold it.

    The model fills an integer volume with the type's minimum (-2147483648 in int32),
    which no reader of the file could tell from a value and which ruins its mean.
    """
    import numpy as np
    slices = list(volume.filled_slices)
    value = _fill_value(args)
    if not slices:
        return ""
    array = volume.array
    # the slice axis, after the volumes' axis of a 4-D array, before a colour one's samples
    axis = array.ndim - 3 - volume.colour
    if value is None:
        if array.dtype.kind == "f":
            value = math.nan
        else:
            kept = np.delete(array, slices, axis=axis)
            value = kept.min() if kept.size else 0
    if math.isnan(value) and array.dtype.kind != "f":
        array = volume.array = array.astype(np.float32)
    elif array.dtype.kind in "iu":
        info = np.iinfo(array.dtype)
        if not (float(value).is_integer() and info.min <= value <= info.max):
            raise common.Failure(f"--fill {args.fill}: not a value of the volume's "
                                 f"{array.dtype} ({info.min} to {info.max}; nan makes it float)")
        value = int(value)
    index: list[Any] = [slice(None)] * array.ndim
    index[axis] = slices
    array[tuple(index)] = value
    volume.fill_value = value
    shown = "NaN" if math.isnan(value) else f"{value:g}"
    why = "--fill" if args.fill is not None else \
        "NaN in a float volume" if math.isnan(value) else "the lowest value read; --fill V"
    return (f"slice(s) {', '.join(map(str, slices))} of {array.shape[axis]} have no image: "
            f"filled with {shown} ({why})")


def _volumes_line(volume: Any, out: str) -> str:
    """What the first axis of a 4-D volume is, and (NIfTI) the time between volumes."""
    labels = ", ".join(getattr(volume, "labels", {}) or {}) or "acquisition"
    tr = getattr(volume, "repetition_time", None)
    line = f"{volume.array.shape[0]} volumes by {labels}"
    if tr:
        line += f"; repetition time {tr:g} ms"
        if out.endswith((".nii", ".nii.gz")):
            line += f" (NIfTI pixdim[4] = {tr / 1000:g} s)"
    return line


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
