"""rawdicom.convert(index, out, engine="dask") on a LocalCluster of 2 worker processes: the
series an SQL condition selects from an index, converted as the processes engine converts
them, also when a worker is killed mid-run (its task runs again; nothing lost, nothing
published twice, no staged file left)."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rawdicom.convert import convert
from rawdicom.convert.manifest import STAGING, read_rows
from rawdicom.index import build
from mr_builders import write_4d
from series_builders import axial_positions, make_uid, write_series

distributed = pytest.importorskip("distributed")
nibabel = pytest.importorskip("nibabel")
pytestmark = pytest.mark.filterwarnings("ignore::rawdicom.DicomWarning")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("dask-src")
    for n in range(6):
        write_series(root / f"ct{n}", axial_positions(10 + n), rows=32, columns=32,
                     series_number=n + 1, series_description=f"CT {n}",
                     series_instance_uid=make_uid("dask", n))
    write_4d(root / "mr", volumes=3, slices=4, series_number=30, series_description="MR",
             series_instance_uid=make_uid("dask", "mr"))
    index = tmp_path_factory.mktemp("index") / "index.sqlite"
    build(root, str(index), engine="serial")
    return root, index


@pytest.fixture(scope="module")
def client():  # type: ignore[no-untyped-def]
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=40)
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def _slow_down() -> None:
    """Run on each worker: a pause per series, so that a kill lands mid-run."""
    import rawdicom.convert.engines as engines
    original = engines.convert_series

    def slow(task: Any) -> Any:
        rows = original(task)
        time.sleep(0.5)
        return rows

    engines.convert_series = slow


def _same_outputs(out: Path, reference: Path, rows: list[dict[str, Any]]) -> None:
    for row in rows:
        for output in row["outputs"]:
            if output["path"].endswith(".nii.gz"):
                a = np.asarray(nibabel.load(str(out / output["path"])).dataobj)
                b = np.asarray(nibabel.load(str(reference / output["path"])).dataobj)
                assert np.array_equal(a, b), output["path"]


def test_dask_converts_the_selected_series(data: tuple[Path, Path], tmp_path: Path,
                                           client: "distributed.Client") -> None:
    root, index = data
    reference = tmp_path / "reference"
    convert(root, reference, workers=2)
    expected = [r for r in read_rows(str(reference)) if r["modality"] == "CT"]
    out = tmp_path / "dask"
    report = convert(str(index), out, engine="dask", client=client, where="Modality = 'CT'")
    rows = read_rows(str(out))
    assert report.ok and len(rows) == len(report.rows) == 6
    assert sorted((r["stack_id"], tuple(o["path"] for o in r["outputs"])) for r in rows) == \
        sorted((r["stack_id"], tuple(o["path"] for o in r["outputs"])) for r in expected)
    _same_outputs(out, reference, rows)


def test_dask_survives_a_killed_worker(data: tuple[Path, Path], tmp_path: Path,
                                       client: "distributed.Client") -> None:
    root, index = data
    out = tmp_path / "dask"
    client.run(_slow_down)
    pids = client.run(os.getpid)
    victim = sorted(pids.values())[0]
    killed = threading.Event()

    def kill_when_started() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            staging = out / STAGING
            if staging.is_dir() and any(p.is_file() for p in staging.rglob("*")):
                os.kill(victim, signal.SIGKILL)
                killed.set()
                return
            time.sleep(0.01)

    killer = threading.Thread(target=kill_when_started)
    killer.start()
    report = convert(str(index), out, engine="dask", client=client)
    killer.join()
    assert killed.is_set()
    assert victim not in client.run(os.getpid).values()  # the nanny started a new worker
    reference = tmp_path / "reference"
    convert(root, reference, workers=1)
    rows, expected = read_rows(str(out)), read_rows(str(reference))
    assert report.ok and len(rows) == len(expected) == 7
    assert sorted(r["stack_id"] for r in rows) == sorted(r["stack_id"] for r in expected)
    _same_outputs(out, reference, rows)
    listed = {o["path"] for r in rows for o in r["outputs"]}
    found = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert found == listed | {"convert-manifest.jsonl"}
