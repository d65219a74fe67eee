"""Where a frame's grayscale attributes are, and applying them frame by frame.

Enhanced multi-frame objects carry the attributes of the modality LUT and
the VOI per frame, in their functional groups (PS3.3 C.7.6.16); classic
objects carry them once, at the top level.  Both grayscale stages
(:mod:`.modality`, :mod:`.voi`) find them here, through the one lookup of
functional groups (``rawdicom.functional_groups``, which the model uses too),
and map a multi-frame array once per distinct set of parameters.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Hashable

import numpy as np

from .. import functional_groups as lookup
from ..dataset import Dataset
from ..errors import PixelDataError, format_tag

__all__ = ["sequence_items", "first_item", "frame_source", "numeric_value", "per_frame"]

_NUMBER_OF_FRAMES = 0x00280008


def sequence_items(src: Dataset, tag: int) -> list[Dataset]:
    """The items of sequence ``tag`` in ``src``; PixelDataError when it is no sequence."""
    return lookup.sequence_items(src, tag, PixelDataError)


def first_item(src: Dataset, tag: int) -> Dataset | None:
    return lookup.first_item(src, tag, PixelDataError)


def frame_source(ds: Dataset, macro: int, frame: int, own: tuple[int, ...]) -> Dataset:
    """The dataset holding a frame's attributes: its functional group item (the frame's
    own, else the shared one: ``rawdicom.functional_groups``), else ``ds`` itself (classic
    objects keep the attributes at the top level). ``own`` are the attributes that make
    an item count (an item without them is ignored)."""
    item = lookup.groups_of(ds, PixelDataError).item(frame, macro, own)
    return ds if item is None else item


def numeric_value(src: Dataset, tag: int, index: int = 0) -> float:
    """A numeric attribute (DS/IS/binary) as float; a value that is not a number is the file's fault."""
    value = src.get(tag)
    values = value if isinstance(value, list) else [value]
    if index >= len(values):
        raise IndexError(f"{format_tag(tag)} has {len(values)} value(s), index {index} asked for")
    number = values[index]
    if isinstance(number, bool) or not isinstance(number, (int, float)):
        raise PixelDataError(f"value {number!r} is not a number", tag=tag)
    try:
        value = float(number)  # an IS of 400 digits does not fit a float
    except OverflowError:
        value = math.inf
    if not math.isfinite(value):
        text = str(number)
        text = text if len(text) <= 40 else f"{text[:20]}... ({len(text)} characters)"
        raise PixelDataError(f"value {text} is not a finite number", tag=tag)
    return value


def _frames(ds: Dataset, arr: np.ndarray, frame: int | None) -> list[int] | None:
    """Frame indices when ``arr`` holds all frames of a multi-frame image, else None."""
    if frame is not None:
        return None
    count = ds.get(_NUMBER_OF_FRAMES)
    if isinstance(count, int) and count > 1 and arr.ndim >= 3 and arr.shape[0] == count:
        return list(range(count))
    return None


def per_frame(ds: Dataset, arr: np.ndarray, frame: int | None,
               resolve: Callable[[int], Hashable],
               apply: Callable[[np.ndarray, Any], np.ndarray]) -> np.ndarray:
    """``apply`` each frame's parameters to it, once per distinct set of parameters."""
    frames = _frames(ds, arr, frame)
    if frames is None:
        return apply(arr, resolve(frame or 0))
    groups: dict[Hashable, list[int]] = {}
    for i in frames:
        groups.setdefault(resolve(i), []).append(i)
    if len(groups) == 1:
        return apply(arr, next(iter(groups)))
    parts = [(idx, apply(arr[idx], params)) for params, idx in groups.items()]
    out = np.empty(arr.shape[:1] + parts[0][1].shape[1:],
                   dtype=np.result_type(*(part for _, part in parts)))
    for idx, part in parts:
        out[idx] = part
    return out
