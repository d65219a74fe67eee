"""Only regular files are opened (issue 20, item 3): a real FIFO, a real Unix socket and
``/dev/zero`` among or as the paths given to the reader, scan, the index, organize and the
command line are reported ("not a regular file"), never waited on nor read; a folder that
cannot be listed is reported, not silently left out.

Every job over a folder with a FIFO runs in a child process with a timeout, so that a
regression fails the test instead of hanging the suite.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import pytest

import rawdicom
from rawdicom import NotDicomError, NotRegularFileError
from rawdicom import index
from rawdicom.model.scan import list_files

sys.path.insert(0, str(Path(__file__).parent))
from series_builders import write_series  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 120  # seconds: far above what these jobs take, far below "forever"

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo") or not hasattr(socket, "AF_UNIX"),
                                reason="FIFOs and Unix sockets are POSIX")


def _special_folder(root: Path) -> tuple[Path, list[Path], Path, Path]:
    """A folder of 3 CT slices, a FIFO and a bound Unix socket (in a subfolder)."""
    folder = root / "in"
    paths = write_series(folder / "ct", n=3)
    fifo = folder / "pipe"
    os.mkfifo(fifo)
    sock_path = folder / "ct" / "socket"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(sock_path))
    sock.close()  # the socket file stays
    return folder, paths, fifo, sock_path


def _run(code: str, cwd: Path) -> dict[str, Any]:
    """Run ``code`` in a child Python (this worktree's rawdicom), which prints one JSON
    line; a child still running after TIMEOUT is a hang: the test fails."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    try:
        done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=env,
                              capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail("the job hung on a FIFO or socket (timed out)")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_reader_refuses_fifo_socket_and_devices(tmp_path: Path) -> None:
    folder, _, fifo, sock = _special_folder(tmp_path)
    for path in (fifo, sock, "/dev/zero", "/dev/null"):
        if not os.path.exists(path):
            continue
        for kwargs in ({}, {"stop_before_pixels": True}):
            with pytest.raises(NotRegularFileError, match="not a regular file"):
                rawdicom.read(path, **kwargs)
    assert issubclass(NotRegularFileError, NotDicomError)


@pytest.mark.parametrize("workers", [1, 2])
def test_scan_reports_fifo_and_socket(tmp_path: Path, workers: int) -> None:
    folder, paths, fifo, sock = _special_folder(tmp_path)
    got = _run(f"""
        import json, rawdicom
        c = rawdicom.scan({str(folder)!r}, workers={workers})
        print(json.dumps({{"instances": sorted(i.path for i in c.instances),
                          "failed": {{p: [type(e).__name__, str(e)] for p, e in c.failed}},
                          "skipped": c.skipped}}))
    """, tmp_path)
    assert got["instances"] == sorted(str(p) for p in paths)
    assert set(got["failed"]) == {str(fifo), str(sock)}
    for cls, message in got["failed"].values():
        assert cls == "NotRegularFileError" and "not a regular file" in message
    assert got["skipped"] == []


def test_scan_of_the_fifo_itself_and_of_dev_zero(tmp_path: Path) -> None:
    _, _, fifo, _ = _special_folder(tmp_path)
    got = _run(f"""
        import json, rawdicom
        out = {{}}
        for path in ({str(fifo)!r}, "/dev/zero"):
            c = rawdicom.scan(path, workers=1)
            out[path] = [(p, type(e).__name__) for p, e in c.failed]
        row = rawdicom.index.record({str(fifo)!r})
        out["record"] = [row["status"], row["error_class"], row["error_message"]]
        print(json.dumps(out))
    """, tmp_path)
    assert got[str(fifo)] == [[str(fifo), "NotRegularFileError"]]
    assert got["/dev/zero"] == [["/dev/zero", "NotRegularFileError"]]
    status, cls, message = got["record"]
    assert (status, cls) == ("not_dicom", "NotRegularFileError")
    assert "not a regular file (a FIFO)" in message


@pytest.mark.parametrize("engine", ["serial", "processes"])
def test_index_build_reports_fifo_and_socket(tmp_path: Path, engine: str) -> None:
    pytest.importorskip("pyarrow")
    folder, paths, fifo, sock = _special_folder(tmp_path)
    got = _run(f"""
        import json
        from rawdicom import index
        out = {{}}
        for name in ("i.sqlite", "parquet"):
            target = {str(tmp_path)!r} + "/" + name
            index.build({str(folder)!r}, target, engine={engine!r}, partition_size=2)
            out[name] = {{r["path"]: [r["status"], r["error_message"]]
                         for r in index.read_rows(target)}}
        print(json.dumps(out))
    """, tmp_path)
    for rows in got.values():
        assert set(rows) == {str(p) for p in paths} | {str(fifo), str(sock)}
        for path in (fifo, sock):
            status, message = rows[str(path)]
            assert status == "not_dicom" and "not a regular file" in message
        assert all(rows[str(p)][0] == "ok" for p in paths)


@pytest.mark.parametrize("others", [False, True])
def test_organize_reports_fifo_and_socket(tmp_path: Path, others: bool) -> None:
    folder, paths, fifo, sock = _special_folder(tmp_path)
    target = tmp_path / "out"
    got = _run(f"""
        import json
        from rawdicom.model.organize import organize
        report = organize({str(folder)!r}, {str(target)!r}, workers=2, others={others!r})
        print(json.dumps({{"ok": report.ok, "entries": {{e.source: [e.action, e.reason]
                                                          for e in report.entries}}}}))
    """, tmp_path)
    assert got["ok"]
    entries = got["entries"]
    assert all(entries[str(p)][0] == "copy" for p in paths)
    for path in (fifo, sock):
        action, reason = entries[str(path)]
        assert action == "leave"
        assert "not a regular file" in reason
    assert not (target / "_other" / "pipe").exists()


@pytest.mark.parametrize("command", ["tree", "index"])
def test_cli_commands_report_fifo_and_socket(tmp_path: Path, command: str) -> None:
    folder, paths, fifo, sock = _special_folder(tmp_path)
    args = [str(folder)] if command == "tree" else [str(folder), str(tmp_path / "i.sqlite")]
    try:
        done = subprocess.run([sys.executable, "-m", "rawdicom", command, *args], cwd=ROOT,
                              capture_output=True, text=True, timeout=TIMEOUT,
                              env=dict(os.environ, PYTHONPATH=str(ROOT)))
    except subprocess.TimeoutExpired:
        pytest.fail(f"rawdicom {command} hung on a FIFO or socket")
    assert done.returncode in (0, 1), done.stderr
    assert "Traceback" not in done.stderr
    if command == "index":
        rows = {r["path"]: r["status"] for r in index.read_rows(str(tmp_path / "i.sqlite"))}
        assert rows[str(fifo)] == rows[str(sock)] == "not_dicom"
    else:
        assert "not a regular file" in done.stdout + done.stderr


@pytest.mark.parametrize("command", ["dump", "explain", "info"])
def test_cli_commands_on_fifo_and_dev_zero(tmp_path: Path, command: str) -> None:
    _, _, fifo, _ = _special_folder(tmp_path)
    for path in (str(fifo), "/dev/zero"):
        try:
            done = subprocess.run([sys.executable, "-m", "rawdicom", command, path], cwd=ROOT,
                                  capture_output=True, text=True, timeout=TIMEOUT,
                                  env=dict(os.environ, PYTHONPATH=str(ROOT)))
        except subprocess.TimeoutExpired:
            pytest.fail(f"rawdicom {command} {path} hung")
        assert done.returncode == 1, done.stderr
        assert "not a regular file" in done.stderr and "Traceback" not in done.stderr


# -- a folder that cannot be listed -----------------------------------------------------------
def _as_unprivileged(job: Any) -> Any:
    """Run ``job()`` in a forked child that cannot bypass permissions (root drops to the
    user ``nobody``, 65534, for whom chmod 000 holds); its JSON result back by a pipe."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        status = 1
        try:
            os.close(read_end)
            if os.geteuid() == 0:
                os.setgid(65534)
                os.setuid(65534)
            data = json.dumps(job()).encode()
            with os.fdopen(write_end, "wb") as out:
                out.write(data)
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as f:
        data = f.read()
    _, status = os.waitpid(pid, 0)
    assert status == 0 and data, "the unprivileged child failed"
    return json.loads(data)


@pytest.fixture()
def locked_tree() -> Any:
    """A world-readable folder (nobody can reach it) holding a readable series and a
    chmod-000 subfolder with another."""
    base = Path(tempfile.mkdtemp(prefix="rawdicom-locked-"))
    try:
        base.chmod(0o777)
        visible = write_series(base / "in" / "open", n=2)
        hidden = write_series(base / "in" / "locked", n=2, seed=5)
        for p in base.rglob("*"):
            p.chmod(0o777 if p.is_dir() else 0o666)
        (base / "in" / "locked").chmod(0)
        yield base, visible, hidden
    finally:
        (base / "in" / "locked").chmod(0o755)
        shutil.rmtree(base)


def test_unreadable_folder_is_reported_by_scan_and_index(locked_tree: Any) -> None:
    base, visible, hidden = locked_tree
    folder = str(base / "in")
    locked = str(base / "in" / "locked")
    import sqlite3  # noqa: F401 - imported before the fork: the child may not read the venv

    def job() -> dict[str, Any]:
        listed = list_files(folder)
        c = rawdicom.scan(folder, workers=1)
        out = str(base / "i.sqlite")
        index.build(folder, out, engine="serial")
        return {"listed": listed,
                "instances": sorted(i.path for i in c.instances),
                "failed": {p: [type(e).__name__, str(e)] for p, e in c.failed},
                "rows": {r["path"]: [r["status"], r["error_message"]]
                         for r in index.read_rows(out)}}

    got = _as_unprivileged(job)
    assert locked in got["listed"]
    assert got["instances"] == sorted(str(p) for p in visible)
    assert got["failed"][locked][0] == "PermissionError"
    status, message = got["rows"][locked]
    assert status == "unreadable" and "Permission denied" in message
    assert all(got["rows"][str(p)][0] == "ok" for p in visible)


def test_organize_refuses_a_fifo_as_its_manifest(tmp_path: Path) -> None:
    folder, _, _, _ = _special_folder(tmp_path)
    target = tmp_path / "out"
    target.mkdir()
    os.mkfifo(target / "_organize-manifest.jsonl")
    got = _run(f"""
        import json
        from rawdicom.model.organize import organize
        try:
            organize({str(folder)!r}, {str(target)!r}, workers=1)
            print(json.dumps({{"raised": None}}))
        except OSError as exc:
            print(json.dumps({{"raised": str(exc)}}))
    """, tmp_path)
    assert got["raised"] and "not a regular file" in got["raised"]
