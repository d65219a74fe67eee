"""rawdicom.convert / ``rawdicom convert``: a folder of many kinds of series to NIfTI.

Every stack's manifest line is checked (converted with its files, or refused with its
reason), and every converted file is read back with nibabel (the oracle) and compared with
the source images at physical points: each source pixel's world position (from its own
Image Position/Orientation and Pixel Spacing) mapped through the NIfTI's affine must land
on a voxel centre holding the same modality value.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import rawdicom
from rawdicom.convert import MANIFEST_NAME, convert
from rawdicom.convert.manifest import read_rows

from mr_builders import value as mr_value
from mr_builders import write_4d, write_dwi, write_mosaics
from series_builders import axial_positions, enhanced_ct, make_uid, write_series

nibabel = pytest.importorskip("nibabel")
LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


def build_folder(root: Path) -> dict[str, str]:
    """One folder of many series; returns series description -> SeriesInstanceUID."""
    uids: dict[str, str] = {}

    def uid(name: str) -> str:
        uids[name] = make_uid("convert-test", name)
        return uids[name]

    write_series(root / "ct", axial_positions(6, spacing=2.5), series_number=1,
                 series_description="CT head", series_instance_uid=uid("CT head"))
    write_series(root / "ct_again", axial_positions(3, spacing=2.5), series_number=1,
                 series_description="CT head", series_instance_uid=uid("CT head again"))
    write_4d(root / "mr", volumes=1, slices=5, series_number=2,
             series_description="MR T1", series_instance_uid=uid("MR T1"))
    write_4d(root / "bold", volumes=4, slices=3, series_number=3,
             series_description="BOLD", series_instance_uid=uid("BOLD"))
    write_dwi(root / "dwi", "siemens", slices=3, series_number=4,
              series_description="DWI", series_instance_uid=uid("DWI"))
    write_mosaics(root / "mosaic", count=9, volumes=3, series_number=5)
    enhanced_ct(root / "enhanced" / "enh.dcm", axial_positions(4, spacing=1.5),
                series_description="Enhanced CT", series_instance_uid=uid("Enhanced CT"))
    write_series(root / "loc", axial_positions(1), series_number=7,
                 series_description="Scout", series_instance_uid=uid("Scout"),
                 image_type=("ORIGINAL", "PRIMARY", "LOCALIZER"))
    write_series(root / "tilt", [(0.0, 0.6 * k, 2.0 * k) for k in range(5)], series_number=8,
                 series_description="CT tilted", series_instance_uid=uid("CT tilted"))
    write_series(root / "gap", [(0.0, 0.0, z) for z in (0, 2, 4, 8, 10)], series_number=10,
                 series_description="../../CT gap", series_instance_uid=uid("CT gap"))
    write_series(root / "slope", axial_positions(3), series_number=11, modality="MR",
                 series_description="MR scaled", series_instance_uid=uid("MR scaled"),
                 slope=0.5, intercept=-3.25)
    return uids


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, str], Any]:
    root = tmp_path_factory.mktemp("src")
    uids = build_folder(root)
    out = tmp_path_factory.mktemp("out") / "nifti"
    report = convert(root, out, workers=2)
    return root, out, uids, report


def manifest(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / MANIFEST_NAME).read_text().splitlines()]


def rows_of(out: Path, description: str) -> list[dict[str, Any]]:
    return [r for r in manifest(out) if r["series_description"] == description]


def source_images(folder: Path) -> list[tuple[Any, Any, np.ndarray]]:
    """(instance record, frame, modality values) of every image under ``folder``."""
    out = []
    for inst in rawdicom.scan(folder, workers=1).instances:
        ds = rawdicom.read(inst.path)
        for image in inst.frames():
            pixels = rawdicom.pixel_array(ds, frame=image.frame).astype(np.float64)
            slope, intercept = image.get("rescale_slope", 1.0), image.get("rescale_intercept", 0.0)
            out.append((image, image.frame, pixels * slope + intercept))
    return out


def check_points(nifti: Path, folder: Path, *, volume_of: Any = None) -> int:
    """Every source pixel equals the NIfTI voxel at its world point; the count checked."""
    image = nibabel.load(str(nifti))
    data = image.get_fdata()
    inverse = np.linalg.inv(image.affine)
    checked = 0
    for inst, _frame, values in source_images(folder):
        position = np.asarray(inst.get("image_position_patient"), dtype=float)
        orientation = np.asarray(inst.get("image_orientation_patient"), dtype=float)
        row_spacing, column_spacing = inst.get("pixel_spacing")
        rows, columns = values.shape
        r, c = np.meshgrid(np.arange(rows), np.arange(columns), indexing="ij")
        lps = (position[None, None, :] + c[..., None] * column_spacing * orientation[:3]
               + r[..., None] * row_spacing * orientation[3:])
        ras = np.concatenate([lps, np.ones((rows, columns, 1))], axis=-1) @ LPS_TO_RAS.T
        ijk = ras @ inverse.T
        index = np.rint(ijk[..., :3]).astype(int)
        assert np.allclose(ijk[..., :3], index, atol=1e-3), nifti
        i, j, k = index[..., 0], index[..., 1], index[..., 2]
        if data.ndim == 4:
            got = data[i, j, k, volume_of(inst)]
        else:
            got = data[i, j, k]
        np.testing.assert_allclose(got, values, rtol=0, atol=1e-4, err_msg=str(nifti))
        checked += values.size
    return checked


def only(rows: list[dict[str, Any]]) -> dict[str, Any]:
    assert len(rows) == 1, rows
    return rows[0]


def nifti_of(out: Path, row: dict[str, Any], kind: str = "nifti") -> Path:
    paths = [o["path"] for o in row["outputs"] if o["kind"] == kind]
    assert len(paths) == 1, row["outputs"]
    return out / paths[0]


def test_every_stack_has_its_manifest_line(converted: Any) -> None:
    root, out, uids, report = converted
    rows = manifest(out)
    assert report.ok and len(report.rows) == len(rows)
    assert len({r["stack_id"] for r in rows}) == len(rows)
    by = {r["series_description"]: r for r in rows}
    assert set(by) == {"CT head", "MR T1", "BOLD", "DWI", "Enhanced CT", "Scout", "CT tilted",
                       "../../CT gap", "MR scaled", *[r["series_description"] for r in rows
                                                      if r["series_number"] == 5]}
    statuses = {d: r["status"] for d, r in by.items()}
    assert statuses["Scout"] == "refused" and "localizer" in by["Scout"]["why"]
    assert statuses["../../CT gap"] == "refused" and "missing slices [3]" in by["../../CT gap"]["why"]
    for description in ("CT head", "MR T1", "BOLD", "DWI", "Enhanced CT", "CT tilted", "MR scaled"):
        assert statuses[description] == "converted", by[description]
    for row in rows:
        for output in row["outputs"]:
            path = out / output["path"]
            assert path.is_file() and path.resolve().is_relative_to(out.resolve())
    # never outside, never merged: the hostile description stays in one safe component,
    # two series named alike get two names
    gap = by["../../CT gap"]
    assert ".." not in "/".join(gap["planned"]) and "/" not in gap["planned"][-1]
    heads = [r for r in rows if r["series_description"] == "CT head"]
    assert len(heads) == 2 and len({nifti_of(out, r) for r in heads}) == 2
    # nothing but the outputs, the manifest and the lock
    listed = {o["path"] for r in rows for o in r["outputs"]}
    found = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert found == listed | {MANIFEST_NAME}


def test_ct_and_enhanced_values_at_physical_points(converted: Any) -> None:
    root, out, uids, report = converted
    for description, folder in (("CT head", "ct"), ("Enhanced CT", "enhanced")):
        row = [r for r in rows_of(out, description) if r["series_instance_uid"] == uids[description]]
        path = nifti_of(out, only(row))
        info = [o for o in only(row)["outputs"] if o["kind"] == "nifti"][0]
        assert info["dtype"] == "int16" and "scl_slope" not in info
        assert check_points(path, root / folder) > 0
        side = json.loads(path.with_name(path.name.replace(".nii.gz", ".json")).read_text())
        assert side["Modality"] == "CT" and side["SeriesInstanceUID"] == uids[description]
        assert side["RawdicomStack"]["images"] == info["shape"][2]


def test_classic_mr_4d_and_dwi(converted: Any) -> None:
    root, out, uids, report = converted
    by_t = lambda inst: inst.get("acquisition_number") - 1  # noqa: E731
    t1 = nifti_of(out, only(rows_of(out, "MR T1")))
    assert nibabel.load(str(t1)).shape == (8, 8, 5)
    assert check_points(t1, root / "mr") == 5 * 64
    bold = nifti_of(out, only(rows_of(out, "BOLD")))
    image = nibabel.load(str(bold))
    assert image.shape == (8, 8, 3, 4)
    assert image.header.get_zooms()[3] == pytest.approx(2.0)  # RepetitionTime 2000 ms, in s
    assert image.header.get_xyzt_units() == ("mm", "sec")
    assert check_points(bold, root / "bold", volume_of=by_t) == 4 * 3 * 64
    side = json.loads(bold.with_name(bold.name[:-7] + ".json").read_text())
    assert side["RepetitionTime"] == 2.0 and side["EchoTime"] == 0.03
    dwi_row = only(rows_of(out, "DWI"))
    dwi = nifti_of(out, dwi_row)
    assert check_points(dwi, root / "dwi", volume_of=by_t) == 7 * 3 * 64
    bval = (out / nifti_of(out, dwi_row, "bval")).read_text().split()
    assert [float(v) for v in bval] == [0.0] + [1000.0] * 6
    bvec = np.loadtxt(nifti_of(out, dwi_row, "bvec"))
    assert bvec.shape == (3, 7) and np.allclose(np.linalg.norm(bvec[:, 1:], axis=0), 1, atol=1e-4)


def test_mosaic(converted: Any) -> None:
    root, out, uids, report = converted
    row = only([r for r in manifest(out) if r["series_number"] == 5])
    image = nibabel.load(str(nifti_of(out, row)))
    assert row["status"] == "converted" and image.shape == (8, 8, 9, 3)
    data = np.asarray(image.dataobj)
    ras_first = image.affine @ np.array([0, 0, 0, 1.0])
    del ras_first
    # value(t, k, r, c): slice k along the normal, every volume
    _, positions = write_mosaics(root / "mosaic_again", count=9, volumes=3, series_number=5)
    inverse = np.linalg.inv(image.affine)
    for k, position in enumerate(positions):
        i, j, kk = np.rint((inverse @ (LPS_TO_RAS @ np.append(position, 1.0)))[:3]).astype(int)
        for t in range(3):
            assert data[i, j, kk, t] == mr_value(t, k, 0, 0)


def test_tilted_written_sheared_and_resampled(converted: Any) -> None:
    root, out, uids, report = converted
    row = only(rows_of(out, "CT tilted"))
    sheared, resampled = nifti_of(out, row), nifti_of(out, row, "nifti_resampled")
    assert sheared.name.endswith("_sheared.nii.gz") and resampled.name.endswith("_resampled.nii.gz")
    assert check_points(sheared, root / "tilt") == 5 * 64
    image = nibabel.load(str(resampled))
    columns = image.affine[:3, :3] / np.linalg.norm(image.affine[:3, :3], axis=0)
    assert np.allclose(columns.T @ columns, np.eye(3), atol=1e-6)
    assert image.header["qform_code"] == 1 and nibabel.load(str(sheared)).header["qform_code"] == 0
    assert image.get_data_dtype() == np.float32 and any("gantry tilt" in n for n in row["notes"])


def test_scaled_values_keep_integers_with_slope(converted: Any) -> None:
    root, out, uids, report = converted
    row = only(rows_of(out, "MR scaled"))
    info = [o for o in row["outputs"] if o["kind"] == "nifti"][0]
    assert info["dtype"] == "int16" and (info["scl_slope"], info["scl_inter"]) == (0.5, -3.25)
    assert check_points(nifti_of(out, row), root / "slope") == 3 * 64


def test_rerun_converts_nothing_and_fill_converts_the_gap(converted: Any, tmp_path: Path) -> None:
    root, out, uids, report = converted
    before = (out / MANIFEST_NAME).read_text()
    again = convert(root, out, workers=1)
    assert again.rows == [] and again.already == len(before.splitlines())
    assert (out / MANIFEST_NAME).read_text() == before
    filled = convert(root, tmp_path / "filled", workers=1, missing="fill", format="nii")
    row = only(rows_of(tmp_path / "filled", "../../CT gap"))
    assert row["status"] == "converted" and "NaN" in row["notes"][0]
    path = nifti_of(tmp_path / "filled", row)
    assert path.name.endswith(".nii")
    data = nibabel.load(str(path)).get_fdata()
    assert data.shape == (8, 8, 6) and np.isnan(data[:, :, 3]).all()
    assert not np.isnan(np.delete(data, 3, axis=2)).any()
    assert check_points(path, root / "gap") == 5 * 64
    assert filled.ok


def test_command_line(tmp_path: Path) -> None:
    import subprocess
    import sys
    out = tmp_path / "out"
    run = subprocess.run([sys.executable, "-m", "rawdicom", "convert", "--example", str(out),
                          "--name", "{PatientID}_{SeriesNumber}"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "2 converted, 1 refused" in run.stdout and "localizer" in run.stdout
    assert sorted(p.name for p in out.glob("*.nii.gz")) == ["PHANTOM-001_2.nii.gz",
                                                            "PHANTOM-001_3.nii.gz"]
    bad = subprocess.run([sys.executable, "-m", "rawdicom", "convert", "--example", str(out),
                          "--name", "{NoSuchField}"], capture_output=True, text=True)
    assert bad.returncode == 2 and "NoSuchField".lower() in bad.stderr.lower()


def _processes_naming(text: str) -> list[int]:
    """The pids of the live processes whose command line holds ``text``."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and text.encode() in (entry / "cmdline").read_bytes():
                pids.append(int(entry.name))
        except OSError:  # ended meanwhile
            pass
    return pids


def test_killed_at_random_points_then_rerun(tmp_path: Path) -> None:
    """SIGKILL the command (its main process: workers die with it) at random moments, run
    it again each time, then once to the end: every stack is in the manifest once, every
    file is whole and equal to an uninterrupted run's, nothing else is left in OUT."""
    import random
    import signal
    import subprocess
    import sys
    import time
    root = tmp_path / "src"
    for n in range(8):
        write_series(root / f"s{n}", axial_positions(12 + n, spacing=2.0), rows=48, columns=48,
                     series_number=n + 1, series_description=f"kill {n}",
                     series_instance_uid=make_uid("kill", n))
    write_series(root / "loc", axial_positions(1), series_number=20, series_description="scout",
                 image_type=("ORIGINAL", "PRIMARY", "LOCALIZER"),
                 series_instance_uid=make_uid("kill", "loc"))
    reference = tmp_path / "reference"
    command = [sys.executable, "-m", "rawdicom", "convert", str(root)]
    start = time.monotonic()
    subprocess.run(command + [str(reference), "--workers", "2"], check=True,
                   capture_output=True)
    duration = time.monotonic() - start
    out = tmp_path / "out"
    rng = random.Random(23)
    seen: list[int] = []  # manifest rows after each kill (printed on failure)
    for _ in range(8):
        proc = subprocess.Popen(command + [str(out), "--workers", "2"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.0, duration * 0.6))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        seen.append(len(read_rows(str(out))) if (out / MANIFEST_NAME).exists() else -1)
    deadline = time.monotonic() + 10  # the workers of every killed run end with it: at
    while _processes_naming(str(out)) and time.monotonic() < deadline:  # once on an idle
        time.sleep(0.1)  # machine; a loaded one may take a moment to schedule them
    assert _processes_naming(str(out)) == []
    final = subprocess.run(command + [str(out), "--workers", "2"], capture_output=True,
                           text=True)
    assert final.returncode == 0, (final.stderr, seen)
    rows = read_rows(str(out))  # a torn line of a killed run left out
    expected = manifest(reference)
    assert sorted(r["stack_id"] for r in rows) == sorted(r["stack_id"] for r in expected)
    outputs = sorted(o["path"] for r in rows for o in r["outputs"])
    assert outputs == sorted(o["path"] for r in expected for o in r["outputs"])
    for path in outputs:
        if path.endswith(".nii.gz"):
            a = np.asarray(nibabel.load(str(out / path)).dataobj)
            b = np.asarray(nibabel.load(str(reference / path)).dataobj)
            assert np.array_equal(a, b), path
    found = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert found == set(outputs) | {MANIFEST_NAME}
    assert not (out / ".rawdicom-staging").exists()


def test_start_up_imports_neither_numpy_nor_nibabel() -> None:
    """``rawdicom --help`` and ``rawdicom convert`` until the work starts: the parser and
    every module of the convert layer load without numpy or nibabel (their import is most
    of a start-up's time); the workers import numpy, nibabel is never needed."""
    import subprocess
    import sys
    code = ("import sys\nfrom rawdicom.cli import _parser\n_parser()\n"
            "import rawdicom.convert.job, rawdicom.convert.engines, rawdicom.convert.nifti\n"
            "import rawdicom.cli.convert\n"
            "print(sorted(m for m in ('numpy', 'nibabel') if m in sys.modules))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert run.stdout.strip() == "[]"
    assert callable(rawdicom.convert)  # the package is the function too
    from rawdicom.cli.convert import _DEFAULT_NAME
    assert _DEFAULT_NAME == rawdicom.convert.DEFAULT_NAME  # kept apart for the start-up


def test_a_dicomdir_and_a_list_of_paths(tmp_path: Path) -> None:
    """A DICOMDIR (written by pydicom) converts the series it references; a list of paths
    converts the series of those paths only; both as a folder scan gives them."""
    pydicom = pytest.importorskip("pydicom")
    from pydicom.fileset import FileSet
    from series_builders import write_collection
    info = write_collection(tmp_path / "src", seed=3)
    fileset = FileSet()
    for path in info["paths"]:
        fileset.add(pydicom.dcmread(path))
    fileset.write(tmp_path / "media")
    from_dicomdir = convert(tmp_path / "media" / "DICOMDIR", tmp_path / "a", workers=1)
    from_folder = convert(tmp_path / "src", tmp_path / "b", workers=1)
    assert len(from_dicomdir.rows) == len(from_folder.rows) == 5
    assert sorted(r["stack_id"] for r in from_dicomdir.rows) == \
        sorted(r["stack_id"] for r in from_folder.rows)
    two = list(info["series"].values())[:2]
    listed = convert([str(p) for paths in two for p in paths], tmp_path / "c", workers=1)
    assert sorted(r["series_instance_uid"] for r in listed.rows) == \
        sorted(list(info["series"])[:2])


def test_an_unreadable_file_has_its_line_once(tmp_path: Path) -> None:
    """A file the scan cannot read is in no stack: it gets a manifest line of its own
    (``unreadable``, with the error), once across reruns; the exit status says so."""
    import subprocess
    import sys
    paths = write_series(tmp_path / "src", axial_positions(3), series_number=1)
    (tmp_path / "src" / "broken.dcm").write_bytes(paths[0].read_bytes()[:300])
    command = [sys.executable, "-m", "rawdicom", "convert", str(tmp_path / "src"),
               str(tmp_path / "out"), "--workers", "1"]
    for _ in range(2):
        run = subprocess.run(command, capture_output=True, text=True)
        assert run.returncode == 1 and "broken.dcm" in run.stderr
    rows = manifest(tmp_path / "out")
    assert sorted(r["status"] for r in rows) == ["converted", "unreadable"]
    [bad] = [r for r in rows if r["status"] == "unreadable"]
    assert bad["first_file"].endswith("broken.dcm") and bad["why"]


def test_stack_names_say_what_sets_them_apart(tmp_path: Path) -> None:
    """Two echoes of one series: ``_e1_te...``/``_e2_te...``; unnamed keys: ``_stack<n>``."""
    for echo in (1, 2):
        write_series(tmp_path / "src", axial_positions(3), series_number=4, echo_number=echo,
                     series_description="two echoes", names=[f"e{echo}-{k}" for k in range(3)],
                     series_instance_uid=make_uid("echoes"),
                     extra={"EchoTime": 2.5 * echo})
    report = convert(tmp_path / "src", tmp_path / "out", workers=1, name="{SeriesDescription}")
    names = sorted(o["path"] for r in report.rows for o in r["outputs"] if o["kind"] == "nifti")
    assert names == ["two_echoes_e1_te2.5.nii.gz", "two_echoes_e2_te5.nii.gz"]


@pytest.mark.parametrize("engine", ["zlib_ng", "zlib"])
def test_parallel_gzip_is_one_standard_member(engine: str) -> None:
    """pgzip's output (blocks deflated apart, each primed with the previous 32 KiB) is one
    gzip member that gzip reads back byte for byte, as small as the same engine's one-piece
    deflate within 1%, with either engine (zlib-ng when installed, the standard library's
    zlib)."""
    import gzip
    import io
    from rawdicom.convert.pgzip import BLOCK, ENGINES, write_gzip
    z = {e.__name__.split(".")[-1]: e for e in ENGINES}.get(engine)
    if z is None:
        pytest.skip(f"{engine} is not installed (the nifti extra brings zlib-ng)")
    rng = np.random.default_rng(0)
    data = (np.cumsum(rng.integers(-3, 4, 3 * BLOCK + 12345)) % 251).astype(np.uint8).tobytes()
    for threads in (1, 3):
        out = io.BytesIO()
        write_gzip(out, [b"head", memoryview(data), b""], level=6, threads=threads, engine=z)
        assert gzip.decompress(out.getvalue()) == b"head" + data
        assert len(out.getvalue()) <= 1.01 * len(z.compress(b"head" + data, 6)) + 64
    empty = io.BytesIO()
    write_gzip(empty, [b""], engine=z)
    assert gzip.decompress(empty.getvalue()) == b""


def test_gzip_engines_write_the_same_nifti(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                           ) -> None:
    """A series converted with zlib-ng's deflate and with zlib's: both ``.nii.gz`` files
    decompress to the same bytes as the ``.nii`` written without compression, and nibabel
    loads the same array from each."""
    import gzip
    from rawdicom.convert import pgzip
    if len(pgzip.ENGINES) < 2:
        pytest.skip("zlib-ng is not installed (the nifti extra brings it)")
    write_series(tmp_path / "src", axial_positions(4, spacing=2.0), rows=300, columns=300,
                 series_number=1, series_description="CT", series_instance_uid=make_uid("gz"))
    plain = convert(tmp_path / "src", tmp_path / "nii", format="nii", workers=1)
    [reference] = [o["path"] for r in plain.rows for o in r["outputs"] if o["kind"] == "nifti"]
    expected = (tmp_path / "nii" / reference).read_bytes()
    for z in pgzip.ENGINES:
        monkeypatch.setattr(pgzip, "ENGINES", (z,))
        out = tmp_path / z.__name__
        report = convert(tmp_path / "src", out, workers=1)
        [path] = [o["path"] for r in report.rows for o in r["outputs"] if o["kind"] == "nifti"]
        assert gzip.decompress((out / path).read_bytes()) == expected
        assert np.array_equal(nibabel.load(out / path).get_fdata(),
                              nibabel.load(tmp_path / "nii" / reference).get_fdata())


def test_command_on_a_folder_without_dicom(tmp_path: Path) -> None:
    """An empty folder, or one of files that are not DICOM, is a one-line failure (exit 1)
    as for tree: a user who typed the wrong folder is told, not shown "0 series"."""
    import subprocess
    import sys
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "notes.txt").write_text("not DICOM")
    (tmp_path / "empty").mkdir()
    for source in (junk, tmp_path / "empty"):
        result = subprocess.run([sys.executable, "-m", "rawdicom", "convert", str(source),
                                 str(tmp_path / "out")], capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 1, result
        assert result.stderr.count("\n") == 1 and "no DICOM file found" in result.stderr
        assert "Traceback" not in result.stderr


@pytest.mark.parametrize("stored, low, dtype, scaled", [
    (np.int16, -2000, "int16", False), (np.int16, -32000, "int16", True),
    (np.uint16, 0, "int16", False), (np.int16, 1100, "uint8", False)])
def test_ct_read_as_stored_then_rescaled_in_place_equals_the_modality_values(
        tmp_path: Path, stored: Any, low: int, dtype: str, scaled: bool) -> None:
    # one shared slope/intercept: the stored 16-bit values are read straight and rescaled
    # in place (modulo 2**16: stored uint16 becomes int16) into the narrowest type that
    # holds them; where none of 16 bits does (stored -32000 - 1024), they stay stored with
    # scl_inter -1024: either way the values are the modality values
    def pixels(k: int) -> dict[str, Any]:
        values = np.arange(64).reshape(8, 8) * (37 if dtype != "uint8" else 1) + k + 1100
        values[0, 0] = low
        return {"pixels": values.astype(stored)}
    write_series(tmp_path / "ct", axial_positions(4, spacing=2.0), series_number=1,
                 slope=1.0, intercept=-1024.0, per_slice=pixels,
                 extra={"PixelRepresentation": 0 if stored == np.uint16 else 1})
    convert(tmp_path / "ct", tmp_path / "out", format="nii", engine="serial")
    [row] = read_rows(str(tmp_path / "out"))
    info = [o for o in row["outputs"] if o["kind"] == "nifti"][0]
    assert info["dtype"] == dtype
    assert ("scl_inter" in info) is scaled and info.get("scl_inter", -1024) == -1024
    assert check_points(tmp_path / "out" / info["path"], tmp_path / "ct") == 4 * 64


def test_peak_memory_of_a_ct_read_is_its_output(tmp_path: Path) -> None:
    # the stored int16 values are read into the output and rescaled there: no int32 volume,
    # no narrowing copy (numpy reports its allocations to tracemalloc; no timing)
    import tracemalloc
    from rawdicom.convert.series import Options, _stored_rescaled
    from rawdicom.model.instance import Instance
    from rawdicom.model.stacks import split_stacks
    size = 128
    write_series(tmp_path / "ct", axial_positions(8, spacing=2.0), series_number=1,
                 rows=size, columns=size, slope=1.0, intercept=-1024.0,
                 per_slice=lambda k: {"pixels": np.full((size, size), 1000 + 500 * k, np.int16)})
    collection = rawdicom.scan(tmp_path / "ct", workers=1)
    [stack] = split_stacks([Instance(i.record) for i in collection.series[0].instances])
    stack.geometry
    tracemalloc.start()
    try:
        volume, array, slope, intercept, _ = _stored_rescaled(stack, Options(read_threads=2))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert array.dtype == np.int16 and slope is None and np.shares_memory(array, volume.array)
    assert peak <= array.nbytes + size * size * 2 + 64 * 1024, peak
    assert sorted(np.unique(array).tolist()) == [500 * k - 24 for k in range(8)]


def test_stack_id_is_the_identity_it_was(tmp_path: Path) -> None:
    """stack_id (the key a rerun skips done stacks by) gives the hash its first, plain
    definition gives, for mosaic slices, enhanced frames and classic images: a faster
    look-up must not make a rerun convert everything again."""
    from rawdicom.convert.series import stack_id
    from rawdicom.model.layout import short_hash
    write_mosaics(tmp_path / "mosaic", count=9, volumes=2, series_number=5)
    enhanced_ct(tmp_path / "enhanced" / "enh.dcm", axial_positions(3, spacing=1.5))
    write_4d(tmp_path / "bold", volumes=2, slices=3, series_number=3)

    def reference(series_uid: Any, stack: Any) -> str:
        images = sorted((str(i.get("sop_instance_uid")), -1 if i.frame is None else i.frame,
                         getattr(i, "mosaic_tile", -1) if hasattr(i, "mosaic_tile") else -1)
                        for i in stack.instances)
        return short_hash([series_uid, images], 20)
    stacks = [s for series in rawdicom.scan(tmp_path, workers=1).series for s in series.stacks()]
    assert len(stacks) == 3
    for stack in stacks:
        uid = stack.instances[0].get("series_instance_uid")
        assert stack_id(uid, stack) == reference(uid, stack)


def test_mosaic_tiles_rescaled_as_stored(tmp_path: Path) -> None:
    """A 4-D mosaic series read with its Rescale Slope/Intercept: every tile (gathered in
    one copy per file) holds the stored tile's values times slope plus intercept."""
    write_mosaics(tmp_path, count=9, volumes=3, series_number=5)
    [series] = rawdicom.scan(tmp_path, workers=1).series
    for inst in series.instances:
        inst.record.update(rescale_slope=0.5, rescale_intercept=-3.0)
    [stack] = series.stacks()
    stored = stack.volume(hounsfield=False).array
    scaled = stack.volume(hounsfield=True).array
    assert stored.shape == (3, 9, 8, 8) and scaled.dtype == np.float32
    assert len(np.unique(stored)) > 9  # the tiles differ: a misplaced tile would show
    assert np.array_equal(scaled, (stored.astype(np.float64) * 0.5 - 3.0).astype(np.float32))


def _reference_checks(inst: Any) -> tuple[Any, ...]:
    """The per-image checks as first written (Instance.get with defaults everywhere)."""
    from rawdicom.errors import PixelDataError
    from rawdicom.model.fourd import _GRID_VALUES, _number
    from rawdicom.model.stacks import image_identity
    from rawdicom.model.volume import _COLOUR, _NATIVE_LITTLE_ENDIAN, _UNDEFINED, \
        _little_endian

    def stored(i: Any) -> Any:
        bits, signed = i.get("bits_allocated"), i.get("pixel_representation", 0)
        if bits not in (8, 16, 32) or signed not in (0, 1):
            raise PixelDataError("no")
        return _little_endian(bits, signed)

    def colour(i: Any) -> bool:
        photometric = i.get("photometric_interpretation")
        return (isinstance(photometric, str) and photometric.strip().upper() in _COLOUR) \
            or i.get("samples_per_pixel", 1) == 3

    def native(i: Any) -> bool:
        offset, length = i.get("pixel_data_offset"), i.get("pixel_data_length")
        if (i.get("transfer_syntax_uid") not in _NATIVE_LITTLE_ENDIAN
                or i.get("samples_per_pixel", 1) != 1 or not isinstance(offset, int)
                or not isinstance(length, int) or length == _UNDEFINED or colour(i)):
            return False
        try:
            size = stored(i).itemsize
        except PixelDataError:
            return False
        counts = (i.get("number_of_frames", 1), i.get("rows"), i.get("columns"))
        if not all(isinstance(v, int) and v > 0 for v in counts):
            return False
        return length >= counts[0] * counts[1] * counts[2] * size

    def either(i: Any, a: str, b: str) -> Any:
        v = i.get(a)
        return i.get(b) if v is None else v
    order = (_number(either(inst, "acquisition_number", "frame_acquisition_number")),
             _number(either(inst, "temporal_position_identifier", "temporal_position_index")),
             _number(either(inst, "trigger_time", "nominal_cardiac_trigger_delay_time")),
             _number(either(inst, "acquisition_time", "frame_acquisition_date_time")),
             tuple(_number(v) for v in inst.get("dimension_index_values") or ()),
             image_identity(inst))
    try:
        dtype = stored(inst)
    except PixelDataError:
        dtype = None
    return (colour(inst), native(inst), dtype, order,
            tuple(inst.get(n) for n in _GRID_VALUES))


def test_per_image_checks_equal_their_plain_definitions(converted: Any) -> None:
    """is_colour, is_native_frame, stored_dtype, acquisition_order and the grid values of
    the 4-D reader read a file's own record through dict.get (volume.getter): the same
    answers as Instance.get with its defaults, for files, enhanced frames and mosaic
    slices, and for records whose values are None or of another kind."""
    from rawdicom.errors import PixelDataError
    from rawdicom.model.fourd import _grid_values, acquisition_order
    from rawdicom.model.instance import Instance
    from rawdicom.model.mosaic import expand
    from rawdicom.model.volume import is_colour, is_native_frame, stored_dtype
    instances = [i for s in rawdicom.scan(converted[0], workers=1).series for i in s.instances]
    images = [f for i in instances for f in expand(i)]
    assert any(type(i) is not Instance for i in images) and any(i.frame for i in images)
    variants = [{"samples_per_pixel": None}, {"samples_per_pixel": 3},
                {"pixel_representation": None}, {"pixel_representation": 2},
                {"number_of_frames": None}, {"photometric_interpretation": " rgb"},
                {"acquisition_number": None, "frame_acquisition_number": 7},
                {"bits_allocated": 12}, {"pixel_data_length": 0xFFFFFFFF},
                {"transfer_syntax_uid": "1.2.840.10008.1.2.2"}, {"rows": None}]
    plain = [i for i in instances if i.frame is None][:5]
    images += [Instance({**i.record, **v}) for i in plain for v in variants]
    for inst in images:
        try:
            dtype = stored_dtype(inst)
        except PixelDataError:
            dtype = None
        assert (is_colour(inst), is_native_frame(inst), dtype, acquisition_order(inst),
                _grid_values(inst)) == _reference_checks(inst), inst
