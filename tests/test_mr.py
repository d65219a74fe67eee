"""MR series: 4-D stacks, mosaics, diffusion, echoes and image kinds, enhanced MR dimensions.

On files the writer makes (tests/mr_builders.py) and on every MR file of pydicom's test data.
The comparisons with dcm2niix and nibabel are in test_mr_dcm2niix.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import rawdicom
from mr_builders import (DIRECTIONS, OBLIQUE, diffusion_extra, dwi_scheme, enhanced_mr,
                         strip_private_creators, tile, write_4d, write_dwi, write_mosaics)
from rawdicom.model.fourd import MRStack, Volume4D
from rawdicom.vendor.fields import ge_b_value


def stacks_of(folder: Path):
    coll = rawdicom.scan(folder, workers=1)
    [series] = coll.patients[0].studies[0].series
    return series.stacks()


# ---------------------------------------------------------------- 4-D

def test_ten_time_points_ordered_by_acquisition_not_instance_number(tmp_path):
    write_4d(tmp_path, slices=4, volumes=10, reversed_numbers=True)
    [stack] = stacks_of(tmp_path)
    assert isinstance(stack, MRStack) and len(stack.volumes) == 10
    volume = stack.volume()
    assert isinstance(volume, Volume4D) and volume.shape == (10, 4, 8, 8)
    for t in range(10):
        for k in range(4):
            assert (volume.array[t, k] == tile(t, k)).all()
    assert volume.labels["acquisition_number"] == list(range(1, 11))
    assert volume.geometry.shape == (4, 8, 8) and not stack.diagnostics


def _volume_by_volume(stack: MRStack) -> np.ndarray:
    """The slow path: each time point as its own Stack, its own geometry and read."""
    from rawdicom.model.stacks import Stack
    return np.stack([Stack(v, stack.key, stack.reason).volume().array for v in stack.volumes])


def test_time_points_read_straight_into_the_4d_array_equal_volume_by_volume(tmp_path):
    # each volume its own rescale: the straight read applies each file's own
    write_4d(tmp_path, slices=5, volumes=6,
             per_volume=lambda t: {"RescaleSlope": 1 + t % 2, "RescaleIntercept": -t})
    [stack] = stacks_of(tmp_path)
    from rawdicom.model.stacks import Stack
    first = Stack(stack.volumes[0], stack.key, "").volume()
    assert stack._same_grid(first) == {1, 2, 3, 4, 5}  # every later one read straight
    volume = stack.volume()
    assert volume.shape == (6, 5, 8, 8) and not volume.diagnostics
    assert np.array_equal(volume.array, _volume_by_volume(stack))
    assert volume.array.dtype == _volume_by_volume(stack).dtype


def test_a_time_point_off_the_first_grid_is_read_on_its_own(tmp_path):
    # volume 3 lies 0.001 mm off (within tolerance: the same stack) -> the checked path
    write_4d(tmp_path, slices=4, volumes=5)
    [stack] = stacks_of(tmp_path)
    moved = stack.volumes[3][1]
    x, y, z = moved.get("image_position_patient")
    moved.record["image_position_patient"] = (x + 0.001, y, z)
    first = stack.volumes[0]
    from rawdicom.model.stacks import Stack
    same = stack._same_grid(Stack(first, stack.key, "").volume())
    assert same == {1, 2, 4}
    assert np.array_equal(stack.volume().array, _volume_by_volume(stack))


def test_an_unreadable_time_point_file_is_filled_and_named_as_volume_by_volume(tmp_path):
    paths = write_4d(tmp_path, slices=4, volumes=5)
    [stack] = stacks_of(tmp_path)
    broken = stack.volumes[2][1].path
    size = Path(broken).stat().st_size
    with open(broken, "r+b") as f:
        f.truncate(size - 20)
    with pytest.warns(rawdicom.DicomWarning, match="could not be read"):
        volume = stack.volume()
    with pytest.warns(rawdicom.DicomWarning):
        expected = _volume_by_volume(stack)
    assert np.array_equal(volume.array, expected)
    assert (volume.array[2, volume.geometry.slice_index[1]] == np.iinfo(np.int16).min).all()
    [diag] = [d for d in volume.diagnostics if d.kind == "unreadable"]
    assert diag.slices == (1,) and str(broken) in diag.message and len(paths) == 20


def test_time_points_told_apart_by_acquisition_time_only(tmp_path):
    write_4d(tmp_path, slices=3, volumes=5, extra={"AcquisitionNumber": None})
    [stack] = stacks_of(tmp_path)
    volume = stack.volume()
    assert volume.shape == (5, 3, 8, 8)
    assert all((volume.array[t, 0] == tile(t, 0)).all() for t in range(5))
    assert volume.labels["acquisition_time"][0] < volume.labels["acquisition_time"][-1]


def test_trigger_times_are_the_fourth_axis(tmp_path):
    write_4d(tmp_path, slices=2, volumes=6,
             per_volume=lambda t: {"TriggerTime": 40.0 * t, "AcquisitionNumber": 1})
    [stack] = stacks_of(tmp_path)
    volume = stack.volume()
    assert volume.labels["trigger_time"] == [40.0 * t for t in range(6)]


def test_missing_image_is_a_diagnostic_not_a_reshape(tmp_path):
    write_4d(tmp_path, slices=4, volumes=5, skip=[(2, 1)])
    stacks = stacks_of(tmp_path)
    four_d = stacks[0]
    kinds = [d.kind for d in four_d.diagnostics]
    assert "missing_images" in kinds
    assert any("missing images?" in d.message for d in four_d.diagnostics)
    volume = four_d.volume()
    assert volume.shape == (4, 4, 8, 8)  # the four complete volumes
    assert volume.labels["acquisition_number"] == [1, 2, 4, 5]
    assert [len(s) for s in stacks[1:]] == [3] and "missing images?" in stacks[1].reason


def test_missing_image_without_volume_keys(tmp_path):
    write_4d(tmp_path, slices=4, volumes=3, skip=[(1, 2)], extra={"AcquisitionNumber": None})
    [stack] = stacks_of(tmp_path)
    assert any(d.kind == "missing_images" for d in stack.diagnostics)
    with pytest.raises(ValueError, match="missing images"):
        stack.volume()


def test_a_duplicate_ct_slice_is_not_4d(tmp_path):
    from series_builders import axial_positions, write_series
    positions = axial_positions(5)
    write_series(tmp_path, positions + [positions[2]])
    [stack] = stacks_of(tmp_path)
    assert not isinstance(stack, MRStack)
    assert any(d.kind == "duplicate_position" for d in stack.diagnostics)


# ---------------------------------------------------------------- echoes, kinds, coils

def _merge(tmp_path: Path, parts: list[Path]) -> Path:
    out = tmp_path / "series"
    out.mkdir()
    for n, part in enumerate(parts):
        for path in part.iterdir():
            shutil.move(path, out / f"{n}_{path.name}")
    return out


def test_two_echoes_are_two_stacks_with_reasons(tmp_path):
    a = tmp_path / "a"
    b = tmp_path / "b"
    write_4d(a, slices=4, volumes=1, extra={"EchoNumbers": 1, "EchoTime": 10.0}, seed=1)
    write_4d(b, slices=4, volumes=1, extra={"EchoNumbers": 2, "EchoTime": 20.0}, seed=2)
    stacks = stacks_of(_merge(tmp_path, [a, b]))
    assert [len(s) for s in stacks] == [4, 4]
    assert {s.reason.split(",")[0] for s in stacks} == {
        "echo_numbers 1 (other stacks: 2)", "echo_numbers 2 (other stacks: 1)"}
    assert all(s.volume().shape == (4, 8, 8) for s in stacks)


@pytest.mark.parametrize("kind", ["image_type", "ge", "coil"])
def test_phase_real_imaginary_and_coils_apart(tmp_path, kind):
    parts = []
    for n, value in enumerate(["M", "P", "R", "I"] if kind != "coil" else ["H1", "H2"]):
        extra = {"AcquisitionNumber": 1}
        if kind == "image_type":
            extra["ImageType"] = ["ORIGINAL", "PRIMARY", value, "ND"]
        elif kind == "ge":
            extra.update({0x00430010: ("LO", "GEMS_PARM_01"),
                          0x0043102F: ("SS", "MPRI".index(value))})
        else:
            extra.update({0x00510010: ("LO", "SIEMENS MR HEADER"), 0x0051100F: ("LO", value)})
        parts.append(tmp_path / value)
        write_4d(parts[-1], slices=3, volumes=1, extra=extra, seed=n)
    stacks = stacks_of(_merge(tmp_path, parts))
    assert len(stacks) == len(parts) and all(len(s) == 3 for s in stacks)
    key = {"image_type": "image_type", "ge": "vendor_image_kind", "coil": "coil"}[kind]
    assert all(s.reason.startswith(key) for s in stacks), [s.reason for s in stacks]


def test_trace_images_set_apart_from_the_diffusion_volumes(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    write_dwi(a, "standard")
    write_4d(b, slices=3, volumes=1, seed=9, extra={
        "ImageType": ["DERIVED", "PRIMARY", "DIFFUSION", "TRACEW"],
        "DiffusionBValue": ("FD", 1000.0), "AcquisitionNumber": 20})
    stacks = stacks_of(_merge(tmp_path, [a, b]))
    assert [len(s) for s in stacks] == [21, 3]
    assert "TRACEW" in stacks[1].reason and stacks[0].volume().shape == (7, 3, 8, 8)


# ---------------------------------------------------------------- diffusion

def test_philips_isotropic_volume_set_apart(tmp_path):
    scheme = dwi_scheme() + [(1000.0, None)]  # the trace Philips appends, same Image Type
    write_4d(tmp_path, slices=3, volumes=8,
             per_volume=lambda t: {**diffusion_extra("philips", *scheme[t]),
                                   "TemporalPositionIdentifier": t + 1})
    stacks = stacks_of(tmp_path)
    assert [len(s.volumes) for s in stacks] == [7, 1]
    assert stacks[1].reason.startswith("derived 'isotropic/trace")
    assert stacks[0].volume().b_values == [0.0] + [1000.0] * 6
    assert (stacks[1].volume().array[0, 0] == tile(7, 0)).all()


@pytest.mark.parametrize("vendor", ["standard", "siemens", "ge", "philips"])
def test_six_direction_diffusion_per_vendor(tmp_path, vendor):
    write_dwi(tmp_path / "in", vendor)
    [stack] = stacks_of(tmp_path / "in")
    volume = stack.volume()
    assert volume.shape == (7, 3, 8, 8)
    assert volume.b_values == [0.0] + [1000.0] * 6
    assert volume.gradients[0] is None
    for g, truth in zip(volume.gradients[1:], DIRECTIONS):
        assert np.allclose(g, truth, atol=1e-5)
    # image frame: components along the (column, row, slice) axes
    r, c = np.array(OBLIQUE[:3]), np.array(OBLIQUE[3:])
    for g, truth in zip(volume.gradients_image_frame()[1:], DIRECTIONS):
        assert np.allclose(g, [np.dot(r, truth), np.dot(c, truth), np.dot(np.cross(r, c), truth)],
                           atol=1e-5)
    assert volume.labels["b_value"] == volume.b_values


def test_bval_bvec_files(tmp_path):
    pytest.importorskip("nibabel")
    write_dwi(tmp_path / "in", "siemens")
    volume = stacks_of(tmp_path / "in")[0].volume()
    path = volume.to_nifti(tmp_path / "dwi.nii.gz", bvals=True)
    import nibabel
    assert nibabel.load(path).shape == (8, 8, 3, 7)
    assert (tmp_path / "dwi.bval").read_text().split() == ["0"] + ["1000"] * 6
    bvec = np.loadtxt(tmp_path / "dwi.bvec")
    assert bvec.shape == (3, 7) and np.allclose(bvec[:, 0], 0)
    r = np.array(OBLIQUE[:3])
    # x is the column axis, negated (the NIfTI's determinant is positive: FSL's rule)
    assert np.allclose(bvec[0, 1:], [-np.dot(r, d) for d in DIRECTIONS], atol=1e-5)


def test_ge_b_value_offset():
    assert ge_b_value(1000001000.0) == 1000.0
    assert ge_b_value(1000000000.0) == 0.0
    assert ge_b_value(700.0) == 700.0


def test_standard_diffusion_in_enhanced_per_frame_groups(tmp_path):
    """(0018,9087)/(0018,9089) inside the per-frame MR Diffusion Sequence."""
    from rawdicom import Dataset
    from series_builders import ct_slice
    from mr_builders import ENHANCED_MR, positions
    base = ct_slice(modality="MR", sop_class_uid=ENHANCED_MR, position=None, orientation=None,
                    spacing=None, image_type=("ORIGINAL", "PRIMARY", "DIFFUSION", "NONE"))

    def item(**values):
        ds = Dataset()
        for k, v in values.items():
            ds.set(k, v)
        return ds
    shared = item(PixelMeasuresSequence=[item(PixelSpacing=[2.0, 2.0], SliceThickness=3.0)],
                  PlaneOrientationSequence=[item(ImageOrientationPatient=list(OBLIQUE))])
    frames, data = [], []
    pos = positions(3)
    for t, (b, g) in enumerate(dwi_scheme()):
        for k in range(3):
            diff = item(DiffusionBValue=b, DiffusionDirectionality="DIRECTIONAL" if g else "NONE")
            if g:
                diff.set("DiffusionGradientDirectionSequence",
                         [item(DiffusionGradientOrientation=list(g))])
            frames.append(item(
                FrameContentSequence=[item(DimensionIndexValues=[k + 1, t + 1],
                                           InStackPositionNumber=k + 1, StackID="1")],
                PlanePositionSequence=[item(ImagePositionPatient=pos[k])],
                MRDiffusionSequence=[diff]))
            data.append(tile(t, k).tobytes())
    base.set("NumberOfFrames", len(frames))
    base.set("SharedFunctionalGroupsSequence", [shared])
    base.set("PerFrameFunctionalGroupsSequence", frames)
    base.set("PixelData", b"".join(data), "OW")
    (tmp_path / "in").mkdir()
    rawdicom.write(base, tmp_path / "in" / "dwi.dcm")
    [stack] = stacks_of(tmp_path / "in")
    volume = stack.volume()
    assert volume.shape == (7, 3, 8, 8) and volume.b_values == [0.0] + [1000.0] * 6
    assert all((volume.array[t, k] == tile(t, k)).all() for t in range(7) for k in range(3))
    for g, truth in zip(volume.gradients[1:], DIRECTIONS):
        assert np.allclose(g, truth)


# ---------------------------------------------------------------- mosaics

def _mosaic_volume(tmp_path, **kw):
    paths, truth = write_mosaics(tmp_path / "in", **kw)
    [stack] = stacks_of(tmp_path / "in")
    return stack, truth


@pytest.mark.parametrize("count_in", [("0019",), ("csa",), ("protocol",)])
@pytest.mark.parametrize("descending", [False, True])
def test_mosaic_3x3_count_sources_and_order(tmp_path, count_in, descending):
    stack, truth = _mosaic_volume(tmp_path, count=9, count_in=count_in, descending=descending)
    volume = stack.volume()
    assert volume.shape == (9, 8, 8)
    order = range(9)[::-1] if descending else range(9)  # slice s is tile order[s]
    for s, k in enumerate(order):
        assert (volume.array[s] == tile(0, k)).all()
        world = volume.affine @ [s, 0, 0, 1]
        assert np.allclose(world[:3], truth[k], atol=1e-4)
    kinds = [d.kind for d in stack.diagnostics if d.kind.startswith("mosaic")]
    # a count found only in the protocol is said
    assert kinds == (["mosaic_count_from_protocol"] if count_in == ("protocol",) else [])


def test_mosaic_first_n_of_the_tiles(tmp_path):
    stack, truth = _mosaic_volume(tmp_path, count=7)  # 3x3 grid, 7 slices
    volume = stack.volume()
    assert volume.shape == (7, 8, 8)
    assert np.allclose(volume.origin, truth[0], atol=1e-4)


@pytest.mark.parametrize("descending", [False, True])
def test_mosaic_direction_from_the_protocol(tmp_path, descending):
    stack, truth = _mosaic_volume(tmp_path, count=9, normal_in="protocol", descending=descending)
    volume = stack.volume()
    order = range(9)[::-1] if descending else range(9)
    for s, k in enumerate(order):
        assert (volume.array[s] == tile(0, k)).all()
        assert np.allclose((volume.affine @ [s, 0, 0, 1])[:3], truth[k], atol=1e-4)
    assert not [d for d in stack.diagnostics if d.kind.startswith("mosaic")]


def test_mosaic_direction_unknown_is_said(tmp_path):
    stack, _ = _mosaic_volume(tmp_path, count=9, normal_in="none")
    assert "mosaic_slice_direction" in [d.kind for d in stack.diagnostics]


def test_mosaic_checked_against_protocol_positions(tmp_path):
    from mr_builders import mosaic_series_csa
    paths, truth = write_mosaics(tmp_path / "in", count=9, count_in=("0019", "csa", "protocol"))
    [stack] = stacks_of(tmp_path / "in")
    assert not [d for d in stack.diagnostics if d.kind == "mosaic_protocol_mismatch"]
    # the same file with a protocol 5 mm off
    ds = rawdicom.read(paths[0])
    shifted = [[p[0], p[1], p[2] + 5.0] for p in truth]
    ds.set(0x00291020, mosaic_series_csa(shifted, (0.0, 0.0, 1.0)), "OB")
    rawdicom.write(ds, paths[0])
    from rawdicom.model import mosaic
    mosaic.series_header.cache_clear()
    [stack] = stacks_of(tmp_path / "in")
    assert [d.kind for d in stack.diagnostics] == ["mosaic_protocol_mismatch"]


def test_mosaic_without_any_count_stays_2d(tmp_path):
    stack, _ = _mosaic_volume(tmp_path, count=9, count_in=())
    assert [d.kind for d in stack.diagnostics if d.kind.startswith("mosaic")] == [
        "mosaic_without_count"]
    assert "mosaic without NumberOfImagesInMosaic" in str(stack.diagnostics)
    assert stack.geometry.shape == (1, 24, 24)


def test_mosaic_with_undecodable_geometry_values_stays_whole(tmp_path):
    """A Pixel Spacing or Spacing Between Slices that is no number (DS '0.5 mm' stays text,
    with a warning) leaves the mosaic uncut instead of raising a bare ValueError."""
    paths, _ = write_mosaics(tmp_path / "in", count=9)
    for path in paths:
        ds = rawdicom.read(path)
        ds.set("PixelSpacing", b"0.5 mm\\0.5 ", "DS")
        rawdicom.write(ds, path)
    [stack] = stacks_of(tmp_path / "in")  # scan keeps the reader's warning in problems
    first = stack.instances[0]
    assert "0.5 mm" in first.pixel_spacing
    assert first.get("mosaic_tile") is None  # not cut: no usable spacing


def test_mosaic_time_series_and_diffusion(tmp_path):
    paths, _ = write_mosaics(tmp_path / "in", count=9, volumes=7, diffusion=dwi_scheme())
    [stack] = stacks_of(tmp_path / "in")
    volume = stack.volume()
    assert volume.shape == (7, 9, 8, 8)
    assert all((volume.array[t, k] == tile(t, k)).all() for t in range(7) for k in range(9))
    assert volume.b_values == [0.0] + [1000.0] * 6


def test_mosaic_record_fields(tmp_path):
    paths, _ = write_mosaics(tmp_path / "in", count=9)
    record = rawdicom.scan(paths[0], workers=1).instances[0].record
    assert record["mosaic_images"] == 9
    assert np.allclose(record["csa_slice_normal"], np.cross(OBLIQUE[:3], OBLIQUE[3:]))


# ---------------------------------------------------------------- enhanced MR

def test_enhanced_mr_two_stacks_and_a_temporal_dimension(tmp_path):
    enhanced_mr(tmp_path / "in" / "e.dcm", slices=3, times=4)
    stacks = stacks_of(tmp_path / "in")
    assert len(stacks) == 2 and all(isinstance(s, MRStack) for s in stacks)
    assert sorted(s.reason for s in stacks) == ["stack_id '1' (other stacks: '2')",
                                               "stack_id '2' (other stacks: '1')"]
    for s in stacks:
        stack_id = int(dict(s.key)["stack_id"])
        volume = s.volume()
        assert volume.shape == (4, 3, 8, 8)
        assert volume.labels["temporal_position"] == [1, 2, 3, 4]
        for t in range(4):
            for k in range(3):
                assert (volume.array[t, k] == tile(t, k + 10 * (stack_id - 1))).all()


def test_enhanced_mr_time_from_dimension_index_values_and_isotropic_apart(tmp_path):
    enhanced_mr(tmp_path / "in" / "e.dcm", slices=3, times=4, temporal_index=False,
                isotropic=True, reverse_frames=True)
    stacks = stacks_of(tmp_path / "in")
    four_d = [s for s in stacks if isinstance(s, MRStack)]
    iso = [s for s in stacks if s.reason.startswith("image_type DERIVED")]
    assert len(stacks) == 4 and len(iso) == 2 and all(len(s) == 3 for s in iso)
    assert all(s.reason.startswith("image_type DERIVED\\PRIMARY\\DIFFUSION\\ISOTROPIC")
               for s in iso)
    four_d = [s for s in four_d if s not in iso]
    assert len(four_d) == 2
    for s in four_d:
        stack_id = int(dict(s.key)["stack_id"])
        volume = s.volume()
        assert volume.shape == (4, 3, 8, 8)
        for t in range(4):
            for k in range(3):
                assert (volume.array[t, k] == tile(t, k + 10 * (stack_id - 1))).all()


# ---------------------------------------------------------------- pydicom's MR files

def _pydicom_mr_files() -> list[str]:
    data = pytest.importorskip("pydicom.data")
    out = []
    for path in data.get_testdata_files():
        try:
            ds = rawdicom.read(path, stop_before_pixels=True)
            if ds.get("Modality") == "MR":
                out.append(path)
        except (rawdicom.DicomError, OSError):
            continue
    return out


@pytest.mark.filterwarnings("ignore")
def test_every_pydicom_mr_file():
    """Each MR file of pydicom's test data: scanned, split, and where it has a grid, its
    volume's slices equal pydicom's pixel_array (modality values)."""
    pydicom = pytest.importorskip("pydicom")
    files = _pydicom_mr_files()
    assert len(files) >= 20
    from rawdicom.model.geometry import GeometryError
    built = 0
    for path in files:
        coll = rawdicom.scan(path, workers=1)
        if coll.failed:
            assert Path(path).name == "MR_truncated.dcm", coll.failed
            continue
        for series in coll.patients[0].studies[0].series:
            for stack in series.stacks():
                try:
                    volume = stack.volume(hounsfield=False)
                except (GeometryError, ValueError, NotImplementedError, rawdicom.DicomError):
                    continue
                ds = pydicom.dcmread(path)
                try:
                    reference = ds.pixel_array
                except Exception:  # a codec pydicom lacks here
                    continue
                array = volume.array if volume.array.ndim == 3 else volume.array.reshape(
                    -1, *volume.array.shape[-2:])
                if reference.ndim == 2:
                    reference = reference[None]
                assert array.shape[-2:] == reference.shape[-2:]
                frames = [inst.frame or 0 for inst in stack.instances]
                for slot, frame in zip(volume.geometry.slice_index, frames):
                    assert (array[slot] == reference[frame]).all(), path
                built += 1
    assert built >= 10


# ---------------------------------------------------------------- CSA without its creator

IMPLICIT_LE = "1.2.840.10008.1.2"


@pytest.mark.parametrize("syntax", [None, IMPLICIT_LE])
@pytest.mark.parametrize("count_in", [("csa",), ("protocol",)])
def test_mosaic_without_csa_creator(tmp_path, syntax, count_in):
    """(0029,0010) "SIEMENS CSA HEADER" stripped, (0029,1010)/(0029,1020) kept: the headers
    are recognised by their content and the mosaic is cut (it stayed 2-D before), with a
    diagnostic saying how; a count that only the protocol gives is said too."""
    paths, truth = write_mosaics(tmp_path / "in", count=9, volumes=3, count_in=count_in)
    strip_private_creators(paths, syntax)
    from rawdicom.model import mosaic
    mosaic.series_header.cache_clear()
    [stack] = stacks_of(tmp_path / "in")
    volume = stack.volume()
    assert volume.shape == (3, 9, 8, 8)
    for k in range(9):
        assert (volume.array[1, k] == tile(1, k)).all()
        assert np.allclose((volume.affine @ [k, 0, 0, 1])[:3], truth[k], atol=1e-4)
    kinds = sorted(d.kind for d in stack.diagnostics)
    expected = ["csa_without_creator"] + (["mosaic_count_from_protocol"]
                                          if count_in == ("protocol",) else [])
    assert kinds == expected, stack.diagnostics
    [note] = [d for d in stack.diagnostics if d.kind == "csa_without_creator"]
    assert "image header (0029,1010)" in note.message  # the slice normal's, in both cases
    assert ("series header" in note.message) == (count_in == ("protocol",))
    assert stack.instances[0].record["csa_without_creator"] == "(0029,1010)"


def test_mosaic_2d_when_csa_is_not_there_or_not_csa(tmp_path):
    """Without a creator, bytes in the CSA's place that are no CSA header are not read as one."""
    paths, _ = write_mosaics(tmp_path / "in", count=9, count_in=("csa",))
    ds = rawdicom.read(paths[0])
    del ds[0x00290010]
    ds.set(0x00291010, b"\0" * 64 + b"not a CSA header" * 8, "OB")
    rawdicom.write(ds, paths[0])
    [stack] = stacks_of(tmp_path / "in")
    assert [d.kind for d in stack.diagnostics if d.kind != "single_slice"] == \
        ["mosaic_without_count"]


# ---------------------------------------------------------------- header numbers out of range

@pytest.mark.parametrize("rows", [0, 8])
def test_mosaic_count_out_of_range_builds_nothing(tmp_path, rows):
    """A count of 2**31 (Rows 0: every grid 'divides' it) used to build slices until memory
    ran out; a count above MAX_SLICES, or more tiles than pixels, leaves the file 2-D."""
    paths, _ = write_mosaics(tmp_path / "in", count=9)
    ds = rawdicom.read(paths[0])
    ds.set(0x0019100A, 2**31 if rows == 0 else 1000, "UL")
    ds.set(0x00291010, b"", "OB")
    ds.Rows = rows
    rawdicom.write(ds, paths[0])
    [stack] = stacks_of(tmp_path / "in")
    [diag] = [d for d in stack.diagnostics if d.kind != "single_slice"]
    assert diag.kind == "mosaic_not_cut"
    assert ("outside 1..1024" in diag.message) if rows == 0 else (
        "8x24 not divisible into its 32x32 tile grid" in diag.message)


def test_mosaic_pixels_short_of_a_frame(tmp_path):
    paths, _ = write_mosaics(tmp_path / "in", count=9)
    ds = rawdicom.read(paths[0])
    ds.Rows = ds.Columns = 240   # 9 tiles of 80x80 claimed, 24x24 pixels present
    rawdicom.write(ds, paths[0])
    [stack] = stacks_of(tmp_path / "in")
    [diag] = [d for d in stack.diagnostics if d.kind != "single_slice"]
    assert diag.kind == "mosaic_not_cut" and "less than one 240x240 frame" in diag.message


def test_protocol_count_of_400_digits(tmp_path):
    from csa_builders import Spec, csa, protocol_text
    from rawdicom.model import mosaic
    paths, truth = write_mosaics(tmp_path / "in", count=9, count_in=("protocol",))
    ds = rawdicom.read(paths[0])
    lines = ["sSliceArray.lSize = " + "9" * 400, "sSliceArray.asSlice[0].sNormal.dTra = " +
             "9" * 400, "sSliceArray.asSlice[0].sPosition.dTra = 1e999"]
    ds.set(0x00291020, csa([Spec("MrPhoenixProtocol", "UN", [protocol_text(lines)])]), "OB")
    rawdicom.write(ds, paths[0])
    mosaic.series_header.cache_clear()
    [stack] = stacks_of(tmp_path / "in")
    [diag] = [d for d in stack.diagnostics if d.kind != "single_slice"]
    assert diag.kind == "mosaic_not_cut" and "outside 1..1024" in diag.message


@pytest.mark.parametrize("vendor", ["ge", "siemens", "philips"])
def test_diffusion_numbers_of_400_digits(tmp_path, vendor):
    """A b-value or gradient too large for a float is absent, with a problem in the record,
    never an OverflowError."""
    huge = "9" * 400

    def extra(t: int) -> dict:
        out = diffusion_extra(vendor, 1000.0, (1.0, 0.0, 0.0))
        if vendor == "ge":
            out[0x001910BB] = ("DS", huge[:16])       # a DS holds 16 characters: 1e16
            out[0x00431039] = ("IS", [huge, "8", "0", "0"])
        elif vendor == "siemens":
            out[0x0019100C] = ("IS", huge)
        else:
            out[0x20011003] = ("UN", b"\xff\xff\x7f\x7f")  # FLT_MAX is finite: kept
        return out
    write_4d(tmp_path / "in", slices=2, volumes=1, per_volume=extra)
    coll = rawdicom.scan(tmp_path / "in", workers=1)
    [stack] = coll.patients[0].studies[0].series[0].stacks()
    inst = stack.instances[0]
    if vendor == "philips":
        assert inst.get("vendor_b_value") == pytest.approx(3.4028235e38)
        return
    assert inst.get("vendor_b_value") is None
    assert any("no finite float" in p for p in inst.record["problems"]), inst.record["problems"]


def test_csa_element_of_another_vr_is_read_as_bytes():
    """(0029,1010) under its creator but written as LO: its bytes are parsed (and found to be
    no CSA header: a problem in the record), never a TypeError from parsing a str."""
    from builders import element, part10, txt
    from rawdicom.vendor.fields import vendor_fields
    body = (element(0x00290010, "LO", txt("SIEMENS CSA HEADER"))
            + element(0x00291010, "LO", txt("not a header")))
    problems: list[str] = []
    out = vendor_fields(rawdicom.read(part10(body)), ["ORIGINAL", "PRIMARY", "MOSAIC"], problems)
    assert out["mosaic_images"] is None
    assert problems and problems[0].startswith("CSA image header")


def test_peak_memory_of_a_4d_read_is_the_output_and_a_slice(tmp_path):
    # numpy reports its allocations to tracemalloc: the 4-D read makes no volume per time
    # point, no intermediate array (a deterministic count, no timing)
    import tracemalloc
    size = 128
    write_4d(tmp_path, slices=4, volumes=6, rows=size, columns=size,
             pixels=lambda t, k: np.full((size, size), t * 10 + k, np.int16))
    [stack] = stacks_of(tmp_path)
    stack.geometry  # the grid, computed before the count starts
    tracemalloc.start()
    try:
        volume = stack.volume(threads=2)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    slice_bytes = size * size * volume.array.itemsize
    assert volume.array.nbytes == 6 * 4 * slice_bytes
    assert peak <= volume.array.nbytes + slice_bytes + 64 * 1024, peak
    for t in range(6):
        assert set(np.unique(volume.array[t]).tolist()) == {t * 10 + k for k in range(4)}
