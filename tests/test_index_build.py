"""rawdicom.index.build: SQLite and Parquet hold the same rows; incremental, resumable, one
row per listed file; geometry checks on the rows agree with the model's."""

from __future__ import annotations

import builtins
import io
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pydicom
import pytest

import rawdicom
from rawdicom.index import build, check_series, connect, read_rows
from series_builders import axial_positions, enhanced_ct, write_collection, write_series

pytestmark = pytest.mark.filterwarnings("ignore::rawdicom.DicomWarning")
DATA = Path(pydicom.__file__).parent / "data" / "test_files"
FUZZ = Path(__file__).parent / "fuzz_regressions"
ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pydicom's test files, the fuzz corpus, a synthetic tree and an enhanced CT."""
    root = tmp_path_factory.mktemp("mixed")
    shutil.copytree(DATA, root / "pydicom")
    shutil.copytree(FUZZ, root / "fuzz")
    write_collection(root / "tree")
    enhanced_ct(root / "enhanced" / "e.dcm", axial_positions(5, spacing=2.0))
    return root


def test_sqlite_and_parquet_rows_are_identical(mixed: Path, tmp_path: Path) -> None:
    summary = build(mixed, tmp_path / "i.sqlite", engine="serial", partition_size=64)
    build(mixed, tmp_path / "pq", engine="serial", partition_size=64)
    files = [p for p in mixed.rglob("*") if p.is_file()]
    assert summary.files == summary.indexed == len(files)
    for table in ("instances", "frames"):
        lite = read_rows(str(tmp_path / "i.sqlite"), table)
        pq = read_rows(str(tmp_path / "pq"), table)
        assert lite == pq and lite
    assert len(read_rows(str(tmp_path / "pq"), "frames")) >= 5
    # the views agree too
    con = connect(str(tmp_path / "pq"))
    db = sqlite3.connect(tmp_path / "i.sqlite")
    for view in ("series", "studies", "patients"):
        sql = f"SELECT * FROM {view}"  # (sorted here: rows may tie on any one column)
        assert sorted(map(tuple, db.execute(sql)), key=repr) == \
            sorted(con.execute(sql).fetchall(), key=repr), view


def test_patients_view_keys_patients_as_the_model_does(mixed: Path, tmp_path: Path) -> None:
    """One PatientID under two issuers is two patients, in the view as in the Collection."""
    tree = mixed / "tree"
    build(tree, tmp_path / "i.sqlite", engine="serial")
    db = sqlite3.connect(tmp_path / "i.sqlite")
    view = sorted(db.execute("SELECT patient_id, issuer_of_patient_id, studies FROM patients"),
                  key=repr)
    model = sorted(((p.patient_id, p.issuer_of_patient_id, len(p.studies))
                    for p in rawdicom.scan(tree, workers=1).patients), key=repr)
    assert view == model
    assert [pid for pid, _, _ in view].count("PAT-1") == 2


def test_processes_engine_equals_serial(mixed: Path, tmp_path: Path) -> None:
    build(mixed, tmp_path / "serial", engine="serial", partition_size=50)
    build(mixed, tmp_path / "procs", engine="processes", workers=2, partition_size=50)
    assert read_rows(str(tmp_path / "serial")) == read_rows(str(tmp_path / "procs"))


class _Opens:
    """Counts file opens (os.open, open, io.open) of paths under a folder."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
        self.paths: list[str] = []
        folder_text = str(folder)
        for owner, name in ((os, "open"), (builtins, "open"), (io, "open")):
            original = getattr(owner, name)

            def counting(path, *args, _original=original, **kw):  # type: ignore[no-untyped-def]
                if isinstance(path, (str, os.PathLike)) and os.fspath(path).startswith(folder_text):
                    self.paths.append(os.fspath(path))
                return _original(path, *args, **kw)

            monkeypatch.setattr(owner, name, counting)


def test_incremental_rerun_opens_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    paths = write_series(data / "s", n=6) + write_series(data / "t", n=3, series_number=2)
    out = str(tmp_path / "i.sqlite")
    first = build(data, out, engine="serial")
    assert first.indexed == 9
    before = read_rows(out)
    opens = _Opens(monkeypatch, data)
    again = build(data, out, engine="serial")
    assert opens.paths == [] and again.unchanged == 9 and again.indexed == 0
    assert read_rows(out) == before
    # one file changed, one added, one removed: only the changed and the added are read
    monkeypatch.undo()
    os.utime(paths[0], ns=(time.time_ns(), time.time_ns() + 10**9))
    added = data / "t" / "new.dcm"
    shutil.copy(paths[-1], added)
    paths[1].unlink()
    opens = _Opens(monkeypatch, data)
    third = build(data, out, engine="serial")
    assert sorted(set(opens.paths)) == sorted([str(paths[0]), str(added)])
    assert (third.indexed, third.unchanged, third.removed) == (2, 7, 1)
    monkeypatch.undo()
    rows = read_rows(out)
    assert len(rows) == 9 and str(paths[1]) not in {r["path"] for r in rows}
    db = sqlite3.connect(out)
    removed = db.execute("SELECT removed FROM instances WHERE path = ?", (str(paths[1]),))
    assert removed.fetchone() == (1,)
    assert db.execute("SELECT SUM(instances) FROM series").fetchone() == (9,)


def test_interrupted_sqlite_build_resumes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    for i in range(6):
        write_series(data / f"s{i}", n=40, series_number=i + 1, seed=i)
    out = tmp_path / "i.sqlite"
    # The child indexes slowly (a pause per file), so that it is killed mid-run.
    script = textwrap.dedent(f"""
        import time
        import rawdicom.index.engines as b
        original = b.file_row
        def slow(*args, **kw):
            time.sleep(0.01)
            return original(*args, **kw)
        b.file_row = slow
        b.build({str(data)!r}, {str(out)!r}, engine="serial", partition_size=20)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 60
        done = 0
        while time.monotonic() < deadline and child.poll() is None:
            if out.exists():
                try:
                    db = sqlite3.connect(out)
                    done = db.execute("SELECT COUNT(*) FROM instances").fetchone()[0]
                    db.close()
                except sqlite3.OperationalError:
                    done = 0  # tables not created yet
                if done >= 40:
                    break
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait()
    assert 40 <= done < 240, done
    summary = build(data, str(out), engine="serial")
    assert summary.unchanged >= done and summary.indexed == 240 - summary.unchanged
    fresh = tmp_path / "fresh.sqlite"
    build(data, str(fresh), engine="serial")
    assert read_rows(str(out)) == read_rows(str(fresh))


def test_every_listed_file_gives_one_row(tmp_path: Path) -> None:
    data = tmp_path / "bad"
    data.mkdir()
    good = (DATA / "CT_small.dcm").read_bytes()
    (data / "good.dcm").write_bytes(good)
    (data / "cut.dcm").write_bytes(good[:5000])
    (data / "text.txt").write_text("not DICOM")
    (data / "empty").write_bytes(b"")
    for path in FUZZ.glob("*.dcm"):
        shutil.copy(path, data / path.name)
    os.symlink(data / "nowhere", data / "dangling")
    listed = [str(p) for p in sorted(data.iterdir())] + [str(tmp_path / "vanished.dcm")]
    out = str(tmp_path / "i.sqlite")
    summary = build(listed, out, engine="processes", workers=2, partition_size=3)
    rows = read_rows(out)
    assert [r["path"] for r in rows] == sorted(listed)
    assert summary.indexed == len(listed) == sum(summary.statuses.values())
    status = {Path(r["path"]).name: r["status"] for r in rows}
    assert status["good.dcm"] == "ok" and status["cut.dcm"] == "truncated"
    assert status["text.txt"] == status["empty"] == "not_dicom"
    assert status["dangling"] == status["vanished.dcm"] == "unreadable"
    assert "error" not in status.values()


def test_glob_and_list_sources(tmp_path: Path) -> None:
    paths = write_series(tmp_path / "s", n=3, names="dcm")
    (tmp_path / "s" / "notes.txt").write_text("x")
    summary = build(str(tmp_path / "s" / "*.dcm"), str(tmp_path / "g.sqlite"), engine="serial")
    assert summary.files == 3
    summary = build([str(p) for p in paths[:2]], str(tmp_path / "l.sqlite"), engine="serial")
    assert summary.files == 2 and summary.statuses == {"ok": 2}


def test_geometry_checks_on_index_rows_agree_with_the_model(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_series(data / "regular", axial_positions(5, spacing=2.0), series_number=1)
    write_series(data / "gap", [(0, 0, 0), (0, 0, 2), (0, 0, 4), (0, 0, 9)], series_number=2)
    write_series(data / "two", axial_positions(3), series_number=3,
                 per_slice=lambda k: {"image_type": ("ORIGINAL", "PRIMARY", "LOCALIZER")}
                 if k == 0 else {})
    enhanced_ct(data / "enhanced" / "e.dcm", axial_positions(4, spacing=1.5))
    out = str(tmp_path / "pq")
    build(data, out, engine="serial")
    rows, frames = read_rows(out), read_rows(out, "frames")
    collection = rawdicom.scan(str(data), workers=1)
    checked = 0
    for series in (s for p in collection.patients for st in p.studies for s in st.series):
        uid = series.instances[0].series_instance_uid
        mine = check_series([r for r in rows if r["series_instance_uid"] == uid], frames)
        model = series.stacks()
        assert [s.reason for s in mine.stacks] == [s.reason for s in model]
        assert [s.regular for s in mine.stacks] == [s.regular for s in model]
        assert [[d.kind for d in s.diagnostics] for s in mine.stacks] == \
            [[d.kind for d in s.diagnostics] for s in model]
        checked += 1
    assert checked == 4
    by_number = {r["series_number"]: r["series_instance_uid"] for r in rows}
    regular = check_series([r for r in rows if r["series_instance_uid"] == by_number[1]])
    assert regular.regular, regular.reason
    gap = check_series([r for r in rows if r["series_instance_uid"] == by_number[2]])
    assert not gap.regular and "non_uniform_spacing" in gap.reason
    two = check_series([r for r in rows if r["series_instance_uid"] == by_number[3]])
    assert not two.regular and "2 stacks" in two.reason
    enhanced = check_series([r for r in rows if r["series_instance_uid"] == by_number[9]], frames)
    assert enhanced.regular and len(enhanced.stacks[0]) == 4


def test_interrupted_parquet_build_keeps_its_partitions(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import rawdicom.index.engines as engines
    data = tmp_path / "data"
    write_series(data / "s", n=30)
    out = str(tmp_path / "pq")
    original, calls = engines.file_row, []

    def interrupted(*args, **kw):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) > 25:
            raise KeyboardInterrupt  # Ctrl-C in the middle of the third partition
        return original(*args, **kw)

    monkeypatch.setattr(engines, "file_row", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build(data, out, engine="serial", partition_size=10)
    monkeypatch.undo()
    assert len(list((tmp_path / "pq" / "instances").glob("part-*.parquet"))) == 2
    resumed = build(data, out, engine="serial", partition_size=10)
    assert (resumed.unchanged, resumed.indexed) == (20, 10)
    build(data, str(tmp_path / "fresh"), engine="serial", partition_size=10)
    assert read_rows(out) == read_rows(str(tmp_path / "fresh"))
    # another listing (a file gone): the old partitions are not mixed in
    next(iter(sorted((data / "s").iterdir()))).unlink()
    again = build(data, out, engine="serial", partition_size=10)
    assert again.indexed == 29 and len(read_rows(out)) == 29


def test_reading_a_parquet_index_does_not_abort_the_interpreter_at_exit(tmp_path):
    """read_rows of a Parquet index, then exit: pyarrow's threaded read of a file object
    aborted the process at exit about one run in two ('terminate called without an active
    exception', status -6); with use_threads=False still one run in thirty, until the
    partition is read from memory. Ten runs in a row must all end with status 0."""
    write_series(tmp_path / "in", n=6, series_number=1, seed=3)
    build(str(tmp_path / "in"), str(tmp_path / "p"), engine="serial", partition_size=2)
    code = f"from rawdicom import index; index.read_rows({str(tmp_path / 'p')!r})"
    for _ in range(10):
        done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr
