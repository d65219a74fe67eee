"""One test per class of defect the pipeline fuzzer (tools/fuzz_pipeline.py) found above the
reader: each builds the smallest series that shows it and fails without its fix.

Allocation tests run in a forked child under an address-space limit, so that a regression
ends in a MemoryError there, never in gigabytes taken from the machine running the tests.
"""

from __future__ import annotations

import os
import pickle
import resource
import sys
import warnings
from pathlib import Path
from typing import Any, Callable

import pytest

np = pytest.importorskip("numpy")

import rawdicom  # noqa: E402
import rawdicom.model.record  # noqa: E402
from rawdicom import LimitExceededError, PixelDataError  # noqa: E402
from rawdicom.model.geometry import GeometryError  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
import series_builders as sb  # noqa: E402


def in_child(fn: Callable[[], Any], memory: int = 768 << 20) -> tuple[str, str]:
    """Run ``fn`` in a forked child whose address space may grow by ``memory`` bytes;
    (exception class name or "ok", message)."""
    read_fd, write_fd = os.pipe()
    with open("/proc/self/status") as f:
        base = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read_fd)
        try:
            resource.setrlimit(resource.RLIMIT_AS, (base + memory, base + memory))
            warnings.simplefilter("ignore")
            fn()
            result = ("ok", "")
        except BaseException as exc:  # noqa: BLE001 - the outcome is the point
            result = (type(exc).__name__, str(exc)[:500])
        os.write(write_fd, pickle.dumps(result))
        os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as f:
        data = f.read()
    os.waitpid(pid, 0)
    return pickle.loads(data) if data else ("crash", "")


def scan(folder: Path) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return rawdicom.scan(folder, workers=1)


def edit(path: Path, **values: Any) -> None:
    """Rewrite a file with some attributes set (a (vr, value) tuple forces the VR)."""
    ds = rawdicom.read(path)
    for keyword, value in values.items():
        if isinstance(value, tuple):
            ds.set(keyword, value[1], value[0])
        else:
            ds.set(keyword, value)
    rawdicom.write(ds, path)


# -- sizes claimed by headers ---------------------------------------------------------------
def test_rows_and_columns_the_pixel_data_does_not_hold_are_refused_before_allocating(tmp_path):
    """Rows = Columns = 46,341 over three 128-byte slices once asked numpy for 24 GiB."""
    for path in sb.write_series(tmp_path, n=3):
        edit(path, Rows=46341, Columns=46341)
    [series] = scan(tmp_path).series
    kind, message = in_child(lambda: series.volume())
    assert kind == "PixelDataError", message
    assert "46341 x 46341" in message and "holds 128" in message
    kind, message = in_child(lambda: series.stacks()[0].volume(resample=True))
    assert kind == "PixelDataError", message


def test_one_file_short_of_its_claim_does_not_refuse_the_stack(tmp_path):
    """The check refuses a stack none of whose files holds its claim; one short file is
    left to the reading of its slice (which fills it, or, here, reads it after all)."""
    sb.write_series(tmp_path, n=3)
    records = scan(tmp_path).to_records()
    records[1]["pixel_data_length"] = 64
    [series] = rawdicom.Collection.from_records(records).series
    assert series.volume().array.shape == (3, 8, 8)


def test_a_resampled_grid_between_positions_far_apart_is_refused(tmp_path):
    """Four slices 2 mm apart and one 900 m away: a resampled grid of 450,000 slices (1e7 mm,
    the issue's example, is now beyond MAX_POSITION: that image has no position)."""
    sb.write_series(tmp_path, [(0, 0, 0), (0, 0, 2), (0, 0, 4), (0, 0, 6), (0, 0, 9e5)],
                    rows=64, columns=64)
    [series] = scan(tmp_path).series
    [stack] = series.stacks()
    kind, message = in_child(lambda: stack.volume(resample=True))
    assert kind == "LimitExceededError", message
    assert "Image Position (Patient)" in message


def test_a_grid_of_missing_slices_far_beyond_its_images_is_refused(tmp_path):
    """Regular positions 2 mm apart but one 2,000 mm on: 1,000 slices of fill for 5 images
    of 512 x 512 (the fill is fine for a few missing slices, not for a 200-fold grid)."""
    from rawdicom.model import allocation
    with pytest.raises(LimitExceededError, match="too far apart"):
        allocation.check_grid(1001, 5, 512 * 512 * 2, "stack")
    allocation.check_grid(165, 4, 128 * 128 * 4, "stack")  # pydicom's CT2, resampled: fine
    allocation.check_grid(12, 5, 512 * 512 * 2, "stack")


def test_an_array_beyond_the_limit_is_refused():
    from rawdicom.model import allocation
    limits = rawdicom.Limits(max_pixel_bytes=1 << 20)
    with pytest.raises(LimitExceededError, match="max_pixel_bytes"):
        allocation.check_bytes((5, 512, 512), 2, "stack", limits)
    allocation.check_bytes((1, 512, 512), 2, "stack", limits)


def test_a_4d_volume_takes_the_output_plus_a_slice(tmp_path):
    """Each time point is read into the 4-D array (it once took the output plus a 3-D
    volume per time point built apart, plus copies when their types differed)."""
    import tracemalloc

    import mr_builders
    mr_builders.write_4d(tmp_path, slices=16, volumes=8, rows=128, columns=128,
                         pixels=lambda t, k: np.full((128, 128), t * 16 + k, np.int16))
    [stack] = scan(tmp_path).series[0].stacks()
    expected = stack.volume(threads=1).array
    tracemalloc.start()
    try:
        volume = stack.volume(threads=1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert np.array_equal(volume.array, expected) and volume.array.shape == (8, 16, 128, 128)
    assert peak - volume.array.nbytes < 4 * volume.array[0, 0].nbytes, peak


# -- frames ---------------------------------------------------------------------------------
@pytest.mark.parametrize("frames", [b"nan", b"0", b"-1", b"abc"])
def test_number_of_frames_against_32_per_frame_items(tmp_path, frames):
    """NumberOfFrames "nan" once gave a TypeError in str(Collection), 0 or -1 an IndexError
    from the pixel layer out of volume()."""
    path = sb.enhanced_ct(tmp_path / "enhanced.dcm", sb.axial_positions(32))
    edit(path, NumberOfFrames=("IS", frames))
    collection = scan(tmp_path)
    assert "32 frames" in str(collection)
    [series] = collection.series
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            series.volume()
    except rawdicom.DicomError:
        pass


# -- several values where one is expected ------------------------------------------------
@pytest.mark.parametrize("keyword", ["Rows", "Columns", "BitsStored", "BitsAllocated",
                                     "SamplesPerPixel", "PixelRepresentation"])
def test_a_multi_valued_number_is_absent_with_a_note(tmp_path, keyword):
    """US [8, 8] where one value is expected once gave TypeErrors in geometry and volume
    (int() of a list, a list as a dict key); now it is absent, with a note."""
    for path in sb.write_series(tmp_path, n=3):
        edit(path, **{keyword: ("US", [8, 8])})
    collection = scan(tmp_path)
    str(collection)
    record = collection.instances[0].record
    assert record[rawdicom.model.record.snake_case(keyword)] is None
    assert any(f"{keyword}: 2 values where one is expected" in p for p in record["problems"])
    for stack in collection.series[0].stacks():
        stack.diagnostics
        try:
            stack.volume()
        except (rawdicom.DicomError, GeometryError):
            pass


@pytest.mark.parametrize("keyword", ["SamplesPerPixel", "Rows", "BitsAllocated"])
def test_a_count_written_as_text_is_absent_with_a_note(tmp_path, keyword):
    """Samples per Pixel written with VR UT ("1" or "abc") once reached convert as text,
    where sorting it with integers was a TypeError."""
    paths = sb.write_series(tmp_path / "in", n=3)
    edit(paths[0], **{keyword: ("UT", b"abc")})
    edit(paths[1], **{keyword: ("UT", b"1")})
    collection = scan(tmp_path / "in")
    key = rawdicom.model.record.snake_case(keyword)
    for instance in collection.instances:
        assert instance.record[key] is None or type(instance.record[key]) is int
    from rawdicom.convert import convert
    report = convert(tmp_path / "in", tmp_path / "out", engine="serial")
    str(report)


def test_a_count_written_as_a_float_is_absent_with_a_note(tmp_path):
    """Pixel Representation written as FD 1.0 once indexed a string with a float in
    volume.stored_dtype (a TypeError)."""
    paths = sb.write_series(tmp_path, n=2)
    edit(paths[0], PixelRepresentation=("FD", 1.0))
    collection = scan(tmp_path)
    assert {i.record["pixel_representation"] for i in collection.instances} == {None, 1}
    for stack in collection.series[0].stacks():
        try:
            stack.volume()
        except (rawdicom.DicomError, GeometryError):
            pass


def test_an_identifier_written_as_a_number_is_absent_with_a_note(tmp_path):
    """Study Instance UID written as FD once reached rawdicom tree as a float (len() of
    it: a TypeError, exit 3)."""
    paths = sb.write_series(tmp_path, n=2)
    edit(paths[0], StudyInstanceUID=("FD", 1.5))
    collection = scan(tmp_path)
    assert {i.record["study_instance_uid"] is None for i in collection.instances} \
        == {True, False}
    import subprocess
    result = subprocess.run([sys.executable, "-m", "rawdicom", "tree", str(tmp_path)],
                            capture_output=True, text=True, cwd=Path(__file__).parents[1])
    assert result.returncode == 0, result.stderr


def test_multi_valued_identifiers_and_text_are_text(tmp_path):
    """SOPInstanceUID "1.2\\1.3" once made organize fail (a list as a dict key); text
    attributes keep what the file wrote."""
    for path in sb.write_series(tmp_path / "in", n=2):
        edit(path, SOPInstanceUID=("UI", b"1.2\\1.3"), SeriesDescription=("LO", b"T1\\T2"))
    collection = scan(tmp_path / "in")
    assert {i.record["sop_instance_uid"] for i in collection.instances} == {"1.2\\1.3"}
    assert collection.series[0].series_description == "T1\\T2"
    report = rawdicom.organize(tmp_path / "in", tmp_path / "out", workers=1)
    assert report.ok


# -- numbers out of range ------------------------------------------------------------------
@pytest.mark.parametrize("kw", [
    dict(orientation=(1e308, 0, 0, 0, 1, 0)),
    dict(orientation=(1e300, 0, 0, 0, 1e300, 0)),
    dict(positions=[(0, 0, 0), (0, 0, 1e308), (0, 0, -1e308)]),
    dict(positions=[(0, 0, 0), (0, 0, 2), (1e300, 0, 4)]),
    dict(spacing=(1e308, 1e308)),
])
def test_huge_geometry_values_are_absent_never_a_nan_affine(tmp_path, kw):
    """Image Orientation (Patient) 1e308 once gave a NaN affine that the geometry called
    regular (then nibabel's HeaderDataError in to_nifti); positions 1e308 apart an overflow."""
    positions = kw.pop("positions", None) or sb.axial_positions(3)
    sb.write_series(tmp_path / "in", positions, **kw)
    for stack in scan(tmp_path / "in").series[0].stacks():
        try:
            geometry = stack.geometry
        except GeometryError as exc:
            assert exc.diagnostics and not stack.regular
            continue
        assert np.isfinite(geometry.affine).all()
        try:
            stack.volume().to_nifti(tmp_path / "v.nii")
        except (rawdicom.DicomError, GeometryError):
            pass


def test_a_huge_pixel_spacing_is_reported_and_replaced(tmp_path):
    sb.write_series(tmp_path, n=3, spacing=(1e308, 0.5))
    [stack] = scan(tmp_path).series[0].stacks()
    assert "missing_pixel_spacing" in stack.geometry.kinds()
    assert stack.geometry.spacing[1:] == (1.0, 1.0)


def test_a_volume_nifti_cannot_hold_is_a_limit_error(tmp_path):
    """A row of 40,000 pixels once ended in nibabel's HeaderDataError (dim[] is int16)."""
    sb.write_series(tmp_path / "in", n=2, rows=1, columns=40000,
                    pixels=np.zeros((1, 40000), np.int16))
    volume = scan(tmp_path / "in").series[0].volume()
    with pytest.raises(LimitExceededError, match="NIfTI-1 holds at most 32767"):
        volume.to_nifti(tmp_path / "v.nii")


# -- documented errors ----------------------------------------------------------------------
def test_an_irregular_stack_raises_geometry_error(tmp_path):
    sb.write_series(tmp_path, [(0, 0, 0), (0, 0, 2), (0, 0, 7)])
    [stack] = scan(tmp_path).series[0].stacks()
    with pytest.raises(GeometryError, match="no regular grid"):
        stack.volume()


def test_three_samples_the_pixel_data_does_not_hold_are_a_pixel_data_error(tmp_path):
    for path in sb.write_series(tmp_path, n=2):
        edit(path, SamplesPerPixel=3)
    [stack] = scan(tmp_path).series[0].stacks()
    with pytest.raises(PixelDataError, match="samples|Samples"):
        stack.volume()


@pytest.mark.parametrize("four_d", [False, True])
def test_a_huge_integral_rescale_writes_exact_int64_nifti(tmp_path, four_d):
    """A Rescale Slope of 1e12 makes the rescaled values 64-bit integers; nibabel refuses
    int64 data unless named, so to_nifti raised nibabel's ValueError (found by the pipeline
    fuzzer, seed 100 case 1216, on a 4-D series). Written as NIfTI INT64, values exact."""
    nibabel = pytest.importorskip("nibabel")
    import mr_builders
    if four_d:
        mr_builders.write_4d(tmp_path / "in", slices=3, volumes=2, rows=8, columns=8,
                             pixels=lambda t, k: np.full((8, 8), t * 3 + k + 1, np.int16))
    else:
        sb.write_series(tmp_path / "in", n=3, rows=8, columns=8)
    for path in (tmp_path / "in").rglob("*"):
        if path.is_file():
            edit(path, RescaleSlope=1e12, RescaleIntercept=0)
    [stack] = [s for s in scan(tmp_path / "in").series[0].stacks()]
    volume = stack.volume()
    assert volume.array.dtype == np.int64
    out = volume.to_nifti(tmp_path / "v.nii")
    written = np.asarray(nibabel.load(str(out)).dataobj)
    assert written.dtype == np.int64
    assert np.array_equal(written, volume.nifti_array())


def test_a_sheet_of_a_series_whose_window_is_infinite(tmp_path):
    """Window Center inf in every file: `png --sheet` took it as the default window and
    ended in exit 3 (rawdicom.window refuses a non-finite window); the header's window is
    treated as absent and the volume's own range shown (found by the pipeline fuzzer)."""
    import subprocess
    sb.write_series(tmp_path / "in", n=3, rows=8, columns=8)
    for path in (tmp_path / "in").rglob("*"):
        if path.is_file():
            edit(path, WindowCenter=float("inf"), WindowWidth=400.0)
    result = subprocess.run([sys.executable, "-m", "rawdicom", "png", "--sheet",
                             str(tmp_path / "in"), str(tmp_path / "sheet.png")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "sheet.png").stat().st_size > 0


# -- 4-D regrouping -------------------------------------------------------------------------
def test_a_huge_integer_acquisition_number_does_not_break_the_4d_regrouping(tmp_path):
    """A 400-digit IS in Acquisition Number (decoded as an int) once raised OverflowError
    (int too large to convert to float) out of stacks(), volume() and convert, and exit 3
    from `rawdicom info DIR` (pipeline fuzzer, seed 301 case 1733): it orders as a value
    that is not a number, last."""
    positions = sb.axial_positions(3)
    paths = sb.write_series(tmp_path, positions + positions)
    edit(paths[0], AcquisitionNumber=("IS", b"9" * 400))
    [series] = scan(tmp_path).series
    stacks = series.stacks()
    assert sum(len(s.instances) for s in stacks) == 6


@pytest.mark.parametrize("slope,intercept", [(1, 1e30), (1e12, -1024), (-3e9, 0)])
def test_convert_of_a_ct_whose_integer_rescale_leaves_32_bits(tmp_path, slope, intercept):
    """A shared integer Rescale Intercept of 1e30 (or a slope of 1e12) once raised
    OverflowError out of convert's stored-then-rescaled CT read (np.int32 of a huge int;
    pipeline fuzzer, seed 402 case 1075): such a stack takes the general path, whose
    volume equals what convert writes."""
    pytest.importorskip("numpy")
    paths = sb.write_series(tmp_path / "in", n=3, rows=8, columns=8)
    for path in paths:
        edit(path, RescaleSlope=slope, RescaleIntercept=intercept)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = rawdicom.convert(tmp_path / "in", tmp_path / "out")
    [row] = report.rows
    assert row["status"] == "converted", row


@pytest.mark.parametrize("keyword,vr,value,shown", [
    ("ImageOrientationPatient", "DS", b"DERIVED\\SECONDARY ",
     "row direction (DERIVED, SECONDARY)"),
    ("ImagePositionPatient", "IS", b"9" * 400 + b"\\1\\2", "position (999999"),
    ("ImageOrientationPatient", "IS", b"9" * 400 + b"\\0\\0\\0\\1\\0", "Geometry  -;"),
])
def test_info_of_geometry_values_that_are_no_floats(tmp_path, keyword, vr, value, shown):
    """`rawdicom info FILE` once exited 3 (ValueError: could not convert string to float)
    on an Image Orientation whose DS values do not parse (pipeline fuzzer, seed 401 case
    1508), and would on a 400-digit IS (OverflowError): such values are shown as text."""
    import subprocess
    [path] = sb.write_series(tmp_path / "in", n=1)
    edit(path, **{keyword: (vr, value)})
    done = subprocess.run([sys.executable, "-m", "rawdicom", "info", str(path)],
                          capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr
    assert shown in done.stdout, done.stdout


@pytest.mark.parametrize("keyword", ["SeriesNumber", "RepetitionTime", "EchoTime", "FlipAngle"])
def test_convert_of_a_series_with_a_400_digit_number_in_its_sidecar_fields(tmp_path, keyword):
    """A 400-digit IS where the sidecar takes a number (Series Number, or Repetition Time
    written as IS) once raised OverflowError out of convert (math.isfinite of an int too
    large for a float; pipeline fuzzer, seed 702 case 1908, on 4b08621): the value is
    absent from the sidecar, the stack converted."""
    pytest.importorskip("numpy")
    import json
    paths = sb.write_series(tmp_path / "in", n=3, rows=8, columns=8)
    for path in paths:
        edit(path, **{keyword: ("IS", b"9" * 400)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = rawdicom.convert(tmp_path / "in", tmp_path / "out")
    [row] = report.rows
    assert row["status"] == "converted", row
    [side] = [p for p in (tmp_path / "out").rglob("*.json") if "manifest" not in p.name]
    assert keyword not in json.loads(side.read_text())


def test_a_400_digit_b_value_and_repetition_time_are_absent(tmp_path):
    """The same integers read by the diffusion and 4-D code: no b-value, no time step."""
    from rawdicom.model.diffusion import b_value
    positions = sb.axial_positions(2)
    paths = sb.write_series(tmp_path, positions + positions, modality="MR")
    for path in paths:
        edit(path, DiffusionBValue=("IS", b"9" * 400), RepetitionTime=("IS", b"9" * 400))
    [series] = scan(tmp_path).series
    for stack in series.stacks():
        assert all(b_value(i) is None for i in stack.instances)
        if hasattr(stack, "_repetition_time"):
            assert stack._repetition_time() is None


def test_finite_number():
    from rawdicom.model.header_values import finite_number
    assert finite_number(int("9" * 400)) is None and finite_number(True) is None
    assert finite_number("1.5") is None and finite_number(2) == 2.0
    assert finite_number(float("nan")) is None and finite_number(-1e300) == -1e300
