"""``rawdicom png DIR``: one slice of a series, or a contact sheet of its whole volume."""

from __future__ import annotations

import argparse
import math
import warnings
from typing import Any

from ..errors import DicomWarning
from ..reader import read
from . import common
from .folder import choose_series, scan_folder
from .images import colour_note, display_image, window_words
from .labels import text


def series_png(path: str, out: str, args: argparse.Namespace,
               window: tuple[float, float] | None) -> tuple[Any, str]:
    """The image to write for a folder, and what it shows."""
    collection = scan_folder(path, "png")
    series = choose_series(collection, args.series)
    stacks = series.stacks()
    if not stacks:
        raise common.Failure(f"{path}: series {series.series_number} has no images")
    stack = next((s for s in stacks if s.regular), stacks[0])
    label = f"series {series.series_number} ({text(series.series_description) or '-'})"
    if args.sheet:
        sheet, what = contact_sheet(stack, window, args.columns, label)
        return sheet, f"{label}: {what}"
    images, of = stack.instances, ""
    volumes = getattr(stack, "volumes", None)
    if volumes and len(volumes) > 1:  # 4-D: the slices of the first volume
        images, of = volumes[0], f" of volume 1 of {len(volumes)}"
    count = len(images)
    index = count // 2 if args.slice is None else args.slice
    if not 0 <= index < count:
        raise common.Usage(f"--slice {index}: the stack has {count} slices, 0 to {count - 1}")
    instance = images[index]
    ds = read(instance.path)
    image = display_image(ds, instance.frame, window)
    if image.ndim == 3:
        colour_note(args, ds, instance.path)
    shown = "RGB" if image.ndim == 3 else window_words(ds, window)
    return image, f"{label}: slice {index} of {count}{of} ({instance.path}), {shown}"


def _default_window(stack: Any, volume: Any) -> tuple[float, float]:
    """The middle image's first window (when finite, with a positive width: a header's
    window of inf or 400 digits is treated as absent), else the volume's own range."""
    from ..model.header_values import as_tuple, finite_floats, positive_float
    middle = stack.instances[len(stack) // 2]
    centres = as_tuple(middle.get("window_center")) or ()
    widths = as_tuple(middle.get("window_width")) or ()
    centre = finite_floats(centres[:1], 1)
    width = positive_float(widths[0]) if widths else None
    if centre and width:
        return centre[0], width
    np = common.need("numpy", "volume")
    kept = np.delete(volume.array, list(volume.filled_slices), axis=-3)
    kept = kept[np.isfinite(kept)]
    if not kept.size:  # every slice unreadable, or all NaN: no range to window
        raise common.Failure("no contact sheet: no slice of the series holds a finite value")
    lo, hi = float(kept.min()), float(kept.max())
    return (lo + hi) / 2, max(hi - lo, 1.0)


def contact_sheet(stack: Any, window: tuple[float, float] | None, columns: int | None,
                  label: str = "the series") -> tuple[Any, str]:
    """Every slice of the stack's volume, windowed, tiled left to right, top to bottom; and
    what it shows. A 4-D series shows its first volume (time point, b-value); a stack that
    gives no grey volume (colour, 1-bit, no geometry, no regular grid) is a Failure in one
    line, the same words ``volume`` and ``hist`` use."""
    np = common.need("numpy", "volume")
    import rawdicom
    from ..errors import DicomError
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DicomWarning)  # a filled slice is shown, below
            volume = stack.volume(hounsfield=True)
    except (DicomError, ValueError) as exc:
        raise common.Failure(f"{label}: no contact sheet: {exc} (one image: --slice N)") \
            from None
    if volume.colour:
        samples = stack.instances[0].get("samples_per_pixel", 1)
        raise common.Failure(f"{label}: no contact sheet: colour images (Samples per Pixel "
                             f"{samples}, {stack.instances[0].get('photometric_interpretation')})"
                             " (one image: --slice N)")
    array = volume.array
    what = f"{array.shape[-3]} slices"
    if array.ndim == 4:
        array = array[0]
        what += f" of volume 1 of {volume.array.shape[0]} (a 4-D series)"
    if volume.filled_slices:
        what += f"; slice(s) {', '.join(map(str, volume.filled_slices))} missing, shown black"
    centre, width = window or _default_window(stack, volume)
    from ..model.record import snake_case
    from .info import modality_unit
    first = stack.instances[0]
    what += f", window {centre:g}/{width:g} " \
            f"{modality_unit(lambda keyword: first.get(snake_case(keyword)))}"
    slices, rows, cols = array.shape
    columns = columns or math.ceil(math.sqrt(slices))
    lines = math.ceil(slices / columns)
    sheet = np.zeros((lines * rows, columns * cols), dtype=np.uint8)
    images = rawdicom.window(array, centre, width)
    images[list(volume.filled_slices)] = 0
    first = stack.instances[0]
    if str(first.get("photometric_interpretation") or "").upper() == "MONOCHROME1":
        images = 255 - images
    for k in range(slices):
        r, c = divmod(k, columns)
        sheet[r * rows:(r + 1) * rows, c * cols:(c + 1) * cols] = images[k]
    return sheet, what
