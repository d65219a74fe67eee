"""A new user's first hour (issue 24): each surprise met on real folders, run as typed.

Every test runs ``python -m rawdicom ...`` in a subprocess (``test_cli_commands.run``) on
folders shaped like real ones (``firsthour_builders``): an ultrasound file with a two-valued
Accession Number, RGB stored plane by plane, a 4-D fMRI run, a 1-bit segmentation, images
without geometry, a missing slice, several studies on one day.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from firsthour_builders import (fmri, missing_slice, mr_series, no_geometry, rgb_file,
                                rgb_series, same_day_studies, segmentation_series,
                                ultrasound_accession)
from series_builders import write_series
from test_cli_commands import no_traceback, run

np = pytest.importorskip("numpy")


def ok(result) -> str:
    assert result.returncode == 0, (result.stdout, result.stderr)
    no_traceback(result)
    return result.stdout


def one_line_failure(result, *words: str) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    no_traceback(result)
    line = result.stderr.strip()
    assert "\n" not in line, line
    for word in words:
        assert word in line, line
    return line


# -- crashes on ordinary folders --------------------------------------------------------------
def test_tree_and_info_show_a_multi_valued_accession_number(tmp_path: Path):
    folder = ultrasound_accession(tmp_path / "us")
    out = ok(run("tree", str(folder)))
    assert "accession PR\\US" in out and '"Abdomen\\Liver"' in out
    assert "accession PR\\US" in ok(run("info", str(folder)))
    tree = json.loads(ok(run("tree", "--json", str(folder))))
    accessions = {st["accession_number"] if isinstance(st["accession_number"], str)
                  else "\\".join(st["accession_number"])
                  for p in tree["patients"] for st in p["studies"]}
    assert "PR\\US" in accessions


def test_png_of_rgb_stored_plane_by_plane(tmp_path: Path):
    imagecodecs = pytest.importorskip("imagecodecs")
    path = rgb_file(tmp_path / "us.dcm", planar=1)
    out = tmp_path / "us.png"
    assert "RGB" in ok(run("png", str(path), str(out)))
    image = imagecodecs.png_decode(out.read_bytes())
    import rawdicom
    assert np.array_equal(image, rawdicom.pixel_array(rawdicom.read(path)))


@pytest.mark.parametrize("kind, words", [
    ("rgb", ("RGB render", "Samples per Pixel")),
    ("seg", ("Liver segmentation", "Bits Allocated 1")),
    ("nogeo", ("Screenshots", "Image Position")),
    ("irregular", ("no regular grid",)),
])
def test_png_sheet_says_why_a_series_has_no_sheet_in_one_line(tmp_path: Path, kind: str,
                                                              words: tuple[str, ...]):
    folder = tmp_path / kind
    if kind == "rgb":
        rgb_series(folder)
    elif kind == "seg":
        segmentation_series(folder)
    elif kind == "nogeo":
        no_geometry(folder)
    else:
        write_series(folder, [(0, 0, z) for z in (0, 2, 4, 7, 9, 11)])
    line = one_line_failure(run("png", "--sheet", str(folder), str(tmp_path / "s.png")),
                            "no contact sheet", *words)
    assert line.startswith("rawdicom png: ")


def test_png_sheet_of_a_4d_series_shows_its_first_volume(tmp_path: Path):
    pytest.importorskip("imagecodecs")
    folder = fmri(tmp_path / "fmri", volumes=3, slices=4)
    out = ok(run("png", "--sheet", str(folder), str(tmp_path / "s.png")))
    assert "4 slices of volume 1 of 3 (a 4-D series)" in out


# -- output that must say the truth --------------------------------------------------------------
def test_hist_of_an_mr_series_is_not_in_hu(tmp_path: Path):
    out = ok(run("hist", str(mr_series(tmp_path / "mr")), "--bins", "4"))
    head = out.splitlines()[0]
    assert head.startswith("stored value") and "HU" not in out
    assert "water" not in out and "bone" not in out
    out = ok(run("hist", str(mr_series(tmp_path / "od", rescale_type="OD")), "--bins", "4"))
    assert out.splitlines()[0].startswith("rescaled value (OD)")
    ct = ok(run("hist", "--example", "--bins", "4"))
    assert ct.startswith("HU ") and "bone" in ct


def test_hist_png_title_keeps_a_slash_of_the_description(tmp_path: Path):
    pytest.importorskip("matplotlib")
    out = ok(run("hist", str(mr_series(tmp_path / "mr")), "--png", str(tmp_path / "h.png")))
    assert "series 1 (T1/SE axial)" in out
    # The title is drawn from the same label; check it through matplotlib's own text.
    from rawdicom.cli import hist
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    captured = {}
    original = plt.Axes.set_title
    try:
        plt.Axes.set_title = lambda self, title, **kw: captured.setdefault("t", title)
        hist.plot(np.array([0.0, 1.0]), np.array([3]), str(tmp_path / "t.png"),
                  f"{tmp_path}, series 1 (T1/SE axial), 4 slices", "stored value", False)
    finally:
        plt.Axes.set_title = original
    assert "series 1 (T1/SE axial), 4 slices" in captured["t"]


def test_png_preset_on_colour_says_it_does_not_apply(tmp_path: Path):
    pytest.importorskip("imagecodecs")
    path = rgb_file(tmp_path / "us.dcm", planar=0)
    result = run("png", str(path), str(tmp_path / "a.png"), "--preset", "brain")
    ok(result)
    assert "--preset brain does not apply to a colour image (RGB)" in result.stderr


def test_volume_states_its_fill_and_never_uses_the_integer_minimum(tmp_path: Path):
    nibabel = pytest.importorskip("nibabel")
    folder = missing_slice(tmp_path / "gap", n=6, gap=3)
    out = ok(run("volume", str(folder), str(tmp_path / "v.nii.gz")))
    assert "slice(s) 3 of 6 have no image: filled with -1024 (the lowest value read" in out
    array = np.asanyarray(nibabel.load(tmp_path / "v.nii.gz").dataobj)
    assert array.min() == -1024
    out = ok(run("volume", str(folder), str(tmp_path / "v.npz"), "--fill", "-3000"))
    assert "filled with -3000 (--fill)" in out
    assert np.load(tmp_path / "v.npz")["array"][3].max() == -3000
    out = ok(run("volume", str(folder), str(tmp_path / "n.npz"), "--fill", "nan"))
    saved = np.load(tmp_path / "n.npz")["array"]
    assert saved.dtype == np.float32 and np.isnan(saved[3]).all() and not np.isnan(saved[2]).any()
    one_line_failure(run("volume", str(folder), str(tmp_path / "f.npz"), "--fill", "1.5"),
                     "--fill 1.5")


def test_hist_leaves_a_missing_slice_out(tmp_path: Path):
    folder = missing_slice(tmp_path / "gap", n=6, gap=3)
    result = run("hist", str(folder), "--bins", "2")
    out = ok(result)
    assert "-2147483648" not in out and "-107" not in out
    assert "slice(s) 3 missing: left out" in result.stderr
    counts = [int(line.split()[3]) for line in out.splitlines()[1:]]
    assert sum(counts) == 5 * 64


def test_4d_nifti_has_the_repetition_time_and_four_axes(tmp_path: Path):
    nibabel = pytest.importorskip("nibabel")
    folder = fmri(tmp_path / "fmri", volumes=3, slices=4)
    out = ok(run("volume", str(folder), str(tmp_path / "f.nii.gz")))
    assert "3 x 4 x 8 x 8 (volumes, slices, rows, columns)" in out
    assert "repetition time 3000 ms (NIfTI pixdim[4] = 3 s)" in out
    header = nibabel.load(tmp_path / "f.nii.gz").header
    assert header.get_zooms()[3] == pytest.approx(3.0)
    assert header.get_xyzt_units() == ("mm", "sec")


# -- studies and series a user can tell apart and select ------------------------------------------------
def test_tree_tells_same_day_studies_apart_and_series_selects_them(tmp_path: Path):
    folder = same_day_studies(tmp_path / "days", studies=3)
    out = ok(run("tree", str(folder)))
    studies = [line for line in out.splitlines() if line.startswith("  Study ")]
    assert len(studies) == 3 and len(set(studies)) == 3
    assert {s.split()[2] for s in studies} == {"09:15", "10:15", "11:15"}
    ends = [s[s.index("[...") + 4:s.index("]")] for s in studies]
    result = run("volume", str(folder), str(tmp_path / "v.npz"), "--series", "2")
    assert result.returncode == 2 and not result.stdout
    no_traceback(result)
    lines = result.stderr.strip().splitlines()
    assert "is ambiguous (3 series)" in lines[0]
    assert sorted(line.split()[1] for line in lines[1:]) == sorted(f"{e}/2" for e in ends)
    chosen = ok(run("volume", str(folder), str(tmp_path / "v.npz"), "--series", f"{ends[1]}/2"))
    assert chosen.startswith(f"wrote {tmp_path / 'v.npz'}: series 2")
    # a Series Instance UID's start selects too
    from series_builders import make_uid
    uid = make_uid("same-day", 0, 1)
    ok(run("volume", str(folder), str(tmp_path / "w.npz"), "--series", uid[:12]))


def test_png_writes_jpeg_under_a_jpeg_name_and_refuses_other_names(tmp_path: Path):
    pytest.importorskip("imagecodecs")
    ok(run("png", "--example", str(tmp_path / "a.jpg")))
    assert (tmp_path / "a.jpg").read_bytes()[:3] == b"\xff\xd8\xff"
    ok(run("png", "--example", str(tmp_path / "a.png")))
    assert (tmp_path / "a.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    result = run("png", "--example", str(tmp_path / "a.tif"))
    assert result.returncode == 2 and "ends in .png, .jpg or .jpeg" in result.stderr
    assert not (tmp_path / "a.tif").exists()


# -- damaged files ------------------------------------------------------------------------------
def _cut_in_pixel_data(path: Path, *, overlay: bool = False) -> Path:
    """A CT file cut 3000 bytes before its end, inside its Pixel Data (an overlay before the
    pixels, as real files have, makes the scan read the Pixel Data element itself)."""
    from series_builders import ct_slice
    import rawdicom
    extra = {"6000,3000": ("OW", b"\0" * 512)} if overlay else {}
    data = rawdicom.to_bytes(ct_slice(rows=64, columns=64, extra=extra))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data[:-3000])
    return path


def test_dump_of_a_truncated_file_prints_what_it_read_and_exits_1(tmp_path: Path):
    path = _cut_in_pixel_data(tmp_path / "cut.dcm")
    result = run("dump", str(path))
    assert result.returncode == 1, result.stderr
    no_traceback(result)
    assert "(0010,0010) PN PatientName" in result.stdout  # what could be read is shown
    assert "PixelData" in result.stdout
    assert result.stderr.strip().splitlines()[-1].startswith(
        f"rawdicom: {path}: the file is cut short: (7FE0,0010)")
    assert ok(run("dump", "--example")).strip()  # a whole file still exits 0


def test_a_file_cut_inside_its_pixel_data_is_reported_as_such(tmp_path: Path):
    _cut_in_pixel_data(tmp_path / "d" / "cut.dcm", overlay=True)
    write_series(tmp_path / "d" / "ok", n=3)
    result = run("tree", str(tmp_path / "d"))
    assert result.returncode == 1 and "3 instances, 1 unreadable" in result.stdout
    # (the overlay before the Pixel Data no longer means a second read: the message is the
    # one of any cut Pixel Data, its place and the bytes missing)
    assert "(7FE0,0010) at offset" in result.stderr
    assert "Pixel Data of 8192 bytes runs past the end of the file" in result.stderr
    assert "inside its header" not in result.stderr


# -- habits from the shell, dcmtk, pydicom ------------------------------------------------------------
def test_negative_window_and_range_as_separate_arguments(tmp_path: Path):
    pytest.importorskip("imagecodecs")
    out = ok(run("png", "--example", str(tmp_path / "lung.png"), "--window", "-600,1500"))
    assert out.startswith(f"wrote {tmp_path / 'lung.png'}")
    same = ok(run("png", "--example", str(tmp_path / "eq.png"), "--window=-600,1500"))
    assert (tmp_path / "lung.png").read_bytes() == (tmp_path / "eq.png").read_bytes()
    assert same
    hist = ok(run("hist", "--example", "--range", "-1100,1500", "--bins", "2"))
    assert hist.splitlines()[1].lstrip().startswith("-1100 ..")


def test_index_holds_several_folders(tmp_path: Path):
    import sqlite3
    one = write_series(tmp_path / "one", n=3)
    two = write_series(tmp_path / "two", n=2, series_number=2, seed=3)
    out = str(tmp_path / "idx.sqlite")
    assert "0 removed" in ok(run("index", str(tmp_path / "one"), out, "--engine", "serial"))
    assert "0 removed" in ok(run("index", str(tmp_path / "two"), out, "--engine", "serial"))
    db = sqlite3.connect(out)
    rows = dict(db.execute("SELECT path, removed FROM instances"))
    assert rows == {str(p): 0 for p in one + two}
    # a file gone from one folder is marked removed by that folder's run, not the other's
    one[0].unlink()
    assert "0 removed" in ok(run("index", str(tmp_path / "two"), out, "--engine", "serial"))
    assert "1 removed" in ok(run("index", str(tmp_path / "one"), out, "--engine", "serial"))
    rows = dict(db.execute("SELECT path, removed FROM instances"))
    assert rows == {**{str(p): 0 for p in one[1:] + two}, str(one[0]): 1}


PYDICOM_HABITS = r"""
import rawdicom
from rawdicom.cli import example_path
ds = rawdicom.read(example_path())
print(ds[0x00200010])
print(repr(ds[0x0020000E]))
print(ds["0x0020000E"].value == ds["0020,000E"].value == ds[(0x0020, 0x000E)].value)
for key in (0x00191234, "0x00181030"):
    try:
        ds[key]
    except KeyError as exc:
        print("KeyError", exc)
for name in ("pixel_array", "StudyId"):
    try:
        getattr(ds, name)
    except AttributeError as exc:
        print("AttributeError", exc)
names = dir(rawdicom)
print(all(n in names for n in ("pixel_array", "hounsfield", "scan", "window", "to_uint8")))
try:
    rawdicom.scan("nope")
except FileNotFoundError as exc:
    print("FileNotFoundError", exc)
"""


def test_pydicom_habits(tmp_path: Path):
    import os
    import subprocess
    import sys
    from test_cli_commands import ROOT
    result = subprocess.run([sys.executable, "-c", PYDICOM_HABITS], cwd=tmp_path,
                            capture_output=True, text=True, encoding="utf-8",
                            env={**os.environ, "PYTHONPATH": str(ROOT),
                                 "PYTHONIOENCODING": "utf-8"}, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "(0020,0010) SH StudyID '1'"
    assert lines[1].startswith("(0020,000E) UI SeriesInstanceUID 2.25.3324810379")
    assert lines[2] == "True"
    assert lines[3] == "KeyError '(0019,1234)'"
    assert lines[4] == "KeyError '(0018,1030) ProtocolName'"
    assert "rawdicom.pixel_array(ds)" in lines[5]
    assert lines[6].endswith("did you mean StudyID?")
    assert lines[7] == "True"
    assert lines[8] == "FileNotFoundError [Errno 2] No such file or directory: 'nope'"


def test_organize_leaves_no_lock_file(tmp_path: Path):
    out = tmp_path / "sorted"
    result = run("organize", "--example", str(out))
    ok(result)
    assert not (out / "_organize.lock").exists()
    assert sorted(p.name for p in out.iterdir()) == ["PHANTOM-001_Phantom_Jörg",
                                                     "_organize-manifest.jsonl"]


def test_the_crash_on_purpose_in_the_suite_prints_no_fatal_error(tmp_path: Path):
    import os
    import subprocess
    import sys
    from test_cli_commands import ROOT
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider",
         str(ROOT / "tests" / "test_pixels_isolated.py"), "-k", "crash"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
    assert "Fatal Python error" not in result.stdout + result.stderr


# -- once through every command as a pydicom / dcm2niix user --------------------------------------------
def test_tree_names_4d_stacks_and_objects_without_images(tmp_path: Path):
    from firsthour_builders import report_series
    fmri(tmp_path / "d" / "fmri", volumes=3, slices=4)
    report_series(tmp_path / "d" / "sr")
    out = ok(run("tree", str(tmp_path / "d")))
    assert "stack: 12 images 8x8, axial (3 volumes of 4 slices), spacing 3.00" in out
    assert "a grid of" not in out
    assert "stack: 2 objects without an image (no Rows, Columns)" in out
    assert "missing_geometry" not in out


def _shared() -> Path:
    from test_cli_commands import ROOT
    for candidate in (ROOT.parent / "shared", Path("/work/shared")):
        if (candidate / "realdata").is_dir():
            return candidate / "realdata"
    pytest.skip("the real series (../shared/realdata) are not here")


def test_enhanced_bold_nifti_has_dcm2niix_repetition_time(tmp_path: Path):
    """Siemens XA61 enhanced BOLD: Repetition Time lives in the functional groups (MR Timing
    and Related Parameters); pixdim[4] must be dcm2niix's 1.23 s."""
    nibabel = pytest.importorskip("nibabel")
    data = _shared() / "dcm_qa_xa60"
    refs = sorted((data / "Ref").glob("*CimaX_XA61_2_PRODUCT_ep2d_bold_p2_sms1.nii*"))
    source = data / "In" / "XA61"
    if not refs or not source.is_dir():
        pytest.skip("the XA61 BOLD series or its reference is not here")
    out = tmp_path / "bold.nii.gz"
    text = ok(run("volume", str(source), str(out), "--series", "2"))
    assert "(volumes, slices, rows, columns)" in text
    ours, ref = nibabel.load(out).header, nibabel.load(refs[0]).header
    assert ours.get_zooms()[3] == pytest.approx(ref.get_zooms()[3]) == pytest.approx(1.23)
    assert ours.get_xyzt_units() == ref.get_xyzt_units()


def test_tree_and_info_of_a_dicomdir_show_what_it_lists():
    dicomdir = _shared() / "dcm_qa_xa60" / "In" / "XA61" / "DICOMDIR"
    if not dicomdir.is_file():
        pytest.skip("the XA61 DICOMDIR is not here")
    result = run("tree", str(dicomdir))
    assert result.returncode == 1  # one file the DICOMDIR lists is absent from the snapshot
    no_traceback(result)
    assert '"PRODUCT__ep2d_bold__p2_sms1": 7 instances' in result.stdout
    assert "no DICOM file found" not in result.stderr
    out = ok(run("info", str(dicomdir)))
    assert "a media directory: 61 image, 12 series, 11 sr document, 1 patient, 1 study" in out
    assert "Patient   -" not in out


def test_tag_takes_any_case_and_suggests_near_misses_and_version():
    assert ok(run("tag", "studyid")).startswith("(0020,0010) StudyID")
    assert ok(run("tag", "0x0020000E")).startswith("(0020,000E) SeriesInstanceUID")
    result = run("tag", "StudyIdd")
    assert result.returncode == 1 and "did you mean StudyID" in result.stderr
    no_traceback(result)
    import rawdicom
    assert ok(run("--version")).strip() == f"rawdicom {rawdicom.__version__}"


def test_png_says_which_window_and_unit_it_shows(tmp_path: Path):
    pytest.importorskip("imagecodecs")
    out = ok(run("png", "--example", str(tmp_path / "a.png")))
    assert out.rstrip().endswith(", the file's window 40/80 HU")
    out = ok(run("png", "--example", str(tmp_path / "a.png"), "--window", "-600,1500"))
    assert out.rstrip().endswith(", window -600/1500 HU")
    mr = mr_series(tmp_path / "mr")
    out = ok(run("png", str(next(mr.iterdir())), str(tmp_path / "m.png")))
    assert out.rstrip().endswith("no window in the file: its full range (stored value)")
    out = ok(run("png", "--example", "--sheet", "--series", "3", "--preset", "brain",
                 str(tmp_path / "s.png")))
    assert out.rstrip().endswith("24 slices, window 40/80 HU")


def test_tree_json_gives_what_to_type_for_each_series(tmp_path: Path):
    folder = same_day_studies(tmp_path / "days", studies=2)
    tree = json.loads(ok(run("tree", "--json", str(folder))))
    selects = [s["select"] for p in tree["patients"] for st in p["studies"]
               for s in st["series"]]
    assert len(selects) == 4 and all("/" in s for s in selects)
    for chosen in selects:
        ok(run("volume", str(folder), str(tmp_path / "v.npz"), "--series", chosen))


def test_pixel_array_and_hounsfield_take_a_path_as_pydicom_pixels_does(tmp_path: Path):
    import os
    import subprocess
    import sys
    from test_cli_commands import ROOT
    code = ("import rawdicom; from rawdicom.cli import example_path as p\n"
            "ds = rawdicom.read(p())\n"
            "print((rawdicom.pixel_array(p()) == rawdicom.pixel_array(ds)).all(),\n"
            "      (rawdicom.hounsfield(p()) == rawdicom.hounsfield(ds)).all(),\n"
            "      rawdicom.pixel_array(open(p(), 'rb').read()).shape)")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                            text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "(256,", "256)"]


def test_hist_of_colour_and_volume_of_an_irregular_series_say_what_to_do(tmp_path: Path):
    path = rgb_file(tmp_path / "us.dcm", planar=1)
    head = ok(run("hist", str(path), "--bins", "2")).splitlines()[0]
    assert head.startswith("colour sample value (R, G and B counted together)")
    folder = tmp_path / "irregular"
    write_series(folder, [(0, 0, z) for z in (0, 2, 4, 7, 9, 11)])
    line = one_line_failure(run("volume", str(folder), str(tmp_path / "v.npz")),
                            "no regular grid")
    assert line.endswith("(--resample does that here)")
    assert "float32" in ok(run("volume", str(folder), str(tmp_path / "v.npz"), "--resample"))
