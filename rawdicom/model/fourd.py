"""4-D stacks: the same set of positions repeated (fMRI time points, diffusion directions,
cardiac phases), and mosaics; their volumes (volumes, slices, rows, columns).

:func:`regroup` runs after ``split_stacks`` has grouped a series: stacks whose keys differ
only in what varies *between volumes* (:data:`VOLUME_KEYS`: temporal position, diffusion
b-value and direction, acquisition number, trigger time) are joined back into one
:class:`MRStack` when each holds the same positions; a stack that holds every position
the same number of times (k > 1, nothing in the headers telling the volumes apart but
their acquisition) becomes one with k volumes. Volumes are ordered by acquisition:
Acquisition Number, then Temporal Position Identifier (Index for enhanced frames),
Trigger Time, Acquisition Time, Instance Number. A set whose count of images the
positions do not divide is a ``missing_images`` diagnostic ("missing images?"): the
complete volumes are kept, the incomplete ones left out and named, never reshaped.

``MRStack.geometry`` is the first volume's (the grid every volume shares);
``MRStack.volume()`` gives a :class:`Volume4D` (a :class:`Volume` with a 4-D array and
``labels``: what varies along the first axis, e.g. ``{"b_value": [...],
"gradient": [...]}`` or ``{"acquisition_number": [...]}``), or a 3-D Volume for a single
mosaic. Echo, image type (phase, real, imaginary, derived), coil and stack id are not
volume keys: they stay apart as stacks, with their reasons; so do diffusion volumes with
b > 0 and no direction among directional ones (an isotropic/trace image appended with the
same Image Type, as Philips does: reason ``derived``).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from ..errors import DicomError
from . import diffusion, mosaic
from .geometry import POSITION_TOLERANCE, Diagnostic, GeometryError, Grid, numpy, stack_grid
from .header_values import finite_number, position, rescale
from .instance import Instance
from .stacks import Stack, add_regroup, image_identity, normal
from .volume import Volume, fill_time_points, getter, is_colour, nifti_image, output_dtype

if TYPE_CHECKING:
    import numpy as np

__all__ = ["MRStack", "Volume4D", "regroup", "VOLUME_KEYS", "acquisition_order"]

#: Splitting keys that vary between the volumes of one 4-D stack.
VOLUME_KEYS = frozenset(("temporal_position", "diffusion_b_value",
                         "diffusion_gradient_orientation", "acquisition_number", "trigger_time"))
#: The header values a stack's geometry is computed from (``geometry.stack_grid``).
_GRID_VALUES = ("image_position_patient", "image_orientation_patient", "pixel_spacing", "rows",
                "columns", "gantry_detector_tilt", "vendor_image_position_patient")
_LABELS = (("acquisition_number", ("acquisition_number", "frame_acquisition_number")),
           ("temporal_position", ("temporal_position_identifier", "temporal_position_index")),
           ("trigger_time", ("trigger_time", "nominal_cardiac_trigger_delay_time")),
           ("acquisition_time", ("acquisition_time", "frame_acquisition_date_time")))


def _grid_values(inst: Instance) -> tuple[Any, ...]:
    """The header values an image's place in the grid is computed from."""
    get = getter(inst)
    return tuple([get(name) for name in _GRID_VALUES])


def _number(value: Any) -> float:
    """A header value as an order key: a number, or inf (last) for what is not one; an
    integer beyond the float range (a 400-digit IS) is inf too, never an OverflowError."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:
            return math.inf
    if isinstance(value, str):
        try:
            return float(value.replace(":", ""))
        except ValueError:
            return math.inf
    return math.inf


def _either(get: Callable[[str], Any], name: str, other: str) -> Any:
    """``get(name)``, else ``get(other)``, the second looked up only where needed."""
    value = get(name)
    return get(other) if value is None else value


def acquisition_order(inst: Instance) -> tuple[Any, ...]:
    """The sort key of an image's volume: Acquisition Number, Temporal Position, Trigger
    Time, Acquisition Time, Dimension Index Values, then the identity (Instance Number,
    UID, frame...)."""
    get = getter(inst)
    return (_number(_either(get, "acquisition_number", "frame_acquisition_number")),
            _number(_either(get, "temporal_position_identifier", "temporal_position_index")),
            _number(_either(get, "trigger_time", "nominal_cardiac_trigger_delay_time")),
            _number(_either(get, "acquisition_time", "frame_acquisition_date_time")),
            # enhanced frames: Dimension Index Values, whose order is the Dimension Index
            # Sequence's (PS3.3 C.7.6.17): the dimensions in the order the file declares
            tuple(_number(v) for v in get("dimension_index_values") or ()),
            image_identity(inst))


@dataclass(eq=False, repr=False)
class Volume4D(Volume):
    """A Volume whose array is (volumes, slices, rows, columns); affine etc. of the last
    three axes. ``labels``: name -> one value per volume. ``b_values``/``gradients``: per
    volume (None where unknown), gradients in patient LPS. ``repetition_time``: the first
    image's Repetition Time in ms (None when absent): the time between volumes, which
    NIfTI's pixdim[4] holds in seconds."""

    labels: dict[str, list[Any]] = field(default_factory=dict)
    b_values: list[float | None] = field(default_factory=list)
    gradients: list[tuple[float, float, float] | None] = field(default_factory=list)
    repetition_time: float | None = None

    def gradients_image_frame(self) -> list[tuple[float, float, float]]:
        """Each volume's gradient along the (column, row, slice) index axes."""
        return [diffusion.image_frame(g, self.direction) for g in self.gradients]

    def to_nifti(self, path: str | os.PathLike[str], bvals: bool = False) -> Path:
        """A 4-D NIfTI (x, y, z, t); with ``bvals``, FSL ``.bval``/``.bvec`` beside it
        (see ``rawdicom.model.diffusion`` for the convention)."""
        try:
            import nibabel
        except ImportError as exc:
            raise ImportError("Volume.to_nifti needs nibabel: pip install rawdicom[nifti]"
                              ) from exc
        if self.array.ndim == (4 if self.colour else 3):
            out = Volume.to_nifti(self, path)
        else:
            affine = self.affine_ras[:, [2, 1, 0, 3]]
            image = nifti_image(self.nifti_array(), affine)
            image.header.set_xyzt_units("mm", "sec")
            if self.repetition_time:  # pixdim[4], in the unit just set: seconds (dcm2niix too)
                image.header.set_zooms(image.header.get_zooms()[:3]
                                       + (self.repetition_time / 1000.0,))
            image.set_sform(affine, code=1)
            image.set_qform(affine, code=1)
            nibabel.save(image, os.fspath(path))
            out = Path(path)
        if bvals:
            name = out.name
            stem = name[:-7] if name.endswith(".nii.gz") else name.rsplit(".", 1)[0]
            diffusion.write_fsl(out.with_name(stem), self.b_values,
                                diffusion.fsl_vectors(self.gradients, self.direction,
                                                      self.affine_ras))
        return out


class MRStack(Stack):
    """A stack of several volumes (or one mosaic): ``volumes`` lists each volume's images
    in slice order; ``instances`` all of them, volume after volume."""

    def __init__(self, volumes: Sequence[Sequence[Instance]], key: tuple[tuple[str, Any], ...],
                 reason: str, *, diagnostics: Sequence[Diagnostic] = (),
                 position_tolerance: float = POSITION_TOLERANCE,
                 instances: Sequence[Instance] | None = None, **kw: Any) -> None:
        self.volumes = [list(v) for v in volumes]
        super().__init__([i for v in self.volumes for i in v] if instances is None else instances,
                         key, reason, position_tolerance=position_tolerance, **kw)
        self.extra_diagnostics = list(diagnostics) + diffusion.frame_diagnostics(
            [v[0] for v in self.volumes if v])

    def __repr__(self) -> str:
        slices = len(self.volumes[0]) if self.volumes else 0
        return f"<MRStack of {len(self.volumes)} volume(s) x {slices} slice(s): {self.reason}>"

    @cached_property
    def grid(self) -> Grid:
        """The first volume's grid (the grid every volume shares)."""
        if not self.volumes:
            raise GeometryError("no complete volume", self.extra_diagnostics)
        return stack_grid(self.volumes[0], position_tolerance=self.position_tolerance,
                          orientation_tolerance=self.orientation_tolerance)

    @property
    def diagnostics(self) -> list[Diagnostic]:
        if not self.volumes:
            return list(self.extra_diagnostics)
        return super().diagnostics + self.extra_diagnostics

    def labels(self) -> dict[str, list[Any]]:
        """What varies along the volumes: b-value and gradient (LPS) for diffusion, else the
        acquisition keys whose values differ between volumes."""
        firsts = [v[0] for v in self.volumes]
        out: dict[str, list[Any]] = {}
        b = [diffusion.b_value(i) for i in firsts]
        if any(v is not None for v in b):
            out["b_value"] = b
            out["gradient"] = [diffusion.gradient_lps(i) for i in firsts]
        for label, (name, frame_name) in _LABELS:
            values = [i.get(name, i.get(frame_name)) for i in firsts]
            if len({repr(v) for v in values}) > 1:
                out[label] = values
        return out

    def volume(self, hounsfield: bool = True, resample: bool = False, **kw: Any) -> Volume:
        """The 4-D volume (a 3-D Volume for one mosaic); see the module docstring."""
        if not self.volumes:
            raise GeometryError("; ".join(str(d) for d in self.extra_diagnostics)
                             or "no complete volume")
        np = numpy()
        labels = self.labels()
        b_values = labels.get("b_value") or [None] * len(self.volumes)
        gradients = labels.get("gradient") or [None] * len(self.volumes)
        if isinstance(self.volumes[0][0], mosaic.MosaicSlice):
            first, out = self._mosaics(hounsfield)
            if len(self.volumes) == 1 and not labels:
                return first
            return Volume4D(out, first.affine, first.spacing, first.origin, first.direction,
                            first.diagnostics, first.frame_of_reference_uid,
                            first.filled_slices, first.fill_value, first.geometry,
                            labels=labels, b_values=list(b_values), gradients=list(gradients),
                            repetition_time=self._repetition_time())
        stacks = [Stack(images, self.key, self.reason,
                        position_tolerance=self.position_tolerance,
                        orientation_tolerance=self.orientation_tolerance)
                  for images in self.volumes]
        if len(self.volumes) == 1 and not labels:
            first = stacks[0].volume(hounsfield=hounsfield, resample=resample, **kw)
            first.diagnostics = first.diagnostics + self.extra_diagnostics
            return first
        out = self._preallocated(stacks, hounsfield, resample)
        first = stacks[0].volume(hounsfield=hounsfield, resample=resample,
                                 into=None if out is None else out[0], **kw)
        if out is None or first.array.base is not out:
            from .allocation import check_bytes
            check_bytes((len(self.volumes), *first.array.shape), first.array.dtype.itemsize,
                        str(self.volumes[0][0].path))
            out = np.empty((len(self.volumes), *first.array.shape), dtype=first.array.dtype)
            out[0] = first.array
        diagnostics = list(first.diagnostics)
        same = self._same_grid(first) if out is not None and first.array.base is out else set()
        if same:
            diagnostics += [d for d in fill_time_points(
                out, [(t, self.volumes[t]) for t in same], first.geometry.slice_index,
                hounsfield, kw.get("threads"), first.fill_value) if d not in diagnostics]
        for t, stack in enumerate(stacks[1:], start=1):
            if t in same:
                continue
            vol = stack.volume(hounsfield=hounsfield, resample=resample, into=out[t], **kw)
            if vol.array.base is not out:  # not filled in place: another shape or type
                if vol.array.shape != out.shape[1:]:
                    raise GeometryError(f"volume {t} of the series has the grid "
                                        f"{vol.array.shape}, volume 0 {out.shape[1:]}")
                if vol.array.dtype != out.dtype:
                    out = out.astype(np.result_type(out.dtype, vol.array.dtype))
                out[t] = vol.array
            diagnostics += [d for d in vol.diagnostics if d not in diagnostics]
        return Volume4D(out, first.affine, first.spacing, first.origin, first.direction,
                        diagnostics + self.extra_diagnostics, first.frame_of_reference_uid,
                        first.filled_slices, first.fill_value, first.geometry, first.colour,
                        labels=labels, b_values=list(b_values), gradients=list(gradients),
                        repetition_time=self._repetition_time())

    def _same_grid(self, first: Volume) -> set[int]:
        """The time points (after the first) whose images repeat the first volume's grid
        exactly: image k of each has the same geometry values (position, orientation,
        pixel spacing, size, tilt) as image k of the first, which filled every slot once
        (no missing slice, no duplicate) and read without a failure. Their volumes are
        the first's, so they are read straight into the 4-D array (``fill_time_points``);
        any other goes through its own ``Stack.volume``, which checks it whole."""
        geometry = first.geometry
        reference = self.volumes[0]
        if (len(set(geometry.slice_index)) != len(reference)
                or len(reference) != geometry.shape[0] or geometry.missing_slices or first.filled_slices
                or any(d.kind in ("unreadable", "duplicate_position")
                       for d in first.diagnostics)):
            return set()
        wanted = [_grid_values(i) for i in reference]
        same = set()
        for t, images in enumerate(self.volumes[1:], start=1):
            if len(images) == len(reference) and not any(is_colour(i) for i in images) and \
                    all(_grid_values(i) == w for i, w in zip(images, wanted)):
                same.add(t)
        return same

    def _preallocated(self, stacks: list[Stack], hounsfield: bool, resample: bool
                      ) -> "np.ndarray | None":
        """The (volumes, slices, rows, columns) array every time point is read into, in a
        type that holds all their values; None where the volumes decide their own grid or
        type (resampled, colour, or no grid: their own volume() says why)."""
        if resample or any(is_colour(i) for i in self.volumes[0]):
            return None
        try:
            shape = (len(stacks), *stacks[0].geometry.shape)
            dtype = output_dtype([i for images in self.volumes for i in images], hounsfield)
        except (GeometryError, DicomError):
            return None
        from .allocation import check_bytes
        check_bytes(shape, dtype.itemsize, str(self.volumes[0][0].path))
        return numpy().empty(shape, dtype=dtype)

    def _repetition_time(self) -> float | None:
        value = finite_number(self.volumes[0][0].get("repetition_time"))
        return value if value is not None and value > 0 else None

    def _mosaics(self, hounsfield: bool) -> tuple[Volume, "np.ndarray"]:
        """Every mosaic file's slices into one (volumes, slices, rows, columns) array, and
        the first volume as a 3-D Volume (for its geometry); rescaled per file."""
        np = numpy()
        geometry = self.geometry
        files = [images[0] for images in self.volumes]  # a mosaic's slices share a header
        dtype = output_dtype(files, hounsfield)
        from .allocation import check_bytes
        check_bytes((len(self.volumes), *geometry.shape), dtype.itemsize, str(files[0].path))
        out = np.empty((len(self.volumes), *geometry.shape), dtype=dtype)
        order = [0] * geometry.shape[0]
        for k, slot in reversed(list(enumerate(geometry.slice_index))):  # image k -> slot
            order[slot] = self.volumes[0][k].mosaic_tile  # the first image of a slot wins
        grid, ys, xs = None, None, None
        for t, inst in enumerate(files):
            if inst.get("mosaic_grid") != grid:
                grid = inst.get("mosaic_grid")
                ys, xs = (np.array(v, dtype=np.intp) for v in zip(*(divmod(tile, grid)
                                                                     for tile in order)))
            tiles = mosaic.read_tiles(inst)  # a view of the frame
            # every slot's tile in one gather, (slots, rows, columns), not one copy per slot
            picked = tiles[ys, :, xs]
            slope, intercept = rescale(inst, hounsfield)
            if slope != 1.0 or intercept != 0.0:
                out[t] = picked.astype(np.float64) * slope + intercept
            else:
                out[t] = picked
        first = Volume(out[0], geometry.affine.copy(), geometry.spacing, geometry.origin,
                       geometry.direction.copy(),
                       list(geometry.diagnostics) + self.extra_diagnostics,
                       files[0].get("frame_of_reference_uid"), tuple(geometry.missing_slices),
                       math.nan if dtype.kind == "f" else 0, geometry)
        return first, out


# ---------------------------------------------------------------- regrouping

def _depth(inst: Instance, n: Sequence[float]) -> float:
    """Position along ``n``; infinite without a usable Image Position (Patient)."""
    found = position(inst.get("image_position_patient"))
    return sum(a * b for a, b in zip(found, n)) if found else math.inf


def _depths(images: Sequence[Instance], n: Sequence[float]) -> dict[int, float]:
    """id(image) -> :func:`_depth`, computed once per distinct Image Position (Patient)
    value (a 4-D series repeats a few dozen positions over thousands of images)."""
    by_value: dict[Any, float] = {}
    out: dict[int, float] = {}
    for inst in images:
        raw = inst.get("image_position_patient")
        key = tuple(raw) if isinstance(raw, list) else raw
        try:
            depth = by_value[key]
        except KeyError:
            depth = by_value[key] = _depth(inst, n)
        except TypeError:  # an unhashable value: no reuse
            depth = _depth(inst, n)
        out[id(inst)] = depth
    return out


def _positions(images: Sequence[Instance], depth: dict[int, float], tolerance: float
               ) -> list[list[Instance]]:
    """Images grouped by position (``depth``: from :func:`_depths`, within ``tolerance``),
    in depth order."""
    ordered = sorted(images, key=lambda i: (depth[id(i)], image_identity(i)))
    groups: list[list[Instance]] = []
    last = math.nan
    for inst in ordered:
        d = depth[id(inst)]
        if groups and abs(d - last) <= tolerance:
            groups[-1].append(inst)
        else:
            groups.append([inst])
            last = d
    return groups


def _count_positions(images: Sequence[Instance], depth: dict[int, float], tolerance: float
                     ) -> int:
    """``len(_positions(images, depth, tolerance))``, without ordering the images (no
    identity keys: it runs once per stack of a 4-D series)."""
    count, last = 0, math.nan
    for d in sorted(depth[id(i)] for i in images):
        if not count or not abs(d - last) <= tolerance:
            count, last = count + 1, d
    return count


TRACE = "isotropic/trace: b > 0 without a gradient direction"


def _traces(volumes: list[list[Instance]]) -> tuple[list[list[Instance]], list[list[Instance]]]:
    """Diffusion volumes apart from the derived ones scanners append with the same Image
    Type (Philips' isotropic image: b > 0 and a zero or no direction, while the other
    volumes have one; dcm2niix drops them for the same reason)."""
    def directional(v: list[Instance]) -> bool:
        return diffusion.gradient_lps(v[0]) is not None

    def trace(v: list[Instance]) -> bool:
        b = diffusion.b_value(v[0])
        return b is not None and b > 0 and not directional(v)
    if not any(directional(v) for v in volumes) or not any(trace(v) for v in volumes):
        return volumes, []
    return [v for v in volumes if not trace(v)], [v for v in volumes if trace(v)]


def _missing(message: str, slices: tuple[int, ...] = ()) -> Diagnostic:
    return Diagnostic("missing_images", slices, None, None, "missing images? " + message)


def _four_d(stacks: list[Stack], tolerance: float) -> list[Stack]:
    """One group of stacks (keys equal but for VOLUME_KEYS) as 4-D stacks where they are."""
    images = [i for s in stacks for i in s.instances]
    orientation = dict(stacks[0].key).get("image_orientation_patient")
    if orientation is None:
        return stacks
    depth = _depths(images, normal(orientation))
    by_position = _positions(images, depth, tolerance)
    counts = [len(g) for g in by_position]
    k = max(counts)
    if k < 2 or (len(stacks) == 1 and sum(c == k for c in counts) * 2 < len(counts)):
        return stacks  # no repeat, or a few duplicate slices: the geometry reports those
    positions = len(by_position)
    order = {id(i): acquisition_order(i) for i in images}  # each image's key, once
    key = tuple((name, value) for name, value in stacks[0].key
                if name not in VOLUME_KEYS or len({dict(s.key).get(name) for s in stacks}) == 1)
    reason = stacks[0].reason  # given by split_stacks once the series' stacks are known
    if len(stacks) > 1 and all(len(s) == positions for s in stacks) and \
            all(_count_positions(s.instances, depth, tolerance) == positions for s in stacks):
        volumes = [s.instances for s in stacks]  # each stack one volume, its key the label
    elif all(c == k for c in counts):
        for group in by_position:
            group.sort(key=lambda i: order[id(i)])
        volumes = [[group[t] for group in by_position] for t in range(k)]
    else:
        volumes = None
    if volumes is not None:
        volumes.sort(key=lambda v: min(order[id(i)] for i in v))
        volumes, traces = _traces(volumes)
        out = [MRStack(volumes, key, reason, position_tolerance=tolerance)]
        if traces:
            out.append(MRStack(traces, key + (("derived", TRACE),), reason,
                               position_tolerance=tolerance))
        return out
    # Unequal counts: keep the stacks that are complete volumes, report the rest.
    complete = [s for s in stacks if len(s) == positions
                and _count_positions(s.instances, depth, tolerance) == positions]
    incomplete = [s for s in stacks if s not in complete]
    message = (f"{len(images)} images at {positions} positions (not a multiple)"
               + (f"; left out: {len(incomplete)} incomplete volume(s) of "
                  + ", ".join(str(len(s)) for s in incomplete) + " images" if complete else ""))
    diag = _missing(message)
    if not complete:
        return [MRStack([], key, reason, diagnostics=[diag], position_tolerance=tolerance,
                        instances=[i for g in by_position for i in g])]
    complete.sort(key=lambda s: min(order[id(i)] for i in s.instances))
    out: list[Stack] = [MRStack([s.instances for s in complete], key, reason,
                                diagnostics=[diag], position_tolerance=tolerance)]
    for s in incomplete:
        s.note = f"missing images? {len(s)} of {positions} positions"
        out.append(s)
    return out


def _mosaic_stack(stack: Stack, tolerance: float) -> Stack:
    """A stack of mosaic files cut into their slices, each file one volume (the split ran
    on the files, 200 of them for a 200-volume run, not on their 7,200 slices); a stack
    with a file that cannot be cut stays 2-D with a diagnostic."""
    cut = [mosaic.expand(inst) for inst in stack.instances]
    failed = next((s[0] for s in cut if not isinstance(s[0], mosaic.MosaicSlice)), None)
    if failed is not None:
        everything = tuple(range(len(stack)))
        return _with(stack, mosaic.not_cut(failed, everything),
                     *mosaic.diagnostics(failed, everything))
    first = cut[0][0]
    depth = _depths([i for v in cut for i in v],
                    normal(dict(stack.key)["image_orientation_patient"]))
    volumes = [sorted(v, key=lambda i: depth[id(i)]) for v in cut]
    key = tuple((name, (first.rows, first.columns) if name == "rows_columns" else value)
                for name, value in stack.key)
    stack = Stack(stack.instances, key, stack.reason)
    volumes.sort(key=lambda v: acquisition_order(v[0]))
    diags = mosaic.diagnostics(first)
    check = mosaic.protocol_check(volumes[0], max(tolerance, 0.5))
    if check:
        diags.append(Diagnostic("mosaic_protocol_mismatch", (), None, tolerance, check))
    if first.get("mosaic_normal_source") == "cross":
        diags.append(Diagnostic("mosaic_slice_direction", (), None, None,
                                "no CSA SliceNormalVector and no protocol: slice order "
                                "assumed along the cross product of the cosines"))
    sizes = {len(v) for v in volumes}
    if len(sizes) > 1:
        diags.append(_missing(f"mosaic files hold {sorted(sizes)} slices"))
        volumes = [v for v in volumes if len(v) == max(sizes)]
    return MRStack(volumes, stack.key, stack.reason, diagnostics=diags,
                   position_tolerance=tolerance)


def _with(stack: Stack, *diags: Diagnostic) -> Stack:
    return MRStack([stack.instances], stack.key, stack.reason, diagnostics=diags,
                   position_tolerance=stack.position_tolerance)


def regroup(stacks: list[Stack], tolerance: float = POSITION_TOLERANCE) -> list[Stack]:
    """``split_stacks``' stacks with the volumes of 4-D series joined and mosaics cut (see
    the docstring); plugged into ``split_stacks`` with ``stacks.add_regroup``."""
    groups: dict[Any, list[Stack]] = {}
    for s in stacks:
        rest = tuple((name, value) for name, value in s.key if name not in VOLUME_KEYS)
        groups.setdefault(rest, []).append(s)
    out: list[Stack] = []
    for members in groups.values():
        if mosaic.is_mosaic(members[0].instances[0]):
            out.append(_mosaic_stack(_merged(members), tolerance))
            continue
        out += _four_d(members, tolerance)
    return out


add_regroup(regroup)


def _merged(members: list[Stack]) -> Stack:
    if len(members) == 1:
        return members[0]
    key = tuple((name, value) for name, value in members[0].key if name not in VOLUME_KEYS
                or len({dict(m.key).get(name) for m in members}) == 1)
    return Stack([i for m in members for i in m.instances], key, members[0].reason)
