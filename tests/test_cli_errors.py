"""The command line's error net: one line and exit 1 for what bad input or a bad output path
causes, one line naming the exception and exit 3 for a bug, never a traceback without
--debug. Each command runs as a user runs it, in a subprocess, on hostile inputs built here.

One test per class of failure; the classes that printed a traceback before the net (a
DicomError from ``png DIR``, an all-NaN volume, an SQLite path that cannot be opened, an
output path under a file, the PNG encoder's error) each fail without their fix.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import rawdicom
from rawdicom.cli.example import slice_path, study_path

ROOT = Path(__file__).resolve().parents[1]
np = pytest.importorskip("numpy")


def run(*args: str, code: str | None = None) -> subprocess.CompletedProcess:
    """``python -m rawdicom ARGS``; with ``code``, that Python first (to inject a fault) and
    then the command line's main on ARGS, in the same child."""
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "PYTHONPATH": str(ROOT)}
    if code is None:
        command = [sys.executable, "-m", "rawdicom", *args]
    else:
        command = [sys.executable, "-c", code + "\nimport sys\nfrom rawdicom.cli import main\n"
                   "sys.exit(main(sys.argv[1:]))", *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, encoding="utf-8",
                          env=env, timeout=300)


def one_line(result: subprocess.CompletedProcess, status: int = 1) -> str:
    """The failure is ``status``, no traceback, and its last stderr line says it."""
    assert result.returncode == status, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines, "a failure says why"
    assert all(not line.startswith("  ") for line in lines), result.stderr  # no source lines
    return lines[-1]


def _series(tmp_path: Path, name: str, change) -> Path:
    """Series 3 of the example study (24 CT slices), each file passed through ``change``."""
    folder = tmp_path / name
    folder.mkdir()
    for path in sorted(Path(study_path()).iterdir()):
        ds = rawdicom.read(path, stop_before_pixels=True)
        if ds.get("SeriesNumber") == 3:
            change(path, folder / path.name)
    return folder


def _cut(path: Path, out: Path) -> None:
    data = path.read_bytes()
    out.write_bytes(data[:len(data) - 1000])  # inside the last pixel fragment


def _float_nan(path: Path, out: Path) -> None:
    """The slice with Float Pixel Data that is all NaN."""
    ds = rawdicom.read(path)
    rows, cols = ds.Rows, ds.Columns
    for keyword in ("PixelData", "RescaleSlope", "RescaleIntercept", "PixelRepresentation",
                    "BitsStored", "HighBit", "WindowCenter", "WindowWidth"):
        if keyword in ds:
            del ds[keyword]
    ds.set("BitsAllocated", 32)
    ds.set(0x7FE00008, np.full((rows, cols), np.nan, "<f4").tobytes(), "OF")
    rawdicom.write(ds, out, transfer_syntax="1.2.840.10008.1.2.1")


# -- bad input: one line, exit 1 ------------------------------------------------------------
ONE_FILE = ("info", "dump", "json", "explain", "png", "hist")


def _one_file_args(command: str, path: Path, tmp_path: Path) -> list[str]:
    return [command, str(path)] + ([str(tmp_path / "out.png")] if command == "png" else [])


@pytest.mark.parametrize("command", ONE_FILE)
def test_a_file_that_is_not_dicom_or_cut_short_is_one_line(command: str, tmp_path: Path):
    data = Path(slice_path()).read_bytes()
    for name, content in (("text.txt", b"hello\n"), ("empty", b""), ("cut.dcm", data[:300])):
        path = tmp_path / name
        path.write_bytes(content)
        result = run(*_one_file_args(command, path, tmp_path))
        if name == "cut.dcm" and result.returncode == 0:
            # Cut inside its meta group: read leniently (an empty dataset), with a warning.
            assert "warning" in one_line(result, status=0)
            continue
        assert str(path) in one_line(result)


@pytest.mark.parametrize("command", ["tree", "info", "png", "hist", "volume"])
def test_an_empty_folder_and_a_folder_of_junk_are_one_line(command: str, tmp_path: Path):
    empty, junk = tmp_path / "empty", tmp_path / "junk"
    empty.mkdir()
    junk.mkdir()
    for i in range(3):
        (junk / f"junk{i}").write_bytes(os.urandom(500 + i))
    for folder in (empty, junk):
        args = [command, str(folder)] + (
            [str(tmp_path / "out.png")] if command == "png" else
            [str(tmp_path / "out.npz")] if command == "volume" else [])
        assert "no DICOM file found" in one_line(run(*args))


def test_png_of_a_folder_whose_pixels_are_cut_is_one_line(tmp_path: Path):
    """A DicomError out of ``png DIR`` (the chosen slice cannot be decoded) was a traceback."""
    folder = _series(tmp_path, "cut", _cut)
    line = one_line(run("png", str(folder), str(tmp_path / "out.png")))
    assert "(7FE0,0010)" in line and "runs past the end" in line


def test_an_all_nan_volume_is_one_line(tmp_path: Path):
    """``hist`` of an all-NaN image was a traceback (ValueError out of histogram), a contact
    sheet of an all-NaN (unreadable) series an exception out of nanmin."""
    folder = _series(tmp_path, "nan", _float_nan)
    first = next(iter(sorted(folder.iterdir())))
    assert "no finite values" in one_line(run("hist", str(first)))
    assert "finite" in one_line(run("png", str(folder), str(tmp_path / "s.png"), "--sheet"))


def test_an_sqlite_output_that_cannot_be_opened_is_one_line(tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    line = one_line(run("index", "--example", str(blocker / "sub" / "out.sqlite")))
    assert "cannot be used as an SQLite index" in line
    not_sqlite = tmp_path / "text.sqlite"
    not_sqlite.write_text("a text file, not a database " * 100)
    assert "SQLite" in one_line(run("index", "--example", str(not_sqlite), "--engine",
                                    "serial"))


@pytest.mark.parametrize("args", [
    ("hist", "--example", "--png", "{bad}.png"),
    ("volume", "--example", "{bad}.nii.gz"),
    ("index", "--example", "{bad}.parquet"),
    ("organize", "--example", "{bad}"),
    ("png", "--example", "{bad}.png"),
])
def test_an_output_path_that_cannot_be_written_is_one_line(args: tuple[str, ...],
                                                          tmp_path: Path):
    """An output under a regular file (NotADirectoryError) was a traceback, except for png."""
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    bad = str(blocker / "sub" / "out")
    line = one_line(run(*(a.format(bad=bad) for a in args)))
    assert "Not a directory" in line and str(blocker) in line


def test_the_png_encoders_error_is_one_line(tmp_path: Path):
    """imagecodecs' own error (PngError, a RuntimeError) out of the encoder."""
    inject = ("import imagecodecs\n"
              "def refuse(*args, **kwargs):\n"
              "    raise imagecodecs.PngError('png_encode: the encoder refused')\n"
              "imagecodecs.png_encode = refuse")
    line = one_line(run("png", "--example", str(tmp_path / "out.png"), code=inject))
    assert "cannot encode" in line and "the encoder refused" in line
    assert not (tmp_path / "out.png").exists()


def test_warnings_no_command_reported_are_one_line_each():
    """A warning that escapes a command is one line, not Python's display with the source
    line of the library that warned under it."""
    inject = ("import warnings\n"
              "import rawdicom.cli.tag as tag\n"
              "def warn(args):\n"
              "    warnings.warn('injected: a warning no command caught', UserWarning)\n"
              "    return 0\n"
              "tag.run = warn\n")
    result = run("tag", "Rows", code=inject)
    assert one_line(result, status=0) == "rawdicom tag: warning: injected: a warning no " \
                                         "command caught"
    assert len(result.stderr.strip().splitlines()) == 1


# -- a bug: one line naming it, exit 3 ----------------------------------------------------------
INJECT_BUG = ("import rawdicom.reader\n"
              "def broken(*args, **kwargs):\n"
              "    raise ZeroDivisionError('injected: a bug in the reader')\n"
              "rawdicom.reader.read = broken\n"
              "import rawdicom.cli.info, rawdicom.cli.dump\n"
              "rawdicom.cli.info.read = rawdicom.cli.dump.read = broken\n")


@pytest.mark.parametrize("command", ["info", "dump"])
def test_an_unexpected_exception_is_one_line_and_exit_3(command: str):
    line = one_line(run(command, "--example", code=INJECT_BUG), status=3)
    assert "internal error: ZeroDivisionError: injected: a bug in the reader" in line
    assert "--debug" in line


def test_debug_shows_the_traceback_of_the_unexpected_exception():
    result = run("info", "--example", "--debug", code=INJECT_BUG)
    assert result.returncode == 3
    assert "Traceback" in result.stderr and "ZeroDivisionError" in result.stderr


def test_every_command_is_behind_the_net():
    """Every command of ``--help`` is run through main's net (a bug in any is exit 3)."""
    result = run("--help")
    listed = re.findall(r"^    ([a-z]+)  ", result.stdout, re.MULTILINE)
    assert "explain" in listed and "tag" in listed and "index" in listed, result.stdout
    inject = ("import rawdicom.cli.common as common\n"
              "def broken(*args, **kwargs):\n"
              "    raise KeyError('injected')\n"
              "common.inputs = broken\n"
              "import rawdicom.cli.tag as tag\n"
              "tag.run = broken\n")
    for command in listed:
        args = [command, "--example", "x", "y"] if command != "tag" else [command, "Rows"]
        line = one_line(run(*args, code=inject), status=3)
        assert "internal error: KeyError" in line, (command, line)
