"""Header-only reads of long headers: the prefix a read starts with follows the headers of
the files read before it, and gives the same dataset whatever its size; scan reads a file
whose header has elements between its last record attribute and the Pixel Data (GE's group
length of 7FE0, private groups) once, and still finds a cut Pixel Data."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import rawdicom
from rawdicom import reader
from rawdicom.model import scan as scan_module
from rawdicom.model.record import RECORD_TAGS

sys.path.insert(0, str(Path(__file__).parent))
from series_builders import axial_positions, ct_slice  # noqa: E402


def _write(path: Path, header_padding: int = 0, group_length: bool = False, k: int = 0) -> Path:
    """A CT slice; ``header_padding`` bytes of private text make its header long; with
    ``group_length`` a (7FE0,0000) element lies between the record's attributes and the
    Pixel Data, as GE writes it."""
    ds = ct_slice(position=axial_positions(4)[k], k=k, rows=16, columns=16)
    if header_padding:
        ds.set(0x00290010, "ACME 1.0", "LO")
        for i in range(header_padding // 4000 + 1):
            ds.set(0x00291000 + i, "x" * 3998, "LT")
    if group_length:
        ds.set(0x7FE00000, 16 * 16 * 2 + 8, "UL")
    rawdicom.write(ds, path)
    return path


def _seen(ds: rawdicom.Dataset) -> tuple:
    return (ds.stopped_at, ds.source_size, sorted(ds.keys()),
            [(el.tag, el.vr, el.length, el.offset) for el in ds])


@pytest.mark.parametrize("padding", [0, 6_000, 20_000, 100_000, 300_000])
def test_a_header_read_is_the_same_whatever_the_prefix(tmp_path, monkeypatch, padding):
    path = _write(tmp_path / "a.dcm", padding)
    seen = set()
    for size in (reader.HEADER_PREFIX, 16 << 10, 64 << 10, reader._MAX_PREFIX):
        monkeypatch.setattr(reader, "_prefix_size", size)
        for kw in ({"stop_before_pixels": True}, {"tags": RECORD_TAGS, "stop_before_pixels": True}):
            seen.add((str(kw), repr(_seen(rawdicom.read(path, **kw)))))
    assert len(seen) == 2  # one result per kind of read, whatever the prefix
    assert rawdicom.read(path, stop_before_pixels=True).source_size == path.stat().st_size


def test_the_prefix_follows_the_headers_read(tmp_path, monkeypatch):
    monkeypatch.setattr(reader, "_prefix_size", reader.HEADER_PREFIX)
    long = _write(tmp_path / "long.dcm", 20_000)
    rawdicom.read(long, stop_before_pixels=True)  # a header of 20 KiB: read whole once...
    assert reader._prefix_size == 32 << 10
    loads = []
    real_load = reader._load
    monkeypatch.setattr(reader, "_load", lambda src: loads.append(src) or real_load(src))
    rawdicom.read(long, stop_before_pixels=True)  # ...then from the prefix alone
    assert loads == []
    short = _write(tmp_path / "short.dcm")
    rawdicom.read(short, stop_before_pixels=True)  # a short header: the prefix shrinks back
    assert reader._prefix_size == 16 << 10
    rawdicom.read(_write(tmp_path / "huge.dcm", 400_000), stop_before_pixels=True)
    assert reader._prefix_size == 16 << 10  # a header longer than any prefix leaves it
    rawdicom.read(_write(tmp_path / "big.dcm", 200_000), stop_before_pixels=True)
    assert reader._prefix_size == reader._MAX_PREFIX


def test_scan_reads_a_header_with_a_7fe0_group_length_once(tmp_path, monkeypatch):
    folder = tmp_path / "ge"
    folder.mkdir()
    paths = [_write(folder / f"{k}.dcm", 20_000, group_length=True, k=k) for k in range(4)]
    reads = []
    real_read = scan_module.read
    monkeypatch.setattr(scan_module, "read", lambda *a, **kw: reads.append(a) or real_read(*a, **kw))
    collection = rawdicom.scan(folder, workers=1)
    assert len(reads) == 4
    (series,) = collection.series
    (stack,) = series.stacks()
    assert len(stack) == 4
    # the Pixel Data's place came from where the read stopped: a cut one is still found
    data = paths[2].read_bytes()
    paths[2].write_bytes(data[:-100])
    collection = rawdicom.scan(folder, workers=1)
    assert [str(p) for p, _ in collection.failed] == [str(paths[2])]
    assert isinstance(collection.failed[0][1], rawdicom.TruncatedError)


def test_scan_still_reads_an_attribute_asked_for_past_the_pixel_data(tmp_path):
    """tags= past the Pixel Data: the read does not stop before it."""
    path = _write(tmp_path / "a.dcm")
    ds = rawdicom.read(path)
    ds.set(0xFFFA0000 - 0x10000 + 0x0010, "ACME", "LO")  # (FFF9,0010): a private creator
    rawdicom.write(ds, path)
    collection = rawdicom.scan(tmp_path, workers=1, tags=[0xFFF90010])
    (image,) = [i for s in collection.series for i in s]
    assert image.record["tag_fff90010"] == "ACME"
