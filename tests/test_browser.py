"""The browser example (examples/browser/) works in a real browser: headless Chromium.

The repository is served on 127.0.0.1 by http.server in a thread (the wheel, built here, from
a temporary folder under /_build/); tests/wasm/browser_check.mjs drives Debian's chromium with
playwright-core (pinned in tests/wasm/package.json; no browser download), picks files with the
page's file input and reports what the page shows.  The listing must equal what the page's own
Python module (examples/browser/viewer.py) gives under CPython on the same file, and the page
must fetch nothing from anywhere but this server.  The screenshot goes to
examples/browser/screenshot.png (shown in the README).

Skipped with the reason when node, tests/wasm/node_modules or chromium is missing, unless the
environment variable CI is set: then it fails.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import test_wasm  # noqa: E402  (the wheel builder and the skip-or-fail rule)

REPO = test_wasm.REPO
BROWSER_DIR = REPO / "examples" / "browser"
CHECK = test_wasm.WASM_DIR / "browser_check.mjs"
PLAYWRIGHT = test_wasm.WASM_DIR / "node_modules" / "playwright-core" / "package.json"
EXAMPLE = REPO / "rawdicom" / "examples" / "ct_phantom.dcm"
SCREENSHOT = BROWSER_DIR / "screenshot.png"


def find_chromium() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(path):
        test_wasm.unavailable("chromium is not installed (Debian: apt-get install chromium)")
    return path


class _Handler(http.server.SimpleHTTPRequestHandler):
    """The repository, plus /_build/ from the test's folder; quiet."""

    build_dir: Path

    def translate_path(self, path: str) -> str:
        clean = path.split("?", 1)[0].split("#", 1)[0]
        if clean.startswith("/_build/"):
            return str(self.build_dir / Path(clean[len("/_build/"):]).name)
        return super().translate_path(path)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server(tmp_path):
    handler = type("Handler", (_Handler,), {"build_dir": tmp_path,
                                            "extensions_map": {
                                                **_Handler.extensions_map,
                                                ".mjs": "text/javascript",
                                                ".wasm": "application/wasm"}})
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(REPO)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", tmp_path
    finally:
        httpd.shutdown()
        httpd.server_close()


def cpython_view(path: Path) -> dict:
    """What viewer.py gives under CPython (with the checkout's rawdicom)."""
    sys.path.insert(0, str(BROWSER_DIR))
    try:
        import viewer
    finally:
        sys.path.remove(str(BROWSER_DIR))
    return json.loads(viewer.describe(path.read_bytes(), path.name))


def test_browser_page_lists_a_picked_file(server, tmp_path):
    node = test_wasm.require_node()
    if not PLAYWRIGHT.exists():
        test_wasm.unavailable("playwright-core is missing: run `cd tests/wasm && npm ci`")
    chromium = find_chromium()
    base, build_dir = server

    whl = test_wasm.build_wheel(tmp_path / "build")
    shutil.copy(whl, build_dir / whl.name)
    not_dicom = tmp_path / "notes.txt"
    not_dicom.write_text("not a DICOM file\n")

    url = f"{base}/examples/browser/index.html?wheel=/_build/{whl.name}"
    shot = tmp_path / "screenshot.png"
    proc = subprocess.run([node, str(CHECK), url, str(shot), str(EXAMPLE), str(not_dicom)],
                          capture_output=True, text=True, timeout=180, cwd=test_wasm.WASM_DIR,
                          env={**os.environ, "CHROMIUM": chromium})
    assert proc.returncode == 0, f"browser_check failed:\n{proc.stderr[-4000:]}"
    page = json.loads(proc.stdout)
    assert page["state"] == "ready", (page["status"], page["console"])

    # Nothing was fetched from anywhere but this server (Pyodide from node_modules, no CDN).
    foreign = [u for u in page["requests"] if not u.startswith(base + "/")]
    assert not foreign, f"the page fetched from elsewhere: {foreign}"
    errors = [line for line in page["console"] if line.startswith(("error", "pageerror"))]
    assert not errors, errors

    shown, bad = page["files"]
    assert shown["state"] == "done", shown["status"]
    assert shown["status"].startswith("ct_phantom.dcm: ")
    summary = shown["summary"]
    assert summary["Patient"] == "Phantom^Jörg (PHANTOM-001)"
    assert summary["Modality"] == "CT"
    assert summary["Transfer syntax"] == "Explicit VR Little Endian"
    assert summary["Size"].startswith(f"{EXAMPLE.stat().st_size:,} bytes")
    assert "Head phantom, synthetic" in summary["Series"]
    assert summary["Study"].endswith("2.25.31415926535897932384626433832795028.1")

    rows = shown["rows"]
    assert [0, "(0010,0010)", "PN", "Patient's Name", "Phantom^Jörg"] in rows
    seq = rows.index([0, "(0040,0275)", "SQ", "Request Attributes Sequence", "1 item"])
    assert rows[seq + 1][:4] == [1, "(FFFE,E000)", "", "Item 1"]
    assert rows[seq + 2] == [2, "(0032,1060)", "LO", "Requested Procedure Description",
                             "CT HEAD WITHOUT CONTRAST"]
    # Exactly what the same module shows under CPython.
    expected = cpython_view(EXAMPLE)
    assert summary == expected["summary"]
    assert rows == [[r["depth"], r["tag"], r["vr"], r["name"], r["value"]]
                    for r in expected["rows"]]

    # A file that is not DICOM: the page says so, naming rawdicom's error.
    assert bad["state"] == "error", bad["status"]
    assert "NotDicomError" in bad["status"]

    assert shot.stat().st_size > 10_000
    shutil.copy(shot, SCREENSHOT)
