"""Every command run as a user runs it: a subprocess, its real exit status, its output read back.

On the built-in example study, on pydicom's test files, on a corrupt file, a missing file,
a folder with no DICOM in it, a file with a non-ASCII name, and with the output piped into
a reader that stops early (``| head``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import rawdicom
from rawdicom.cli.example import slice_path, study_path

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = ("tree", "info", "dump", "json", "explain", "png", "hist", "volume", "organize",
            "index", "tag")


def run(*args: str, python: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """``python -m rawdicom ARGS`` from the checkout, as text."""
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    env.pop("NO_COLOR", None)
    return subprocess.run([sys.executable, *python, "-m", "rawdicom", *args], cwd=ROOT,
                          capture_output=True, text=True, encoding="utf-8", env=env,
                          timeout=300)


def no_traceback(result: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in result.stderr, result.stderr


# -- help and usage -------------------------------------------------------------------------
@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str):
    result = run(command, "--help")
    assert result.returncode == 0 and f"rawdicom {command}" in result.stdout
    if command != "tag":
        assert "--example" in result.stdout


@pytest.mark.parametrize("args", [
    ("nonsense",), ("png", "--example"), ("png", "--example", "a.png", "--window", "40"),
    ("dump",), ("dump", "--example", "--tags", "NoSuchKeyword"), ("dump", "--example", "--bogus"),
    ("volume", "--example", "out.txt"), ("volume", "--example", "out.npz", "--series", "99"),
    ("hist", "--example", "--bins", "0"), ("explain", "--example", "--offset", "zz"),
])
def test_usage_errors_exit_2(args: tuple[str, ...]):
    result = run(*args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stderr.strip() and not result.stdout
    no_traceback(result)


# -- the example study ------------------------------------------------------------------------
def test_tree_of_the_example():
    result = run("tree", "--example")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "65 instances" in out and "Patient PHANTOM-001 'Phantom^Jörg': 1 study" in out
    assert 'Series 1 CT "Scout lateral": 1 instance' in out
    assert 'Series 2 CT "Head 3.0 tilted": 40 instances' in out
    assert 'Series 3 CT "Head 5.0 soft": 24 instances' in out
    assert "axial, tilted 12.0 degrees (oblique), spacing 3.00 x 0.90 x 0.90 mm" in out
    assert "! single_slice" in out  # the localizer's one image
    tree = json.loads(run("tree", "--example", "--json").stdout)
    (patient,) = tree["patients"]
    series = patient["studies"][0]["series"]
    assert [s["instances"] for s in series] == [1, 40, 24]
    stack = series[1]["stacks"][0]
    assert stack["shape"] == [40, 256, 256] and stack["regular"] and not stack["diagnostics"]
    assert stack["spacing"] == pytest.approx([3.0, 0.9, 0.9])


def test_tree_needs_no_numpy():
    """``python -S``: no site-packages, so no numpy: the tree prints as with numpy, the
    stacks' geometry checked (the analysis is plain Python)."""
    result = run("tree", "--example", python=("-S",))
    assert result.returncode == 0, result.stderr
    assert result.stdout == run("tree", "--example").stdout
    assert "spacing 3.00 x 0.90 x 0.90 mm" in result.stdout and "! single_slice" in result.stdout


def test_info_of_a_file_and_of_the_study():
    result = run("info", slice_path())
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Patient   Phantom^Jörg  id PHANTOM-001" in out
    assert "Deflated Explicit VR Little Endian" in out
    assert "axial, tilted 12.0 degrees (oblique)" in out
    assert "Pixels    -1000 .. 12" in out and " HU" in out
    study = run("info", "--example")
    assert study.returncode == 0 and "affine (slice, row, column) -> LPS mm" in study.stdout
    assert study.stdout.count("Series 2 stack 1") == 1


def test_dump_tags_and_json():
    result = run("dump", "--example", "--tags", "PatientName,Rows", "--tags", "0020,0013")
    assert result.returncode == 0
    lines = result.stdout.strip().splitlines()
    # only the tags asked for (the reader reads the character set too, to decode them)
    assert [line.split()[0] for line in lines] == ["(0010,0010)", "(0020,0013)", "(0028,0010)"]
    model = json.loads(run("dump", "--example", "--json", "--no-pixels").stdout)
    assert model["00100010"] == {"vr": "PN", "Value": [{"Alphabetic": "Phantom^Jörg"}]}


def test_json_reads_back_to_the_same_dataset(tmp_path: Path):
    result = run("json", "--example")
    assert result.returncode == 0
    ds = rawdicom.from_json(rawdicom.dicomjson.loads(result.stdout))
    original = rawdicom.read(slice_path())
    assert rawdicom.to_json(ds) == rawdicom.to_json(original)
    assert ds.PixelData == original.PixelData
    bulk = tmp_path / "bulk"
    result = run("json", "--example", "--bulk-data", str(bulk), "--indent", "-1")
    model = json.loads(result.stdout)
    uri = model["7FE00010"]["BulkDataURI"]
    assert uri.startswith("file://") and len(result.stdout.splitlines()) == 1
    assert (bulk / uri.rsplit("/", 1)[1]).read_bytes() == original.PixelData


def test_explain_the_example():
    result = run("explain", "--example", "--limit", "4")
    assert result.returncode == 0
    assert result.stdout.startswith("Preamble\n") and "'DICM'" in result.stdout
    assert "\x1b[" not in result.stdout  # a pipe: no colour
    coloured = run("explain", "--example", "--limit", "2", "--color", "always")
    assert "\x1b[" in coloured.stdout
    pixels = run("explain", "--example", "--tag", "PixelData")
    assert pixels.stdout.startswith("(7FE0,0010) PixelData (inflated)")
    assert "131072 (a 32-bit little endian length)" in pixels.stdout
    at = run("explain", "--example", "--offset", "0x84", "--limit", "1")
    assert at.stdout.startswith("(0002,0000) FileMetaInformationGroupLength")


def _png(path: Path):
    imagecodecs = pytest.importorskip("imagecodecs")
    return imagecodecs.png_decode(path.read_bytes())


def test_png_decodes_to_exactly_the_window_array(tmp_path: Path):
    np = pytest.importorskip("numpy")
    ds = rawdicom.read(slice_path())
    hu = rawdicom.hounsfield(ds)
    cases = {(): rawdicom.to_uint8(ds),  # the file's own window (40/80)
             ("--window", "40,400"): rawdicom.window(hu, 40, 400),
             ("--preset", "bone"): rawdicom.window_preset(hu, "bone")}
    for options, expected in cases.items():
        out = tmp_path / "slice.png"
        result = run("png", "--example", str(out), *options)
        assert result.returncode == 0, result.stderr
        assert np.array_equal(_png(out), expected), options


def test_png_of_monochrome1_and_of_colour(tmp_path: Path):
    np = pytest.importorskip("numpy")
    pydicom = pytest.importorskip("pydicom")
    data = Path(pydicom.__file__).parent / "data" / "test_files"
    mono1 = data / "MR_small.dcm"
    ds = rawdicom.read(mono1)
    ds.PhotometricInterpretation = "MONOCHROME1"
    inverted = tmp_path / "mono1.dcm"
    rawdicom.write(ds, inverted)
    out = tmp_path / "mono1.png"
    assert run("png", str(inverted), str(out)).returncode == 0
    expected = 255 - rawdicom.to_uint8(rawdicom.read(inverted))  # white is high on screen
    assert np.array_equal(_png(out), expected)
    colour = tmp_path / "rgb.png"
    rgb = data / "SC_rgb_gdcm_KY.dcm"
    result = run("png", str(rgb), str(colour))
    assert result.returncode == 0 and "RGB" in result.stdout
    assert np.array_equal(_png(colour), rawdicom.pixel_array(rawdicom.read(rgb)))


def test_png_of_a_series_and_its_contact_sheet(tmp_path: Path):
    np = pytest.importorskip("numpy")
    out = tmp_path / "slice.png"
    result = run("png", study_path(), str(out), "--slice", "0")
    assert result.returncode == 0 and "slice 0 of 40" in result.stdout
    sheet = tmp_path / "sheet.png"
    result = run("png", study_path(), "--sheet", "--columns", "8", str(sheet), "--preset", "brain")
    assert result.returncode == 0, result.stderr
    image = _png(sheet)
    assert image.shape == (5 * 256, 8 * 256)
    volume = rawdicom.scan(study_path(), workers=1).series[1].volume()
    first = rawdicom.window(volume.array[0], 40, 80)
    assert np.array_equal(image[:256, :256], first)


def test_hist_bars_and_plot(tmp_path: Path):
    result = run("hist", slice_path())
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("HU (bar length: log scale")
    assert lines[1].split()[0] == "-1000" and lines[1].endswith("air")
    assert any(line.endswith("bone") and "#" in line for line in lines)
    study = run("hist", "--example", "--bins", "10")
    assert study.returncode == 0 and len(study.stdout.splitlines()) == 11
    plot = tmp_path / "hist.png"
    pytest.importorskip("matplotlib")
    assert run("hist", "--example", "--png", str(plot)).returncode == 0
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_volume_to_npz_and_nifti(tmp_path: Path):
    np = pytest.importorskip("numpy")
    out = tmp_path / "ct.npz"
    result = run("volume", "--example", str(out))
    assert result.returncode == 0, result.stderr
    assert "series 2 (Head 3.0 tilted), 40 x 256 x 256" in result.stdout
    saved = np.load(out)
    volume = rawdicom.scan(study_path(), workers=1).series[1].volume()
    assert np.array_equal(saved["array"], volume.array)
    assert np.allclose(saved["affine"], volume.affine)
    nibabel = pytest.importorskip("nibabel")
    nii = tmp_path / "ct.nii.gz"
    assert run("volume", "--example", str(nii), "--series", "3").returncode == 0
    image = nibabel.load(nii)
    assert image.shape == (256, 256, 24)


def test_organize_and_index(tmp_path: Path):
    target = tmp_path / "sorted"
    plan = run("organize", "--example", str(target), "--dry-run")
    assert plan.returncode == 0 and "65 copy" in plan.stdout and not target.exists()
    result = run("organize", "--example", str(target))
    assert result.returncode == 0 and "every DICOM source is in the target" in result.stdout
    assert len(list(target.rglob("*.dcm"))) == 65
    index = tmp_path / "index.sqlite"
    result = run("index", "--example", str(index), "--engine", "serial")
    assert result.returncode == 0 and "65 indexed (65 ok)" in result.stdout
    assert len(rawdicom.index.read_rows(str(index))) == 65


# -- pydicom's files, and files that are wrong --------------------------------------------------
def _pydicom_files() -> list[str]:
    pydicom = pytest.importorskip("pydicom")
    data = Path(pydicom.__file__).parent / "data"
    return sorted(str(p) for folder in ("test_files", "charset_files")
                  for p in (data / folder).rglob("*") if p.is_file() and "__pycache__" not in p.parts)


@pytest.mark.parametrize("command", ["dump", "json", "explain", "info"])
def test_pydicom_files_one_line_per_failure(command: str):
    files = _pydicom_files()
    extra = ("--no-pixels",) if command in ("dump", "json") else ()
    result = run(command, *extra, *files)
    no_traceback(result)
    errors = [line for line in result.stderr.splitlines() if ": warning: " not in line]
    assert result.returncode == (1 if errors else 0)
    for line in errors:  # each names its file
        assert line.startswith("rawdicom: ") and any(line.startswith(f"rawdicom: {f}: ")
                                                     for f in files), line
    failed = {f for f in files if any(line.startswith(f"rawdicom: {f}: ") for line in errors)}
    assert any(f.endswith("README.txt") for f in failed)  # not DICOM
    assert not any(f.endswith("CT_small.dcm") for f in failed)
    assert len(failed) < 25


def test_a_corrupt_file(tmp_path: Path):
    """A deflated data set whose deflate stream is garbage: a MalformedElementError, one
    line naming the file and the offset, status 1."""
    data = Path(slice_path()).read_bytes()
    meta_end = 0x15C  # where the example's deflated data set starts (rawdicom explain shows it)
    assert data[0x84:0x88] == b"\x02\x00\x00\x00"
    bad = tmp_path / "corrupt.dcm"
    bad.write_bytes(data[:meta_end] + b"\xff" * 16 + data[meta_end + 16:])
    for command in ("dump", "info", "json", "png", "hist"):
        args = (command, str(bad)) + ((str(tmp_path / "x.png"),) if command == "png" else ())
        result = run(*args)
        assert result.returncode == 1, (command, result.stderr)
        no_traceback(result)
        assert result.stderr.startswith(f"rawdicom: {bad}: at offset 0x15C: deflated dataset "
                                        "cannot be inflated"), result.stderr
        assert len(result.stderr.splitlines()) == 1
    debug = run("dump", str(bad), "--debug")
    assert debug.returncode == 1 and "Traceback" in debug.stderr
    explained = run("explain", str(bad))
    assert explained.returncode == 1 and "Preamble" in explained.stdout
    assert "the walk stopped" in explained.stderr


def test_a_file_cut_short_inside_its_pixel_data(tmp_path: Path):
    """The header is listed, then the file is said to be cut (status 1); the pixels cannot
    be read: status 1."""
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(Path(slice_path()).read_bytes()[:2000])
    dump = run("dump", str(cut))
    assert dump.returncode == 1 and "PatientName" in dump.stdout
    assert f"rawdicom: {cut}: the file is cut short: (7FE0,0010)" in dump.stderr
    png = run("png", str(cut), str(tmp_path / "cut.png"))
    assert png.returncode == 1 and f"rawdicom: {cut}: (7FE0,0010)" in png.stderr
    no_traceback(png)


def test_a_missing_file_and_a_folder_without_dicom(tmp_path: Path):
    missing = tmp_path / "nope.dcm"
    for args in (("dump", str(missing)), ("info", str(missing)), ("tree", str(missing)),
                 ("hist", str(missing))):
        result = run(*args)
        assert result.returncode == 1 and "No such file or directory" in result.stderr, args
        no_traceback(result)
    empty = tmp_path / "notes"
    empty.mkdir()
    (empty / "a.txt").write_text("not DICOM")
    (empty / "b.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    for command in ("tree", "info"):
        result = run(command, str(empty))
        assert result.returncode == 1 and "no DICOM file found (2 file(s)" in result.stderr
        no_traceback(result)


def test_a_file_with_a_non_ascii_name(tmp_path: Path):
    named = tmp_path / "Jörg ünïcødé 画像.dcm"
    shutil.copy(slice_path(), named)
    result = run("dump", str(named), "--tags", "PatientID")
    assert result.returncode == 0 and "PHANTOM-001" in result.stdout
    assert run("tree", str(tmp_path)).returncode == 0
    gone = tmp_path / "ñ missing 画像.dcm"
    result = run("dump", str(gone))
    assert result.returncode == 1 and result.stderr.startswith(f"rawdicom: {gone}: ")


@pytest.mark.parametrize("args", [
    ("dump", "--example"),
    ("json", "--example"),                  # one write of 180 kB: the pipe fills while writing
    ("explain", "--example", "--limit", "3000"),
    ("tree", "--example"),
])
def test_output_piped_into_head(args: tuple[str, ...]):
    """A real pipe whose reader stops after one line: exit 0, nothing on stderr."""
    process = subprocess.Popen([sys.executable, "-m", "rawdicom", *args], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline()
    process.stdout.close()
    stderr = process.stderr.read()
    assert process.wait(timeout=120) == 0, stderr
    assert first and stderr == b"", stderr


def test_head_from_the_shell():
    shell = shutil.which("sh")
    if shell is None:
        pytest.skip("no sh")
    line = f"'{sys.executable}' -m rawdicom json --example | head -c 100"
    result = subprocess.run([shell, "-c", line], cwd=ROOT, capture_output=True, timeout=120)
    assert result.returncode == 0 and len(result.stdout) == 100
    assert result.stderr == b"", result.stderr  # no BrokenPipeError, no "Exception ignored"


def test_readme_first_command_after_the_install(tmp_path):
    """The first command of README.md, as a new user types it, less its ``pip install``
    (the tests run installed): every command it chains exits 0 and writes what it says."""
    shell = shutil.which("sh")
    if shell is None:
        pytest.skip("no sh")
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    first = lines[lines.index("# install and run on the built-in example") + 1]
    install, _, rest = first.partition(" && ")
    assert install.startswith("pip install") and rest
    line = rest.replace("rawdicom ", f"'{sys.executable}' -m rawdicom ")
    result = subprocess.run([shell, "-c", line], cwd=tmp_path, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "example.png").stat().st_size > 0
    assert (tmp_path / "nifti" / "convert-manifest.jsonl").exists()
    assert len(list((tmp_path / "nifti").rglob("*.nii.gz"))) == 2
