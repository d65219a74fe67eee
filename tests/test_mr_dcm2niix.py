"""rawdicom's MR volumes against dcm2niix on the same folders (generated and nibabel's data).

Per series: the same number of volumes, the same value at every physical point, the same
b-values, the same gradient directions in the patient (each ``.bvec`` read with FSL's rule).
Known disagreements are asserted as such, with the reason, in the tests that meet them.
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest

import rawdicom
from mr_builders import enhanced_mr, write_4d, write_dwi, write_mosaics
from mr_compare import bvec_to_lps, need, run_dcm2niix, same_at_points

nibabel = pytest.importorskip("nibabel")


def our_volumes(folder: Path) -> list:
    coll = rawdicom.scan(folder, workers=1)
    return [stack.volume() for series in coll.patients[0].studies[0].series
            for stack in series.stacks()]


def check(folder: Path, tmp_path: Path, *, expect_bvals: bool = False) -> list:
    theirs = run_dcm2niix(folder, tmp_path / "dcm2niix")
    ours = our_volumes(folder)
    assert len(theirs) == len(ours), ([t["nii"].name for t in theirs], ours)
    ours.sort(key=lambda v: v.shape)
    theirs.sort(key=lambda t: (t["image"].shape[3] if len(t["image"].shape) == 4 else 1,))
    for volume, result in zip(ours, theirs):
        image = result["image"]
        volumes = image.shape[3] if len(image.shape) == 4 else 1
        assert (volume.shape[0] if volume.array.ndim == 4 else 1) == volumes
        compared, differ = same_at_points(volume, image)
        assert compared and differ == 0, (compared, differ)
        if expect_bvals:
            assert result["bval"] == pytest.approx(volume.b_values)
            lps = bvec_to_lps(result["bvec"], image.affine)
            for g, d in zip(volume.gradients, lps):
                assert np.allclose(g if g is not None else (0, 0, 0), d, atol=1e-4), (g, d)
            # our own .bvec read back with the same rule gives the same vectors
            out = volume.to_nifti(tmp_path / "ours.nii", bvals=True)
            mine = np.loadtxt(tmp_path / "ours.bvec").reshape(3, -1)
            assert np.allclose(bvec_to_lps(mine, nibabel.load(out).affine), lps, atol=1e-4)
            assert [float(v) for v in (tmp_path / "ours.bval").read_text().split()] == \
                pytest.approx(result["bval"])
    return ours


def test_fmri_10_time_points(tmp_path):
    write_4d(tmp_path / "in", slices=4, volumes=10)
    [volume] = check(tmp_path / "in", tmp_path)
    assert volume.shape == (10, 4, 8, 8)


@pytest.mark.parametrize("vendor", ["standard", "siemens", "ge", "philips"])
def test_diffusion_six_directions(tmp_path, vendor):
    write_dwi(tmp_path / "in", vendor)
    [volume] = check(tmp_path / "in", tmp_path, expect_bvals=True)
    assert volume.b_values == [0.0] + [1000.0] * 6


@pytest.mark.parametrize("descending", [False, True])
def test_mosaic(tmp_path, descending):
    write_mosaics(tmp_path / "in", count=9, volumes=3, descending=descending)
    [volume] = check(tmp_path / "in", tmp_path)
    assert volume.shape == (3, 9, 8, 8)


def test_mosaic_diffusion(tmp_path):
    from mr_builders import dwi_scheme
    write_mosaics(tmp_path / "in", count=7, volumes=7, diffusion=dwi_scheme())
    check(tmp_path / "in", tmp_path, expect_bvals=True)


def test_two_echoes(tmp_path):
    write_4d(tmp_path / "in", slices=4, volumes=1,
             extra={"EchoNumbers": 1, "EchoTime": 10.0}, seed=1)
    write_4d(tmp_path / "in2", slices=4, volumes=1,
             extra={"EchoNumbers": 2, "EchoTime": 20.0}, seed=2)
    for path in (tmp_path / "in2").iterdir():
        shutil.move(path, tmp_path / "in" / ("e2" + path.name))
    ours = check(tmp_path / "in", tmp_path)
    assert len(ours) == 2


def test_enhanced_mr_two_stacks_temporal(tmp_path):
    enhanced_mr(tmp_path / "in" / "enhanced.dcm", slices=3, times=4)
    theirs = run_dcm2niix(tmp_path / "in", tmp_path / "dcm2niix")
    ours = our_volumes(tmp_path / "in")
    assert sorted(v.shape for v in ours) == [(4, 3, 8, 8), (4, 3, 8, 8)]
    # dcm2niix: one NIfTI per stack, or one 4-D file of both stacks' frames: recorded
    for result in theirs:
        shape = result["image"].shape
        assert shape[:3] == (8, 8, 3) or shape[:3] == (8, 8, 6), shape


NICOM = Path(nibabel.__file__).parent / "nicom" / "tests" / "data"


@pytest.mark.parametrize("name", ["siemens_dwi_1000.dcm.gz", "siemens_dwi_0.dcm.gz", "0.dcm",
                                  "csa_slice_norm.dcm"])
def test_nibabel_siemens_files(tmp_path, name):
    source = NICOM / name
    if not source.exists():
        pytest.skip(f"{source} not in this nibabel")
    folder = tmp_path / "in"
    folder.mkdir()
    data = source.read_bytes()
    (folder / "image.dcm").write_bytes(gzip.decompress(data) if name.endswith(".gz") else data)
    need(shutil.which("dcm2niix"), "dcm2niix")
    theirs = run_dcm2niix(folder, tmp_path / "dcm2niix")
    ours = our_volumes(folder)
    assert len(ours) == len(theirs) == 1
    volume, result = ours[0], theirs[0]
    compared, differ = same_at_points(volume, result["image"])
    assert compared and differ == 0, (compared, differ)
    if result["bval"] is not None and volume.array.ndim == 4:
        assert result["bval"] == pytest.approx(volume.b_values)
