"""rawdicom.index.record: one row per file, equal to what scan reads, never an exception."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pydicom
import pytest

import rawdicom
from rawdicom.index import FRAME_COLUMNS, INSTANCE_COLUMNS, PHI, STATUSES, record
from rawdicom.index.header import PREFIX
from rawdicom.index.schema import convert
from rawdicom.model.record import FIELDS, snake_case
from rawdicom.model.scan import read_one
from series_builders import axial_positions, ct_slice, enhanced_ct

DATA = Path(pydicom.__file__).parent / "data"
FILES = sorted(p for folder in ("test_files", "charset_files") for p in (DATA / folder).rglob("*")
               if p.is_file())
FUZZ = sorted((Path(__file__).parent / "fuzz_regressions").glob("*.dcm"))
pytestmark = pytest.mark.filterwarnings("ignore::rawdicom.DicomWarning")
_SCAN_STATUS = {"skipped": {"not_dicom"}, "failed": {"malformed", "truncated", "unsupported",
                                                      "unreadable"}}


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(DATA)))
def test_record_equals_scan(path: Path) -> None:
    """Every column taken from the instance record holds what scan's record holds, put
    through the column's type (identity for every value of pydicom's files that fits)."""
    row = record(str(path))
    assert set(row) == {n for n, _ in INSTANCE_COLUMNS} | {"frames"}
    assert row["status"] in STATUSES
    kind, payload = read_one(str(path))
    if kind in ("record", "dicomdir"):
        assert row["status"] in ("ok", "truncated"), row["error_message"]
        if kind == "dicomdir":
            return
        kinds = dict(INSTANCE_COLUMNS)
        notes: list[str] = []
        for keyword in FIELDS:
            key = snake_case(keyword)
            if keyword in PHI:
                assert key not in row
                continue
            assert row[key] == convert(key, kinds[key], payload[key], notes), key
        for key in ("transfer_syntax_uid", "pixel_data_offset", "pixel_data_length"):
            assert row[key] == payload[key], key
        frames = payload["frames"] or []
        assert len(row["frames"] or []) == len(frames)
        fkinds = dict(FRAME_COLUMNS)
        for mine, theirs in zip(row["frames"] or [], frames):
            for key, value in theirs.items():
                assert mine[key] == convert(key, fkinds[key], value, notes), key
    else:
        assert row["status"] in _SCAN_STATUS[kind]
        assert row["error_class"] and row["error_message"]


def test_values_pass_through_unchanged() -> None:
    """The typed columns change no value of the well-formed test files (only badVR's IS
    '1A' and such: named in problems)."""
    changed = []
    for path in FILES:
        kind, payload = read_one(str(path))
        if kind != "record":
            continue
        row = record(str(path))
        for keyword in FIELDS:
            key = snake_case(keyword)
            if keyword not in PHI and payload[key] is not None and row[key] != payload[key]:
                changed.append((path.name, key, payload[key], row[key]))
    assert all(any(key in p for p in record(str(DATA / "test_files" / name))["problems"])
               or isinstance(before, list) for name, key, before, _ in changed), changed
    assert len(changed) <= 1, changed  # badVR.dcm: NumberOfFrames "1A"


def test_header_past_the_first_prefix(tmp_path: Path) -> None:
    """A header longer than 64 KiB: the next ranges are read, doubling, up to Pixel Data."""
    ds = ct_slice(rows=256, columns=256, extra={"ImageComments": "x" * (150 * 1024)})
    path = tmp_path / "long.dcm"
    rawdicom.write(ds, path)
    row = record(str(path))
    full = rawdicom.read(path, tags=["PixelData"])
    assert row["status"] == "ok"
    assert row["pixel_data_offset"] == full[0x7FE00010].offset > 2 * PREFIX
    assert row["header_bytes"] == 4 * PREFIX < row["size"]  # 64 KiB, 128 KiB, 256 KiB
    assert row["pixel_data_offset"] + row["pixel_data_length"] == os.path.getsize(path)


def test_header_read_stops_at_pixel_data(tmp_path: Path) -> None:
    path = tmp_path / "big.dcm"
    rawdicom.write(ct_slice(rows=512, columns=512), path)
    row = record(str(path))
    assert row["status"] == "ok" and row["header_bytes"] == PREFIX < row["size"]
    assert row["pixel_data_length"] == 512 * 512 * 2
    assert row["warnings"] == []  # the value cut by the prefix is no defect of the file


def test_phi_only_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "a.dcm"
    rawdicom.write(ct_slice(patient_name="Doe^Jane", extra={"PatientBirthDate": "19700101",
                                                            "PatientAge": "055Y"}), path)
    row = record(str(path))
    assert "patient_name" not in row and "patient_birth_date" not in row
    assert row["patient_id"] == "PAT-1"
    row = record(str(path), tags=PHI)
    assert row["patient_name"] == "Doe^Jane" and row["patient_birth_date"] == "19700101"
    assert row["patient_age"] == "055Y"
    row = record(str(path), tags=["PatientAge", "BodyPartExamined"])
    assert row["patient_age"] == "055Y" and "patient_name" not in row
    with pytest.raises(ValueError):
        record(str(path), tags=["NoSuchKeyword"])


def test_pure_picklable_and_bytes(tmp_path: Path) -> None:
    path = tmp_path / "a.dcm"
    rawdicom.write(ct_slice(position=(1, 2, 3)), path)
    first, second = record(str(path)), record(str(path))
    assert first == second
    assert pickle.loads(pickle.dumps(first)) == first
    assert pickle.loads(pickle.dumps(record)) is record
    from_bytes = record(path.read_bytes())
    assert from_bytes["path"] is None and from_bytes["mtime"] is None
    assert {k: v for k, v in from_bytes.items() if k not in ("path", "mtime", "frames")} == \
        {k: v for k, v in first.items() if k not in ("path", "mtime", "frames")}
    assert record("file://" + str(path))["sop_instance_uid"] == first["sop_instance_uid"]


def test_derived_geometry_and_stack_key(tmp_path: Path) -> None:
    path = tmp_path / "a.dcm"
    rawdicom.write(ct_slice(position=(10, 20, 30), orientation=(1, 0, 0, 0, 0, -1)), path)
    row = record(str(path))
    assert (row["normal_x"], row["normal_y"], row["normal_z"]) == (0.0, 1.0, 0.0)
    assert row["slice_position"] == 20.0
    other = tmp_path / "b.dcm"
    rawdicom.write(ct_slice(position=(10, 22, 30), orientation=(1, 0, 0, 0, 0, -1)), other)
    localizer = tmp_path / "c.dcm"
    rawdicom.write(ct_slice(image_type=("ORIGINAL", "PRIMARY", "LOCALIZER")), localizer)
    assert record(str(other))["stack_key"] == row["stack_key"]
    assert record(str(localizer))["stack_key"] != row["stack_key"]


def test_stack_key_inputs_are_what_the_hard_keys_read() -> None:
    """stack_key is memoized on HARD_KEY_INPUTS: every key the model's hard keys read must be
    among them, or two rows differing in an unlisted key would share a memoized key."""
    from rawdicom.model.instance import Instance
    from rawdicom.model.stacks import _HARD, HARD_KEY_INPUTS

    class Recording(Instance):
        __slots__ = ("names",)

        def get(self, name, default=None):  # type: ignore[no-untyped-def]
            self.names.add(name)
            return super().get(name, default)

    inst = Recording({"image_position_patient": [0.0, 0.0, 0.0],
                      "image_orientation_patient": [1.0, 0, 0, 0, 1, 0]})
    inst.names = set()
    for _, value_of in _HARD:
        value_of(inst)
    assert inst.names and inst.names <= set(HARD_KEY_INPUTS)


def test_stack_key_memo_equals_computing_it() -> None:
    """Memoized or not, the key is the one computed from the row: rows that differ in one
    input each (and in position only, which enters as present or missing)."""
    import importlib
    record_module = importlib.import_module("rawdicom.index.record")

    base = {"frame_of_reference_uid": "1.2", "image_position_patient": [0.0, 0.0, 0.0],
            "image_orientation_patient": [1.0, 0.0, 0.0, 0.0, 1.0, 0.0], "rows": 4,
            "columns": 4, "image_type": ["ORIGINAL", "PRIMARY"], "echo_numbers": [1],
            "echo_time": 2.5, "pixel_spacing": [0.5, 0.5]}
    variants = [base, {**base, "image_position_patient": [0.0, 0.0, 5.0]},
                {**base, "image_position_patient": None}, {**base, "echo_time": 5.0},
                {**base, "rows": 8}, {**base, "image_type": ["DERIVED"]},
                {**base, "pixel_spacing": [0.5, 0.6]}, {**base, "coil": "H1"},
                {**base, "image_orientation_patient": [0.0, 1.0, 0.0, 0.0, 0.0, -1.0]}]
    computed = []
    for row in variants:
        record_module._STACK_KEYS.clear()
        computed.append(record_module.stack_key(row))
    assert [record_module.stack_key(row) for row in variants] == computed  # from the memo
    assert computed[1] == computed[0] and len(set(computed)) == len(variants) - 1


def test_frames_rows(tmp_path: Path) -> None:
    path = enhanced_ct(tmp_path / "e.dcm", axial_positions(4, spacing=1.5), stack_ids="AABB")
    row = record(str(path))
    assert row["status"] == "ok" and row["number_of_frame_rows"] == 4
    frames = row["frames"]
    assert [f["frame_index"] for f in frames] == [0, 1, 2, 3]
    assert [f["slice_position"] for f in frames] == [0.0, 1.5, 3.0, 4.5]
    assert [f["dimension_index_values"] for f in frames] == [[1, 1], [1, 2], [1, 3], [1, 4]]
    assert [f["stack_id"] for f in frames] == ["A", "A", "B", "B"]
    assert frames[0]["image_orientation_patient"] == [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    assert set(frames[0]) == {n for n, _ in FRAME_COLUMNS}
    assert frames[0]["stack_key"] != frames[2]["stack_key"]


def test_bad_input_gives_rows(tmp_path: Path) -> None:
    good = (DATA / "test_files" / "CT_small.dcm").read_bytes()
    cases = {"empty": b"", "text": b"hello, not DICOM\n" * 10, "zeros": bytes(300)}
    for cut in range(0, len(good), 997):
        cases[f"cut{cut}"] = good[:cut]
    for path in FUZZ:
        cases[path.name] = path.read_bytes()
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        row = record(str(path))
        assert row["status"] in STATUSES and row["status"] != "error", (name, row)
        assert row["size"] == len(data)
        if row["status"] != "ok":
            assert row["error_class"] or row["status"] == "truncated", name
    assert record(str(tmp_path / "cut0"))["status"] == "not_dicom"
    assert record(str(tmp_path / f"cut{997 * 5}"))["status"] == "truncated"
    gone = record(str(tmp_path / "vanished.dcm"))
    assert gone["status"] == "unreadable" and gone["error_class"] == "FileNotFoundError"
    folder = record(str(tmp_path))
    assert folder["status"] == "unreadable"


@pytest.mark.parametrize("kind, value", [
    ("float", float("nan")), ("float", float("inf")), ("int", 2**64),
    ("list_float", [1.0, float("nan")]), ("list_int", [1, -2**70])])
def test_values_no_column_can_compare_are_null(kind: str, value: object) -> None:
    """NaN (never equal to itself: rows would not compare) and integers past 64 bits are
    stored as null with a note, also when already of the column's Python type."""
    problems: list[str] = []
    assert convert("c", kind, value, problems) is None and problems
