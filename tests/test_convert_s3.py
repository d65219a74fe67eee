"""rawdicom.convert into a bucket (moto's S3 server on 127.0.0.1, through s3fs): the same
files and manifest as into a local folder, from this process, worker processes and a Dask
cluster; a rerun converts nothing; nothing staged is left in the bucket."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest
import requests

from rawdicom.convert import convert
from rawdicom.convert.manifest import read_rows
from series_builders import axial_positions, make_uid, write_series

s3fs = pytest.importorskip("s3fs")
moto_server = pytest.importorskip("moto.server")
nibabel = pytest.importorskip("nibabel")
pytestmark = pytest.mark.filterwarnings("ignore::rawdicom.DicomWarning")


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    options = {"endpoint_url": f"http://{host}:{port}", "key": "testing", "secret": "testing"}
    local = tmp_path_factory.mktemp("s3-convert")
    for n in range(3):
        write_series(local / f"s{n}", axial_positions(5 + n), rows=16, columns=16,
                     series_number=n + 1, series_description=f"CT {n}",
                     series_instance_uid=make_uid("s3", n))
    write_series(local / "loc", axial_positions(1), series_number=9, series_description="scout",
                 image_type=("ORIGINAL", "PRIMARY", "LOCALIZER"),
                 series_instance_uid=make_uid("s3", "loc"))
    fs = s3fs.S3FileSystem(**options)
    fs.mkdir("convert-out")
    s3fs.S3FileSystem.clear_instance_cache()
    try:
        yield {"options": options, "local": local, "fs": fs}
    finally:
        # moto's backends are global to the process: leave no bucket for another module's server
        requests.post(f"{options['endpoint_url']}/moto-api/reset", timeout=10)
        server.stop()


def _check(s3: dict[str, Any], url: str, reference: Path, tmp_path: Path) -> None:
    fs = s3fs.S3FileSystem(**s3["options"])
    fs.invalidate_cache()
    prefix = url[len("s3://"):]
    rows = [json.loads(line) for line in
            fs.cat(f"{prefix}/convert-manifest.jsonl").decode().splitlines()]
    expected = read_rows(str(reference))
    assert sorted((r["stack_id"], r["status"], tuple(o["path"] for o in r["outputs"]))
                  for r in rows) == \
        sorted((r["stack_id"], r["status"], tuple(o["path"] for o in r["outputs"]))
               for r in expected)
    listed = {o["path"] for r in rows for o in r["outputs"]}
    found = {p[len(prefix) + 1:] for p in fs.find(prefix)}
    assert found == listed | {"convert-manifest.jsonl"}
    for path in listed:
        if path.endswith(".nii.gz"):
            local = tmp_path / Path(path).name
            fs.get(f"{prefix}/{path}", str(local))
            a = np.asarray(nibabel.load(str(local)).dataobj)
            b = np.asarray(nibabel.load(str(reference / path)).dataobj)
            assert np.array_equal(a, b)


@pytest.mark.parametrize("engine", ["serial", "processes"])
def test_convert_into_a_bucket(s3: dict[str, Any], tmp_path: Path, engine: str) -> None:
    reference = tmp_path / "reference"
    convert(s3["local"], reference, workers=1)
    url = f"s3://convert-out/{engine}"
    report = convert(s3["local"], url, engine=engine, workers=2,
                     storage_options=s3["options"])
    assert report.ok and len(report.rows) == 4
    _check(s3, url, reference, tmp_path)
    again = convert(s3["local"], url, engine=engine, workers=2, storage_options=s3["options"])
    assert again.rows == [] and again.already == 4


def test_dask_into_a_bucket(s3: dict[str, Any], tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    from rawdicom.index import build
    index = tmp_path / "index.sqlite"
    build(s3["local"], str(index), engine="serial")
    reference = tmp_path / "reference"
    convert(s3["local"], reference, workers=1)
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=40)
    try:
        with distributed.Client(cluster) as client:
            report = convert(str(index), "s3://convert-out/dask", engine="dask", client=client,
                             storage_options=s3["options"])
    finally:
        cluster.close()
    assert report.ok and len(report.rows) == 4
    _check(s3, "s3://convert-out/dask", reference, tmp_path)
