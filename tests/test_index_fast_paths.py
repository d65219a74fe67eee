"""The index's fast paths give what the plain paths give (issue 22): Arrow tables built from
buffers equal ``pyarrow.table``'s, a worker's SQLite batch equals the rows it came from,
and the ``processes`` engine (the calling process working beside its pool) writes the rows
of ``serial``, to Parquet and to SQLite. No timing here: speed is benchmarks/' business."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pydicom
import pytest

from rawdicom.index import FRAME_COLUMNS, build, read_rows, record
from rawdicom.index.schema import extra_keywords, instance_columns
from rawdicom.index.path_text import storable_text, stored_path
from series_builders import axial_positions, enhanced_ct, write_collection

pytestmark = pytest.mark.filterwarnings("ignore::rawdicom.DicomWarning")
pa = pytest.importorskip("pyarrow")
ROOT = Path(__file__).resolve().parent.parent
DATA = Path(pydicom.__file__).parent / "data" / "test_files"
FUZZ = ROOT / "tests" / "fuzz_regressions"
REALDATA = next((p for p in (ROOT.parent / "shared" / "realdata", Path("/work/shared/realdata"))
                 if p.is_dir()), None)
TAGS = ("PatientName", "PatientBirthDate", "ImageComments", "PatientWeight",
        "WindowCenterWidthExplanation")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """pydicom's test files, the fuzz corpus, a synthetic tree, an enhanced CT, a file
    whose name is not UTF-8, and the real scanner series where they are at hand."""
    root = tmp_path_factory.mktemp("fast")
    shutil.copytree(DATA, root / "pydicom")
    shutil.copytree(FUZZ, root / "fuzz")
    write_collection(root / "tree")
    enhanced_ct(root / "enhanced" / "e.dcm", axial_positions(5, spacing=2.0))
    if sys.platform != "win32":
        odd = os.path.join(os.fsencode(root / "tree"), b"caf\xe9.dcm")
        shutil.copy(DATA / "CT_small.dcm", odd)
    found = sorted(p for p in root.rglob("*") if p.is_file())
    if REALDATA is not None:
        found += sorted(p for p in REALDATA.rglob("*") if p.is_file())
    return found


def _plain_table(columns: tuple[tuple[str, str], ...], rows: list[dict]) -> object:
    """The table as pyarrow's own conversion makes it (what parquet.py did before)."""
    from rawdicom.index.parquet import arrow_schema
    schema = arrow_schema(columns)
    arrays = {name: [r.get(name) for r in rows] for name, _ in columns}
    arrays["path"] = [stored_path(p) for p in arrays["path"]]
    try:
        return pa.table(arrays, schema=schema)
    except UnicodeEncodeError:
        return pa.table({n: [storable_text(v) for v in vs] if n != "path" else vs
                         for n, vs in arrays.items()}, schema=schema)


def test_buffer_built_tables_equal_pyarrow_conversion(files: list[Path]) -> None:
    from rawdicom.index.arrow_table import arrow_table
    from rawdicom.index.parquet import _table, arrow_schema
    checked = 0
    for extra in ((), extra_keywords(TAGS)):
        rows = [record(p, tags=extra) for p in files]
        statuses = {r["status"] for r in rows}
        assert "ok" in statuses and len(statuses) >= 3  # error rows are in it too
        frames = [f for r in rows for f in (r["frames"] or ())]
        assert frames
        for columns, group in ((instance_columns(extra), rows), (FRAME_COLUMNS, frames)):
            schema = arrow_schema(columns)
            for start in range(0, len(group), 41):  # partitions of several sizes of nulls
                chunk = group[start:start + 41]
                arrays = {name: [r.get(name) for r in chunk] for name, _ in columns}
                arrays["path"] = [stored_path(p) for p in arrays["path"]]
                mine = _table(pa, schema, columns, arrays)
                mine.validate(full=True)
                assert mine.equals(_plain_table(columns, chunk))
                checked += len(chunk)
        # the fast builder itself took the ordinary rows (no fallback on them)
        ok = [r for r in rows if r["status"] == "ok" and r["path"].isascii()][:50]
        columns = instance_columns(extra)
        arrow_table(pa, arrow_schema(columns), columns,
                    {name: [r.get(name) for r in ok] for name, _ in columns})
    assert checked > 2 * len(files)


def test_buffer_builder_refuses_what_it_cannot_lay_out() -> None:
    """Values outside a column's kind raise (the caller then falls back on pyarrow), text
    that is not UTF-8 raises UnicodeEncodeError, as pyarrow.table does."""
    from rawdicom.index.arrow_table import arrow_table
    from rawdicom.index.parquet import _table, arrow_schema
    columns = (("a", "int"), ("b", "float"), ("c", "text"), ("d", "list_float"),
               ("e", "list_text"), ("f", "list_int"))
    schema = arrow_schema(columns)
    good = {"a": [1, None, -2**63], "b": [None, 1.5, -0.0], "c": ["x", None, "é"],
            "d": [[1.0, None], None, []], "e": [None, ["a", None, "b"], ["\u00e9"]],
            "f": [[2**63 - 1], [0, None], None]}
    table = arrow_table(pa, schema, columns, good)
    table.validate(full=True)
    assert table.equals(pa.table(good, schema=schema))
    for name, bad in (("a", [True, 1, 2]), ("a", [1.0, 2, 3]), ("b", [1, 2.0, 3.0]),
                      ("c", [1, "x", "y"]), ("d", [(1.0,), None, None])):
        with pytest.raises(TypeError):
            arrow_table(pa, schema, columns, {**good, name: bad})
    with pytest.raises(UnicodeEncodeError):
        arrow_table(pa, schema, columns, {**good, "c": ["\udce9", None, None]})
    # the writer's own fallback: a float in an int column, converted by pyarrow as before
    mixed = {**good, "a": [1.0, None, 3]}
    assert _table(pa, schema, columns, mixed).equals(pa.table(mixed, schema=schema))


def test_sqlite_batch_holds_the_rows(files: list[Path], tmp_path: Path) -> None:
    """What a worker sends back (lists of stored values) is what the rows store."""
    from rawdicom.index.sqlite import SQLiteSink, stored_batch
    rows = [record(p) for p in files[:120]]
    instances, frames = stored_batch(rows)
    assert len(instances) == len(rows) and all(type(v) is list for v in instances)
    assert len(frames) == sum(len(r["frames"] or ()) for r in rows)
    sink = SQLiteSink(str(tmp_path / "b.sqlite"))
    sink.write((instances, frames))
    sink.close()
    build([str(p) for p in files[:120]], str(tmp_path / "s.sqlite"), engine="serial")
    for table in ("instances", "frames"):
        assert read_rows(str(tmp_path / "b.sqlite"), table) == \
            read_rows(str(tmp_path / "s.sqlite"), table)


@pytest.mark.parametrize("out", ["index.sqlite", "parquet"])
def test_processes_engine_gives_the_rows_of_serial(files: list[Path], tmp_path: Path,
                                                   out: str) -> None:
    listed = [str(p) for p in files]
    serial = str(tmp_path / f"serial-{out}")
    procs = str(tmp_path / f"procs-{out}")
    one = build(listed, serial, engine="serial", partition_size=25)
    two = build(listed, procs, engine="processes", workers=3, partition_size=25)
    assert one.statuses == two.statuses and two.indexed == len(listed)
    assert one.header_bytes == two.header_bytes
    for table in ("instances", "frames"):
        assert read_rows(serial, table) == read_rows(procs, table)


def test_a_parquet_build_imports_no_pandas(tmp_path: Path) -> None:
    """pyarrow's conversion of Python lists imports pandas (0.3 s of CPU per process);
    the index's columns are built without it (the workers run the same code)."""
    write_collection(tmp_path / "in")
    script = textwrap.dedent(f"""
        import sys
        from rawdicom.index import build
        if __name__ == "__main__":
            build({str(tmp_path / 'in')!r}, {str(tmp_path / 'a')!r}, engine="serial")
            assert "pandas" not in sys.modules, "serial"
            build({str(tmp_path / 'in')!r}, {str(tmp_path / 'b')!r}, engine="processes",
                  workers=2, partition_size=2)
            assert "pandas" not in sys.modules, "processes"
            print("ok")
    """)
    (tmp_path / "run.py").write_text(script)
    done = subprocess.run([sys.executable, str(tmp_path / "run.py")], cwd=ROOT, text=True,
                          capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def test_one_capture_per_partition_gives_each_file_its_own_warnings(files: list[Path]) -> None:
    """A partition read in one thread holds one capture of warnings, each file taking its
    own from it: the rows (warnings, problems, statuses, errors) are those of record()."""
    from rawdicom.index.engines import index_partition
    from rawdicom.index.listing import list_source
    from rawdicom.index.sqlite import stored_batch
    entries = list_source([str(p) for p in files])
    for extra in ((), extra_keywords(TAGS)):
        _, batch, statuses, _ = index_partition(0, entries, extra, None)
        rows = [record(e.path, tags=extra) for e in entries]
        assert batch == stored_batch(rows, extra)
        assert sum(1 for r in rows if r["warnings"]) >= 5  # files that warn are in it
        assert statuses["ok"] < len(rows)


def test_other_warnings_in_a_partition_are_issued_again(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A warning that is not the reader's, raised while a partition is read, still reaches
    the caller's warning filters (once the partition's capture ends), in no row."""
    import warnings

    write_collection(tmp_path / "in")
    module = sys.modules["rawdicom.index.record"]
    original = module.instance_record

    def noisy(*args, **kw):  # type: ignore[no-untyped-def]
        warnings.warn("not the reader's", UserWarning)
        return original(*args, **kw)

    monkeypatch.setattr(module, "instance_record", noisy)
    with pytest.warns(UserWarning, match="not the reader's"):
        build(tmp_path / "in", str(tmp_path / "i.sqlite"), engine="serial")
    assert not any("not the reader" in w for r in read_rows(str(tmp_path / "i.sqlite"))
                   for w in r["warnings"])


def test_sqlite_values_are_json_dumps_of_the_rows(files: list[Path]) -> None:
    """Lists stored as JSON: number lists written item by item, text lists once per
    distinct value, give json.dumps's text exactly (-0.0, 5e-324, int64 bounds, nulls)."""
    import json

    from rawdicom.index.sqlite import _number_list, stored_batch
    for value in ([-0.0, 1.0], [5e-324, 1.7976931348623157e308, 0.1], [2**63 - 1, -2**63],
                  [1.0, None], [], [None]):
        assert _number_list(value) == json.dumps(value)
    rows = [record(p, tags=TAGS) for p in files]
    extra = extra_keywords(TAGS)

    def plain(columns: tuple[tuple[str, str], ...], group: list[dict]) -> list[list]:
        out = [[json.dumps(r[n]) if kind.startswith("list_") and r.get(n) is not None
                else r.get(n) for n, kind in columns] for r in group]
        for values in out:
            values[0] = stored_path(values[0])
        return out
    instances, frames = stored_batch(rows, extra)
    assert instances == plain(instance_columns(extra), rows)
    assert frames == plain(FRAME_COLUMNS, [f for r in rows for f in (r["frames"] or ())])


def test_the_pool_alone_gives_the_partitions_of_the_caller(files: list[Path]) -> None:
    """The processes engine's pool, fed every partition (no caller taking any): each one
    crosses a worker process and comes back as the caller would have made it."""
    import collections
    import queue
    import threading

    from rawdicom.index.engines import _feed_pool, index_partition
    from rawdicom.index.listing import list_source
    entries = list_source([str(p) for p in files[:150]])
    tasks = [(i // 30, entries[i:i + 30]) for i in range(0, len(entries), 30)]
    args = ((), None, None, 1)
    finished: queue.Queue = queue.Queue()
    _feed_pool(2, collections.deque(tasks), threading.Lock(), args, finished)
    results = []
    while (item := finished.get()) is not None:
        assert not isinstance(item, BaseException), item
        results.append(item.result())
    assert sorted(r[0] for r in results) == [p for p, _ in tasks]
    for partition, batch, statuses, header_bytes in results:
        mine = index_partition(partition, tasks[partition][1], *args)
        assert (batch, statuses, header_bytes) == mine[1:]


def test_small_local_jobs_start_no_pool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """engine="processes" with workers left unset: below POOL_MIN_FILES local files the
    caller indexes alone (a worker's start-up would cost more than it saves)."""
    import rawdicom.index.engines as engines
    write_collection(tmp_path / "in")
    started = []

    def feed(*args):  # type: ignore[no-untyped-def]
        started.append(1)
        args[-1].put(None)  # (no pool: the caller takes every partition)

    monkeypatch.setattr(engines, "_feed_pool", feed)
    summary = build(tmp_path / "in", str(tmp_path / "i.sqlite"), partition_size=2)
    assert summary.indexed > 4 and not started
    build(tmp_path / "in", str(tmp_path / "j.sqlite"), partition_size=2, workers=2)
    assert started == [1]  # workers=2 asked: the pool is started
