"""Worker processes end with their parent (issue 20, item 6): scan, organize and the index's
``processes`` engine, SIGKILLed at random points of a real job, leave no process behind.

Every process a job starts (workers, the forkserver, the resource tracker) inherits its
environment, so each run carries a marker variable of its own; 2 s after the SIGKILL the
processes whose environment holds the marker (zombies aside: they are dead) are counted.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from rawdicom.model.parent_watch import _death_signal, end_with_parent

sys.path.insert(0, str(Path(__file__).parent))
from series_builders import ct_slice  # noqa: E402

from rawdicom import to_bytes  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(not Path("/proc/self/environ").exists(),
                                reason="processes are found through /proc")

# Each job reports progress slowly, so that the workers finish their chunks and wait on
# the parent: the case that used to hang forever once the parent was gone.
_JOBS = {
    "scan": """
        import time, rawdicom
        print("started", flush=True)
        rawdicom.scan(FOLDER, workers=3, progress=lambda d, t: time.sleep(0.2))
    """,
    "organize": """
        import time
        from rawdicom.model.organize import organize
        print("started", flush=True)
        organize(FOLDER, TARGET, workers=3, progress=lambda d, t: time.sleep(0.1))
    """,
    "index": """
        from rawdicom import index
        print("started", flush=True)
        index.build(FOLDER, TARGET + ".sqlite", engine="processes", workers=3,
                    partition_size=2)
    """,
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """600 small CT files (distinct instances: each read by the workers)."""
    root = tmp_path_factory.mktemp("many")
    for k in range(600):
        ds = ct_slice(k=k % 20, rows=8, columns=8, position=(0.0, 0.0, 2.0 * k),
                      series_instance_uid=f"1.2.3.{k // 50}",
                      sop_instance_uid=f"1.2.3.9.{k}")
        (root / f"f{k:04d}.dcm").write_bytes(to_bytes(ds))
    return root


def _marked(marker: str) -> list[int]:
    """The live (not zombie) processes whose environment holds ``marker``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if marker.encode() not in f.read():
                    continue
            with open(f"/proc/{entry}/stat", "rb") as f:
                state = f.read().rsplit(b")", 1)[1].split()[0]
        except OSError:  # gone meanwhile
            continue
        if state not in (b"Z", b"X"):
            found.append(int(entry))
    return found


@pytest.mark.parametrize("job", sorted(_JOBS))
def test_sigkilled_job_leaves_no_process(folder: Path, tmp_path: Path, job: str) -> None:
    rng = random.Random(job)
    survivors: dict[float, list[int]] = {}
    caught = 0  # runs killed while workers were alive
    for run in range(3):
        marker = f"RAWDICOM_KILL_TEST={uuid.uuid4().hex}"
        key, value = marker.split("=")
        target = tmp_path / f"out{run}"
        code = textwrap.dedent(_JOBS[job]).replace("FOLDER", repr(str(folder))).replace(
            "TARGET", repr(str(target)))
        proc = subprocess.Popen([sys.executable, "-c", code], cwd=tmp_path,
                                env=dict(os.environ, PYTHONPATH=str(ROOT), **{key: value}),
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"started"
        # Wait for the workers (the job's process, its forkserver or resource tracker, and at
        # least one worker: three marked processes), however loaded the machine, then kill
        # at a random point of their work.
        deadline = time.monotonic() + 60
        while (len(_marked(marker)) < 3 and proc.poll() is None
               and time.monotonic() < deadline):
            time.sleep(0.02)
        delay = rng.uniform(0.0, 0.4)
        time.sleep(delay)
        started = _marked(marker)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        time.sleep(2.0)
        left = _marked(marker)
        for pid in left:  # the test's own cleanup: never leave them running
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if left:
            survivors[delay] = left
        caught += len(started) >= 2
    assert caught >= 1, "the kills came before or after the workers: nothing was tested"
    assert survivors == {}, f"processes alive 2 s after SIGKILL (by kill delay): {survivors}"


def test_death_signal_is_set_on_linux() -> None:
    """prctl(PR_SET_PDEATHSIG) through ctypes works where it exists (Linux); elsewhere
    the sentinel thread alone does the job."""
    code = ("from rawdicom.model.parent_watch import _death_signal; import ctypes, sys;"
            "ok = _death_signal(); v = ctypes.c_int();"
            "ctypes.CDLL(None).prctl(2, ctypes.byref(v), 0, 0, 0);"  # PR_GET_PDEATHSIG
            "print(ok, v.value)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)), check=True).stdout
    if sys.platform.startswith("linux"):
        assert out.split() == ["True", str(int(signal.SIGKILL))]
    else:  # pragma: no cover - other systems
        assert out.split()[0] == "False"
    assert callable(end_with_parent) and callable(_death_signal)


def test_sentinel_watch_alone_ends_an_orphan(tmp_path: Path) -> None:
    """Without prctl (as on macOS), the watch thread ends a worker whose parent was
    SIGKILLed: a multiprocessing child blocked forever, its parent killed."""
    marker = f"RAWDICOM_WATCH_TEST={uuid.uuid4().hex}"
    key, value = marker.split("=")
    code = textwrap.dedent("""
        import multiprocessing, threading, time
        from rawdicom.model import parent_watch
        parent_watch._death_signal = lambda: False  # the watch thread only

        def child():
            parent_watch.end_with_parent()
            threading.Event().wait()  # blocked forever

        if __name__ == "__main__":
            for method in ("fork", "spawn", "forkserver"):
                multiprocessing.get_context(method).Process(target=child).start()
            time.sleep(3)
            print("started", flush=True)
            time.sleep(600)
    """)
    script = tmp_path / "orphan.py"
    script.write_text(code)
    proc = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path,
                            env=dict(os.environ, PYTHONPATH=str(ROOT), **{key: value}),
                            stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline().strip() == b"started"
    assert len(_marked(marker)) >= 4  # the parent, three children (and a forkserver)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    time.sleep(2.0)
    left = _marked(marker)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert left == []
