"""A folder on the command line: scanned with a progress bar, its failures reported, a
series chosen (``--series``), a stack's geometry in words. Shared by tree, info, volume,
png, hist."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from . import common
from .orientation import plane_of

__all__ = ["scan_folder", "add_series_option", "choose_series", "stack_summary",
           "geometry_lines", "series_values"]


def scan_folder(path: str, label: str) -> Any:
    """``rawdicom.scan(path)`` with a progress bar on a terminal (a DICOMDIR file: the files
    it lists, ``read_dicomdir``); failures one line each on stderr. Raises Failure when there
    is no such folder or no DICOM file in it."""
    from ..model.scan import scan
    if not os.path.exists(path):
        raise common.Failure(f"{path}: No such file or directory")
    collection = scan(path, progress=common.progress_bar(f"{label}: scanning"))
    if os.path.isfile(path) and collection.dicomdirs:  # a DICOMDIR: the files it lists
        from ..errors import DicomError
        from ..model.dicomdir import read_dicomdir
        try:
            collection = read_dicomdir(path, progress=common.progress_bar(f"{label}: reading"))
        except DicomError as exc:
            raise common.Failure(f"{path}: {exc}") from None
    for failed, error in collection.failed:
        common.report(failed, error)
    if not collection.instances:
        notes = [f"{len(collection.failed)} could not be read"] if collection.failed else []
        if collection.skipped:
            notes.append(f"{len(collection.skipped)} file(s) that are not DICOM")
        note = f" ({'; '.join(notes)})" if notes else ""
        what = "readable DICOM file" if collection.failed else "DICOM file found"
        raise common.Failure(f"{path}: no {what}{note}")
    return collection


def add_series_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--series", metavar="N|UID|STUDY/N",
                        help="the series: its Series Number, its Series Instance UID (or the "
                             "start or end of it), or STUDY/N with STUDY the end of a Study "
                             "Instance UID as tree shows it (default: the one with the "
                             "largest stack of images)")


def choose_series(collection: Any, selector: str | None) -> Any:
    """The series asked for (``labels.select_series``), else the one whose largest stack is
    largest (not a localizer)."""
    series = collection.series
    if selector:
        from .labels import select_series
        return select_series(collection, selector)

    def size(s: Any) -> tuple[int, int]:
        stacks = s.stacks()
        return (len(stacks[0]) if stacks else 0, len(s))

    return max(series, key=size)


def _mm(values: Any, digits: int = 2) -> str:
    return " x ".join(f"{float(v):.{digits}f}" for v in values)


def stack_summary(stack: Any) -> tuple[str, list[Any]]:
    """One line about a stack (images, size, plane, spacing) and its diagnostics (from its
    plain-Python grid: numpy is not needed)."""
    first = stack.instances[0]
    if first.get("rows") is None and first.get("columns") is None:
        # a structured report, a presentation state, a key object: no pixels, no grid
        n = len(stack)
        return f"{n} object{'s' if n != 1 else ''} without an image (no Rows, Columns)", []
    size = f"{first.get('columns', '?')}x{first.get('rows', '?')}"
    plane = plane_of(first.get("image_orientation_patient")) or "no orientation"
    text = f"{len(stack)} image{'s' if len(stack) != 1 else ''} {size}, {plane}"
    volumes = getattr(stack, "volumes", None)  # a 4-D stack: volumes of the same slices
    if volumes and len(volumes) > 1:
        text += f" ({len(volumes)} volumes of {len(volumes[0])} slices)"
    try:
        geometry = stack.grid
    except ValueError as exc:  # GeometryError: no positions, ...
        return f"{text}: {exc}", list(getattr(exc, "diagnostics", ()))
    slices = len(volumes[0]) if volumes and len(volumes) > 1 else len(stack)
    grid = f", a grid of {geometry.shape[0]} slices" if geometry.shape[0] != slices else ""
    state = "regular" if geometry.regular else "NOT a regular grid"
    return (f"{text}{grid}, spacing {_mm(geometry.spacing)} mm (slice, row, column), {state}",
            list(geometry.diagnostics))


def geometry_lines(stack: Any) -> list[str]:
    """The geometry of a stack in full: shape, spacing, origin, direction, affine."""
    try:
        g = stack.geometry
    except (ImportError, ValueError) as exc:
        return [f"geometry: {exc}"]
    rows = [" ".join(f"{v + 0.0:10.4f}" for v in row) for row in g.affine]
    return [f"shape {g.shape} (slices, rows, columns), spacing {_mm(g.spacing, 4)} mm",
            f"origin {_mm(g.origin)} mm (LPS), normal {_mm(g.normal, 4)}"
            + (", gantry tilt: the affine is sheared" if g.tilted else ""),
            "affine (slice, row, column) -> LPS mm:", *(f"  {r}" for r in rows)]


def series_values(path: str, selector: str | None, label: str) -> tuple[Any, str, str]:
    """The modality values of a folder's series volume (filled slices left out: they hold
    no image), what they are, and their unit (``info.modality_unit``)."""
    np = common.need("numpy", "volume")
    import warnings

    from ..errors import DicomError, DicomWarning
    from .info import modality_unit
    from .labels import text
    collection = scan_folder(path, label)
    series = choose_series(collection, selector)
    name = f"series {series.series_number} ({text(series.series_description) or '-'})"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DicomWarning)
        try:
            volume = series.volume(hounsfield=True)
        except (DicomError, ValueError) as exc:
            raise common.Failure(f"{name}: {exc}") from None
    for warning in caught:
        print(f"rawdicom {label}: {name}: warning: {warning.message}", file=sys.stderr)
    if volume.colour:
        raise common.Failure(f"{name}: colour images (Samples per Pixel "
                             f"{series.instances[0].get('samples_per_pixel')}): no grey values")
    values = volume.array
    slices = values.shape[-3]
    if volume.filled_slices:
        values = np.delete(values, list(volume.filled_slices), axis=-3)
        print(f"rawdicom {label}: {name}: slice(s) "
              f"{', '.join(map(str, volume.filled_slices))} missing: left out", file=sys.stderr)
    from ..model.record import snake_case
    units = {modality_unit(lambda keyword: i.get(snake_case(keyword)))
             for i in series.instances}
    unit = units.pop() if len(units) == 1 else "value (" + ", ".join(sorted(units)) + ")"
    shape = f"{values.shape[0]} volumes x {slices} slices" if values.ndim == 4 \
        else f"{slices} slices"
    return values, f"{path}, {name}, {shape}", unit
