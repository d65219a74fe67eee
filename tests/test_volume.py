"""Volumes: pixels in place, per-slice rescale, dtype, filled and duplicate slices, resampling,
compressed and enhanced multi-frame input, memory, NIfTI."""

from __future__ import annotations

import math
import os
import tracemalloc
import warnings

import numpy as np
import pytest

import rawdicom
from pixel_builders import rle_frame
from rawdicom.model.volume import series_volume
from series_builders import axial_positions, ct_slice, enhanced_ct, normal_of, write_series
from volume_builders import nearest, stacks_of, world

RLE_LOSSLESS = "1.2.840.10008.1.2.5"


def twelve_bit(k, r, c):
    return (k * 97 + r * 13 + c) % 4096


TWELVE = {"BitsStored": 12, "HighBit": 11, "PixelRepresentation": 0}


def _stack(tmp_path, positions, **kw):
    write_series(tmp_path, positions, **kw)
    [stack] = stacks_of(tmp_path)
    return stack


def test_values_land_at_their_header_positions_in_the_smallest_exact_type(tmp_path):
    positions = axial_positions(5, spacing=2.5, origin=(-4, 9, 30))
    order = [2, 4, 0, 3, 1]  # files written out of order, numbered in that order
    write_series(tmp_path, [positions[k] for k in order], pixels=lambda k, r, c:
                 twelve_bit(order[k], r, c), extra=TWELVE, rows=6, columns=5,
                 spacing=(0.6, 0.9))
    [stack] = stacks_of(tmp_path)
    volume = stack.volume()
    assert volume.array.dtype == np.int16  # 0..4095 - 1024 fits int16 exactly
    assert volume.array.shape == (5, 6, 5)
    assert volume.diagnostics == [] and volume.filled_slices == ()
    for k in range(5):
        for r, c in [(0, 0), (5, 4), (2, 3)]:
            index = nearest(volume.affine,
                            np.array(positions[k]) + r * 0.6 * np.array([0, 1, 0])
                            + c * 0.9 * np.array([1, 0, 0]))
            assert index == (k, r, c)
            assert volume.array[index] == twelve_bit(k, r, c) - 1024
    assert volume.spacing == pytest.approx((2.5, 0.6, 0.9))
    assert volume.origin == pytest.approx(positions[0])
    assert volume.frame_of_reference_uid == stack.instances[0].frame_of_reference_uid
    stored = stack.volume(hounsfield=False)
    assert stored.array.dtype == np.uint16  # the stored type, which holds 0..4095
    assert stored.array[3, 2, 1] == twelve_bit(3, 2, 1)


def test_per_slice_rescale_integer_and_float(tmp_path):
    positions = axial_positions(3)
    slopes, intercepts = [1, 2, 3], [-1024, -2048, 0]
    stack = _stack(tmp_path / "int", positions, pixels=twelve_bit, extra=TWELVE,
                   per_slice=lambda k: {"slope": slopes[k], "intercept": intercepts[k]})
    volume = stack.volume()
    assert volume.array.dtype == np.int16  # -2048 .. 3*4095 fits int16
    for k in range(3):
        assert volume.array[k, 1, 2] == twelve_bit(k, 1, 2) * slopes[k] + intercepts[k]
    slopes = [0.5, 1.0, 2.25]
    stack = _stack(tmp_path / "float", positions, pixels=twelve_bit, extra=TWELVE,
                   per_slice=lambda k: {"slope": slopes[k], "intercept": -1000.5})
    volume = stack.volume()
    assert volume.array.dtype == np.float32
    for k, inst in enumerate(stack.instances):
        expected = rawdicom.hounsfield(rawdicom.read(inst.path))  # float64, per file
        assert np.array_equal(volume.array[k], expected.astype(np.float32))


def test_unused_high_bits_are_cleared(tmp_path):
    stack = _stack(tmp_path, axial_positions(3), extra=TWELVE,
                   pixels=lambda k, r, c: 0x3000 | twelve_bit(k, r, c))
    volume = stack.volume(hounsfield=False)
    for k, inst in enumerate(stack.instances):
        assert np.array_equal(volume.array[k], rawdicom.pixel_array(rawdicom.read(inst.path)))
    assert volume.array.max() < 4096


def test_wide_rescaled_range_gets_a_wider_type(tmp_path):
    # 16-bit signed stored values, intercept -1024: -33792 .. 31743 needs int32
    volume = _stack(tmp_path, axial_positions(2)).volume()
    assert volume.array.dtype == np.int32
    assert volume.array[1, 2, 3] == (997 + 2 * 31 + 3) - 1024


def test_missing_slice_is_filled_and_named(tmp_path):
    positions = axial_positions(5)
    del positions[2]
    volume = _stack(tmp_path, positions, pixels=twelve_bit, extra=TWELVE).volume()
    assert volume.array.shape[0] == 5
    assert volume.filled_slices == (2,)
    assert (volume.array[2] == np.iinfo(np.int16).min).all()
    assert volume.array[3, 0, 0] == twelve_bit(2, 0, 0) - 1024  # file k=2 is at slice 3
    assert [d.kind for d in volume.diagnostics] == ["missing_slices"]
    assert _stack(tmp_path / "f", positions).volume(fill_value=-2000).array[2].max() == -2000


def test_duplicates_are_compared_when_the_volume_is_built(tmp_path):
    positions = axial_positions(3) + [axial_positions(3)[1]] * 2
    pixels = {3: lambda k, r, c: twelve_bit(1, r, c), 4: lambda k, r, c: 7}
    stack = _stack(tmp_path, positions, extra=TWELVE,
                   per_slice=lambda k: {"pixels": pixels.get(k, twelve_bit)})
    [d] = stack.diagnostics
    assert "pixels not compared" in d.message
    volume = stack.volume()
    [d] = volume.diagnostics
    assert d.kind == "duplicate_position" and len(d.slices) == 3
    assert "identical pixels" in d.message and "different pixels" in d.message
    assert volume.array.shape[0] == 3


def test_non_uniform_stack_is_refused_then_resampled(tmp_path):
    depths = [0.0, 2.0, 4.0, 7.0, 9.0, 11.0]
    # pixel values linear in z: linear interpolation along the normal is then exact
    stack = _stack(tmp_path, [(0, 0, z) for z in depths], extra=TWELVE,
                   per_slice=lambda k: {"pixels": lambda _k, r, c, z=depths[k]: int(10 * z) + r})
    with pytest.raises(ValueError, match="non_uniform_spacing"):
        stack.volume()
    volume = stack.volume(resample=True)
    assert volume.array.dtype == np.float32
    assert volume.spacing[0] == pytest.approx(11 / 6)  # the median gap, 2, fitted to 11 mm
    for t in range(volume.array.shape[0]):
        z = world(volume.affine, (t, 0, 0))[2]
        assert volume.array[t, 3, 0] == pytest.approx(10 * z + 3 - 1024, abs=1e-3)
    assert volume.diagnostics[-1].kind == "resampled"


def test_tilted_ct_resampled_onto_an_orthogonal_grid(tmp_path):
    # each slice 2 mm up and exactly one row (0.5 mm) posterior: tilt atan(0.25)
    positions = [(0.0, 0.5 * k, 2.0 * k) for k in range(5)]
    stack = _stack(tmp_path, positions, pixels=twelve_bit, extra=TWELVE, rows=10, columns=4)
    sheared = stack.volume()
    assert "gantry_tilt" in {d.kind for d in sheared.diagnostics}
    straight = stack.volume(resample=True)
    assert straight.affine[:3, 0] == pytest.approx([0, 0, 2.0])  # orthogonal now
    for t in range(5):
        for r in range(10):
            point = world(straight.affine, (t, r, 1))
            source = nearest(sheared.affine, point)
            value = straight.array[t, r, 1]
            if 0 <= source[1] < 10:
                assert source[0] == t
                assert value == sheared.array[source]
            else:
                assert math.isnan(value)  # outside the tilted slice: no data


def test_rle_compressed_series_decoded_in_threads(tmp_path):
    positions = axial_positions(6, spacing=1.5)
    for k, position in enumerate(positions):
        ds = ct_slice(position=position, k=k, pixels=twelve_bit, extra=TWELVE)
        stored = np.array([[twelve_bit(k, r, c) for c in range(8)] for r in range(8)],
                          dtype=np.int16)
        rawdicom.set_pixel_frames(ds, [rle_frame(stored)])
        rawdicom.write(ds, tmp_path / f"f{5 - k}", transfer_syntax=RLE_LOSSLESS)
    [stack] = stacks_of(tmp_path)
    assert stack.instances[0].transfer_syntax_uid == RLE_LOSSLESS
    one = stack.volume(threads=1)
    many = stack.volume(threads=4)
    assert np.array_equal(one.array, many.array)
    assert one.array[4, 3, 2] == twelve_bit(4, 3, 2) - 1024


def test_enhanced_multi_frame_ct_frames_fill_the_volume(tmp_path):
    positions = axial_positions(5, spacing=1.25, origin=(0, 0, -10))
    shuffled = [positions[k] for k in (3, 0, 4, 2, 1)]
    slopes = [1.0, 2.0, 1.0, 3.0, 1.0]
    path = enhanced_ct(tmp_path / "enhanced", shuffled, slopes=slopes, spacing=(0.4, 0.6))
    [stack] = stacks_of(tmp_path)
    assert [i.frame for i in stack.instances] == [1, 4, 3, 0, 2]
    volume = stack.volume()
    assert volume.array.dtype == np.int32
    assert volume.spacing == pytest.approx((1.25, 0.4, 0.6))
    ds = rawdicom.read(path)
    for slot, frame in enumerate([1, 4, 3, 0, 2]):
        expected = rawdicom.hounsfield(ds, frame=frame)
        assert np.array_equal(volume.array[slot], expected)


def test_one_bad_file_does_not_abort_the_volume(tmp_path):
    paths = write_series(tmp_path, axial_positions(4), pixels=twelve_bit, extra=TWELVE)
    [stack] = stacks_of(tmp_path)
    size = os.path.getsize(paths[2])
    with open(paths[2], "r+b") as f:
        f.truncate(size - 20)
    with pytest.warns(rawdicom.DicomWarning, match="could not be read"):
        volume = stack.volume()
    assert volume.filled_slices == (2,)
    [d] = volume.diagnostics
    assert d.kind == "unreadable" and d.slices == (2,)
    assert volume.array[3, 1, 1] == twelve_bit(3, 1, 1) - 1024


@pytest.mark.parametrize("slope", [1.0, 0.5])
def test_peak_memory_is_the_volume_plus_a_constant(tmp_path, slope):
    n, size = 48, 192
    write_series(tmp_path, axial_positions(n), rows=size, columns=size, extra=TWELVE,
                 pixels=np.zeros((size, size), dtype=np.uint16), slope=slope)
    [stack] = stacks_of(tmp_path)
    stack.geometry  # headers are not the volume's cost
    tracemalloc.start()
    try:
        volume = stack.volume(threads=2)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    constant = 2 * 8 * size * size * 3  # per thread: a slice of stored values and a float64 one
    assert peak <= 1.2 * volume.array.nbytes + constant + 256 * 1024, (peak, volume.array.nbytes)


def test_to_nifti_places_voxels_where_we_do(tmp_path):
    nibabel = pytest.importorskip("nibabel")
    a = math.radians(25)
    orientation = (math.cos(a), 0.0, -math.sin(a), 0.0, 1.0, 0.0)
    positions = axial_positions(4, spacing=1.5, origin=(5, 6, 7), normal=normal_of(orientation))
    stack = _stack(tmp_path / "s", positions, orientation=orientation, spacing=(0.5, 0.75),
                   rows=6, columns=5, pixels=twelve_bit, extra=TWELVE)
    volume = stack.volume()
    path = volume.to_nifti(tmp_path / "v.nii")
    image = nibabel.load(path)
    data = np.asanyarray(image.dataobj)
    assert data.shape == (5, 6, 4)
    assert int(image.header["sform_code"]) == 1 and int(image.header["qform_code"]) == 1
    for i, j, k in [(0, 0, 0), (4, 5, 3), (2, 1, 2)]:
        ras = world(image.affine, (i, j, k))
        lps = ras * np.array([-1, -1, 1])
        assert nearest(volume.affine, lps) == (k, j, i)
        assert data[i, j, k] == volume.array[k, j, i]


def test_series_volume_takes_the_largest_regular_stack_and_says_what_it_left(tmp_path):
    positions = axial_positions(5) + [(0.0, 0.0, 0.0)]
    write_series(tmp_path, positions, per_slice=lambda k: {"image_type": (
        "ORIGINAL", "PRIMARY", "LOCALIZER")} if k == 5 else {})
    [series] = [s for p in rawdicom.scan(tmp_path, workers=1).patients for st in p.studies
                for s in st.series]
    with pytest.warns(rawdicom.DicomWarning, match=r"left out: 1 image\(s\) with image_type "
                      r"ORIGINAL\\PRIMARY\\LOCALIZER"):
        volume = series.volume()
    assert volume.array.shape[0] == 5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        series_volume(series.stacks()[:1])


def test_volume_is_served_lazily_by_rawdicom():
    from rawdicom.model.volume import Volume
    assert rawdicom.Volume is Volume


def test_to_nifti_of_a_tilted_volume_keeps_the_shear_in_the_sform(tmp_path):
    nibabel = pytest.importorskip("nibabel")
    positions = [(0.0, 0.5 * k, 2.0 * k) for k in range(4)]
    volume = _stack(tmp_path / "s", positions, pixels=twelve_bit, extra=TWELVE).volume()
    image = nibabel.load(volume.to_nifti(tmp_path / "t.nii.gz"))
    assert int(image.header["qform_code"]) == 0  # a quaternion cannot shear
    assert int(image.header["sform_code"]) == 1
    for k, p in enumerate(positions):
        ras = world(image.header.get_sform(), (0, 0, k))
        assert ras * np.array([-1, -1, 1]) == pytest.approx(p, abs=1e-4)


def test_compressed_enhanced_ct_decoded_once_frames_in_parallel(tmp_path, monkeypatch):
    positions = axial_positions(7, spacing=1.5)
    native = enhanced_ct(tmp_path / "n" / "x", positions[::-1], slopes=[1, 2, 1, 2, 1, 2, 1],
                         pixels=None)
    ds = rawdicom.read(native)
    frames = rawdicom.pixel_array(ds)
    rawdicom.set_pixel_frames(ds, [rle_frame(f) for f in frames])
    (tmp_path / "c").mkdir()
    rawdicom.write(ds, tmp_path / "c" / "x", transfer_syntax=RLE_LOSSLESS)
    [plain] = stacks_of(tmp_path / "n")
    [packed] = stacks_of(tmp_path / "c")
    reads = []
    real_read = rawdicom.read
    monkeypatch.setattr(rawdicom, "read", lambda *a, **k: reads.append(a) or real_read(*a, **k))
    for threads in (1, 3):
        reads.clear()
        volume = packed.volume(threads=threads)
        assert len(reads) == 1  # the file is read once, whatever the threads
        assert np.array_equal(volume.array, plain.volume().array)


def test_resample_interpolates_a_missing_slice(tmp_path):
    depths = [0.0, 2.0, 6.0, 8.0]  # z = 4 missing
    stack = _stack(tmp_path, [(0, 0, z) for z in depths], extra=TWELVE,
                   per_slice=lambda k: {"pixels": lambda _k, r, c, z=depths[k]: int(10 * z) + c})
    assert stack.volume().filled_slices == (2,)
    volume = stack.volume(resample=True)
    assert volume.array.shape[0] == 5 and volume.filled_slices == ()
    assert volume.array[2, 0, 3] == pytest.approx(40 + 3 - 1024)


def test_resample_puts_a_drifting_slice_back_in_place(tmp_path):
    # slice 2 is one column (0.5 mm) to the left of the others: in-plane drift
    positions = [(0.0, 0.0, 0.0), (0.0, 0.0, 2.0), (0.5, 0.0, 4.0), (0.0, 0.0, 6.0)]
    stack = _stack(tmp_path, positions, pixels=twelve_bit, extra=TWELVE)
    assert "in_plane_drift" in {d.kind for d in stack.diagnostics}
    with pytest.raises(ValueError, match="in_plane_drift"):
        stack.volume()
    volume = stack.volume(resample=True)
    assert volume.array[1, 3, 4] == twelve_bit(1, 3, 4) - 1024
    assert volume.array[2, 3, 4] == twelve_bit(2, 3, 3) - 1024  # its column 3 is at x = 2 mm
    assert math.isnan(volume.array[2, 3, 0])  # left of the drifted slice: no data
    assert world(volume.affine, (2, 3, 4)) == pytest.approx([2.0, 1.5, 4.0])


def test_every_pydicom_test_file_gives_a_volume_or_a_stated_refusal():
    pydicom_data = pytest.importorskip("pydicom.data")
    from rawdicom.model.stacks import split_stacks
    root = os.path.join(os.path.dirname(pydicom_data.__file__), "test_files")
    built = refused = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for stack in split_stacks(rawdicom.scan(root, workers=1).instances):
            try:
                volume = stack.volume()
            except (ValueError, rawdicom.DicomError):  # GeometryError is a ValueError
                refused += 1
                continue
            built += 1
            # 4-D stacks (issue 14: repeated positions, e.g. a cine) add a leading axis
            assert volume.array.shape[-3:] == stack.geometry.shape
    assert built > 10 and refused > 0
