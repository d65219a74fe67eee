"""Remote reads through a real HTTP server honouring Range: at most the header plus one
64 KiB block per file is fetched (counted by the server), and the rows are those of the
local files."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

import rawdicom
from http_range_server import RangeServer
from rawdicom.index import build, read_rows, record
from rawdicom.index.header import PREFIX
from series_builders import ct_slice

pytest.importorskip("fsspec")
pytest.importorskip("aiohttp")

_PLACE_DEPENDENT = ("path", "mtime", "etag")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("served")
    for i in range(3):  # 512 KiB CT slices: a header and a lot of pixel data
        rawdicom.write(ct_slice(rows=512, columns=512, k=i, position=(0, 0, 2 * i)),
                       root / f"ct{i}.dcm")
    # a header longer than the first block (a 100 KB comment before the pixels)
    rawdicom.write(ct_slice(rows=512, columns=512, k=9, extra={"ImageComments": "c" * 100_000}),
                   root / "long.dcm")
    rawdicom.write(ct_slice(rows=16, columns=16, k=7), root / "small.dcm")  # all in one block
    (root / "notes.txt").write_bytes(b"not DICOM " * 20_000)
    with RangeServer(str(root)) as server:
        yield root, server


def test_record_over_http_reads_header_plus_one_block(served: tuple) -> None:
    root, server = served
    for path in sorted(root.iterdir()):
        server.sent.clear()
        row = record(f"{server.url}/{path.name}")
        local = record(str(path))
        assert {k: v for k, v in row.items() if k not in _PLACE_DEPENDENT} == \
            {k: v for k, v in local.items() if k not in _PLACE_DEPENDENT}
        fetched = server.sent[f"/{path.name}"]
        assert fetched == row["header_bytes"]
        if row["status"] == "ok":
            assert fetched <= row["pixel_data_offset"] + PREFIX, path.name
        size = path.stat().st_size
        assert fetched <= size
        if path.name.startswith("ct"):
            assert fetched == PREFIX < size  # one request of 64 KiB for a 512 KiB slice
            assert server.requests[f"/{path.name}"] == 1
        assert row["etag"]


def test_build_from_http_urls(served: tuple, tmp_path: Path) -> None:
    root, server = served
    names = sorted(p.name for p in root.iterdir())
    server.sent.clear()
    summary = build([f"{server.url}/{n}" for n in names], str(tmp_path / "remote"),
                    engine="serial")
    build(str(root), str(tmp_path / "local"), engine="serial")
    remote, local = read_rows(str(tmp_path / "remote")), read_rows(str(tmp_path / "local"))
    strip = [{k: v for k, v in r.items() if k not in _PLACE_DEPENDENT} for r in remote]
    assert strip == [{k: v for k, v in r.items() if k not in _PLACE_DEPENDENT} for r in local]
    assert summary.header_bytes == sum(server.sent.values())
    assert summary.statuses == {"ok": 5, "not_dicom": 1}


def test_build_from_an_http_folder_url(served: tuple, tmp_path: Path,
                                       capsys: pytest.CaptureFixture) -> None:
    root, server = served
    summary = build(f"{server.url}/", str(tmp_path / "i.sqlite"), engine="serial", progress=True)
    assert summary.files == len(list(root.iterdir())) == summary.indexed
    assert "6/6 files" in capsys.readouterr().err  # the progress line


def test_threads_overlap_requests_and_keep_each_files_warnings(tmp_path: Path) -> None:
    """threads=8 over a server that makes each GET wait: several GETs in flight at once, and
    the same rows as one thread. Half the files are cut inside their header, so that their
    reader warns as the clean ones are read. (This rarely hits the race of two captures at
    once: tests/test_warning_capture.py forces it.)"""
    root = tmp_path / "files"
    root.mkdir()
    for i in range(24):
        buffer = io.BytesIO()
        rawdicom.write(ct_slice(k=i, position=(0, 0, i)), buffer)
        data = buffer.getvalue()
        (root / f"f{i:02d}.dcm").write_bytes(data[:700] if i % 2 else data)
    with RangeServer(str(root), delay=0.02) as server:
        urls = [f"{server.url}/f{i:02d}.dcm" for i in range(24)]
        build(urls, str(tmp_path / "one"), engine="serial", threads=1, partition_size=24)
        assert server.max_in_flight == 1
        build(urls, str(tmp_path / "eight"), engine="serial", threads=8, partition_size=24)
        assert server.max_in_flight > 1
    one, eight = read_rows(str(tmp_path / "one")), read_rows(str(tmp_path / "eight"))
    assert [r["status"] for r in one] == ["ok", "truncated"] * 12
    assert all(r["warnings"] for r in one[1::2]) and not any(r["warnings"] for r in one[::2])
    assert eight == one

