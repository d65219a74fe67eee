"""The command line: `rawdicom dump` and `rawdicom tag`."""

from __future__ import annotations

from pathlib import Path

from rawdicom.cli import main


def test_dump_example(capsys):
    """--example is the middle slice of the example study's axial CT (256 x 256, deflated)."""
    assert main(["dump", "--example"]) == 0
    out = capsys.readouterr().out
    assert "(0010,0010) PN PatientName" in out and "Phantom^Jörg" in out
    assert "Item 1" in out and "RequestedProcedureID" in out
    assert "(7FE0,0010) OW PixelData" in out and "<131072 bytes>" in out
    assert "Deflated Explicit VR Little Endian" in out
    assert "(0020,0013) IS InstanceNumber" in out and " 20\n" in out


def test_dump_reports_bad_files(tmp_path: Path, capsys):
    bad = tmp_path / "bad.dcm"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
    assert main(["dump", str(bad)]) == 1
    assert "NotDicom" not in capsys.readouterr().err  # a message, not a traceback


def test_tag_lookup(capsys):
    assert main(["tag", "0020,000E", "PatientID", "(6002,3000)"]) == 0
    out = capsys.readouterr().out
    assert "SeriesInstanceUID" in out and "(0010,0020) PatientID" in out
    assert "OverlayData" in out


def test_tag_unknown(capsys):
    assert main(["tag", "0011,0010", "NotAKeyword"]) == 1
    captured = capsys.readouterr()
    assert "Private Creator" in captured.out and "not a tag or keyword" in captured.err


def test_the_example_is_a_plausible_ct_slice():
    np = __import__("pytest").importorskip("numpy")
    import rawdicom
    from rawdicom.cli import example_path

    ds = rawdicom.read(example_path())
    hu = rawdicom.hounsfield(ds)
    assert hu.shape == (256, 256)
    assert hu.min() == -1000 and 1190 < hu.max() < 1215  # air, and cortical bone with noise
    assert rawdicom.to_uint8(ds).dtype == np.uint8


def test_the_older_single_slice_example_is_still_shipped():
    """tools/make_example.py's slice: the seed of the mutation tests (test_bad_input.py)."""
    import rawdicom
    ds = rawdicom.read(Path(rawdicom.__file__).parent / "examples" / "ct_phantom.dcm")
    assert ds.Rows == 128 and ds.PatientName == "Phantom^Jörg"


def test_dump_prints_each_warning_as_one_line(tmp_path: Path):
    """A damaged file: each DicomWarning is one `rawdicom: FILE: warning: ...` line on stderr,
    never Python's source echo (`reader.py:39: DicomWarning ... ds = read(...)`)."""
    import subprocess
    import sys
    sys.path.insert(0, str(Path(__file__).parent))
    import builders as b
    # Elements out of order and no transfer syntax in the meta group: two lenient readings.
    data = b.part10(b.element(0x00100020, "LO", b.txt("ID1")) + b.element(0x00100010, "PN", b.txt("A^B")),
                    None)
    damaged = tmp_path / "damaged.dcm"
    damaged.write_bytes(data)
    result = subprocess.run([sys.executable, "-m", "rawdicom", "dump", str(damaged)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines and all(line.startswith(f"rawdicom: {damaged}: warning: ") for line in lines), lines
    assert "DicomWarning" not in result.stderr and ".py:" not in result.stderr
    assert "PatientID" in result.stdout
