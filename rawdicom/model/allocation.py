"""Sizes claimed by headers, checked before an array is allocated for them.

A header is a claim: Rows x Columns (x frames) says how large an image is, Image Position
(Patient) how far apart its slices lie. An array sized from claims alone lets a few bytes
ask for terabytes (Rows = Columns = 46,341 over three slices: a 24 GiB ``np.empty``; two
positions 1e7 mm apart resampled at 2 mm: 1.6 TiB). So before a volume, a resampled grid
or a 4-D array is allocated, three checks, each a :class:`~rawdicom.DicomError` naming the
attribute:

* the images hold what they claim (:func:`check_held`): a file with native pixel data
  holds Rows x Columns x Samples x Bits Allocated / 8 bytes per frame it gives the stack;
  an encapsulated one at most ``Limits.pixel_cap`` of its compressed bytes. A stack where
  no file does is refused (one short file only loses its own slices, as before);
* a grid has slices for its images, not for the space between two lying positions
  (:func:`check_grid`): at most ``GRID_GROWTH`` times the distinct positions, or
  ``GRID_FLOOR`` bytes in all (missing slices, or a resampled gap, of a real series are
  a few slices or a small image, not millions of slices);
* the array fits ``Limits.max_pixel_bytes`` (:func:`check_bytes`).

Pure Python (sizes only); no numpy.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

from ..errors import LimitExceededError, PixelDataError
from ..limits import DEFAULT_LIMITS, Limits

__all__ = ["check_held", "check_grid", "check_bytes", "frame_bytes", "GRID_GROWTH",
           "GRID_FLOOR"]

GRID_GROWTH = 4
GRID_FLOOR = 256 << 20
_UNDEFINED = 0xFFFFFFFF
_PIXEL_DATA = 0x7FE00010


def _count(value: Any) -> int | None:
    """A positive integer count from a record value, else None."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


def frame_bytes(inst: Any) -> int | None:
    """The bytes one frame of ``inst`` claims (Rows x Columns x Samples x Bits Allocated/8),
    or None when one of them is no positive integer (the reader of the pixels says why)."""
    rows, columns = _count(inst.get("rows")), _count(inst.get("columns"))
    samples, bits = _count(inst.get("samples_per_pixel", 1)), _count(inst.get("bits_allocated"))
    if None in (rows, columns, samples, bits):
        return None
    return rows * columns * samples * max(bits // 8, 1)  # type: ignore[operator]


def _held(inst: Any, limits: Limits) -> int | None:
    """The most bytes the pixels of ``inst``'s file may decode to, from what it holds."""
    offset, length = inst.get("pixel_data_offset"), inst.get("pixel_data_length")
    if not isinstance(length, int) or not isinstance(offset, int):
        return None  # no Pixel Data found in the header: reading it will say so
    if length != _UNDEFINED:
        return length
    try:  # encapsulated: the compressed bytes are the rest of the file (at most)
        size = os.stat(inst.get("path")).st_size - offset
    except (OSError, TypeError, ValueError):
        return None
    return limits.pixel_cap(max(size, 0))


def check_held(instances: Sequence[Any], limits: Limits = DEFAULT_LIMITS) -> None:
    """PixelDataError unless at least one file of ``instances`` holds the frames it gives.

    The claim per file is its frames among ``instances`` times its frame size; a file
    whose sizes or Pixel Data are unknown is not judged here (reading it will say why).
    """
    by_file: dict[Any, list[Any]] = {}
    for inst in instances:
        by_file.setdefault(inst.get("path"), []).append(inst)
    worst = None
    for path, members in by_file.items():
        first = members[0]
        size, held = frame_bytes(first), _held(first, limits)
        if size is None or held is None:
            return
        claim = size * (max(m.frame or 0 for m in members) + 1)
        if claim <= held:
            return
        worst = worst or (path, first, claim, held)
    if worst is not None:
        path, first, claim, held = worst
        frames = f" x {claim // frame_bytes(first)} frames" if first.frame is not None else ""
        raise PixelDataError(
            f"{path}: Rows x Columns x Samples per Pixel x Bits Allocated "
            f"({first.get('rows')} x {first.get('columns')} x "
            f"{first.get('samples_per_pixel', 1)} x {first.get('bits_allocated')}){frames} "
            f"claim {claim} bytes, but its Pixel Data holds {held}; no image of the stack "
            "holds what its header claims", tag=_PIXEL_DATA)


def check_grid(slices: int, positions: int, slice_bytes: int, what: str) -> None:
    """LimitExceededError when a grid of ``slices`` (of ``slice_bytes`` each) for
    ``positions`` images would take more than ``GRID_GROWTH`` times their slices and more
    than ``GRID_FLOOR`` bytes: the space between two positions is not data. ``what`` says
    which grid."""
    if slices > GRID_GROWTH * positions and slices * slice_bytes > GRID_FLOOR:
        raise LimitExceededError(
            f"{what}: {slices} slices for {positions} distinct Image Position (Patient) "
            f"values ({slices * slice_bytes} bytes; more than {GRID_GROWTH} x {positions} "
            f"slices and {GRID_FLOOR} bytes): the positions lie too far apart for their "
            "spacing to be a grid")


def check_bytes(shape: Sequence[int], itemsize: int, what: str,
                limits: Limits = DEFAULT_LIMITS) -> None:
    """LimitExceededError when an array of ``shape`` x ``itemsize`` bytes would exceed
    ``limits.max_pixel_bytes``."""
    total = itemsize
    for n in shape:
        total *= int(n)
    if total > limits.max_pixel_bytes:
        raise LimitExceededError(
            f"{what}: an array of {' x '.join(str(int(n)) for n in shape)} values of "
            f"{itemsize} bytes would take {total} bytes (Limits.max_pixel_bytes "
            f"{limits.max_pixel_bytes}): Rows, Columns, Number of Frames or the positions "
            "claim more than any image holds")
