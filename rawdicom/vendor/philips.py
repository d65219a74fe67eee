"""Philips' own per-frame position in enhanced MR, kept apart from the standard's.

Philips enhanced MR files add to each Per-Frame Functional Groups item a private sequence,
(2005,xx0F) under the creator ``Philips MR Imaging DD 005``, repeating legacy attributes of
the frame; among them an Image Position (Patient) that is not the standard Plane Position
Sequence's: it lies half a pixel away along rows and columns (the corner of the first voxel,
where the standard gives its centre). The standard's position is the frame's position
(``rawdicom.functional_groups`` never reads private items); this one is read only so that
the geometry can say where the two disagree.
"""

from __future__ import annotations

from typing import Any

from ..dataset import Dataset
from ..errors import DicomError, format_tag

__all__ = ["PHILIPS_MR_005", "frame_position"]

PHILIPS_MR_005 = "Philips MR Imaging DD 005"
_GROUP = 0x2005
_LEGACY_ATTRIBUTES = 0x0F  # (2005,xx0F): the per-frame legacy attributes sequence
_IMAGE_POSITION = 0x00200032


def frame_position(item: Dataset, problems: list[str]) -> list[float] | None:
    """The Image Position (Patient) in a Per-Frame Functional Groups item's Philips
    private sequence, or None (not a Philips item, absent, or not three numbers; a
    sequence that does not parse is noted in ``problems``)."""
    for tag in item._elements:  # a dozen functional groups: cheaper than 240 blocks
        block = tag >> 8 & 0xFF
        if tag >> 16 != _GROUP or tag & 0xFF != _LEGACY_ATTRIBUTES or block < 0x10 \
                or item._creator(_GROUP << 16 | block) != PHILIPS_MR_005:
            continue
        try:
            legacy = item.get(tag)
            value: Any = legacy[0].get(_IMAGE_POSITION) if isinstance(legacy, list) and legacy \
                and isinstance(legacy[0], Dataset) else None
        except DicomError as exc:
            problems.append(f"{format_tag(tag)} ({PHILIPS_MR_005}): {exc}")
            return None
        if isinstance(value, list) and len(value) == 3 and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            return [float(v) for v in value]
        return None
    return None
