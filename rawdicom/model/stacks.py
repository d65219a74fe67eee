"""A series split into stacks: the groups of images that each form one regular grid.

A series is what the scanner chose to call one, not a volume: it may hold a localizer, a
second echo, a phase image next to the magnitude, a MIP, several orientations (a 3-plane
scout) or several time points. :func:`split_stacks` groups the images by the attributes
that must agree for two images to be neighbours in one array, and each
:class:`Stack` says in ``reason`` which key and which values set it apart from the others
(dcm2niix prints why it refuses to stack two images; so does this, as data).

Keys always split (*hard* keys): Series Number, Frame of Reference, Rows/Columns, Image
Type (Frame Type for enhanced frames), Pixel Spacing and Image Orientation (Patient) within
a tolerance, Echo Numbers / Echo Time / Effective Echo Time, Temporal Position, Stack ID,
diffusion b value and direction, and whether the image has a position at all. Acquisition
Number and Trigger Time (*soft* keys) split a group only where the group repeats a position
with different values of them: some CT scanners number every rotation as its own
acquisition inside one contiguous volume, and splitting those would cut the volume into
slabs.

Inside a stack the images are ordered by Image Position (Patient) projected on the slice
normal (row cosines x column cosines) — never by Instance Number, Slice Location or file
name, which disagree with the geometry often enough; equal projections are ordered by
Instance Number, SOP Instance UID, frame and path, so the order never depends on the
order the files were listed in. Enhanced multi-frame files are expanded into their frames
(:meth:`Instance.frames`) first: frames play the role of instances.

Pure Python (no numpy): splitting 10,000 records is a few dictionary passes.
"""

from __future__ import annotations

import math
from functools import cached_property
from typing import Any, Callable, Iterable, Iterator, Sequence

from .geometry import (ORIENTATION_TOLERANCE, POSITION_TOLERANCE, Diagnostic, Geometry,
                       GeometryError, Grid, numpy, stack_grid)
from .header_values import GEOMETRY_VALUES, as_tuple, finite_floats, orientation, position
from .instance import Instance
from .volume import Volume, stack_volume

__all__ = ["Stack", "split_stacks", "add_regroup", "image_identity", "normal",
           "ORIENTATION_TOLERANCE", "POSITION_TOLERANCE", "SPACING_TOLERANCE"]

#: Millimetres: largest difference of Pixel Spacing values inside one stack (over 512
#: columns, 0.05 mm at the far edge).
SPACING_TOLERANCE = 1e-4
#: The reason of a series' only stack.
WHOLE_SERIES = "the whole series: no key sets images apart"


def _hashable(value: Any) -> Any:
    """A key value as something a dict can hold (a multi-valued attribute as a tuple)."""
    if isinstance(value, (list, tuple)):
        return tuple(_hashable(v) for v in value)
    return value if isinstance(value, (str, int, float, type(None))) else repr(value)


def _image_type(inst: Instance) -> tuple[str, ...] | None:
    values = as_tuple(inst.get("frame_type") or inst.get("image_type"))
    return tuple(str(v).strip().upper() for v in values) if values else None


def _has_geometry(inst: Instance) -> bool:
    return (position(inst.get("image_position_patient")) is not None
            and orientation(inst.get("image_orientation_patient")) is not None)


# Hard keys: (name, value of one instance). Values must be hashable and comparable to None.
_HARD: tuple[tuple[str, Callable[[Instance], Any]], ...] = (
    # files that share a Series Instance UID but not a Series Number are not one acquisition
    # (dcm2niix keeps them apart too: dcm_qa_12bit's three files share every UID)
    ("series_number", lambda i: i.get("series_number")),
    ("frame_of_reference_uid", lambda i: i.get("frame_of_reference_uid")),
    ("geometry", lambda i: "present" if _has_geometry(i) else "missing"),
    ("rows_columns", lambda i: (i.get("rows"), i.get("columns"))),
    ("image_type", _image_type),
    ("echo_numbers", lambda i: as_tuple(i.get("echo_numbers"))),
    ("echo_time", lambda i: i.get("echo_time")),
    ("effective_echo_time", lambda i: i.get("effective_echo_time")),
    ("temporal_position", lambda i: i.get("temporal_position_identifier",
                                          i.get("temporal_position_index"))),
    ("stack_id", lambda i: i.get("stack_id")),
    ("diffusion_b_value", lambda i: i.get("diffusion_b_value")),
    ("diffusion_gradient_orientation",
     lambda i: finite_floats(i.get("diffusion_gradient_orientation"), 3)),
    # MR (rawdicom.vendor.fields): GE magnitude/phase/real/imaginary, Siemens coil element.
    ("vendor_image_kind", lambda i: i.get("vendor_image_kind")),
    ("coil", lambda i: i.get("coil")),
)
# Every record key a hard key reads (``Instance.get``), so that a caller may memoize a
# function of the hard keys on these values (``rawdicom.index.record.stack_key``). Image
# Position (Patient) enters only as present or not ("geometry"). Tested against _HARD.
HARD_KEY_INPUTS: tuple[str, ...] = (
    "series_number", "frame_of_reference_uid", "image_position_patient",
    "image_orientation_patient", "rows", "columns", "frame_type", "image_type", "echo_numbers",
    "echo_time", "effective_echo_time", "temporal_position_identifier",
    "temporal_position_index", "stack_id", "diffusion_b_value", "diffusion_gradient_orientation",
    "vendor_image_kind", "coil",
)
# Keys compared within a tolerance (Pixel Spacing, Image Orientation (Patient)) follow the
# hard keys in a stack's key: see _Clusters.
# Soft keys: split only where they tell repeated positions apart.
_SOFT: tuple[tuple[str, Callable[[Instance], Any]], ...] = (
    ("acquisition_number", lambda i: i.get("acquisition_number")),
    ("trigger_time",
     lambda i: i.get("trigger_time", i.get("nominal_cardiac_trigger_delay_time"))),
)


def image_identity(inst: Instance) -> tuple[Any, ...]:
    """A total, listing-independent order of images (the tie breaker everywhere)."""
    frame = inst.frame
    get = inst.record.get if frame is None else inst.get  # (a file's own values: per image)
    number, uid, path = get("instance_number"), get("sop_instance_uid"), get("path")
    return (number if isinstance(number, int) else math.inf, "" if uid is None else str(uid),
            -1 if frame is None else frame, "" if path is None else str(path))


def normal(orientation: Sequence[float]) -> tuple[float, float, float]:
    """The unit slice normal (row cosines x column cosines) of an Image Orientation (Patient)."""
    r, c = orientation[:3], orientation[3:]
    n = (r[1] * c[2] - r[2] * c[1], r[2] * c[0] - r[0] * c[2], r[0] * c[1] - r[1] * c[0])
    length = math.sqrt(sum(v * v for v in n)) or 1.0
    return (n[0] / length, n[1] / length, n[2] / length)


# The hard keys' inputs but Image Position (Patient), which enters only as present or not
# (memoized per distinct value of these: a series repeats them in every image).
_MEMO_INPUTS = tuple(k for k in HARD_KEY_INPUTS if k != "image_position_patient")
# Those that a record may hold as a list (frozen into tuples for the memo).
_LIST_INPUTS = tuple(i for i, k in enumerate(_MEMO_INPUTS) if k in (
    "frame_type", "image_type", "echo_numbers", "diffusion_gradient_orientation"))
# Image Orientation (Patient): its value as floats stands in the memo for present or not.
_ORIENTATION_INPUT = _MEMO_INPUTS.index("image_orientation_patient")
# Image Type and Frame Type go through str() into the key: memoized only when text.
_TYPE_INPUTS = tuple(_MEMO_INPUTS.index(k) for k in ("frame_type", "image_type"))


def _hard_key(inst: Instance) -> tuple[tuple[str, Any], ...]:
    return tuple((name, _hashable(value_of(inst))) for name, value_of in _HARD)


class _Clusters:
    """The representative of each value of a float key (Pixel Spacing, Image Orientation):
    the first value met (in identity order) within ``tolerance`` of it on every component.
    Looked up once per distinct record value, not per image."""

    __slots__ = ("convert", "tolerance", "representatives", "memo")

    def __init__(self, convert: Callable[[Any], tuple[float, ...] | None], tolerance: float
                 ) -> None:
        self.convert = convert
        self.tolerance = tolerance
        self.representatives: list[tuple[float, ...]] = []
        self.memo: dict[Any, tuple[tuple[float, ...] | None, tuple[float, ...] | None]] = {}

    def of(self, raw: Any) -> tuple[tuple[float, ...] | None, tuple[float, ...] | None]:
        """(the value as floats, its representative) of one record value."""
        if not self.tolerance >= 0:
            return self._find(raw)
        frozen = tuple(raw) if type(raw) is list else raw
        try:
            return self.memo[frozen]
        except KeyError:
            found = self.memo[frozen] = self._find(raw)
            return found
        except TypeError:  # an unhashable value (a record not made by rawdicom)
            return self._find(raw)

    def _find(self, raw: Any) -> tuple[tuple[float, ...] | None, tuple[float, ...] | None]:
        value = self.convert(raw)
        if value is None:
            return None, None
        tolerance = self.tolerance
        if not tolerance >= 0:  # (negative, NaN) nothing is within it: each value its own
            return value, value
        for rep in self.representatives:
            if all(abs(a - b) <= tolerance for a, b in zip(value, rep)):
                return value, rep
        self.representatives.append(value)
        return value, value


def _depths(positions: list[Any], members: list[int], cosines: Sequence[float]
            ) -> dict[int, float]:
    """Each member's position along the normal of ``cosines`` (infinite without one)."""
    n0, n1, n2 = normal(cosines)
    inf = math.inf
    return {j: inf if positions[j] is None else
            positions[j][0] * n0 + positions[j][1] * n1 + positions[j][2] * n2
            for j in members}


def _runs(ordered: list[int], depth: dict[int, float], tolerance: float) -> list[list[int]]:
    """Runs of images at the same position (within ``tolerance`` of the run's first along
    the normal), of images in depth order; only runs of more than one image."""
    runs, run = [], [ordered[0]]
    first = depth[ordered[0]]
    for j in ordered[1:]:
        d = depth[j]
        if abs(d - first) <= tolerance:
            run.append(j)
        else:
            if len(run) > 1:
                runs.append(run)
            run, first = [j], d
    if len(run) > 1:
        runs.append(run)
    return runs


def _soft_split(images: list[Instance], members: list[int], key: tuple[tuple[str, Any], ...],
                positions: list[Any], cosines: list[Any], orientation_rep: Any,
                depth: dict[int, float] | None, tolerance: float
                ) -> list[tuple[tuple[tuple[str, Any], ...], list[int]]]:
    """Split a group (image indices, in identity order) by the soft keys that tell its
    repeated positions apart. Repeats are found along the normal of the first image's own
    orientation (its group's representative is within tolerance of it)."""
    groups = [(key, members)]
    runs_of: dict[int, list[list[int]]] = {}  # by id of a group that the first key kept whole
    for name, value_of in _SOFT:
        out = []
        for group_key, group in groups:
            runs = runs_of.get(id(group))
            if runs is None:
                own = cosines[group[0]]
                if own is None:
                    runs = []
                else:
                    along = depth if depth is not None and own == orientation_rep else \
                        _depths(positions, group, own)
                    runs = _runs(sorted(group, key=along.__getitem__), along, tolerance)
                runs_of[id(group)] = runs
            if any(len({_hashable(value_of(images[j])) for j in run}) > 1 for run in runs):
                parts: dict[Any, list[int]] = {}
                for j in group:
                    parts.setdefault(_hashable(value_of(images[j])), []).append(j)
                out += [(group_key + ((name, value),), part) for value, part in parts.items()]
            else:
                out.append((group_key, group))
        groups = out
    return groups


def _format(value: Any) -> str:
    if isinstance(value, tuple):
        if len(value) == 1:
            return _format(value[0])
        if value and all(isinstance(v, str) for v in value):
            return "\\".join(value)
        return "(" + ", ".join(_format(v) for v in value) + ")"
    if isinstance(value, float):
        return f"{value + 0.0:.6g}"  # -0.0 reads as 0
    return repr(value) if isinstance(value, str) else str(value)


class Stack:
    """Images of one series that share a grid, ordered along the slice normal.

    ``instances``: the images (files, or frames of enhanced files) in slice order.
    ``key``: ``((name, value), ...)``, every splitting key and this stack's value of it.
    ``reason``: which keys and values set this stack apart from the series' other stacks.
    ``grid`` (plain Python), ``geometry`` (the same as numpy arrays) and ``diagnostics``
    come from the headers alone; ``volume()`` reads pixels.
    """

    def __init__(self, instances: Sequence[Instance], key: tuple[tuple[str, Any], ...] = (),
                 reason: str = WHOLE_SERIES, *,
                 position_tolerance: float = POSITION_TOLERANCE,
                 orientation_tolerance: float = ORIENTATION_TOLERANCE) -> None:
        self.instances = list(instances)
        self.key = key
        self.reason = reason
        self.position_tolerance = position_tolerance
        self.orientation_tolerance = orientation_tolerance
        #: what split_stacks appends to the reason (an incomplete volume of a 4-D series)
        self.note: str | None = None

    def __len__(self) -> int:
        return len(self.instances)

    def __iter__(self) -> Iterator[Instance]:
        return iter(self.instances)

    def __repr__(self) -> str:
        return f"<Stack of {len(self.instances)} image(s): {self.reason}>"

    @cached_property
    def grid(self) -> Grid:
        """The grid the images lie on, in plain Python numbers (no numpy needed); raises
        GeometryError when they have no position."""
        return stack_grid(self.instances, position_tolerance=self.position_tolerance,
                          orientation_tolerance=self.orientation_tolerance)

    @cached_property
    def geometry(self) -> Geometry:
        """The grid with numpy arrays (affine, direction, positions); raises GeometryError
        when the images have no position, ImportError without numpy."""
        numpy()
        return Geometry.of(self.grid)

    @property
    def diagnostics(self) -> list[Diagnostic]:
        """What is irregular about the grid: a list of Diagnostic (empty for a clean stack)."""
        try:
            return list(self.grid.diagnostics)
        except GeometryError as exc:
            return list(exc.diagnostics)

    @property
    def regular(self) -> bool:
        """Whether the images form one regular grid (missing slices and tilt allowed)."""
        try:
            return self.grid.regular
        except GeometryError:
            return False

    def volume(self, hounsfield: bool = True, resample: bool = False, **kw: Any) -> Volume:
        """The pixels in one array with their affine (see ``volume.stack_volume``)."""
        return stack_volume(self, hounsfield=hounsfield, resample=resample, **kw)


#: A regrouping of a series' stacks: (stacks, position tolerance) -> stacks. It runs
#: after the generic split, before each stack gets its reason (see add_regroup).
Regroup = Callable[[list[Stack], float], list[Stack]]
_REGROUPS: list[Regroup] = []


def add_regroup(regroup: Regroup) -> None:
    """Plug a regrouping into :func:`split_stacks` (once; later calls add nothing).

    The seam between the generic split and what a modality knows about its series: the
    MR layer (``rawdicom.model.fourd``: repeated position sets joined into 4-D stacks,
    mosaics cut into slices) adds itself when imported, and ``rawdicom.model`` imports
    it, so this module never imports the layers above it.
    """
    if regroup not in _REGROUPS:
        _REGROUPS.append(regroup)


def split_stacks(instances: Iterable[Instance], *,
                 orientation_tolerance: float = ORIENTATION_TOLERANCE,
                 position_tolerance: float = POSITION_TOLERANCE,
                 spacing_tolerance: float = SPACING_TOLERANCE) -> list[Stack]:
    """Split images (a series' instances) into stacks that each form one grid.

    Multi-frame files are expanded into frames. The stacks come largest first (then in
    the order of their keys); each stack's images in slice order. Tolerances: cosines
    (``orientation_tolerance``), millimetres (``position_tolerance`` for repeated
    positions, and for the grid checks of ``Stack.geometry``; ``spacing_tolerance`` for
    Pixel Spacing). The regroupings added with :func:`add_regroup` run on the result
    before each stack is given its reason.
    """
    images = [f for inst in instances for f in inst.frames()]
    if not images:
        return []
    identities = [image_identity(i) for i in images]
    # (index order is identity order from here on: a stable sort by depth alone keeps it
    # between equal depths, as sorting by (depth, identity) would)
    order = sorted(range(len(images)), key=identities.__getitem__)
    images = [images[j] for j in order]
    spacings = _Clusters(GEOMETRY_VALUES["pixel_spacing"], spacing_tolerance)
    orientations = _Clusters(GEOMETRY_VALUES["image_orientation_patient"],
                             orientation_tolerance)
    memo: dict[tuple[Any, ...], tuple[tuple[str, Any], ...]] = {}
    positions: list[tuple[float, float, float] | None] = []
    cosines: list[tuple[float, ...] | None] = []
    groups: dict[tuple[Any, ...], tuple[tuple[tuple[str, Any], ...], list[int]]] = {}
    for index, inst in enumerate(images):
        get = inst.record.get if inst.frame is None else inst.get
        place = position(get("image_position_patient"))
        positions.append(place)
        values = [get(k) for k in _MEMO_INPUTS]
        own, orientation_rep = orientations.of(values[_ORIENTATION_INPUT])
        cosines.append(own)
        _, spacing_rep = spacings.of(get("pixel_spacing"))
        for i in _LIST_INPUTS:
            if type(values[i]) is list:
                values[i] = tuple(values[i])
        values[_ORIENTATION_INPUT] = place is not None and own is not None  # (_has_geometry)
        memo_key = tuple(values)
        try:
            key = memo[memo_key]
        except KeyError:
            key = _hard_key(inst)
            if all(type(values[i]) is not tuple or all(type(v) is str for v in values[i])
                   for i in _TYPE_INPUTS):
                memo[memo_key] = key
        except TypeError:  # an unhashable value (a record not made by rawdicom)
            key = _hard_key(inst)
        group = groups.get((key, spacing_rep, orientation_rep))
        if group is None:
            # A stack's key as its first image gives it: the memo's may come from values
            # equal to these but not the same (4 and 4.0, 0.0 and -0.0).
            groups[key, spacing_rep, orientation_rep] = (_hard_key(inst), [index])
        else:
            group[1].append(index)
    ordered = []
    for (_, spacing_rep, orientation_rep), (key, members) in groups.items():
        key += (("pixel_spacing", spacing_rep), ("image_orientation_patient", orientation_rep))
        depth = None if orientation_rep is None else \
            _depths(positions, members, orientation_rep)
        for part_key, part in _soft_split(images, members, key, positions, cosines,
                                          orientation_rep, depth, position_tolerance):
            if depth is not None:
                part.sort(key=depth.__getitem__)
            ordered.append((part_key, [images[j] for j in part]))
    ordered.sort(key=lambda item: (-len(item[1]), _format(item[0])))
    stacks = [Stack(members, key, "", position_tolerance=position_tolerance,
                    orientation_tolerance=orientation_tolerance) for key, members in ordered]
    for regroup in _REGROUPS:
        stacks = regroup(stacks, position_tolerance)
    stacks.sort(key=lambda s: -len(s))
    for s, reason in zip(stacks, _reasons([s.key for s in stacks])):
        s.reason = f"{reason}; {s.note}" if s.note else reason
    return stacks


def _reasons(keys: list[tuple[tuple[str, Any], ...]]) -> list[str]:
    """For each stack: the keys whose values differ between stacks, its value, the others'."""
    if len(keys) == 1:
        return [WHOLE_SERIES]
    values = [dict(key) for key in keys]
    names = [name for name, _ in keys[0]] + [n for key in keys for n, _ in key
                                             if n not in dict(keys[0])]
    names = list(dict.fromkeys(names))
    reasons = []
    for own in values:
        parts = []
        for name in names:
            distinct = {_format(v.get(name)) for v in values}
            if len(distinct) < 2:
                continue
            mine = _format(own.get(name))
            others = sorted(distinct - {mine})
            parts.append(f"{name} {mine} (other stacks: {'; '.join(others)})")
        reasons.append(", ".join(parts))
    return reasons
