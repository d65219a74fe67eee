"""The Spark recipe of README (record in mapInPandas): run when pyspark is installed."""

from __future__ import annotations

from pathlib import Path

import pytest

from series_builders import write_series

pyspark = pytest.importorskip("pyspark")


def test_spark_recipe_gives_the_rows_of_build(tmp_path: Path) -> None:
    import pandas as pd
    from pyspark.sql import SparkSession
    from pyspark.sql.pandas.types import from_arrow_schema

    import rawdicom.index as ix
    from rawdicom.index.parquet import arrow_schema

    paths = [str(p) for p in write_series(tmp_path / "s", n=4)]
    names = [n for n, _ in ix.INSTANCE_COLUMNS]

    def rows(batches):  # type: ignore[no-untyped-def]
        for batch in batches:
            records = [ix.record(p) for p in batch["path"]]
            yield pd.DataFrame([{k: r[k] for k in names} for r in records], columns=names)

    spark = SparkSession.builder.master("local[1]").getOrCreate()
    try:
        frame = spark.createDataFrame([(p,) for p in paths], "path string")
        got = frame.mapInPandas(rows, from_arrow_schema(arrow_schema(ix.INSTANCE_COLUMNS)))
        spark_paths = sorted(r["path"] for r in got.collect())
    finally:
        spark.stop()
    ix.build(paths, str(tmp_path / "pq"), engine="serial")
    assert spark_paths == [r["path"] for r in ix.read_rows(str(tmp_path / "pq"))]
