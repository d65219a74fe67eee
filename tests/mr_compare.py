"""Compare rawdicom's MR volumes with dcm2niix's NIfTI on the same folder, at physical points.

dcm2niix (the reference converter) writes NIfTI whose affine maps (i, j, k) to RAS; rawdicom's
Volume maps (slice, row, column) to LPS. For every voxel of dcm2niix's image, its world point
is mapped through the inverse of rawdicom's affine to a voxel index, and the two values must be
equal. b-values are compared as numbers, gradient directions as patient (LPS) vectors
recovered from each ``.bvec`` with FSL's rule (voxel axes, x negated when the affine's
determinant is positive), so the two files' different voxel orders do not matter.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

DCM2NIIX = shutil.which("dcm2niix")


def need(tool: str | None, name: str) -> None:
    """Skip without the tool, fail under CI (where it must be installed)."""
    if tool is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is required under CI")
        pytest.skip(f"{name} not installed")


def run_dcm2niix(folder: Path, out: Path) -> list[dict[str, Any]]:
    """dcm2niix's outputs for ``folder``: [{"nii": path, "image": nibabel image,
    "bval": [...] or None, "bvec": 3xN array or None}], one per NIfTI written."""
    need(DCM2NIIX, "dcm2niix")
    import nibabel
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run([DCM2NIIX, "-z", "n", "-b", "n", "-f", "%s_%e_%z", "-o", str(out),
                    str(folder)], check=True, capture_output=True)
    results = []
    for nii in sorted(out.glob("*.nii")):
        stem = nii.with_suffix("")
        bval = stem.with_name(stem.name + ".bval")
        bvec = stem.with_name(stem.name + ".bvec")
        results.append({
            "nii": nii, "image": nibabel.load(nii),
            "bval": [float(v) for v in bval.read_text().split()] if bval.exists() else None,
            "bvec": np.loadtxt(bvec).reshape(3, -1) if bvec.exists() else None})
    return results


def bvec_to_lps(bvec: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """FSL .bvec columns -> unit LPS vectors (N, 3), FSL's voxel-frame rule."""
    axes = affine[:3, :3] / np.linalg.norm(affine[:3, :3], axis=0)
    v = np.array(bvec, dtype=float).T.copy()
    if np.linalg.det(affine[:3, :3]) > 0:
        v[:, 0] = -v[:, 0]
    ras = v @ axes.T
    return ras * np.array([-1.0, -1.0, 1.0])


def same_at_points(volume: Any, image: Any) -> tuple[int, int]:
    """(voxels compared, voxels that differ) between a rawdicom Volume (3-D or 4-D) and a
    dcm2niix NIfTI image, at the same physical points."""
    theirs = np.asanyarray(image.dataobj)
    ours = volume.array if volume.array.ndim == 4 else volume.array[None]
    if theirs.ndim == 3:
        theirs = theirs[..., None]
    shape = theirs.shape[:3]
    ijk = np.stack(np.meshgrid(*[np.arange(n) for n in shape], indexing="ij"), -1).reshape(-1, 3)
    world = np.c_[ijk, np.ones(len(ijk))] @ image.affine.T  # RAS
    ours_nifti = volume.affine_ras
    index = np.rint(world @ np.linalg.inv(ours_nifti).T)[:, :3].astype(int)  # slice, row, col
    inside = np.all((index >= 0) & (index < ours.shape[1:]), axis=1)
    differ = int((~inside).sum()) * theirs.shape[3]
    a = theirs[ijk[inside, 0], ijk[inside, 1], ijk[inside, 2], :]  # (n, t)
    b = ours[:, index[inside, 0], index[inside, 1], index[inside, 2]].T
    if a.shape != b.shape:
        return a.size, a.size
    differ += int(np.count_nonzero(a != b))
    return a.size + int((~inside).sum()) * theirs.shape[3], differ
