"""The grid of a stack from its headers alone, checked, with what is wrong about it as data.

Like highdicom's VolumeGeometry, a :class:`Geometry` needs no pixels: Image Position and
Orientation (Patient), Pixel Spacing, Rows and Columns of the ordered images give the
shape, the spacing, and the 4x4 affine that maps (slice, row, column) indices to LPS
millimetres (the patient coordinate system of PS3.3 C.7.6.2.1.1)::

    world = origin + slice * slice_step + row * PixelSpacing[0] * column_cosines
                   + column * PixelSpacing[1] * row_cosines

Pixel Spacing is (row spacing, column spacing): the first value is the distance between
*rows*, i.e. the step along the column cosines (PS3.3 10.7.1.3). The slice step comes from
the positions, never from Slice Thickness or Spacing Between Slices (those are used only
for a single slice, and the diagnostic says so).

Irregularities become :class:`Diagnostic` entries with the slices involved, the value
measured and the tolerance it broke, so a caller can decide, and nothing is fixed
silently:

* ``duplicate_position``: two images at one position (headers only: pixels are compared
  when a volume is built);
* ``missing_slices``: a gap that is a whole multiple of the step; the grid keeps the
  empty slices (the volume fills them) so that every other slice stays where it is;
* ``non_uniform_spacing``: gaps that are no multiple of one step (no regular grid);
* ``gantry_tilt``: positions that advance on a line off the normal (CT with a tilted
  gantry); the affine's slice column is then that line, sheared, so that every slice is
  where its header says; ``volume(resample=True)`` interpolates an orthogonal grid;
* ``in_plane_drift``: positions off any straight line (no regular grid);
* ``non_orthonormal_cosines``, ``single_slice``, ``two_slices``, ``missing_pixel_spacing``.

The analysis that finds all this is plain Python (:func:`stack_grid` gives a :class:`Grid`:
3-vectors and lists of floats are tiny), so ``rawdicom tree`` and ``Stack.diagnostics`` work
where numpy is not installed (WebAssembly); numpy is imported only when a :class:`Geometry`
(its affine, direction and positions as arrays) is asked for (``pip install rawdicom[volume]``).
"""

from __future__ import annotations

import itertools
import math
import statistics
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

from .header_values import finite_floats, orientation, pixel_spacing, position, scalar_int, \
    spacing

if TYPE_CHECKING:
    import numpy as np

    from .instance import Instance

__all__ = ["Diagnostic", "Geometry", "GeometryError", "Grid", "stack_geometry", "stack_grid",
           "numpy", "BLOCKING", "ORIENTATION_TOLERANCE", "POSITION_TOLERANCE"]

#: Largest difference of any direction cosine for two images to share an orientation
#: (1e-3: 0.06 degrees, 0.25 mm at the edge of a 250 mm field of view).
ORIENTATION_TOLERANCE = 1e-3
#: Millimetres: two positions closer than this are the same; slices farther than this from
#: their grid position break the grid (dcm2niix's and IDC's 0.2 mm).
POSITION_TOLERANCE = 0.2

#: Diagnostics after which the images form no regular grid (a plain volume is refused).
BLOCKING = frozenset(("non_uniform_spacing", "in_plane_drift", "missing_geometry"))
#: What a duplicate_position diagnostic says of pixels until a volume compares them.
NOT_COMPARED = "pixels not compared (headers only: building the volume compares them)"


def numpy() -> Any:
    """numpy, or an ImportError naming the extra that installs it."""
    try:
        import numpy as np
    except ImportError as exc:  # pragma: no cover - exercised only without numpy
        raise ImportError("rawdicom's geometry and volumes need numpy: "
                          "pip install rawdicom[volume]") from exc
    return np


@dataclass(frozen=True)
class Diagnostic:
    """One irregularity of a stack's grid.

    kind: see the module docstring. slices: indices into ``Stack.instances`` of the
    images involved. measured: the value found (mm, degrees for a tilt, a cosine error),
    tolerance: the limit it was checked against (same unit), each None when the kind has
    none. message: the same for a human, with positions where they help.
    """

    kind: str
    slices: tuple[int, ...]
    measured: float | None
    tolerance: float | None
    message: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


class GeometryError(ValueError):
    """The images form no grid to build a volume on (no position or orientation at all, or
    an irregular one, or no complete 4-D volume); ``diagnostics`` says why when known."""

    def __init__(self, message: str, diagnostics: Sequence[Diagnostic] = ()) -> None:
        super().__init__(message)
        self.diagnostics = tuple(diagnostics)


def _lps_to_ras() -> Any:
    return numpy().diag([-1.0, -1.0, 1.0, 1.0])


@dataclass(frozen=True, eq=False)
class Geometry:
    """A stack's grid: (slices, rows, columns) indices -> LPS millimetres.

    shape: (slices, rows, columns), missing slices included. spacing: (slice, row,
    column) in mm: the distance between slice planes along the normal, Pixel Spacing[0]
    (between rows), Pixel Spacing[1] (between columns). origin: the centre of voxel
    (0, 0, 0), the first slice's Image Position (Patient). direction: 3x3, its columns the
    unit vectors of the slice, row and column index axes (normal, column cosines, row
    cosines). affine: 4x4 float64; its first column is the slice step, ``spacing[0] *
    normal`` unless the stack is tilted (then the step along the positions, sheared).
    slice_index: for each image of the stack, its slice in the grid (equal for duplicates).
    regular: False when a BLOCKING diagnostic is present.
    """

    shape: tuple[int, int, int]
    spacing: tuple[float, float, float]
    origin: tuple[float, float, float]
    direction: "np.ndarray"
    affine: "np.ndarray"
    slice_index: tuple[int, ...]
    positions: "np.ndarray"
    depths: "np.ndarray"
    diagnostics: tuple[Diagnostic, ...]
    regular: bool
    tilted: bool

    @property
    def affine_ras(self) -> "np.ndarray":
        """The affine to RAS millimetres (x and y negated), as NIfTI and nibabel use."""
        return _lps_to_ras() @ self.affine

    @property
    def normal(self) -> "np.ndarray":
        """The unit slice normal, pointing to increasing slice index."""
        return self.direction[:, 0]

    @property
    def missing_slices(self) -> tuple[int, ...]:
        """Grid slices no image fills."""
        present = set(self.slice_index)
        return tuple(k for k in range(self.shape[0]) if k not in present)

    def __repr__(self) -> str:
        kinds = ", ".join(sorted(self.kinds())) or "no diagnostics"
        spacing = " x ".join(f"{v:g}" for v in self.spacing)
        return f"<Geometry {self.shape}, spacing {spacing} mm, {kinds}>"

    def kinds(self) -> set[str]:
        """The kinds of diagnostic present (``"gantry_tilt" in geometry.kinds()``)."""
        return {d.kind for d in self.diagnostics}

    @classmethod
    def of(cls, grid: "Grid") -> "Geometry":
        """The grid's numbers as numpy arrays (the only step that needs numpy)."""
        np = numpy()
        return cls(grid.shape, grid.spacing, grid.origin, np.array(grid.direction),
                   np.array(grid.affine), grid.slice_index, np.array(grid.positions),
                   np.array(grid.depths), grid.diagnostics, grid.regular, grid.tilted)


Vector = tuple[float, float, float]


@dataclass(frozen=True, eq=False)
class Grid:
    """What the headers say of a stack's grid, in plain Python numbers: a
    :class:`Geometry` without numpy (the same fields; ``direction`` and ``affine`` as
    row-major nested tuples, ``positions`` as one 3-tuple per image).

    ``slice_step``: LPS millimetres from one grid slice to the next (the affine's first
    column: along the normal, or along the positions when tilted).
    """

    shape: tuple[int, int, int]
    spacing: tuple[float, float, float]
    origin: Vector
    normal: Vector
    column_cosines: Vector
    row_cosines: Vector
    slice_step: Vector
    slice_index: tuple[int, ...]
    positions: tuple[Vector, ...]
    depths: tuple[float, ...]
    diagnostics: tuple[Diagnostic, ...]
    regular: bool
    tilted: bool

    @property
    def direction(self) -> tuple[Vector, Vector, Vector]:
        """3x3, row by row; its columns: the unit vectors of the slice, row and column axes."""
        n, c, r = self.normal, self.column_cosines, self.row_cosines
        return ((n[0], c[0], r[0]), (n[1], c[1], r[1]), (n[2], c[2], r[2]))

    @property
    def affine(self) -> tuple[tuple[float, float, float, float], ...]:
        """4x4, row by row: (slice, row, column, 1) -> LPS millimetres."""
        columns = (self.slice_step, _scale(self.spacing[1], self.column_cosines),
                   _scale(self.spacing[2], self.row_cosines), self.origin)
        return (*(tuple(col[i] for col in columns) for i in range(3)), (0.0, 0.0, 0.0, 1.0))

    @property
    def missing_slices(self) -> tuple[int, ...]:
        """Grid slices no image fills."""
        present = set(self.slice_index)
        return tuple(k for k in range(self.shape[0]) if k not in present)

    def kinds(self) -> set[str]:
        """The kinds of diagnostic present."""
        return {d.kind for d in self.diagnostics}


# 3-vectors: numpy's elementwise operations, one float at a time, in the same order.
def _dot(a: Sequence[float], b: Sequence[float]) -> float:
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def _norm(a: Sequence[float]) -> float:
    return math.sqrt(_dot(a, a))


def _cross(a: Sequence[float], b: Sequence[float]) -> Vector:
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def _minus(a: Sequence[float], b: Sequence[float]) -> Vector:
    return (a[0] - b[0], a[1] - b[1], a[2] - b[2])


def _scale(k: float, a: Sequence[float]) -> Vector:
    return (k * a[0], k * a[1], k * a[2])


def _divided(a: Sequence[float], k: float) -> Vector:
    return (a[0] / k, a[1] / k, a[2] / k)


def _missing_geometry(instances: Sequence["Instance"]) -> None:
    lacking = [k for k, inst in enumerate(instances)
               if position(inst.get("image_position_patient")) is None
               or orientation(inst.get("image_orientation_patient")) is None]
    if not instances:
        raise GeometryError("no images", [Diagnostic("missing_geometry", (), None, None,
                                                     "the stack has no images")])
    if lacking:
        message = (f"{len(lacking)} of {len(instances)} image(s) have no usable Image "
                   "Position (Patient) or Image Orientation (Patient)")
        raise GeometryError(message, [Diagnostic("missing_geometry", tuple(lacking), None,
                                                 None, message)])


def _cosines(instances: Sequence["Instance"], tolerance: float, diags: list[Diagnostic]
             ) -> tuple[Vector, Vector, Vector]:
    """Unit row and column cosines and the normal; a non-orthonormal pair is reported."""
    iop = [float(v) for v in orientation(instances[0].get("image_orientation_patient"))]
    r, c = iop[:3], iop[3:]
    r_norm, c_norm = _norm(r), _norm(c)
    error = max(abs(r_norm - 1), abs(c_norm - 1), abs(_dot(r, c)))
    if not r_norm or not c_norm or _norm(_cross(r, c)) < 1e-6:
        message = f"Image Orientation (Patient) {iop} has no plane"
        raise GeometryError(message, [Diagnostic("missing_geometry", (0,), None, None, message)])
    if error > tolerance:
        diags.append(Diagnostic(
            "non_orthonormal_cosines", tuple(range(len(instances))), float(error), tolerance,
            f"Image Orientation (Patient) {iop} is not two orthogonal unit vectors "
            f"(largest error {error:.3g}); each is normalised, the angle between them kept"))
    r_unit, c_unit = _divided(r, r_norm), _divided(c, c_norm)
    n = _cross(r_unit, c_unit)
    return r_unit, c_unit, _divided(n, _norm(n))


def _pixel_spacing(instances: Sequence["Instance"], diags: list[Diagnostic]) -> tuple[float, float]:
    values = pixel_spacing(instances[0].get("pixel_spacing"))
    if values is None:
        diags.append(Diagnostic("missing_pixel_spacing", tuple(range(len(instances))), None,
                                None, "no usable Pixel Spacing: 1 mm assumed in-plane"))
        return (1.0, 1.0)
    return values[0], values[1]


def _single_spacing(inst: "Instance") -> tuple[float, str]:
    for name, label in (("spacing_between_slices", "Spacing Between Slices"),
                        ("slice_thickness", "Slice Thickness")):
        value = spacing(inst.get(name))
        if value is not None:
            return value, label
    return 1.0, "a default of 1 mm (no Spacing Between Slices or Slice Thickness)"


def stack_geometry(instances: Sequence["Instance"], *,
                   position_tolerance: float = POSITION_TOLERANCE,
                   orientation_tolerance: float = ORIENTATION_TOLERANCE) -> Geometry:
    """The geometry of images ordered along their normal (a Stack's instances):
    :func:`stack_grid` as numpy arrays.

    Raises GeometryError when an image has no position or orientation.
    """
    numpy()  # before the analysis: without numpy, the ImportError naming the extra
    return Geometry.of(stack_grid(instances, position_tolerance=position_tolerance,
                                  orientation_tolerance=orientation_tolerance))


def stack_grid(instances: Sequence["Instance"], *,
               position_tolerance: float = POSITION_TOLERANCE,
               orientation_tolerance: float = ORIENTATION_TOLERANCE) -> Grid:
    """The grid of images ordered along their normal, and what is irregular about it, in
    plain Python (no numpy).

    Raises GeometryError when an image has no position or orientation.
    """
    _missing_geometry(instances)
    tol = position_tolerance
    diags: list[Diagnostic] = []
    r, c, n = _cosines(instances, orientation_tolerance, diags)
    row_spacing, column_spacing = _pixel_spacing(instances, diags)
    positions = [tuple(float(v) for v in position(inst.get("image_position_patient")))
                 for inst in instances]
    _vendor_positions(instances, positions, (r, c, n), (row_spacing, column_spacing), tol, diags)
    depths = [_dot(p, n) for p in positions]
    if any(b - a < -tol for a, b in zip(depths, depths[1:])):
        raise ValueError("the images are not ordered along their normal: use split_stacks")

    # one entry per distinct position; duplicates join the first image at their position
    firsts: list[int] = [0]
    group_of = [0]
    for k in range(1, len(instances)):
        if abs(depths[k] - depths[firsts[-1]]) > tol:
            firsts.append(k)
        group_of.append(len(firsts) - 1)
    groups: dict[int, list[int]] = {}
    for k, g in enumerate(group_of):
        groups.setdefault(g, []).append(k)
    for g, members in groups.items():
        first = firsts[g]
        if len(members) > 1:
            apart = max(_norm(_minus(positions[k], positions[first])) for k in members)
            where = ", ".join(f"{v:.3f}" for v in positions[first])
            note = "" if apart <= tol else f"; their positions differ by {apart:.3f} mm in-plane"
            diags.append(Diagnostic(
                "duplicate_position", tuple(members), apart, tol,
                f"{len(members)} images at one position ({where}){note}; {NOT_COMPARED}; the "
                "first is used"))
    unique = [positions[k] for k in firsts]
    d = [depths[k] for k in firsts]

    grid, step, regular = _slice_grid(d, firsts, instances, tol, diags)
    # in-plane offset of each distinct position from the first: a line (tilt) or drift
    offsets = [_minus(_minus(u, unique[0]), _scale(dk - d[0], n)) for u, dk in zip(unique, d)]
    extent = d[-1] - d[0]
    shear = _divided(offsets[-1], extent) if extent > 0 else (0.0, 0.0, 0.0)
    drift = [_norm(_minus(o, _scale(dk - d[0], shear))) for o, dk in zip(offsets, d)]
    tilted = _norm(offsets[-1]) > tol
    if max(drift) > tol:
        bad = tuple(firsts[g] for g, off in enumerate(drift) if off > tol)
        diags.append(Diagnostic(
            "in_plane_drift", bad, max(drift), tol,
            f"{len(bad)} slice(s) lie up to {max(drift):.3f} mm off the line through the "
            "first and last positions, in-plane: no regular grid"))
        regular = False
    if tilted:
        angle = math.degrees(math.atan2(_norm(shear), 1.0))
        limit = math.degrees(math.atan2(tol, extent))
        header = instances[0].get("gantry_detector_tilt")
        said = f"; Gantry/Detector Tilt says {header} degrees" if header is not None else ""
        diags.append(Diagnostic(
            "gantry_tilt", tuple(firsts), angle, limit,
            f"positions advance {angle:.3f} degrees off the slice normal "
            f"({_norm(offsets[-1]):.3f} mm in-plane over {extent:.3f} mm){said}; "
            "the affine is sheared so that every "
            "slice is where its header puts it; volume(resample=True) gives an orthogonal grid"))
    slice_step = _scale(step, (n[0] + shear[0], n[1] + shear[1], n[2] + shear[2])) if tilted \
        else _scale(step, n)
    rows = scalar_int(instances[0].get("rows")) or 0
    columns = scalar_int(instances[0].get("columns")) or 0
    slice_index = tuple(grid[group_of[k]] for k in range(len(instances)))
    return Grid((grid[-1] + 1, rows, columns), (float(step), float(row_spacing),
                float(column_spacing)), positions[0], n, c, r, slice_step, slice_index,
                tuple(positions), tuple(depths), tuple(diags),
                regular and not (BLOCKING & {x.kind for x in diags}), tilted)


def _vendor_positions(instances: Sequence["Instance"], positions: Sequence[Vector],
                      axes: tuple[Vector, Vector, Vector], spacing: tuple[float, float],
                      tol: float, diags: list[Diagnostic]) -> None:
    """A ``vendor_position_mismatch`` diagnostic where a vendor's own per-frame position
    (Philips' private legacy sequence: ``vendor_image_position_patient``) is more than
    ``tol`` from the standard one. The standard's stays the position: this only says so."""
    found = [(k, finite_floats(inst.get("vendor_image_position_patient"), 3))
             for k, inst in enumerate(instances)]
    found = [(k, v) for k, v in found if v is not None]
    if not found:
        return
    offsets = [_minus(v, positions[k]) for k, v in found]
    apart = [_norm(o) for o in offsets]
    largest = max(apart)
    if largest <= tol:
        return
    worst = offsets[apart.index(largest)]
    r, c, n = axes
    row_spacing, column_spacing = spacing
    along = (_dot(worst, r) / column_spacing, _dot(worst, c) / row_spacing, _dot(worst, n))
    diags.append(Diagnostic(
        "vendor_position_mismatch", tuple(k for (k, _), d in zip(found, apart) if d > tol),
        largest, tol,
        f"the vendor's private per-frame Image Position (Patient) is up to {largest:.3f} mm "
        f"from the standard Plane Position Sequence's ({along[0]:+.2f} columns, "
        f"{along[1]:+.2f} rows, {along[2]:+.3f} mm along the normal); the standard's is used"))


def _slice_grid(d: list[float], firsts: list[int], instances: Sequence["Instance"], tol: float,
                diags: list[Diagnostic]) -> tuple[list[int], float, bool]:
    """Grid index of each distinct depth, the slice step, and whether the grid is regular."""
    m = len(d)
    if m == 1:
        step, source = _single_spacing(instances[0])
        diags.append(Diagnostic("single_slice", (0,), None, None,
                                f"one slice: its spacing ({step:g} mm) is taken from {source}"))
        return [0], step, True
    gaps = [b - a for a, b in zip(d, d[1:])]
    if m == 2:
        diags.append(Diagnostic("two_slices", tuple(firsts), gaps[0], None,
                                f"two slices {gaps[0]:.4f} mm apart: the spacing cannot be "
                                "checked against a third"))
        return [0, 1], gaps[0], True
    nominal = statistics.median(gaps)
    for candidate in (nominal, min(gaps)):
        # the usual gap, else the smallest (many slices missing); a grid with more
        # missing slices than present ones is not believed (that is no step, but noise)
        multiples = [max(round(g / candidate), 1) for g in gaps]
        grid = [0, *itertools.accumulate(multiples)]
        step = (d[-1] - d[0]) / grid[-1]
        residual = max(abs(dk - (d[0] + k * step)) for dk, k in zip(d, grid))
        if residual <= tol and grid[-1] + 1 - m <= m:
            break
    else:
        grid = list(range(m))
        step = (d[-1] - d[0]) / (m - 1)
        off = [abs(g - nominal) > tol for g in gaps]
        bad = tuple(sorted({firsts[i] for g, o in enumerate(off) if o for i in (g, g + 1)}))
        diags.append(Diagnostic(
            "non_uniform_spacing", bad, max(abs(g - nominal) for g in gaps), tol,
            f"slice gaps from {min(gaps):.4f} to {max(gaps):.4f} mm (median {nominal:.4f}) "
            "are no multiples of one step: no regular grid; volume(resample=True) "
            "interpolates onto one"))
        return grid, step, False
    for g, multiple in enumerate(multiples):
        if multiple <= 1:
            continue
        a, b = firsts[g], firsts[g + 1]
        pa = ", ".join(f"{v:.3f}" for v in instances[a].get("image_position_patient"))
        pb = ", ".join(f"{v:.3f}" for v in instances[b].get("image_position_patient"))
        diags.append(Diagnostic(
            "missing_slices", (a, b), gaps[g], tol,
            f"{multiple - 1} slice(s) missing between ({pa}) and ({pb}): a gap of "
            f"{gaps[g]:.4f} mm is {multiple} steps of {step:.4f} mm; the volume keeps their "
            "place, filled"))
    return grid, step, True
