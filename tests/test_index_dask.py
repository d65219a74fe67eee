"""engine="dask" on a LocalCluster of 2 worker processes: the rows of engine="serial", also
when a worker is killed mid-run (its partitions are retried; none lost, none twice)."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from rawdicom.index import build, read_rows
from series_builders import write_series

distributed = pytest.importorskip("distributed")
pytestmark = pytest.mark.filterwarnings("ignore::rawdicom.DicomWarning")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dask-data")
    for i in range(4):
        write_series(root / f"s{i}", n=30, series_number=i + 1, seed=i)
    (root / "junk.txt").write_text("not DICOM")
    return root


@pytest.fixture(scope="module")
def client():  # type: ignore[no-untyped-def]
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=40)
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def _slow_down() -> None:
    """Run on each worker: a pause per file, so that a kill lands mid-run."""
    import rawdicom.index.engines as engines
    original = engines.file_row

    def slow(*args, **kw):  # type: ignore[no-untyped-def]
        time.sleep(0.02)
        return original(*args, **kw)

    engines.file_row = slow


def test_dask_equals_serial(data: Path, tmp_path: Path, client: "distributed.Client") -> None:
    serial = build(data, str(tmp_path / "serial"), engine="serial", partition_size=10)
    summary = build(data, str(tmp_path / "dask"), engine="dask", client=client, partition_size=10)
    assert summary.statuses == serial.statuses == {"ok": 120, "not_dicom": 1}
    assert read_rows(str(tmp_path / "dask")) == read_rows(str(tmp_path / "serial"))
    # the SQLite sink takes the rows back from the workers
    build(data, str(tmp_path / "d.sqlite"), engine="dask", client=client, partition_size=10)
    assert read_rows(str(tmp_path / "d.sqlite")) == read_rows(str(tmp_path / "serial"))


def test_dask_survives_a_killed_worker(data: Path, tmp_path: Path,
                                       client: "distributed.Client") -> None:
    out = tmp_path / "dask"
    client.run(_slow_down)
    pids = client.run(os.getpid)
    victim = sorted(pids.values())[0]
    killed = threading.Event()

    def kill_when_started() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            folder = out / "instances"
            if folder.is_dir() and any(folder.glob("part-*.parquet")):
                os.kill(victim, signal.SIGKILL)
                killed.set()
                return
            time.sleep(0.01)

    killer = threading.Thread(target=kill_when_started)
    killer.start()
    summary = build(data, str(out), engine="dask", client=client, partition_size=5)
    killer.join()
    assert killed.is_set()
    assert victim not in client.run(os.getpid).values()  # the nanny started a new worker
    serial = tmp_path / "serial"
    build(data, str(serial), engine="serial", partition_size=5)
    rows = read_rows(str(out))
    assert rows == read_rows(str(serial))
    assert len({r["path"] for r in rows}) == len(rows) == 121 == summary.indexed
    assert not list(out.rglob("*.tmp-*"))  # no half-written partition left behind
