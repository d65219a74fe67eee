"""b-values and gradient directions of diffusion images, in patient and image frames.

Sources, in order: the standard's MR Diffusion attributes, Diffusion b-value (0018,9087)
and Diffusion Gradient Orientation (0018,9089) (top level, or in the per-frame functional
groups of enhanced objects: both land in the record under the same names); then the
vendor fields of the record (see ``rawdicom.vendor.fields``): Siemens (0019,xx0C/0E) or
the CSA header, GE (0043,xx39) and (0019,xxBB/BC/BD), Philips (2001,xx03) and
(2005,xxB0/B1/B2).

Frames:

* patient (LPS): the standard's, Siemens' and Philips' vectors are already there. GE's are
  in its logical frame (frequency X, phase Y, slice Z; GE's statement, quoted in dcm2niix's
  GE notes), whose signs GE documents nowhere. The field's convention is dcm2niix's
  (``geCorrectBvecs``, from Xiangrui Li's dicm2nii, and the FSL pipelines built on its
  ``.bvec``), defined only for Patient Position (0018,5100) HFS. With In-plane Phase
  Encoding Direction COL and axial slices (the normal's largest component along z) it is LPS
  = −X·row − Y·column + Z·normal (normal = row × column cosines), which the reference
  ``.bvec`` of the real GE DWI series of issue 21 agree with. Sagittal and coronal slices
  and ROW phase encoding get dcm2niix's per-plane signs (:data:`_GE_SIGNS`; with ROW, X lies
  along the column and Y along the row), which its authors mark as untested: such a stack
  says so in a ``gradient_frame_untested`` diagnostic. Any other Patient Position (or none)
  has no documented transform: the gradient is None and the stack says
  ``gradient_frame_unknown`` (:func:`frame_diagnostics`). All of it measured against
  dcm2niix in tests/test_mr_dcm2niix.py.
* image: components along the volume's (column, row, slice) index axes, i.e. the dot
  products with the row cosines, the column cosines and the slice direction.

FSL's ``.bvec`` (what :func:`write_fsl` writes): the image-frame vector of the NIfTI's
voxel axes (i, j, k) = (column, row, slice), with the first component negated when the
NIfTI affine's determinant is positive (FSL's rule: it treats the voxel grid as if it were
stored radiologically). rawdicom's NIfTI keeps the DICOM row order, so its determinant is
positive and x is flipped; dcm2niix flips the rows in its NIfTI (negative determinant) and
negates y instead: both give the same vector in the patient (tested against dcm2niix).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from .header_values import finite_floats, finite_number

__all__ = ["b_value", "gradient_lps", "ge_frame_note", "frame_diagnostics", "image_frame",
           "fsl_vectors", "write_fsl"]

#: dcm2niix's signs of GE's (X, Y, Z) for head-first-supine series, by phase encoding
#: direction and slice plane (the axis of the normal's largest component). Measured with
#: dcm2niix v1.0.20220720 on generated files (tests/test_mr_dcm2niix.py); the axial COL entry is
#: the one validated on real data by dcm2niix's and dicm2nii's authors.
_GE_SIGNS = {
    ("COL", "axial"): (-1, -1, 1), ("COL", "sagittal"): (1, 1, -1),
    ("COL", "coronal"): (-1, 1, 1),
    ("ROW", "axial"): (1, -1, 1), ("ROW", "sagittal"): (-1, 1, -1),
    ("ROW", "coronal"): (-1, -1, 1),
}
_PLANES = ("sagittal", "coronal", "axial")
UNKNOWN_FRAME = "gradient_frame_unknown"
UNTESTED_FRAME = "gradient_frame_untested"


def b_value(inst: Any) -> float | None:
    """The b-value (s/mm²) of an image: the standard's, else the vendor's, else None."""
    for name in ("diffusion_b_value", "vendor_b_value"):
        value = finite_number(inst.get(name))
        if value is not None:
            return value
    return None


def _cosines(inst: Any) -> tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]] | None:
    """Row cosines, column cosines and their cross product (the slice normal)."""
    full = inst.get("image_orientation_patient")
    r, c = finite_floats((full or [])[:3], 3), finite_floats((full or [])[3:], 3)
    if r is None or c is None:
        return None
    n = (r[1] * c[2] - r[2] * c[1], r[2] * c[0] - r[0] * c[2], r[0] * c[1] - r[1] * c[0])
    return r, c, n


def gradient_lps(inst: Any) -> tuple[float, float, float] | None:
    """The gradient direction of an image in patient LPS, or None (b=0, trace, unknown: a
    GE vector whose frame is unknown, see :func:`ge_frame_note`)."""
    standard = finite_floats(inst.get("diffusion_gradient_orientation"), 3)
    if standard is not None:
        return standard if any(abs(v) > 1e-6 for v in standard) else None
    vendor = finite_floats(inst.get("vendor_gradient"), 3)
    if vendor is None or not any(abs(v) > 1e-6 for v in vendor):
        return None
    if inst.get("vendor_gradient_frame") != "ge_logical":
        return vendor
    rule = _ge_rule(inst)
    if rule is None:
        return None
    (sx, sy, sz), x_axis, y_axis, n = rule
    return tuple(sx * vendor[0] * x_axis[i] + sy * vendor[1] * y_axis[i] + sz * vendor[2] * n[i]
                 + 0.0 for i in range(3))  # type: ignore[return-value]


def _phase_encoding(inst: Any) -> str | None:
    value = inst.get("in_plane_phase_encoding_direction")
    return value.strip().upper() if isinstance(value, str) and value.strip() else None


def _plane(n: Sequence[float]) -> str:
    return _PLANES[max(range(3), key=lambda i: abs(n[i]))]


def _ge_rule(inst: Any) -> tuple[tuple[int, int, int], Sequence[float], Sequence[float],
                                 Sequence[float]] | None:
    """(signs, X axis, Y axis, normal) of a GE image, or None where no transform is known."""
    if ge_frame_note(inst)[0] == UNKNOWN_FRAME:
        return None
    axes = _cosines(inst)
    if axes is None:
        return None
    r, c, n = axes
    phase = _phase_encoding(inst)
    x_axis, y_axis = (c, r) if phase == "ROW" else (r, c)
    return _GE_SIGNS[phase, _plane(n)], x_axis, y_axis, n  # type: ignore[index]


def ge_frame_note(inst: Any) -> tuple[str, str] | tuple[None, None]:
    """(diagnostic kind, reason) when an image's GE gradient has no known frame
    (:data:`UNKNOWN_FRAME`) or one its source marks as untested (:data:`UNTESTED_FRAME`);
    (None, None) for the validated case and for every other vendor."""
    if inst.get("vendor_gradient_frame") != "ge_logical" or inst.get(
            "diffusion_gradient_orientation") is not None:
        return None, None
    position = inst.get("patient_position")
    position = position.strip().upper() if isinstance(position, str) else None
    if position != "HFS":
        return UNKNOWN_FRAME, (
            f"Patient Position (0018,5100) {position or 'absent'}: GE's gradient directions "
            "(0019,xxBB-BD) are in its logical frame, whose transform to the patient is "
            "documented (dcm2niix, dicm2nii) only for head-first-supine (HFS) series; "
            "left unknown")
    phase = _phase_encoding(inst)
    if phase not in ("ROW", "COL"):
        return UNKNOWN_FRAME, (
            f"In-plane Phase Encoding Direction (0018,1312) {phase or 'absent'}: GE's logical "
            "frame depends on it; gradient directions left unknown")
    axes = _cosines(inst)
    if axes is None:
        return UNKNOWN_FRAME, "no Image Orientation (Patient): GE gradient directions unknown"
    plane = _plane(axes[2])
    if phase == "COL" and plane == "axial":
        return None, None
    return UNTESTED_FRAME, (
        f"GE gradient directions of {plane} slices with {phase} phase encoding follow "
        "dcm2niix's rule for head-first-supine series, which its authors mark as untested "
        "on real data")


def frame_diagnostics(firsts: Sequence[Any]) -> list[Any]:
    """One Diagnostic per reason of :func:`ge_frame_note` among the first images of a
    stack's volumes (diffusion-weighted ones only); the message names the volumes."""
    from .geometry import Diagnostic
    found: dict[tuple[str, str], list[int]] = {}
    for t, inst in enumerate(firsts):
        kind, reason = ge_frame_note(inst)
        if kind is not None and b_value(inst):
            found.setdefault((kind, reason), []).append(t)  # type: ignore[arg-type]
    return [Diagnostic(kind, (), None, None, f"{reason} (volumes {', '.join(map(str, volumes))})")
            for (kind, reason), volumes in found.items()]


def image_frame(gradient: Sequence[float] | None, direction: Any) -> tuple[float, float, float]:
    """An LPS vector's components along a volume's (column, row, slice) axes; ``direction``
    is the Volume's 3x3 (unit vectors of the slice, row, column index axes as columns)."""
    if gradient is None:
        return (0.0, 0.0, 0.0)
    axes = [[float(direction[i][j]) for i in range(3)] for j in (2, 1, 0)]
    return tuple(sum(a * g for a, g in zip(axis, gradient)) for axis in axes)  # type: ignore


def fsl_vectors(gradients: Sequence[Sequence[float] | None], direction: Any, affine_ras: Any
                ) -> list[tuple[float, float, float]]:
    """FSL ``.bvec`` columns for a rawdicom NIfTI (axes column, row, slice)."""
    import numpy as np
    nifti = np.asarray(affine_ras)[:3, [2, 1, 0]]
    flip = -1.0 if np.linalg.det(nifti) > 0 else 1.0
    out = []
    for g in gradients:
        x, y, z = image_frame(g, direction)
        out.append((flip * x + 0.0, y + 0.0, z + 0.0))
    return out


def write_fsl(stem: str | Path, b_values: Sequence[float | None],
              vectors: Sequence[Sequence[float]]) -> tuple[Path, Path]:
    """``stem.bval`` (one line) and ``stem.bvec`` (three lines: x, y, z)."""
    stem = Path(stem)
    bval = stem.with_name(stem.name + ".bval")
    bvec = stem.with_name(stem.name + ".bvec")
    bval.write_text(" ".join(f"{(b or 0.0):g}" for b in b_values) + "\n")
    bvec.write_text("".join(" ".join(f"{v[axis]:.6g}" for v in vectors) + "\n"
                            for axis in range(3)))
    return bval, bvec
