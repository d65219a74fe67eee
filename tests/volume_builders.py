"""Helpers of the stack, geometry and volume tests: series to stacks, voxels to world points.

The series themselves come from ``series_builders`` (written with rawdicom's writer); here:
reading them back as stacks, the world point of a voxel through an affine and back, the
oracle tools (SimpleITK, dcm2niix) found or skipped — and in CI (``CI`` set) a missing
oracle is a failure, not a skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pytest

import rawdicom
from rawdicom.model.stacks import Stack, split_stacks


def stacks_of(folder: str | Path, **tolerances: Any) -> list[Stack]:
    """The stacks of every image under ``folder`` (one series, or several mixed)."""
    collection = rawdicom.scan(folder, workers=1)
    assert not collection.failed, collection.failed
    return split_stacks(collection.instances, **tolerances)


def world(affine: np.ndarray, index: Sequence[float]) -> np.ndarray:
    """The world point (mm) of a voxel index through a 4x4 affine."""
    return (affine @ np.append(np.asarray(index, dtype=np.float64), 1.0))[:3]


def voxel(affine: np.ndarray, point: Sequence[float]) -> np.ndarray:
    """The (fractional) voxel index of a world point through the inverse of ``affine``."""
    return (np.linalg.inv(affine) @ np.append(np.asarray(point, dtype=np.float64), 1.0))[:3]


def nearest(affine: np.ndarray, point: Sequence[float], atol: float = 1e-3) -> tuple[int, ...]:
    """The integer voxel at ``point``, asserting the point is (within ``atol``) a voxel centre."""
    index = voxel(affine, point)
    rounded = np.rint(index)
    assert np.allclose(index, rounded, atol=atol), (index, point)
    return tuple(int(v) for v in rounded)


def oracle(name: str) -> Any:
    """The oracle module or executable path; skip when missing, fail under CI."""
    if name == "dcm2niix":
        found = shutil.which("dcm2niix")
        if found:
            return found
    else:
        try:
            return __import__(name)
        except ImportError:
            pass
    if os.environ.get("CI"):
        pytest.fail(f"the oracle {name} is missing, and CI is set")
    pytest.skip(f"{name} is not installed")


def run_dcm2niix(folder: Path, out: Path, *extra: str) -> list[Path]:
    """dcm2niix on ``folder``: the NIfTI files it wrote (uncompressed, no BIDS sidecars)."""
    exe = oracle("dcm2niix")
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run([exe, "-z", "n", "-b", "n", "-f", "%s_%z", *extra, "-o", str(out),
                    str(folder)], check=True, capture_output=True, text=True)
    return sorted(out.glob("*.nii"))
