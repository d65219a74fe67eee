"""``rawdicom png DIR``: one slice of a series, or a contact sheet of its whole volume."""

from __future__ import annotations

import argparse
import math
from typing import Any

from ..reader import read
from . import common
from .folder import choose_series, scan_folder
from .images import display_image


def series_png(path: str, out: str, args: argparse.Namespace,
               window: tuple[float, float] | None) -> tuple[Any, str]:
    """The image to write for a folder, and what it shows."""
    collection = scan_folder(path, "png")
    series = choose_series(collection, args.series)
    stacks = series.stacks()
    if not stacks:
        raise common.Failure(f"{path}: series {series.series_number} has no images")
    stack = next((s for s in stacks if s.regular), stacks[0])
    label = f"series {series.series_number} ({series.series_description or '-'})"
    if args.sheet:
        return contact_sheet(stack, window, args.columns), f"{label}: {len(stack)} slices"
    count = len(stack)
    index = count // 2 if args.slice is None else args.slice
    if not 0 <= index < count:
        raise common.Usage(f"--slice {index}: the stack has {count} slices, 0 to {count - 1}")
    instance = stack.instances[index]
    image = display_image(read(instance.path), instance.frame, window)
    return image, f"{label}: slice {index} of {count} ({instance.path})"


def _default_window(stack: Any, volume: Any) -> tuple[float, float]:
    """The middle image's first window, else the volume's own range."""
    middle = stack.instances[len(stack) // 2]
    centres, widths = middle.get("window_center"), middle.get("window_width")
    if centres and widths and widths[0]:
        return float(centres[0]), float(widths[0])
    lo, hi = float(volume.array.min()), float(volume.array.max())
    return (lo + hi) / 2, max(hi - lo, 1.0)


def contact_sheet(stack: Any, window: tuple[float, float] | None, columns: int | None) -> Any:
    """Every slice of the stack's volume, windowed, tiled left to right, top to bottom."""
    np = common.need("numpy", "volume")
    import rawdicom
    volume = stack.volume(hounsfield=True)
    centre, width = window or _default_window(stack, volume)
    slices, rows, cols = volume.array.shape
    columns = columns or math.ceil(math.sqrt(slices))
    lines = math.ceil(slices / columns)
    sheet = np.zeros((lines * rows, columns * cols), dtype=np.uint8)
    images = rawdicom.window(volume.array, centre, width)
    first = stack.instances[0]
    if str(first.get("photometric_interpretation") or "").upper() == "MONOCHROME1":
        images = 255 - images
    for k in range(slices):
        r, c = divmod(k, columns)
        sheet[r * rows:(r + 1) * rows, c * cols:(c + 1) * cols] = images[k]
    return sheet
