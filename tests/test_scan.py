"""rawdicom.scan on generated folders: what is an instance, what is skipped or failed, and
that the result does not depend on workers or listing order; records against pydicom."""

from __future__ import annotations

import multiprocessing
import os
import random
import shutil
import struct
import sys
import warnings
from pathlib import Path

import pytest

import rawdicom
from rawdicom import DicomError, TruncatedError
from rawdicom.model import scan as scan_module
from rawdicom.model.record import FIELDS, HEADER_TAGS, LIST_FIELDS, snake_case

sys.path.insert(0, str(Path(__file__).parent))
from series_builders import (axial_positions, ct_slice, enhanced_ct, write_collection,  # noqa: E402
                             write_series)


@pytest.fixture()
def tree(tmp_path: Path) -> dict:
    """The mixed collection plus junk: a text file, a PNG header, an empty file, random bytes,
    a file of NUL bytes, a file truncated in its header and one in its Pixel Data."""
    root = tmp_path / "in"
    info = write_collection(root, seed=3)
    junk = root / "junk"
    junk.mkdir()
    (junk / "notes.txt").write_text("not a DICOM file\n")
    (junk / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    (junk / "empty").write_bytes(b"")
    (junk / "random").write_bytes(random.Random(0).randbytes(20000))
    (junk / "zeros").write_bytes(bytes(1000))
    source = info["paths"][0].read_bytes()
    (junk / "cut-header").write_bytes(source[:700])
    (junk / "cut-pixels").write_bytes(source[:-10])
    info["root"] = root
    info["skipped"] = {str(junk / n) for n in ("notes.txt", "image.png", "empty", "random",
                                               "zeros")}
    info["failed"] = {str(junk / "cut-header"), str(junk / "cut-pixels")}
    return info


def test_scan_finds_every_instance_and_sorts_out_the_rest(tree: dict) -> None:
    c = rawdicom.scan(tree["root"], workers=1)
    assert len(c.instances) == len(tree["paths"])
    assert {i.path for i in c.instances} == {str(p) for p in tree["paths"]}
    assert set(c.skipped) == tree["skipped"]
    assert {path for path, _ in c.failed} == tree["failed"]
    assert all(isinstance(error, TruncatedError) for _, error in c.failed)
    by_path = dict(c.failed)
    assert "Pixel Data" in str(by_path[str(tree["root"] / "junk" / "cut-pixels")])
    # the hierarchy: PAT-1 under two issuers is two patients
    assert [(p.patient_id, p.issuer_of_patient_id) for p in c.patients] == [
        ("PAT-1", "HOSP-A"), ("PAT-1", "HOSP-B"), ("PAT-2", None)]
    series = {s.series_instance_uid: s for s in c.series}
    for uid, paths in tree["series"].items():
        assert sorted(i.path for i in series[uid]) == sorted(str(p) for p in paths)


@pytest.mark.parametrize("cut", [150, 300, 500, 700, 900, 1000])
def test_a_file_cut_anywhere_is_failed_or_skipped_never_an_instance(tmp_path: Path,
                                                                     cut: int) -> None:
    source = write_series(tmp_path / "s", n=1)[0].read_bytes()
    assert cut < len(source)
    path = tmp_path / "cut"
    path.write_bytes(source[:cut])
    kind, payload = scan_module.read_one(str(path))
    assert kind in ("failed", "skipped"), payload
    if kind == "failed":
        assert issubclass(payload[0], DicomError)


def test_rejecting_a_large_junk_file_reads_only_its_first_kilobytes(tmp_path: Path,
                                                                     monkeypatch) -> None:
    junk = tmp_path / "big.zip"
    junk.write_bytes(b"PK\x03\x04" + bytes(4 << 20))

    def no_whole_file(src):  # the reader's whole-file path
        raise AssertionError("the whole file was read")

    monkeypatch.setattr("rawdicom.reader._load", no_whole_file)
    assert scan_module.read_one(str(junk)) == ("skipped", None)


def test_header_only_reads_never_load_the_pixel_data(tmp_path: Path, monkeypatch) -> None:
    paths = write_series(tmp_path, n=3, rows=128, columns=128)  # 32 KiB of pixels each

    def no_whole_file(src):
        raise AssertionError("the whole file was read")

    monkeypatch.setattr("rawdicom.reader._load", no_whole_file)
    c = rawdicom.scan(tmp_path, workers=1)
    assert len(c.instances) == 3 and not c.failed
    for instance in c.instances:
        data = Path(instance.path).read_bytes()
        offset, length = instance.pixel_data_offset, instance.pixel_data_length
        assert length == 128 * 128 * 2 and offset + length == len(data)
        assert data[offset - 12:offset - 8] == struct.pack("<HH", 0x7FE0, 0x0010)


def test_overlay_between_header_and_pixels_still_gives_the_pixel_data_place(tmp_path: Path
                                                                             ) -> None:
    ds = ct_slice(extra={"OverlayRows": 8, "OverlayColumns": 8})
    rawdicom.write(ds, tmp_path / "x")
    kind, record = scan_module.read_one(str(tmp_path / "x"))
    full = rawdicom.read(tmp_path / "x")
    assert kind == "record"
    assert record["pixel_data_offset"] == full["PixelData"].offset
    assert record["pixel_data_length"] == full["PixelData"].length


def test_symlink_loops_dot_folders_dot_files_and_dicomdir(tmp_path: Path) -> None:
    root = tmp_path / "in"
    paths = write_series(root / "a", n=3)
    (root / "a" / "loop").symlink_to(root, target_is_directory=True)
    (root / "again").symlink_to(root / "a", target_is_directory=True)
    (root / "link-to-file").symlink_to(paths[0])
    (root / "dangling").symlink_to(tmp_path / "nowhere")
    hidden = write_series(root / ".git", n=1, series_number=77)[0]
    dotfile = root / ".hidden-slice"
    shutil.copy(write_series(tmp_path / "other", n=1, series_number=5)[0], dotfile)
    dicomdir = root / "DICOMDIR"
    dicomdir.write_bytes(_minimal_dicomdir())
    c = rawdicom.scan(root, workers=1)
    found = sorted(i.path for i in c.instances)
    # each file once (the loop and the second link add nothing), the dot-file read, the
    # .git folder not entered
    assert len(found) == 4 and str(dotfile) in found
    assert str(hidden) not in found and not any(".git" in p for p in c.skipped)
    assert c.dicomdirs == [str(dicomdir)]
    assert [p for p, _ in c.failed] == [str(root / "dangling")]
    assert isinstance(c.failed[0][1], OSError)


def _minimal_dicomdir() -> bytes:
    ds = rawdicom.Dataset()
    ds.set("SOPClassUID", "1.2.840.10008.1.3.10")
    ds.set("SOPInstanceUID", "2.25.1")
    ds.set("FileSetID", "EMPTY")
    ds.set(0x00041200, 0, "UL")
    ds.set(0x00041202, 0, "UL")
    ds.set(0x00041212, 0, "US")
    ds.set(0x00041220, [], "SQ")
    return rawdicom.to_bytes(ds)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="root reads a file whatever its mode")
def test_unreadable_file_is_failed_with_its_oserror(tmp_path: Path) -> None:
    path = write_series(tmp_path, n=2)[0]
    path.chmod(0)
    try:
        c = rawdicom.scan(tmp_path, workers=1)
    finally:
        path.chmod(0o644)
    assert [p for p, _ in c.failed] == [str(path)]
    assert isinstance(c.failed[0][1], PermissionError)
    assert len(c.instances) == 1


def test_vanished_file_is_failed_not_fatal(tmp_path: Path) -> None:
    paths = write_series(tmp_path, n=2)
    c = rawdicom.scan([*paths, tmp_path / "gone"], workers=1)
    assert len(c.instances) == 2
    assert [p for p, _ in c.failed] == [str(tmp_path / "gone")]
    assert isinstance(c.failed[0][1], FileNotFoundError)


def test_same_result_whatever_workers_and_listing_order(tree: dict, monkeypatch) -> None:
    serial = rawdicom.scan(tree["root"], workers=1)
    monkeypatch.setattr(scan_module, "_FILES_PER_WORKER", 1)  # processes even for few files
    monkeypatch.setattr(scan_module, "_MAX_CHUNK", 3)
    parallel = rawdicom.scan(tree["root"], workers=2)
    files = [p for p in tree["root"].rglob("*") if p.is_file()]
    random.Random(5).shuffle(files)
    listed = rawdicom.scan(files, workers=2)
    for other in (parallel, listed):
        assert other.to_records() == serial.to_records()
        assert other.skipped == serial.skipped
        assert [(p, type(e), str(e)) for p, e in other.failed] == \
            [(p, type(e), str(e)) for p, e in serial.failed]
        assert str(other) == str(serial)
    # errors keep their offset and tag across the process boundary
    errors = {p: e for p, e in parallel.failed}
    cut = errors[str(tree["root"] / "junk" / "cut-pixels")]
    assert cut.tag == 0x7FE00010 and cut.offset is not None


def test_progress_reports_every_file(tree: dict, monkeypatch) -> None:
    calls: list[tuple[int, int]] = []
    rawdicom.scan(tree["root"], workers=1, progress=lambda done, total: calls.append((done, total)))
    total = calls[0][1]
    assert calls[0] == (0, total) and calls[-1] == (total, total)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    monkeypatch.setattr(scan_module, "_FILES_PER_WORKER", 1)
    calls.clear()
    rawdicom.scan(tree["root"], workers=2, progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (total, total)


def test_extra_tags_are_added_to_the_records(tmp_path: Path) -> None:
    write_series(tmp_path, n=2, extra={"KVP": 120.0, 0x00091010: ("LO", "VENDOR"),
                                       0x00091001: ("LO", "private value")})
    code = rawdicom.Dataset()
    code.set("CodeValue", "CT1")
    code.set("CodeMeaning", "A procedure")
    write_series(tmp_path / "seq", n=1, extra={"ProcedureCodeSequence": [code]})
    c = rawdicom.scan(tmp_path, workers=1, tags=["KVP", 0x00091001, "ContrastBolusAgent",
                                                  "ProcedureCodeSequence"])
    record = c.to_records()[0]
    assert record["kvp"] == 120.0
    assert record["tag_00091001"] == "private value"
    assert record["contrast_bolus_agent"] is None
    assert record["procedure_code_sequence"] is None
    with_sequence = [r for r in c.to_records() if r["procedure_code_sequence"]]
    assert with_sequence[0]["procedure_code_sequence"] == [
        {"code_value": "CT1", "code_meaning": "A procedure"}]


def test_warnings_go_to_the_record_not_to_stderr(tmp_path: Path) -> None:
    write_series(tmp_path, n=1, extra={"SliceThickness": ("DS", "1.5 mm")})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        c = rawdicom.scan(tmp_path, workers=1)
    problems = c.instances[0].problems
    assert any(p.startswith("warning: ") and "1.5 mm" in p for p in problems)


def test_duplicates_same_and_different_bytes(tmp_path: Path) -> None:
    paths = write_series(tmp_path / "s", n=3)
    shutil.copy(paths[0], tmp_path / "copy-of-0")
    changed = ct_slice(k=1, position=axial_positions(3)[1], pixels=lambda k, r, c: 7)
    rawdicom.write(changed, tmp_path / "changed-1")
    c = rawdicom.scan(tmp_path, workers=1)
    assert len(c.duplicates) == 2
    by_uid = {d.sop_instance_uid: d for d in c.duplicates}
    same = by_uid[rawdicom.read(paths[0]).SOPInstanceUID]
    different = by_uid[rawdicom.read(paths[1]).SOPInstanceUID]
    assert same.identical is True and len(same.kept) == 1 and len(same.dropped) == 1
    assert different.identical is False and len(different.kept) == 2 and not different.dropped
    used = {i.path for i in c.instances}
    assert len(used) == 4  # 3 slices, the identical copy once, the different one kept
    assert set(different.kept) <= used and not set(same.dropped) & used


def test_enhanced_multiframe_is_one_instance_with_frames(tmp_path: Path) -> None:
    enhanced_ct(tmp_path / "enhanced", axial_positions(4, spacing=1.5), slopes=[1, 1, 2, 2])
    c = rawdicom.scan(tmp_path, workers=1)
    (instance,) = c.instances
    assert instance.number_of_frames == 4 and instance.frame is None
    frames = instance.frames()
    assert [f.image_position_patient[2] for f in frames] == [0.0, 1.5, 3.0, 4.5]
    assert [f.rescale_slope for f in frames] == [1.0, 1.0, 2.0, 2.0]
    assert "4 frames" in str(c)


# -- the records against pydicom -------------------------------------------------------------
def _pydicom_plain(value, as_list: bool):
    """pydicom's value in the shape of a record's (lists, numbers, stripped text, None)."""
    from pydicom.multival import MultiValue
    from pydicom.valuerep import DSfloat, IS, PersonName

    def one(v):
        if v is None or v == "":
            return None
        if isinstance(v, DSfloat):
            return float(v)
        if isinstance(v, IS):
            return int(v)
        if isinstance(v, (PersonName, str)):
            return str(v).strip() or None
        return v

    if value is None or value == "" or (isinstance(value, MultiValue) and not len(value)):
        return None
    if isinstance(value, (MultiValue, list)):
        return [one(v) for v in value]
    value = one(value)
    return [value] if as_list and value is not None else value


def test_records_equal_pydicoms_reading(tree: dict) -> None:
    pydicom = pytest.importorskip("pydicom")
    c = rawdicom.scan(tree["root"], workers=1)
    compared = 0
    for instance in c.instances:
        ds = pydicom.dcmread(instance.path, stop_before_pixels=True)
        for keyword in FIELDS:
            if keyword == "ReferencedFileID":
                continue
            expected = _pydicom_plain(ds.get(keyword), keyword in LIST_FIELDS)
            assert instance.record[snake_case(keyword)] == expected, (instance.path, keyword)
            compared += expected is not None
        assert instance.transfer_syntax_uid == ds.file_meta.TransferSyntaxUID
        full = pydicom.dcmread(instance.path)
        assert instance.pixel_data_length == len(full.PixelData)
    assert compared > 20 * len(c.instances)


def test_permission_denied_is_failed_even_when_running_as_root(tmp_path: Path,
                                                              monkeypatch) -> None:
    """The same path as above, with the refusal simulated (root can read mode 000 files)."""
    paths = write_series(tmp_path, n=2)
    real_open = os.open

    def refusing_open(path, *args, **kw):
        if os.fspath(path) == str(paths[0]):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_open(path, *args, **kw)

    monkeypatch.setattr(os, "open", refusing_open)
    c = rawdicom.scan(tmp_path, workers=1)
    assert [p for p, _ in c.failed] == [str(paths[0])]
    assert isinstance(c.failed[0][1], PermissionError)
    assert [i.path for i in c.instances] == [str(paths[1])]


def test_a_file_reached_by_two_paths_is_read_once_under_the_smaller(tmp_path: Path) -> None:
    paths = write_series(tmp_path / "b", n=2)
    os.link(paths[0], tmp_path / "a-hard-link")
    (tmp_path / "c-symlink").symlink_to(paths[1])
    expected = sorted([str(tmp_path / "a-hard-link"), str(paths[1])])
    for order in (1, -1):
        listed = sorted(tmp_path.rglob("*"))[::order]
        c = rawdicom.scan([p for p in listed if p.is_file()], workers=1)
        assert sorted(i.path for i in c.instances) == expected and not c.duplicates
    assert sorted(i.path for i in rawdicom.scan(tmp_path, workers=1).instances) == expected


def test_a_worker_that_dies_loses_nothing(tree: dict, monkeypatch) -> None:
    from rawdicom.model import _pool

    def die(chunks, tags, bounds, lock, results):
        index = _pool._claim(bounds, lock, front=False)  # claims a chunk, never sends it
        assert index is not None
        os._exit(3)

    serial = rawdicom.scan(tree["root"], workers=1)
    # The dying worker is a local function: it reaches the workers only by fork, which the
    # pool avoids when other threads run (a Dask cluster left by an earlier test).
    monkeypatch.setattr(_pool, "_context", lambda: multiprocessing.get_context("fork"))
    monkeypatch.setattr(scan_module, "_FILES_PER_WORKER", 1)
    monkeypatch.setattr(scan_module, "_MAX_CHUNK", 2)
    monkeypatch.setattr(_pool, "_work", die)
    c = rawdicom.scan(tree["root"], workers=3)
    assert c.to_records() == serial.to_records() and c.skipped == serial.skipped


@pytest.mark.parametrize("syntax", ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2",
                                    "1.2.840.10008.1.2.2"])
def test_stopped_at_names_the_pixel_data_a_stopped_read_did_not_read(syntax: str) -> None:
    data = rawdicom.to_bytes(ct_slice(rows=4, columns=4), transfer_syntax=syntax)
    full = rawdicom.read(data)
    assert full.stopped_at is None
    pixel = full["PixelData"]
    for ds in (rawdicom.read(data, stop_before_pixels=True),
               rawdicom.read(data, tags=HEADER_TAGS)):
        tag, vr, length, offset = ds.stopped_at
        assert (tag, length, offset) == (0x7FE00010, pixel.length, pixel.offset)
        assert vr == (pixel.vr if syntax != "1.2.840.10008.1.2" else "OB or OW")
    # tags= stops at the first element past the last one asked for
    assert rawdicom.read(data, tags=["SOPInstanceUID", "Rows"]).stopped_at[0] == 0x00280011
    assert rawdicom.Dataset().stopped_at is None
