"""The Spark recipe of README (record in mapInPandas) on a real local Spark: the rows it
gives are those of ``build``. Outside CI, skipped where pyspark, pandas or the Java Spark
runs on is missing; the test extra installs pyspark and pandas, .ci/run a Java runtime."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from series_builders import write_series

if not os.environ.get("CI"):  # in CI (.ci/run installs them) a missing one fails the test
    pytest.importorskip("pyspark")
    pytest.importorskip("pandas")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("Spark needs Java", allow_module_level=True)

ROOT = Path(__file__).resolve().parent.parent


def test_spark_recipe_gives_the_rows_of_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:
    # Spark's Python workers: this interpreter, with this checkout importable.
    monkeypatch.setenv("PYSPARK_PYTHON", sys.executable)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(ROOT), str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")]))
    # -- the recipe of README.md, as written there ------------------------------------
    import pandas as pd
    from pyspark.sql import SparkSession
    from pyspark.sql.pandas.types import from_arrow_schema

    import rawdicom.index as ix
    from rawdicom.index.parquet import arrow_schema

    names = [n for n, _ in ix.INSTANCE_COLUMNS]

    def rows(batches):  # type: ignore[no-untyped-def]
        for batch in batches:
            records = [ix.record(p) for p in batch["path"]]
            yield pd.DataFrame([{k: r[k] for k in names} for r in records], columns=names)
    # ----------------------------------------------------------------------------------
    paths = [str(p) for p in write_series(tmp_path / "s", n=6)]
    (tmp_path / "not-dicom.txt").write_text("hello")
    (tmp_path / "short.dcm").write_bytes(Path(paths[0]).read_bytes()[:300])
    paths += [str(tmp_path / "not-dicom.txt"), str(tmp_path / "short.dcm"),
              str(tmp_path / "gone.dcm")]
    spark = (SparkSession.builder.master("local[2]").appName("rawdicom-test")
             .config("spark.ui.enabled", "false").getOrCreate())
    try:
        frame = spark.createDataFrame([(p,) for p in paths], "path string").repartition(3)
        got = frame.mapInPandas(rows, from_arrow_schema(arrow_schema(ix.INSTANCE_COLUMNS)))
        spark_rows = sorted((r.asDict(recursive=True) for r in got.collect()),
                            key=lambda r: r["path"])
    finally:
        spark.stop()
    ix.build(paths, str(tmp_path / "pq"), engine="serial", progress=False)
    built = ix.read_rows(str(tmp_path / "pq"))
    assert len(spark_rows) == len(paths)
    assert {r["status"] for r in spark_rows} == {"ok", "not_dicom", "truncated", "unreadable"}
    assert spark_rows == built
