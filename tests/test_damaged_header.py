"""Damaged files are not called ok (issue 20, item 5): a text element whose length runs far
past its value (Modality, CS, claiming 65,535 bytes: the elements after it, Pixel Data's
header among them, swallowed) is a MalformedElementError naming it, for scan and the index,
and the index's header read stays within its first prefix instead of reading the whole file;
Pixel Data cut by the end of the file is truncated over HTTP as locally (one shared check)."""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import pytest

import rawdicom
from rawdicom import MalformedElementError
from rawdicom.index import build, read_rows, record
from rawdicom.index.header import PREFIX
from rawdicom.model.scan import overrun_text_element, pixel_data_truncation

sys.path.insert(0, str(Path(__file__).parent))
from series_builders import ct_slice  # noqa: E402

MODALITY = 0x00080060
SHARED = [Path(__file__).resolve().parents[1].parent / "shared", Path("/work/shared")]
VENDOR = "realdata/dcm_qa_12bit/In/12bitSigned_0x0F0F.dcm"


def _with_modality_length(data: bytes, length: int) -> bytes:
    """``data`` with the 2-byte length of Modality (explicit VR, little endian) replaced."""
    value = rawdicom.read(data, stop_before_pixels=True)[MODALITY].offset
    out = bytearray(data)
    out[value - 2:value] = struct.pack("<H", length)
    return bytes(out)


def _files(tmp_path: Path) -> list[Path]:
    paths = []
    ct = rawdicom.to_bytes(ct_slice(rows=512, columns=512, k=1))
    paths.append(tmp_path / "ct-damaged.dcm")
    paths[-1].write_bytes(_with_modality_length(ct, 65535))
    vendor = next((base / VENDOR for base in SHARED if (base / VENDOR).exists()), None)
    if vendor is not None:  # a real Siemens MR slice (CSA headers after Modality)
        paths.append(tmp_path / "mr-damaged.dcm")
        paths[-1].write_bytes(_with_modality_length(vendor.read_bytes(), 65535))
    return paths


def test_index_record_says_damaged_within_its_header_budget(tmp_path: Path) -> None:
    for path in _files(tmp_path):
        row = record(str(path))
        assert row["status"] == "malformed", path.name
        assert row["error_class"] == "MalformedElementError"
        assert row["error_tag"] == "(0008,0060)" and row["error_offset"]
        assert "runs past its value" in row["error_message"]
        assert row["header_bytes"] <= PREFIX < row["size"]  # not the whole file
        assert row["sop_instance_uid"]  # what was read before the damage is kept


def test_scan_fails_the_damaged_file(tmp_path: Path) -> None:
    paths = _files(tmp_path)
    c = rawdicom.scan(str(tmp_path), workers=1)
    assert not c.instances
    assert {p for p, _ in c.failed} == {str(p) for p in paths}
    for _, error in c.failed:
        assert isinstance(error, MalformedElementError) and error.tag == MODALITY


def test_undamaged_long_text_is_not_flagged(tmp_path: Path) -> None:
    """Long text values that are text (a 100 KB comment, a long DS list) stay ok."""
    ds = ct_slice(rows=16, columns=16, extra={"ImageComments": "c" * 100_000,
                                              "FrameTimeVector": [1.5] * 3000})
    path = tmp_path / "long.dcm"
    rawdicom.write(ds, path)
    assert overrun_text_element(rawdicom.read(path)) is None
    assert record(str(path))["status"] == "ok"
    assert len(rawdicom.scan(str(path), workers=1).instances) == 1


def test_pixel_data_truncation_is_one_check() -> None:
    assert pixel_data_truncation(100, 50, 150) is None
    assert pixel_data_truncation(100, 50, None) is None
    assert pixel_data_truncation(100, 0xFFFFFFFF, 120) is None
    error = pixel_data_truncation(100, 50, 120)
    assert error is not None and error.offset == 100 and "20 bytes remain" in str(error)


def test_over_http_damaged_and_cut_files_are_not_ok(tmp_path: Path) -> None:
    pytest.importorskip("fsspec")
    pytest.importorskip("aiohttp")
    from http_range_server import RangeServer

    served = tmp_path / "served"
    served.mkdir()
    full = rawdicom.to_bytes(ct_slice(rows=512, columns=512, k=2))
    (served / "full.dcm").write_bytes(full)
    (served / "damaged.dcm").write_bytes(_with_modality_length(full, 65535))
    pixels = rawdicom.read(full, stop_before_pixels=True).stopped_at[3]
    cuts = [pixels + 1, pixels + 1000, PREFIX + 1, len(full) - 1]
    for cut in cuts:
        (served / f"cut-{cut}.dcm").write_bytes(full[:cut])
    with RangeServer(str(served)) as server:
        build(server.url + "/", str(tmp_path / "i.sqlite"), engine="serial")
        rows = {r["path"].rsplit("/", 1)[1]: r for r in read_rows(str(tmp_path / "i.sqlite"))}
        direct = {name: record(f"{server.url}/{name}") for name in rows}
    for name, row in rows.items():
        local = record(str(served / name))
        assert row["status"] == direct[name]["status"] == local["status"], name
    assert rows["full.dcm"]["status"] == "ok"
    assert rows["damaged.dcm"]["status"] == "malformed"
    assert rows["damaged.dcm"]["header_bytes"] <= PREFIX
    assert all(rows[f"cut-{cut}.dcm"]["status"] == "truncated" for cut in cuts)
