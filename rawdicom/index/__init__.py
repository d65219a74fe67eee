"""The index: one row per file (header bytes only), in SQLite or Parquet, built on one
machine or a Dask cluster.

``record(source)`` -> the row of one file; ``build(source, out)`` -> an SQLite file or a
Parquet folder of every file; ``connect(out)`` -> DuckDB with views over a Parquet index;
``read_rows(out)`` -> the rows back as dicts; ``check_series(rows)`` -> whether the rows of
one series form a regular volume, from the index alone.
"""

from __future__ import annotations

from typing import Any

from .engines import Summary, build
from .geometry import SeriesCheck, check_series
from .record import record
from .schema import FRAME_COLUMNS, INSTANCE_COLUMNS, PHI, STATUSES

__all__ = ["record", "build", "Summary", "connect", "read_rows", "check_series", "SeriesCheck",
           "PHI", "STATUSES",
           "INSTANCE_COLUMNS", "FRAME_COLUMNS"]


def connect(out: str, database: str = ":memory:",
            storage_options: dict[str, Any] | None = None) -> Any:
    """A DuckDB connection with the views of the Parquet index at ``out`` (a folder or an
    fsspec URL; extra ``index``)."""
    from .parquet import connect as _connect
    return _connect(out, database, storage_options)


def read_rows(out: str, table: str = "instances",
              storage_options: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The rows of an index (an SQLite file, a Parquet folder or URL), ordered by path;
    removed files are left out. ``table``: ``instances`` or ``frames``."""
    from .engines import _is_sqlite
    if _is_sqlite(out):
        from .sqlite import read_sqlite
        return read_sqlite(out, table)
    from .parquet import read_parquet
    return read_parquet(out, table, storage_options)
