"""The index over S3: files listed and read from a bucket, the Parquet index written to a
bucket (by the workers themselves, on every engine), read back and queried with DuckDB.

The S3 is real HTTP: moto's S3 server on 127.0.0.1, reached through s3fs with an
``endpoint_url`` in ``storage_options``, as a user points rawdicom at MinIO or Ceph.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from rawdicom.index import build, connect, read_rows
from series_builders import write_series

s3fs = pytest.importorskip("s3fs")
moto_server = pytest.importorskip("moto.server")
pytestmark = pytest.mark.filterwarnings("ignore::rawdicom.DicomWarning")

# What only says where a file was: different between a local copy and the bucket's.
_WHERE = ("path", "mtime", "etag")


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A bucket ``src`` holding two series and two bad files (also kept locally), an empty
    bucket ``out``; yields the storage options and the local folder."""
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    options = {"endpoint_url": f"http://{host}:{port}", "key": "testing", "secret": "testing"}
    local = tmp_path_factory.mktemp("s3-data")
    write_series(local / "a", n=12, series_number=1, seed=1)
    write_series(local / "b", n=8, series_number=2, seed=2)
    (local / "junk.txt").write_text("not DICOM")
    first = sorted((local / "a").iterdir())[0]
    (local / "short.dcm").write_bytes(first.read_bytes()[:400])
    fs = s3fs.S3FileSystem(**options)
    fs.mkdir("src")
    fs.mkdir("out")
    fs.put(str(local) + "/", "src/ct/", recursive=True)
    s3fs.S3FileSystem.clear_instance_cache()
    try:
        yield {"options": options, "local": local}
    finally:
        # moto's backends are global to the process: leave no bucket for another module's server
        requests.post(f"{options['endpoint_url']}/moto-api/reset", timeout=10)
        server.stop()


def _without_where(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k not in _WHERE} for r in rows]


def test_s3_to_s3_equals_local(s3: dict[str, Any], tmp_path: Path) -> None:
    options, local = s3["options"], s3["local"]
    summary = build("s3://src/ct", "s3://out/serial", engine="serial", partition_size=7,
                    storage_options=options, progress=False)
    assert summary.statuses == {"ok": 20, "not_dicom": 1, "truncated": 1}
    rows = read_rows("s3://out/serial", storage_options=options)
    assert len(rows) == 22 and all(r["path"].startswith("s3://src/ct/") for r in rows)
    assert all(r["etag"] for r in rows if r["status"] != "unreadable")
    build(local, str(tmp_path / "local"), engine="serial", partition_size=7, progress=False)
    assert _without_where(rows) == _without_where(read_rows(str(tmp_path / "local")))
    # exactly the partition files and the manifest: no temporary file left behind
    fs = s3fs.S3FileSystem(**options)
    names = sorted(p.split("/", 2)[2] for p in fs.find("out/serial"))
    assert names == ["_index.json"] + [f"{t}/part-{i:06d}.parquet" for t in ("frames", "instances")
                                       for i in range(4)]


def test_s3_engines_give_the_rows_of_serial(s3: dict[str, Any]) -> None:
    """The workers (processes, and a Dask LocalCluster) read the bucket and write their
    partitions to it themselves."""
    distributed = pytest.importorskip("distributed")
    options = s3["options"]
    build("s3://src/ct", "s3://out/ref", engine="serial", partition_size=5,
          storage_options=options, progress=False)
    expected = read_rows("s3://out/ref", storage_options=options)
    build("s3://src/ct", "s3://out/procs", engine="processes", workers=2, partition_size=5,
          storage_options=options, progress=False)
    assert read_rows("s3://out/procs", storage_options=options) == expected
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=40)
    with cluster, distributed.Client(cluster) as client:
        build("s3://src/ct", "s3://out/dask", engine="dask", client=client, partition_size=5,
              storage_options=options, progress=False)
    assert read_rows("s3://out/dask", storage_options=options) == expected


def test_s3_rerun_keeps_what_was_written(s3: dict[str, Any]) -> None:
    """A build interrupted after some partitions (here: one partition removed, the manifest
    not completed) resumes over the same listing and writes only what is missing."""
    options = s3["options"]
    build("s3://src/ct", "s3://out/resume", engine="serial", partition_size=7,
          storage_options=options, progress=False)
    expected = read_rows("s3://out/resume", storage_options=options)
    fs = s3fs.S3FileSystem(**options)
    fs.rm("out/resume/instances/part-000002.parquet")
    kept = fs.info("out/resume/instances/part-000001.parquet")["LastModified"]
    summary = build("s3://src/ct", "s3://out/resume", engine="serial", partition_size=7,
                    storage_options=options, progress=False)
    assert summary.unchanged == 22 - 7 and summary.indexed == 7
    fs.invalidate_cache()
    assert fs.info("out/resume/instances/part-000001.parquet")["LastModified"] == kept
    assert read_rows("s3://out/resume", storage_options=options) == expected


def test_duckdb_over_the_bucket(s3: dict[str, Any]) -> None:
    pytest.importorskip("duckdb")
    options = s3["options"]
    build("s3://src/ct", "s3://out/duck", engine="serial", storage_options=options,
          progress=False)
    con = connect("s3://out/duck", storage_options=options)
    assert con.execute("SELECT count(*) FROM instances").fetchone() == (22,)
    series = con.execute("SELECT series_number, instances FROM series ORDER BY 1").fetchall()
    assert series == [(1, 12), (2, 8)]


def test_sqlite_at_a_url_is_refused(s3: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="SQLite index is a local file"):
        build("s3://src/ct", "s3://out/i.sqlite", storage_options=s3["options"])


def test_command_line_with_fsspec_environment(s3: dict[str, Any]) -> None:
    """``rawdicom index s3://... s3://...``: the storage options from fsspec's environment
    variables (FSSPEC_S3_<OPTION>), in a subprocess."""
    import os
    import subprocess
    import sys
    options = s3["options"]
    env = {**os.environ, "FSSPEC_S3_ENDPOINT_URL": options["endpoint_url"],
           "FSSPEC_S3_KEY": options["key"], "FSSPEC_S3_SECRET": options["secret"],
           "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    done = subprocess.run([sys.executable, "-m", "rawdicom", "index", "s3://src/ct",
                           "s3://out/cli", "--engine", "serial"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr  # one truncated file: an error to report
    assert "22 files listed, 22 indexed (1 not_dicom, 20 ok, 1 truncated)" in done.stdout
    assert len(read_rows("s3://out/cli", storage_options=options)) == 22
