"""The numpy geometry analysis as rawdicom had it before the analysis became plain Python
(rawdicom/model/geometry.py at commit c7196f4: ``stack_geometry`` and its helpers, unchanged
but for the imports). tests/test_geometry_pure.py checks the pure ``stack_grid`` against it:
the same diagnostics, codes, messages and numbers."""

from __future__ import annotations

import math
from typing import Any, Sequence

from rawdicom.model.geometry import (BLOCKING, NOT_COMPARED, ORIENTATION_TOLERANCE,
                                     POSITION_TOLERANCE, Diagnostic, Geometry, GeometryError,
                                     numpy)
from rawdicom.model.header_values import (finite_floats, orientation, pixel_spacing, position,
                                          scalar_int, spacing)

Instance = Any


def _missing_geometry(instances: Sequence[Instance]) -> None:
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


def _cosines(instances: Sequence[Instance], tolerance: float, diags: list[Diagnostic]
             ) -> tuple[Any, Any, Any]:
    """Unit row and column cosines and the normal; a non-orthonormal pair is reported."""
    np = numpy()
    iop = np.array(orientation(instances[0].get("image_orientation_patient")))
    r, c = iop[:3], iop[3:]
    error = max(abs(np.linalg.norm(r) - 1), abs(np.linalg.norm(c) - 1), abs(float(r @ c)))
    if not np.linalg.norm(r) or not np.linalg.norm(c) or np.linalg.norm(np.cross(r, c)) < 1e-6:
        message = f"Image Orientation (Patient) {iop.tolist()} has no plane"
        raise GeometryError(message, [Diagnostic("missing_geometry", (0,), None, None, message)])
    if error > tolerance:
        diags.append(Diagnostic(
            "non_orthonormal_cosines", tuple(range(len(instances))), float(error), tolerance,
            f"Image Orientation (Patient) {iop.tolist()} is not two orthogonal unit vectors "
            f"(largest error {error:.3g}); each is normalised, the angle between them kept"))
    r = r / np.linalg.norm(r)
    c = c / np.linalg.norm(c)
    n = np.cross(r, c)
    return r, c, n / np.linalg.norm(n)


def _pixel_spacing(instances: Sequence[Instance], diags: list[Diagnostic]) -> tuple[float, float]:
    values = pixel_spacing(instances[0].get("pixel_spacing"))
    if values is None:
        diags.append(Diagnostic("missing_pixel_spacing", tuple(range(len(instances))), None,
                                None, "no usable Pixel Spacing: 1 mm assumed in-plane"))
        return (1.0, 1.0)
    return values[0], values[1]


def _single_spacing(inst: Instance) -> tuple[float, str]:
    for name, label in (("spacing_between_slices", "Spacing Between Slices"),
                        ("slice_thickness", "Slice Thickness")):
        value = spacing(inst.get(name))
        if value is not None:
            return value, label
    return 1.0, "a default of 1 mm (no Spacing Between Slices or Slice Thickness)"


def stack_geometry(instances: Sequence[Instance], *,
                   position_tolerance: float = POSITION_TOLERANCE,
                   orientation_tolerance: float = ORIENTATION_TOLERANCE) -> Geometry:
    """The geometry of images ordered along their normal (a Stack's instances).

    Raises GeometryError when an image has no position or orientation.
    """
    np = numpy()
    _missing_geometry(instances)
    tol = position_tolerance
    diags: list[Diagnostic] = []
    r, c, n = _cosines(instances, orientation_tolerance, diags)
    row_spacing, column_spacing = _pixel_spacing(instances, diags)
    positions = np.array([position(inst.get("image_position_patient")) for inst in instances])
    _vendor_positions(instances, positions, (r, c, n), (row_spacing, column_spacing), tol, diags)
    depths = positions @ n
    if np.any(np.diff(depths) < -tol):
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
            apart = float(np.max(np.linalg.norm(positions[members] - positions[first], axis=1)))
            where = ", ".join(f"{v:.3f}" for v in positions[first])
            note = "" if apart <= tol else f"; their positions differ by {apart:.3f} mm in-plane"
            diags.append(Diagnostic(
                "duplicate_position", tuple(members), apart, tol,
                f"{len(members)} images at one position ({where}){note}; {NOT_COMPARED}; the "
                "first is used"))
    unique = positions[firsts]
    d = depths[firsts]

    grid, step, regular = _grid(d, firsts, instances, tol, diags)
    # in-plane offset of each distinct position from the first: a line (tilt) or drift
    offsets = (unique - unique[0]) - np.outer(d - d[0], n)
    extent = d[-1] - d[0]
    shear = offsets[-1] / extent if extent > 0 else np.zeros(3)
    drift = np.linalg.norm(offsets - np.outer(d - d[0], shear), axis=1)
    tilted = bool(np.linalg.norm(offsets[-1]) > tol)
    if np.max(drift) > tol:
        bad = tuple(firsts[g] for g in np.nonzero(drift > tol)[0])
        diags.append(Diagnostic(
            "in_plane_drift", bad, float(np.max(drift)), tol,
            f"{len(bad)} slice(s) lie up to {np.max(drift):.3f} mm off the line through the "
            "first and last positions, in-plane: no regular grid"))
        regular = False
    if tilted:
        angle = math.degrees(math.atan2(float(np.linalg.norm(shear)), 1.0))
        limit = math.degrees(math.atan2(tol, extent))
        header = instances[0].get("gantry_detector_tilt")
        said = f"; Gantry/Detector Tilt says {header} degrees" if header is not None else ""
        diags.append(Diagnostic(
            "gantry_tilt", tuple(firsts), angle, limit,
            f"positions advance {angle:.3f} degrees off the slice normal "
            f"({np.linalg.norm(offsets[-1]):.3f} mm in-plane over {extent:.3f} mm){said}; "
            "the affine is sheared so that every "
            "slice is where its header puts it; volume(resample=True) gives an orthogonal grid"))
    slice_step = step * (n + shear) if tilted else step * n
    affine = np.eye(4)
    affine[:3, 0] = slice_step
    affine[:3, 1] = row_spacing * c
    affine[:3, 2] = column_spacing * r
    affine[:3, 3] = positions[0]
    direction = np.stack([n, c, r], axis=1)
    rows = scalar_int(instances[0].get("rows")) or 0
    columns = scalar_int(instances[0].get("columns")) or 0
    slice_index = tuple(int(grid[group_of[k]]) for k in range(len(instances)))
    return Geometry((int(grid[-1]) + 1, rows, columns), (float(step), float(row_spacing),
                    float(column_spacing)), tuple(float(v) for v in positions[0]),
                    direction, affine, slice_index, positions, depths, tuple(diags),
                    regular and not (BLOCKING & {x.kind for x in diags}), tilted)


def _vendor_positions(instances: Sequence[Instance], positions: Any, axes: tuple[Any, Any, Any],
                      spacing: tuple[float, float], tol: float, diags: list[Diagnostic]) -> None:
    """A ``vendor_position_mismatch`` diagnostic where a vendor's own per-frame position
    (Philips' private legacy sequence: ``vendor_image_position_patient``) is more than
    ``tol`` from the standard one. The standard's stays the position: this only says so."""
    np = numpy()
    found = [(k, finite_floats(inst.get("vendor_image_position_patient"), 3))
             for k, inst in enumerate(instances)]
    found = [(k, v) for k, v in found if v is not None]
    if not found:
        return
    offsets = np.array([v for _, v in found]) - positions[[k for k, _ in found]]
    apart = np.linalg.norm(offsets, axis=1)
    if float(apart.max()) <= tol:
        return
    worst = int(np.argmax(apart))
    r, c, n = axes
    row_spacing, column_spacing = spacing
    along = (float(offsets[worst] @ r) / column_spacing, float(offsets[worst] @ c) / row_spacing,
             float(offsets[worst] @ n))
    diags.append(Diagnostic(
        "vendor_position_mismatch", tuple(k for (k, _), d in zip(found, apart) if d > tol),
        float(apart.max()), tol,
        f"the vendor's private per-frame Image Position (Patient) is up to {apart.max():.3f} mm "
        f"from the standard Plane Position Sequence's ({along[0]:+.2f} columns, "
        f"{along[1]:+.2f} rows, {along[2]:+.3f} mm along the normal); the standard's is used"))


def _grid(d: Any, firsts: list[int], instances: Sequence[Instance], tol: float,
          diags: list[Diagnostic]) -> tuple[Any, float, bool]:
    """Grid index of each distinct depth, the slice step, and whether the grid is regular."""
    np = numpy()
    m = len(d)
    if m == 1:
        step, source = _single_spacing(instances[0])
        diags.append(Diagnostic("single_slice", (0,), None, None,
                                f"one slice: its spacing ({step:g} mm) is taken from {source}"))
        return np.zeros(1, dtype=np.int64), step, True
    gaps = np.diff(d)
    if m == 2:
        diags.append(Diagnostic("two_slices", tuple(firsts), float(gaps[0]), None,
                                f"two slices {gaps[0]:.4f} mm apart: the spacing cannot be "
                                "checked against a third"))
        return np.arange(2), float(gaps[0]), True
    nominal = float(np.median(gaps))
    for candidate in (nominal, float(gaps.min())):
        # the usual gap, else the smallest (many slices missing); a grid with more
        # missing slices than present ones is not believed (that is no step, but noise)
        multiples = np.maximum(np.rint(gaps / candidate), 1).astype(np.int64)
        grid = np.concatenate([[0], np.cumsum(multiples)])
        step = float((d[-1] - d[0]) / grid[-1])
        residual = np.abs(d - (d[0] + grid * step))
        if np.max(residual) <= tol and grid[-1] + 1 - m <= m:
            break
    else:
        grid = np.arange(m)
        step = float((d[-1] - d[0]) / (m - 1))
        off = np.abs(gaps - nominal) > tol
        bad = tuple(sorted({firsts[i] for g in np.nonzero(off)[0] for i in (g, g + 1)}))
        diags.append(Diagnostic(
            "non_uniform_spacing", bad, float(np.max(np.abs(gaps - nominal))), tol,
            f"slice gaps from {gaps.min():.4f} to {gaps.max():.4f} mm (median {nominal:.4f}) "
            "are no multiples of one step: no regular grid; volume(resample=True) "
            "interpolates onto one"))
        return grid, step, False
    for g in np.nonzero(multiples > 1)[0]:
        a, b = firsts[g], firsts[g + 1]
        count = int(multiples[g] - 1)
        pa = ", ".join(f"{v:.3f}" for v in instances[a].get("image_position_patient"))
        pb = ", ".join(f"{v:.3f}" for v in instances[b].get("image_position_patient"))
        diags.append(Diagnostic(
            "missing_slices", (a, b), float(gaps[g]), tol,
            f"{count} slice(s) missing between ({pa}) and ({pb}): a gap of {gaps[g]:.4f} mm "
            f"is {multiples[g]} steps of {step:.4f} mm; the volume keeps their place, filled"))
    return grid, step, True
