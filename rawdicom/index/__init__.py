"""The index: one row per file (header bytes only), in SQLite or Parquet, built on one
machine or a Dask cluster. See README's "Index" section."""

from __future__ import annotations

from .record import record
from .schema import FRAME_COLUMNS, INSTANCE_COLUMNS, PHI, STATUSES

__all__ = ["record", "PHI", "STATUSES", "INSTANCE_COLUMNS", "FRAME_COLUMNS"]
