"""A scan's fast paths give what the per-file path gives: ``read_one`` file by file (its own
capture of warnings each), ``read_chunk`` (one capture per chunk), workers=1 and workers=2
(records sent between processes as marshal blobs, ``_pool._pack``), on the real series of
../shared/realdata and on a folder of files that fail, warn, are skipped or are a DICOMDIR;
and the stacks of every series are the same whichever way the records came."""

from __future__ import annotations

import math
import os
import shutil
import struct
from pathlib import Path
from typing import Any

import pytest

import rawdicom
from rawdicom.model import _pool
from rawdicom.model import scan as scan_module
from series_builders import axial_positions, ct_slice, enhanced_ct, write_series
from test_stacks_fast import describe

ROOT = Path(__file__).resolve().parents[1]
REALDATA = next((p for p in (ROOT.parent / "shared" / "realdata", Path("/work/shared/realdata"))
                 if p.is_dir()), None)


def _plain(outcome: tuple[str, Any]) -> Any:
    """An outcome comparable with ==: records by repr (NaN), errors by type and text."""
    kind, payload = outcome
    if kind == "record":
        return kind, repr(payload), list(payload)
    if kind == "failed":
        error = scan_module.outcome_error(payload)
        return kind, type(error), str(error), getattr(error, "offset", None)
    return outcome


def _mixed_folder(tmp_path: Path) -> Path:
    root = tmp_path / "mixed"
    write_series(root / "ct", n=5)
    enhanced_ct(root / "enhanced.dcm", axial_positions(3, spacing=2.0))
    good = write_series(tmp_path / "one", n=1, series_number=9)[0]
    data = good.read_bytes()
    (root / "cut-header").write_bytes(data[:700])
    (root / "cut-pixels").write_bytes(data[:-10])
    (root / "junk").write_bytes(b"not dicom at all" * 10)
    (root / "empty").write_bytes(b"")
    odd = ct_slice(extra={"StudyDescription": "odd"})
    rawdicom.write(odd, root / "odd-length")
    raw = bytearray((root / "odd-length").read_bytes())
    at = raw.find(b"odd ")  # (0008,1030) LO "odd " -> length 3: the reader warns
    struct.pack_into("<H", raw, at - 2, 3)
    (root / "odd-length").write_bytes(bytes(raw))
    shutil.copy(good, root / "duplicate")
    shutil.copy(good, root / "duplicate-2")
    for name in os.listdir(ROOT / "tests" / "fuzz_regressions"):
        if name.endswith(".dcm"):
            shutil.copy(ROOT / "tests" / "fuzz_regressions" / name, root / name)
    if hasattr(os, "mkfifo"):
        os.mkfifo(root / "fifo")
    return root


def _folders(tmp_path: Path) -> list[Path]:
    folders = [_mixed_folder(tmp_path)]
    if REALDATA is not None:
        folders += [REALDATA / name / "In" for name in ("dcm_qa_fmap", "dcm_qa_xa60",
                                                         "dcm_qa_12bit")]
    return folders


def test_chunks_and_workers_give_the_per_file_outcomes(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(scan_module, "_FILES_PER_WORKER", 1)  # processes even for few files
    monkeypatch.setattr(scan_module, "_MAX_CHUNK", 7)  # many chunks: both processes read
    for folder in _folders(tmp_path):
        paths = scan_module.list_files(folder)
        per_file = [_plain(scan_module.read_one(p)) for p in paths]
        assert [_plain(o) for o in scan_module.read_chunk(paths)] == per_file
        for workers in (1, 2):
            outcomes = scan_module.read_records(paths, workers=workers)
            assert [_plain(o) for o in outcomes] == per_file, (folder, workers)


def test_scans_and_stacks_equal_whatever_the_workers(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(scan_module, "_FILES_PER_WORKER", 1)
    monkeypatch.setattr(scan_module, "_MAX_CHUNK", 5)
    for folder in _folders(tmp_path):
        serial = rawdicom.scan(folder, workers=1)
        parallel = rawdicom.scan(folder, workers=2)
        assert repr(parallel.to_records()) == repr(serial.to_records())
        assert str(parallel) == str(serial)
        assert parallel.skipped == serial.skipped and parallel.dicomdirs == serial.dicomdirs
        assert [(p, type(e), str(e)) for p, e in parallel.failed] == \
            [(p, type(e), str(e)) for p, e in serial.failed]
        assert parallel.duplicates == serial.duplicates
        for a, b in zip(parallel.series, serial.series, strict=True):
            assert describe(a.stacks()) == describe(b.stacks())


def test_pack_round_trip_keeps_every_value_and_key_order() -> None:
    record = {"path": "/a", "x": math.nan, "y": -0.0, "z": [1, 2.5, "t"], "b": b"\x00\xff",
              "frames": [{"k": None, "v": [0.0, 1.0]}], "problems": ["p"], "n": 10 ** 30,
              "t": True}
    other = {"path": "/b", "tag_00091001": "extra", **{k: v for k, v in record.items()
                                                       if k != "path"}}
    outcomes = [("record", record), ("skipped", None), ("record", other),
                ("dicomdir", None), ("record", dict(record))]
    blob = _pool._pack(outcomes)
    assert type(blob) is bytes
    back = _pool._unpack(blob)
    assert repr(back) == repr(outcomes)
    assert [list(r) for k, r in back if k == "record"] == \
        [list(r) for k, r in outcomes if k == "record"]
    failed = outcomes + [("failed", (rawdicom.TruncatedError, "cut", 12, 0x7FE00010))]
    assert _pool._pack(failed) is failed  # (a class: sent pickled, as it is)


def test_extra_tags_cross_the_process_boundary_as_they_are(tmp_path: Path, monkeypatch) -> None:
    """scan(tags=...): records with keys of their own (a sequence as a list of dicts, a
    private tag) come back from a worker with the same keys, order and values."""
    monkeypatch.setattr(scan_module, "_FILES_PER_WORKER", 1)
    monkeypatch.setattr(scan_module, "_MAX_CHUNK", 2)
    root = tmp_path / "in"
    item = rawdicom.Dataset()
    item.set("CodeValue", "X1")
    write_series(root, n=7, extra={"InstitutionName": "Somewhere",
                                   "ProcedureCodeSequence": [item],
                                   0x00091001: ("LO", "private")})
    tags = ["InstitutionName", "ProcedureCodeSequence", "0009,1001"]
    serial = rawdicom.scan(root, workers=1, tags=tags)
    parallel = rawdicom.scan(root, workers=2, tags=tags)
    assert repr(parallel.to_records()) == repr(serial.to_records())
    assert [list(r) for r in parallel.to_records()] == [list(r) for r in serial.to_records()]
    assert serial.to_records()[0]["institution_name"] == "Somewhere"
