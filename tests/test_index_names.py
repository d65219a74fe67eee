"""No job aborted by one name (issue 20, item 4): file names that are not UTF-8 (and names
that look like the quoted form) go through index.build to SQLite and Parquet, every
engine, and read back as the same paths (rawdicom.index.path_text)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

import rawdicom
from rawdicom import index
from rawdicom.index.path_text import path_from_store, storable_text, stored_path

sys.path.insert(0, str(Path(__file__).parent))
from series_builders import write_series  # noqa: E402

# Names as bytes: Latin-1, a lone continuation byte, an invalid lead byte, and names that
# are valid text but look like the stored form of another.
NAMES = [b"caf\xe9.dcm", b"x\x80y", b"\xff\xfe", b'"quoted".dcm', b"back\\x41slash",
         "\u00e9t\u00e9.dcm".encode()]

pytestmark = pytest.mark.skipif(sys.platform == "win32" or sys.getfilesystemencoding() != "utf-8",
                                reason="names as bytes: POSIX with a UTF-8 file system encoding")


@pytest.fixture()
def folder(tmp_path: Path) -> tuple[Path, list[str]]:
    root = tmp_path / "in"
    made = write_series(root, n=len(NAMES))
    paths = []
    for path, name in zip(made, NAMES):
        target = os.path.join(os.fsencode(root), name)
        os.rename(path, target)
        paths.append(os.fsdecode(target))
    return root, sorted(paths)


def test_stored_path_round_trips() -> None:
    for name in NAMES + [b"", b'"', b'""', b"\\", b'"\\x41"']:
        path = "/d/" + os.fsdecode(name) if name else os.fsdecode(name)
        text = stored_path(path)
        text.encode("utf-8")  # valid text: what SQLite and Arrow accept
        assert path_from_store(text) == path
    assert stored_path("/data/a.dcm") == "/data/a.dcm"  # ordinary paths unchanged
    assert stored_path(os.fsdecode(b"/d/caf\xe9")) == '"/d/caf\\xe9"'
    assert storable_text(["ok", os.fsdecode(b"\xe9")]) == ["ok", "\\xe9"]


@pytest.mark.parametrize("engine", ["serial", "processes"])
@pytest.mark.parametrize("out", ["index.sqlite", "parquet"])
def test_index_build_keeps_non_utf8_names(folder: tuple[Path, list[str]], tmp_path: Path,
                                          engine: str, out: str) -> None:
    if out == "parquet":
        pytest.importorskip("pyarrow")
    root, paths = folder
    target = str(tmp_path / out)
    summary = index.build(str(root), target, engine=engine, workers=2, partition_size=2)
    assert summary.statuses == {"ok": len(NAMES)}
    rows = index.read_rows(target)
    assert [r["path"] for r in rows] == paths  # the same str, in the listing's order
    assert {os.fsencode(r["path"]) for r in rows} == {os.path.join(os.fsencode(root), n)
                                                       for n in NAMES}
    for row in rows:  # the rows name files that open
        assert rawdicom.read(row["path"], stop_before_pixels=True).SOPInstanceUID
    frames = index.read_rows(target, table="frames")
    assert all(f["path"] in paths for f in frames)
    if out.endswith(".sqlite"):  # incremental: nothing read again, nothing marked removed
        again = index.build(str(root), target, engine=engine, workers=2, partition_size=2)
        assert (again.unchanged, again.removed, again.indexed) == (len(NAMES), 0, 0)
    else:
        pytest.importorskip("duckdb")
        stored = {p for (p,) in index.connect(target).execute(
            "SELECT path FROM instances").fetchall()}
        assert stored == {stored_path(p) for p in paths}


def test_error_message_with_non_utf8_name_is_stored(tmp_path: Path) -> None:
    """A row whose error message names such a file (a file that is no DICOM) is written."""
    pytest.importorskip("pyarrow")
    root = tmp_path / "in"
    root.mkdir()
    bad = os.path.join(os.fsencode(root), b"junk\xe9")
    with open(bad, "wb") as f:
        f.write(b"not dicom at all")
    os.mkfifo(os.path.join(os.fsencode(root), b"pipe\xe9"))
    for out in ("i.sqlite", "parquet"):
        index.build(str(root), str(tmp_path / out), engine="serial")
        rows = index.read_rows(str(tmp_path / out))
        assert [os.fsencode(r["path"]) for r in rows] == sorted(
            [bad, os.path.join(os.fsencode(root), b"pipe\xe9")])
        assert {r["status"] for r in rows} == {"not_dicom"}


def test_scan_and_organize_keep_non_utf8_names(folder: tuple[Path, list[str]],
                                               tmp_path: Path) -> None:
    from rawdicom.model.organize import organize
    root, paths = folder
    c = rawdicom.scan(str(root), workers=1)
    assert sorted(i.path for i in c.instances) == paths
    report = organize(str(root), str(tmp_path / "out"), workers=1)
    assert report.ok and sorted(e.source for e in report.entries) == paths
    again = organize(str(root), str(tmp_path / "out"), workers=1)  # reads the manifest back
    assert again.ok and {e.action for e in again.entries} == {"skip"}
