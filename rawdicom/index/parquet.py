"""The Parquet index (pyarrow, extra ``index``) and DuckDB views over it.

Layout: ``OUT/instances/part-NNNNNN.parquet`` and ``OUT/frames/part-NNNNNN.parquet``, one pair
per partition of the file listing, plus ``OUT/_index.json`` (columns, partitions). The schema
comes from :mod:`rawdicom.index.schema`, never inferred from the data, so no two partitions
differ (a partition of unreadable files has the same columns as any other). A partition
file is named by its partition id and written to a temporary name first, then renamed:
writing a partition twice (a retried Dask task) leaves one file with the same rows.
"""

from __future__ import annotations

import json
import os
import uuid
from typing import Any

from .schema import FRAME_COLUMNS, instance_columns
from .views import view_statements

__all__ = ["arrow_schema", "write_partition", "partition_done", "prepare", "write_manifest",
           "read_parquet", "connect"]


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401 (the submodule is used as pyarrow.parquet)
    except ImportError as exc:
        raise ImportError("the Parquet index needs pyarrow: pip install 'rawdicom[index]'"
                          ) from exc
    return pyarrow


def arrow_schema(columns: tuple[tuple[str, str], ...]) -> Any:
    """The fixed Arrow schema of ``columns`` ((name, kind) pairs)."""
    pa = _pyarrow()
    base = {"text": pa.string(), "int": pa.int64(), "float": pa.float64()}
    return pa.schema([(name, pa.list_(base[kind[5:]]) if kind.startswith("list_") else base[kind])
                      for name, kind in columns])


def _part(out: str, table: str, partition: int) -> str:
    return os.path.join(out, table, f"part-{partition:06d}.parquet")


def _write_atomic(pa: Any, table: Any, path: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.tmp-{uuid.uuid4().hex}"
    try:
        pa.parquet.write_table(table, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_partition(out: str, partition: int, rows: list[dict[str, Any]],
                    extra: tuple[str, ...] = ()) -> None:
    """Write one partition's instances and frames (frames first: a partition counts as done
    once its instances file exists)."""
    pa = _pyarrow()
    columns = instance_columns(extra)
    frames = [f for r in rows for f in (r.get("frames") or ())]
    for table, cols, data in (("frames", FRAME_COLUMNS, frames),
                              ("instances", columns, rows)):
        schema = arrow_schema(cols)
        arrays = {name: [r.get(name) for r in data] for name, _ in cols}
        _write_atomic(pa, pa.table(arrays, schema=schema), _part(out, table, partition))


def partition_done(out: str, partition: int) -> bool:
    """Whether a partition was written whole (by this run or an interrupted one)."""
    return os.path.exists(_part(out, "instances", partition))


def _manifest_path(out: str) -> str:
    return os.path.join(out, "_index.json")


def _write_json(path: str, data: dict[str, Any]) -> None:
    tmp = f"{path}.tmp-{uuid.uuid4().hex}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f)
    os.replace(tmp, path)


def prepare(out: str, digest: str, partitions: int) -> set[int]:
    """Get ``out`` ready for a build over a listing of fingerprint ``digest``: the partitions
    already written by an earlier run over the same listing (kept), or none, after removing
    the partition files of another listing (so no stale rows survive)."""
    path = _manifest_path(out)
    found: dict[str, Any] = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            found = json.load(f)
    if found.get("listing") == digest:
        return {p for p in range(partitions) if partition_done(out, p)}
    for table in ("instances", "frames"):
        folder = os.path.join(out, table)
        if os.path.isdir(folder):
            for name in os.listdir(folder):
                if name.startswith("part-"):
                    os.remove(os.path.join(folder, name))
    os.makedirs(out, exist_ok=True)
    _write_json(path, {"listing": digest, "complete": False})
    return set()


def write_manifest(out: str, extra: tuple[str, ...], digest: str, files: int) -> None:
    """``_index.json`` once every partition is written: the listing's fingerprint, the
    columns and the number of files. Temporary files of writers killed mid-write (a lost
    worker: no ``finally`` runs) are removed; their partitions were written again."""
    for table in ("instances", "frames"):
        folder = os.path.join(out, table)
        for name in os.listdir(folder) if os.path.isdir(folder) else ():
            if ".tmp-" in name:
                os.remove(os.path.join(folder, name))
    _write_json(_manifest_path(out), {"listing": digest, "complete": True, "files": files,
                                      "columns": instance_columns(extra)})


def read_parquet(out: str, table: str = "instances") -> list[dict[str, Any]]:
    """The rows of ``table`` as dicts, ordered by path (and frame)."""
    pa = _pyarrow()
    folder = os.path.join(out, table)
    parts = sorted(f for f in os.listdir(folder) if f.endswith(".parquet"))
    rows = [r for f in parts for r in pa.parquet.read_table(os.path.join(folder, f)).to_pylist()]
    key = (lambda r: r["path"] or "") if table == "instances" else \
        (lambda r: (r["path"] or "", r["frame_index"]))
    return sorted(rows, key=key)


def connect(out: str, database: str = ":memory:") -> Any:
    """A DuckDB connection with ``instances`` and ``frames`` views over the Parquet index at
    ``out``, and the ``series``, ``studies``, ``patients`` views."""
    try:
        import duckdb
    except ImportError as exc:
        raise ImportError("rawdicom.index.connect needs duckdb: pip install 'rawdicom[index]'"
                          ) from exc
    con = duckdb.connect(database)
    for table in ("instances", "frames"):
        pattern = os.path.join(out, table, "*.parquet").replace("'", "''")
        con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{pattern}')")
    for statement in view_statements():
        con.execute(statement)
    return con
