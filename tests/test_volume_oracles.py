"""Volumes against independent implementations, at physical points, not by array layout.

For every voxel of the oracle's volume (the images are small: every voxel is sampled), the
world point the oracle gives it is mapped through the inverse of our affine; it must land
on a voxel centre of ours holding the same value. Oracles: SimpleITK's ImageSeriesReader
(ITK + GDCM, LPS) and dcm2niix (its NIfTI affine is RAS, read with nibabel). They skip
when missing and fail when CI is set.

Where an oracle is wrong the test says so and checks that ours follows the standard:
SimpleITK builds an orthogonal grid on a gantry-tilted CT (slices after the first are
placed off their Image Position (Patient)); dcm2niix writes one scale factor per NIfTI, so
an enhanced CT with per-frame Rescale Slope gets the first frame's slope everywhere;
SimpleITK reads two echoes of one series as one volume (SimpleITK#1185), and two images at
one position as two slices of a made-up grid (SimpleITK#2176). On unequal row
and column spacing (Pixel Spacing 0.5\0.8 on an oblique stack) both oracles are right, and
agree with us at every voxel: the case is kept to hold all three to it.
"""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import rawdicom
from pixel_builders import rle_frame
from series_builders import axial_positions, ct_slice, enhanced_ct, normal_of, write_series
from volume_builders import oracle, run_dcm2niix, stacks_of, voxel, world

TWELVE = {"BitsStored": 12, "HighBit": 11, "PixelRepresentation": 0, "Manufacturer": "GE"}


def twelve_bit(k, r, c):
    return (k * 97 + r * 13 + c) % 4096


def sitk_samples(folder: Path):
    """(LPS point, value) of every voxel of SimpleITK's volume of the series in ``folder``."""
    sitk = oracle("SimpleITK")
    sitk.ProcessObject_SetGlobalWarningDisplay(False)
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(folder)))
    image = reader.Execute()
    array = sitk.GetArrayFromImage(image)  # (z, y, x)
    return [(np.array(image.TransformIndexToPhysicalPoint((x, y, z))), array[z, y, x], z)
            for z, y, x in np.ndindex(array.shape)]


def nifti_samples(path: Path):
    """(LPS point, value) of every voxel of a NIfTI file (RAS affine, scaling applied)."""
    nibabel = oracle("nibabel")
    image = nibabel.load(path)
    data = image.get_fdata()
    return [(world(image.affine, index) * np.array([-1, -1, 1]), data[index], index[2])
            for index in np.ndindex(data.shape[:3])]


def disagreements(volume, samples, atol: float = 1e-3):
    """The samples whose point is no voxel centre of ours, or whose value differs."""
    out = []
    for point, value, their_slice in samples:
        index = voxel(volume.affine, point)
        rounded = np.rint(index).astype(int)
        inside = all(0 <= v < n for v, n in zip(rounded, volume.array.shape))
        if not (np.allclose(index, rounded, atol=atol) and inside):
            out.append((point, value, None, their_slice))
        elif volume.array[tuple(rounded)] != value:
            out.append((point, value, volume.array[tuple(rounded)], their_slice))
    return out


def _series(folder: Path, positions, **kw):
    extra = dict(TWELVE, **kw.pop("extra", {}))
    write_series(folder, positions, pixels=twelve_bit, extra=extra, **kw)
    [stack] = stacks_of(folder)
    return stack


CASES = {
    # instance numbers run against the geometry; shuffled extension-less names
    "axial": dict(positions=axial_positions(5, spacing=2.5, origin=(3, -4, 5))[::-1], rows=6,
                  columns=5),
    # oblique, rows != columns, and Pixel Spacing (row 0.5, column 0.8)
    "oblique_unequal_spacing": dict(
        positions=axial_positions(5, spacing=1.5, origin=(3, -4, 5), normal=normal_of(
            (math.cos(0.35), math.sin(0.35), 0.0, 0.0, 0.0, -1.0))),
        orientation=(math.cos(0.35), math.sin(0.35), 0.0, 0.0, 0.0, -1.0), spacing=(0.5, 0.8),
        rows=6, columns=5),
    # each slice its own Rescale Slope/Intercept: exact integers (int16), then float32
    "per_slice_rescale_integer": dict(
        positions=axial_positions(4), per_slice=lambda k: {
            "slope": [1, 2, 3, 1][k], "intercept": [-1024, -1024, 0, 5][k]}),
    "per_slice_rescale_float": dict(
        positions=axial_positions(4), per_slice=lambda k: {
            "slope": [0.5, 1.25, 2.0, 1.0][k], "intercept": -1000.5}),
    "sagittal_no_instance_numbers": dict(
        positions=axial_positions(4, spacing=3.0, normal=(1, 0, 0)), rows=7, columns=4,
        orientation=(0.0, 1.0, 0.0, 0.0, 0.0, -1.0), extra={"InstanceNumber": None}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_simpleitk_agrees_at_every_voxel(tmp_path, case):
    stack = _series(tmp_path / "s", **CASES[case])
    samples = sitk_samples(tmp_path / "s")
    assert len(samples) == stack.volume().array.size
    assert disagreements(stack.volume(), samples) == []


@pytest.mark.parametrize("case", sorted(CASES))
def test_dcm2niix_agrees_at_every_voxel(tmp_path, case):
    stack = _series(tmp_path / "s", **CASES[case])
    [nifti] = run_dcm2niix(tmp_path / "s", tmp_path / "out")
    volume = stack.volume()
    assert disagreements(volume, nifti_samples(nifti)) == []
    ours = volume.to_nifti(tmp_path / "ours.nii")  # and our NIfTI agrees with our volume
    assert disagreements(volume, nifti_samples(ours)) == []


def _tilted(tmp_path):
    # each slice 2 mm up and one row (0.5 mm) posterior: atan(0.25) = 14.04 degrees
    positions = [(0.0, 0.5 * k, 2.0 * k) for k in range(5)]
    return positions, _series(tmp_path / "s", positions, rows=10, columns=4,
                              extra={"GantryDetectorTilt": 14.036})


def test_gantry_tilt_simpleitk_forces_an_orthogonal_grid_we_do_not(tmp_path):
    positions, stack = _tilted(tmp_path)
    volume = stack.volume()
    for k, p in enumerate(positions):  # ours: every slice where its header says
        assert world(volume.affine, (k, 0, 0)) == pytest.approx(p, abs=1e-9)
    wrong = disagreements(volume, sitk_samples(tmp_path / "s"))
    # SimpleITK: the first slice is right, every later one is off its header position
    assert wrong and {s for _, _, _, s in wrong} == {1, 2, 3, 4}
    sitk = oracle("SimpleITK")
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(tmp_path / "s")))
    image = reader.Execute()
    assert np.allclose(np.reshape(image.GetDirection(), (3, 3)), np.eye(3))
    off = np.array(image.TransformIndexToPhysicalPoint((0, 0, 4))) - np.array(positions[4])
    assert np.linalg.norm(off) > 1.0  # the last slice is placed > 1 mm from where it is


def test_gantry_tilt_dcm2niix_agrees_with_the_sheared_and_the_resampled_volume(tmp_path):
    _, stack = _tilted(tmp_path)
    files = run_dcm2niix(tmp_path / "s", tmp_path / "out")
    [plain] = [f for f in files if "Tilt" not in f.name]
    [corrected] = [f for f in files if "Tilt" in f.name]
    # dcm2niix keeps the sheared affine in its uncorrected output: exactly ours
    assert disagreements(stack.volume(), nifti_samples(plain)) == []
    # its tilt-corrected output is an orthogonal grid, as volume(resample=True); where
    # the tilted slices have no data we hold NaN and dcm2niix a pad value
    resampled = stack.volume(resample=True)
    wrong = disagreements(resampled, nifti_samples(corrected))
    assert wrong, "the corrected grid reaches beyond ours: some samples fall outside"
    for point, value, ours, _ in wrong:
        assert ours is None or math.isnan(ours)


def test_enhanced_ct_dcm2niix_has_one_slope_we_apply_each_frames(tmp_path):
    positions = axial_positions(5, spacing=1.25, origin=(0, 0, -10))
    order = (3, 0, 4, 2, 1)
    slopes = [1.0, 2.0, 1.0, 3.0, 1.0]  # per frame, in file order
    enhanced_ct(tmp_path / "e" / "x.dcm", [positions[k] for k in order], slopes=slopes,
                spacing=(0.4, 0.6), rows=6, columns=5, pixels=None)
    [stack] = stacks_of(tmp_path / "e")
    volume = stack.volume()
    [nifti] = run_dcm2niix(tmp_path / "e", tmp_path / "out")
    wrong = disagreements(volume, nifti_samples(nifti))
    assert all(ours is not None for _, _, ours, _ in wrong)  # the geometry agrees everywhere
    # the values differ exactly on the frames whose slope is not the first frame's
    differing = {positions[order[f]][2] for f, s in enumerate(slopes) if s != slopes[0]}
    assert {round(float(p[2]), 4) for p, _, _, _ in wrong} == differing


PYDICOM_SERIES = ["dicomdirtests/98892001/CT5N"]


@pytest.fixture
def pydicom_series(tmp_path, request):
    pydicom_data = pytest.importorskip("pydicom.data")
    source = Path(os.path.dirname(pydicom_data.__file__)) / "test_files" / request.param
    if not source.is_dir():
        pytest.skip(f"pydicom has no {request.param}")
    shutil.copytree(source, tmp_path / "s")
    return tmp_path / "s"


@pytest.mark.parametrize("pydicom_series", PYDICOM_SERIES, indirect=True)
def test_pydicom_series_against_both_oracles(tmp_path, pydicom_series):
    [stack] = stacks_of(pydicom_series)
    numbers = [i.instance_number for i in stack.instances]
    assert numbers == sorted(numbers, reverse=True)  # numbered against the geometry
    volume = stack.volume()
    assert disagreements(volume, sitk_samples(pydicom_series)) == []
    [nifti] = run_dcm2niix(pydicom_series, tmp_path / "out")
    assert disagreements(volume, nifti_samples(nifti)) == []


@pytest.mark.parametrize("pydicom_series", ["dicomdirtests/77654033/CT2"], indirect=True)
def test_pydicom_non_uniform_series(tmp_path, pydicom_series):
    # three slices 1.25 mm apart and one 202.5 mm away: no regular grid
    [stack] = stacks_of(pydicom_series)
    assert "non_uniform_spacing" in {d.kind for d in stack.diagnostics}
    with pytest.raises(ValueError, match="non_uniform_spacing"):
        stack.volume()
    # SimpleITK stacks the four slices on one grid anyway: most of them end up misplaced
    positions = [np.array(i.image_position_patient) for i in stack.instances]
    sitk = oracle("SimpleITK")
    sitk.ProcessObject_SetGlobalWarningDisplay(False)
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(pydicom_series)))
    image = reader.Execute()
    placed = [np.array(image.TransformIndexToPhysicalPoint((0, 0, z))) for z in range(4)]
    misplaced = [z for z in range(4)
                 if min(np.linalg.norm(placed[z] - p) for p in positions) > 0.2]
    assert misplaced
    resampled = stack.volume(resample=True)
    assert resampled.array.shape[0] == int(round(
        (positions[-1][2] - positions[0][2]) / 1.25)) + 1


def test_two_echoes_simpleitk_mixes_them_we_and_dcm2niix_split(tmp_path):
    def echo(k):
        return {"echo_number": 1 + k // 4, "extra": dict(TWELVE, EchoTime=10.0 * (1 + k // 4))}

    write_series(tmp_path / "s", axial_positions(4, spacing=2.0) * 2, modality="MR",
                 pixels=twelve_bit, per_slice=echo)
    stacks = stacks_of(tmp_path / "s")
    assert [len(s) for s in stacks] == [4, 4]
    assert stacks[1].reason.startswith("echo_numbers 2 (other stacks: 1)")
    # SimpleITK (SimpleITK#1185): all 8 files in one 8-slice volume, spacing made up
    sitk = oracle("SimpleITK")
    sitk.ProcessObject_SetGlobalWarningDisplay(False)
    reader = sitk.ImageSeriesReader()
    names = reader.GetGDCMSeriesFileNames(str(tmp_path / "s"))
    reader.SetFileNames(names)
    image = reader.Execute()
    assert len(names) == 8 and image.GetSize()[2] == 8
    assert image.GetSpacing()[2] == pytest.approx(6 / 7)  # 6 mm spread over 8 slices
    # dcm2niix splits by echo too: each of its volumes is one of our stacks, voxel by voxel
    files = run_dcm2niix(tmp_path / "s", tmp_path / "out")
    assert [f.name for f in files] == ["1_e1.nii", "1_e2.nii"]
    for stack, nifti in zip(stacks, files):
        assert disagreements(stack.volume(), nifti_samples(nifti)) == []


def test_enhanced_ct_simpleitk_agrees_with_one_shared_rescale(tmp_path):
    positions = axial_positions(4, spacing=2.0, origin=(1, 2, 3))
    enhanced_ct(tmp_path / "e" / "x.dcm", positions[::-1], spacing=(0.4, 0.6), rows=6,
                columns=5)
    [stack] = stacks_of(tmp_path / "e")
    sitk = oracle("SimpleITK")
    image = sitk.ReadImage(str(tmp_path / "e" / "x.dcm"))
    array = sitk.GetArrayFromImage(image)
    samples = [(np.array(image.TransformIndexToPhysicalPoint((x, y, z))), array[z, y, x], z)
               for z, y, x in np.ndindex(array.shape)]
    assert disagreements(stack.volume(), samples) == []


def test_rle_series_against_both_oracles(tmp_path):
    folder = tmp_path / "s"
    folder.mkdir()
    for k, position in enumerate(axial_positions(5, spacing=1.5, origin=(0, 0, 9))[::-1]):
        ds = ct_slice(position=position, k=k, pixels=twelve_bit, extra=TWELVE, rows=6,
                      columns=7, spacing=(0.5, 0.25))
        stored = np.array([[twelve_bit(k, r, c) for c in range(7)] for r in range(6)],
                          dtype=np.uint16)
        rawdicom.set_pixel_frames(ds, [rle_frame(stored)])
        rawdicom.write(ds, folder / f"x{k}", transfer_syntax="1.2.840.10008.1.2.5")
    [stack] = stacks_of(folder)
    volume = stack.volume(threads=3)
    assert disagreements(volume, sitk_samples(folder)) == []
    [nifti] = run_dcm2niix(folder, tmp_path / "out")
    assert disagreements(volume, nifti_samples(nifti)) == []


def test_duplicate_position_simpleitk_stacks_both_we_report_it(tmp_path):
    positions = axial_positions(4) + [axial_positions(4)[1]]
    stack = _series(tmp_path / "s", positions,
                    per_slice=lambda k: {"pixels": (lambda _k, r, c: 7) if k == 4 else None})
    volume = stack.volume()
    assert volume.array.shape[0] == 4
    [d] = volume.diagnostics
    assert d.kind == "duplicate_position" and "different pixels" in d.message
    # SimpleITK (SimpleITK#2176): five slices on a made-up grid; all but the first misplaced
    wrong = disagreements(volume, sitk_samples(tmp_path / "s"))
    assert {s for _, _, _, s in wrong} == {1, 2, 3, 4}
