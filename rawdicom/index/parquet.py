"""The Parquet index (pyarrow, extra ``index``) and DuckDB views over it.

Layout: ``OUT/instances/part-NNNNNN.parquet`` and ``OUT/frames/part-NNNNNN.parquet``, one pair
per partition of the file listing, plus ``OUT/_index.json`` (columns, partitions). The schema
comes from :mod:`rawdicom.index.schema`, never inferred from the data, so no two partitions
differ (a partition of unreadable files has the same columns as any other). A partition
file is named by its partition id and written to a temporary name first, then renamed:
writing a partition twice (a retried Dask task) leaves one file with the same rows.
A path that is not UTF-8 is stored quoted (:mod:`rawdicom.index.path_text`).
``OUT`` is a local folder or any fsspec URL (:mod:`rawdicom.index.storage`): on a cluster,
a bucket the workers write their partitions to.
"""

from __future__ import annotations

import json
from typing import Any

from .arrow_table import arrow_table
from .path_text import path_from_store, storable_text, stored_path
from .schema import FRAME_COLUMNS, instance_columns
from .storage import Folder
from .views import view_statements

__all__ = ["pyarrow_module", "arrow_schema", "write_partition", "prepare", "write_manifest", "read_parquet",
           "connect"]


def pyarrow_module() -> Any:
    """pyarrow, with pyarrow.parquet imported (ImportError naming the extra without it)."""
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401 (the submodule is used as pyarrow.parquet)
    except ImportError as exc:
        raise ImportError("the Parquet index needs pyarrow: pip install 'rawdicom[index]'"
                          ) from exc
    return pyarrow


def arrow_schema(columns: tuple[tuple[str, str], ...]) -> Any:
    """The fixed Arrow schema of ``columns`` ((name, kind) pairs)."""
    pa = pyarrow_module()
    base = {"text": pa.string(), "int": pa.int64(), "float": pa.float64()}
    return pa.schema([(name, pa.list_(base[kind[5:]]) if kind.startswith("list_") else base[kind])
                      for name, kind in columns])


def _part_name(partition: int) -> str:
    return f"part-{partition:06d}.parquet"


def _part(folder: Folder, table: str, partition: int) -> str:
    return folder.join(table, _part_name(partition))


def _table(pa: Any, schema: Any, columns: tuple[tuple[str, str], ...],
           arrays: dict[str, list[Any]]) -> Any:
    """The Arrow table of one partition's columns, built from buffers (no pandas import:
    :mod:`rawdicom.index.arrow_table`), or by pyarrow's conversion for a value outside the
    columns' fixed layout."""
    try:
        try:
            return arrow_table(pa, schema, columns, arrays)
        except UnicodeEncodeError:  # other text with an undecodable byte: readable \xHH
            arrays = {n: [storable_text(v) for v in values] if n != "path" else values
                      for n, values in arrays.items()}
            return arrow_table(pa, schema, columns, arrays)
    except (TypeError, ValueError):
        return pa.table(arrays, schema=schema)


def write_partition(out: str, partition: int, rows: list[dict[str, Any]],
                    extra: tuple[str, ...] = (), storage_options: dict[str, Any] | None = None
                    ) -> None:
    """Write one partition's instances and frames (frames first: a partition counts as done
    once its instances file exists)."""
    pa = pyarrow_module()
    folder = Folder(out, storage_options)
    columns = instance_columns(extra)
    frames = [f for r in rows for f in (r.get("frames") or ())]
    for table, cols, data in (("frames", FRAME_COLUMNS, frames),
                              ("instances", columns, rows)):
        schema = arrow_schema(cols)
        arrays = {name: [r.get(name) for r in data] for name, _ in cols}
        arrays["path"] = [stored_path(p) for p in arrays["path"]]  # lossless, valid text
        arrow = _table(pa, schema, cols, arrays)
        folder.write_atomic(_part(folder, table, partition),
                            lambda f, t=arrow: pa.parquet.write_table(t, f))


def _done(folder: Folder, partitions: int) -> set[int]:
    """The partitions written whole (by this run or an interrupted one): those whose
    instances file exists, from one listing of the folder."""
    names = set(folder.names(folder.join("instances")))
    return {p for p in range(partitions) if _part_name(p) in names}


def _manifest_path(folder: Folder) -> str:
    return folder.join("_index.json")


def _write_json(folder: Folder, path: str, data: dict[str, Any]) -> None:
    text = json.dumps(data).encode("utf-8")
    folder.write_atomic(path, lambda f: f.write(text))


def prepare(out: str, digest: str, partitions: int,
            storage_options: dict[str, Any] | None = None) -> set[int]:
    """Get ``out`` ready for a build over a listing of fingerprint ``digest``: the partitions
    already written by an earlier run over the same listing (kept), or none, after removing
    the partition files of another listing (so no stale rows survive)."""
    folder = Folder(out, storage_options)
    path = _manifest_path(folder)
    found: dict[str, Any] = {}
    if folder.exists(path):
        with folder.open(path) as f:
            found = json.load(f)
    if found.get("listing") == digest:
        return _done(folder, partitions)
    for table in ("instances", "frames"):
        for name in folder.names(folder.join(table)):
            if name.startswith("part-"):
                folder.remove(folder.join(table, name))
    folder.makedirs(folder.root)
    _write_json(folder, path, {"listing": digest, "complete": False})
    return set()


def write_manifest(out: str, extra: tuple[str, ...], digest: str, files: int,
                   storage_options: dict[str, Any] | None = None) -> None:
    """``_index.json`` once every partition is written: the listing's fingerprint, the
    columns and the number of files. Temporary files of writers killed mid-write (a lost
    worker: no cleanup runs) are removed; their partitions were written again."""
    folder = Folder(out, storage_options)
    for table in ("instances", "frames"):
        for name in folder.names(folder.join(table)):
            if ".tmp-" in name:
                folder.remove(folder.join(table, name))
    _write_json(folder, _manifest_path(folder), {"listing": digest, "complete": True,
                                                 "files": files,
                                                 "columns": instance_columns(extra)})


def read_parquet(out: str, table: str = "instances",
                 storage_options: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The rows of ``table`` as dicts, ordered by path (and frame)."""
    pa = pyarrow_module()
    folder = Folder(out, storage_options)
    rows = []
    for name in folder.names(folder.join(table)):
        if name.endswith(".parquet"):
            with folder.open(folder.join(table, name)) as f:
                data = f.read()
            # From memory, not from the Python file object: pyarrow 26 reading a Python file
            # object (threaded or not) left a thread that aborted the interpreter at exit
            # ('terminate called without an active exception': one run in two threaded, one
            # in thirty with use_threads=False). A partition is small.
            rows += pa.parquet.read_table(pa.BufferReader(data), use_threads=False).to_pylist()
    for row in rows:
        row["path"] = path_from_store(row["path"])
    key = (lambda r: r["path"] or "") if table == "instances" else \
        (lambda r: (r["path"] or "", r["frame_index"]))
    return sorted(rows, key=key)


def connect(out: str, database: str = ":memory:",
            storage_options: dict[str, Any] | None = None) -> Any:
    """A DuckDB connection with ``instances`` and ``frames`` views over the Parquet index at
    ``out`` (a folder or an fsspec URL, whose file system is registered with DuckDB), and
    the ``series``, ``studies``, ``patients`` views."""
    try:
        import duckdb
    except ImportError as exc:
        raise ImportError("rawdicom.index.connect needs duckdb: pip install 'rawdicom[index]'"
                          ) from exc
    folder = Folder(out, storage_options)
    con = duckdb.connect(database)
    if folder.fs is not None:
        con.register_filesystem(folder.fs)
    for table in ("instances", "frames"):
        pattern = folder.url(folder.join(table, "*.parquet")).replace("'", "''")
        con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{pattern}')")
    for statement in view_statements():
        con.execute(statement)
    return con
