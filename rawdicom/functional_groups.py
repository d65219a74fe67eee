"""Where a frame's attributes are in an enhanced multi-frame object: the one lookup.

PS3.3 C.7.6.16: an enhanced object describes its frames with functional group macros. Each
macro is one sequence (Plane Position Sequence, Pixel Measures Sequence, ...) with one item
holding the macro's attributes, and it sits either in the Shared Functional Groups Sequence
(the same for every frame) or in every item of the Per-Frame Functional Groups Sequence —
"not both", says the standard; where a file has both, the frame's own item wins. Each
attribute is read from the macro the standard puts it in, and only there: vendors add
private sequences to the same items (Philips' (2005,140F) repeats legacy attributes, among
them an Image Position (Patient) half a pixel away from the Plane Position Sequence's), and
those never stand in for a standard macro.

Used by the model (one record per frame: :data:`FRAME_ATTRIBUTES`) and by the pixel layer
(a frame's rescale and window: :meth:`FunctionalGroups.item`). Standard library only.
"""

from __future__ import annotations

import weakref
from typing import Any, Iterator

from . import dictionary
from .dataset import Dataset
from .errors import DicomError, MalformedElementError, format_tag

__all__ = ["SHARED_GROUPS", "PER_FRAME_GROUPS", "FRAME_ATTRIBUTES", "FunctionalGroups",
           "groups_of", "sequence_items", "first_item"]

SHARED_GROUPS = 0x52009229
PER_FRAME_GROUPS = 0x52009230

_PIXEL_MEASURES = 0x00289110
_FRAME_CONTENT = 0x00209111
_PLANE_POSITION = 0x00209113
_PLANE_ORIENTATION = 0x00209116
_CARDIAC_SYNCHRONIZATION = 0x00189118
_PIXEL_VALUE_TRANSFORMATION = 0x00289145
_FRAME_VOI_LUT = 0x00289132
_MR_ECHO = 0x00189114
_MR_DIFFUSION = 0x00189117
_MR_TIMING = 0x00189112  # MR Timing and Related Parameters
_DIFFUSION_GRADIENT_DIRECTION = 0x00189076
# The Frame Type of each modality's "Image Frame Type" macro (MR, MR spectroscopy, CT,
# X-Ray 3D, PET, photoacoustic, whole slide and confocal microscopy, parametric map,
# intravascular OCT).
_FRAME_TYPE_MACROS = (0x00189226, 0x00189227, 0x00189329, 0x00189504, 0x00189751,
                      0x00189835, 0x00400710, 0x00480116, 0x00409092, 0x00520025)

#: The per-frame attributes the model reads, each with where PS3.3 C.7.6.16 puts it:
#: (keyword, functional group macro sequence, sequences inside the macro's item on the
#: way to it). An attribute that several macros may hold (Frame Type) is listed once per
#: macro; a frame has one of them.
FRAME_ATTRIBUTES: tuple[tuple[str, int, tuple[int, ...]], ...] = (
    ("ImagePositionPatient", _PLANE_POSITION, ()),
    ("ImageOrientationPatient", _PLANE_ORIENTATION, ()),
    ("PixelSpacing", _PIXEL_MEASURES, ()),
    ("SliceThickness", _PIXEL_MEASURES, ()),
    ("SpacingBetweenSlices", _PIXEL_MEASURES, ()),
    ("DimensionIndexValues", _FRAME_CONTENT, ()),
    ("StackID", _FRAME_CONTENT, ()),
    ("InStackPositionNumber", _FRAME_CONTENT, ()),
    ("TemporalPositionIndex", _FRAME_CONTENT, ()),
    ("FrameAcquisitionNumber", _FRAME_CONTENT, ()),
    ("FrameAcquisitionDateTime", _FRAME_CONTENT, ()),
    ("FrameReferenceDateTime", _FRAME_CONTENT, ()),
    ("NominalCardiacTriggerDelayTime", _CARDIAC_SYNCHRONIZATION, ()),
    ("RescaleSlope", _PIXEL_VALUE_TRANSFORMATION, ()),
    ("RescaleIntercept", _PIXEL_VALUE_TRANSFORMATION, ()),
    ("RescaleType", _PIXEL_VALUE_TRANSFORMATION, ()),
    ("WindowCenter", _FRAME_VOI_LUT, ()),
    ("WindowWidth", _FRAME_VOI_LUT, ()),
    ("DiffusionBValue", _MR_DIFFUSION, ()),
    ("DiffusionGradientOrientation", _MR_DIFFUSION, (_DIFFUSION_GRADIENT_DIRECTION,)),
    ("EffectiveEchoTime", _MR_ECHO, ()),
    ("RepetitionTime", _MR_TIMING, ()),  # the time between the volumes of enhanced BOLD
    *(("FrameType", macro, ()) for macro in _FRAME_TYPE_MACROS),
)

# macro -> the tags in its item that make the item count for the model (its attributes
# above, or the first sequence on the way to one), and its (keyword, path) entries.
_OWN: dict[int, tuple[int, ...]] = {}
_BY_MACRO: dict[int, list[tuple[str, int, tuple[int, ...]]]] = {}
for _keyword, _macro, _path in FRAME_ATTRIBUTES:
    _tag = dictionary.parse_tag(_keyword)
    _OWN[_macro] = tuple(dict.fromkeys(_OWN.get(_macro, ()) + (_path[0] if _path else _tag,)))
    _BY_MACRO.setdefault(_macro, []).append((_keyword, _tag, _path))
del _keyword, _macro, _path, _tag


def sequence_items(src: Dataset, tag: int, error: type[DicomError] = MalformedElementError
                   ) -> list[Dataset]:
    """The items of sequence ``tag`` in ``src`` ([] when absent or empty).

    A value that is not a sequence (the element written with another VR) is the file's
    fault: ``error`` (a DicomError; the pixel layer asks for PixelDataError) naming the tag.
    """
    value = src.get(tag)
    if value is None or value == []:
        return []
    if not isinstance(value, list) or not all(isinstance(item, Dataset) for item in value):
        raise error(f"{format_tag(tag)} should be a sequence of items, found a value of VR "
                    f"{src[tag].vr}", tag=tag)
    return value


def first_item(src: Dataset, tag: int, error: type[DicomError] = MalformedElementError
               ) -> Dataset | None:
    """The first item of sequence ``tag`` in ``src`` (a functional group macro holds one)."""
    items = sequence_items(src, tag, error)
    return items[0] if items else None


class FunctionalGroups:
    """The Shared and Per-Frame Functional Groups of one dataset, read once.

    ``per_frame``: the Per-Frame Functional Groups items (one per frame; [] for a classic
    object). ``error``: the DicomError raised for a functional group that is not a
    sequence (see :func:`sequence_items`).
    """

    def __init__(self, ds: Dataset, error: type[DicomError] = MalformedElementError) -> None:
        self.error = error
        self.shared = first_item(ds, SHARED_GROUPS, error)
        self.per_frame = sequence_items(ds, PER_FRAME_GROUPS, error)
        self._shared_items: dict[tuple[int, tuple[int, ...]], Dataset | None] = {}

    def item(self, frame: int, macro: int, own: tuple[int, ...]) -> Dataset | None:
        """The item of functional group ``macro`` for ``frame``: the frame's own, else the
        shared one; an item holding none of the tags ``own`` does not count. None when
        neither has it."""
        if 0 <= frame < len(self.per_frame):
            item = first_item(self.per_frame[frame], macro, self.error)
            if item is not None and any(tag in item for tag in own):
                return item
        key = (macro, own)
        if key not in self._shared_items:
            item = first_item(self.shared, macro, self.error) if self.shared is not None \
                else None
            self._shared_items[key] = item if item is not None and any(
                tag in item for tag in own) else None
        return self._shared_items[key]

    def frame_attributes(self, frame: int, problems: list[str]
                         ) -> Iterator[tuple[str, Dataset]]:
        """(keyword, the dataset holding it) of each :data:`FRAME_ATTRIBUTES` entry present
        for ``frame``. A functional group that does not parse is noted in ``problems`` and
        left out (the frame's other attributes are still read)."""
        for macro, entries in _BY_MACRO.items():
            try:
                item = self.item(frame, macro, _OWN[macro])
            except DicomError as exc:
                problems.append(f"{format_tag(macro)} of frame {frame}: {exc}")
                continue
            if item is None:
                continue
            for keyword, tag, path in entries:
                holder: Dataset | None = item
                try:
                    for step in path:
                        holder = first_item(holder, step, self.error) if holder is not None \
                            else None
                except DicomError as exc:
                    problems.append(f"{keyword} of frame {frame}: {exc}")
                    continue
                if holder is not None and tag in holder:
                    yield keyword, holder


# Each dataset's FunctionalGroups, with the sequence values it was made from: a caller that
# looks up frame after frame (the pixel layer maps every frame of a 10,000-frame file) reads
# the groups once, not once per frame. Setting either sequence again makes it read anew.
_GROUPS: "weakref.WeakKeyDictionary[Dataset, tuple[Any, Any, FunctionalGroups]]" = \
    weakref.WeakKeyDictionary()


def groups_of(ds: Dataset, error: type[DicomError] = MalformedElementError
              ) -> FunctionalGroups:
    """``FunctionalGroups(ds, error)``, kept with ``ds`` while its two sequences stay the
    same objects."""
    per_frame, shared = ds.get(PER_FRAME_GROUPS), ds.get(SHARED_GROUPS)
    known = _GROUPS.get(ds)
    if known is not None and known[0] is per_frame and known[1] is shared \
            and known[2].error is error:
        return known[2]
    groups = FunctionalGroups(ds, error)
    _GROUPS[ds] = (per_frame, shared, groups)
    return groups
