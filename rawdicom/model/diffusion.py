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
  GE notes). With In-plane Phase Encoding Direction COL (the usual) X is the row direction,
  Y the *negated* column direction and Z the normal (row × column cosines): LPS = X·row −
  Y·column + Z·normal, the mapping dcm2niix applies (measured on generated files in
  tests/test_mr_dcm2niix.py: GE documents no sign). With ROW, X and Y swap axes (the
  phase component still negated): untested on real data, as in dcm2niix.
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

import math
from pathlib import Path
from typing import Any, Sequence

from .header_values import finite_floats

__all__ = ["b_value", "gradient_lps", "image_frame", "fsl_vectors", "write_fsl"]


def b_value(inst: Any) -> float | None:
    """The b-value (s/mm²) of an image: the standard's, else the vendor's, else None."""
    for name in ("diffusion_b_value", "vendor_b_value"):
        value = inst.get(name)
        if isinstance(value, (int, float)) and math.isfinite(value):
            return float(value)
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
    """The gradient direction of an image in patient LPS, or None (b=0, trace, unknown)."""
    standard = finite_floats(inst.get("diffusion_gradient_orientation"), 3)
    if standard is not None:
        return standard if any(abs(v) > 1e-6 for v in standard) else None
    vendor = finite_floats(inst.get("vendor_gradient"), 3)
    if vendor is None or not any(abs(v) > 1e-6 for v in vendor):
        return None
    if inst.get("vendor_gradient_frame") != "ge_logical":
        return vendor
    axes = _cosines(inst)
    if axes is None:
        return None
    r, c, n = axes
    frequency, phase = (c, r) if inst.get("in_plane_phase_encoding_direction") == "ROW" else (r, c)
    return tuple(vendor[0] * frequency[i] - vendor[1] * phase[i] + vendor[2] * n[i]
                 for i in range(3))  # type: ignore[return-value]


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
