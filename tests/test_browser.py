"""The browser page (examples/browser/) works in a real browser: headless Chromium.

The repository is served on 127.0.0.1 by http.server in a thread (the wheel, built here, from
a temporary folder under /_build/); tests/wasm/browser_check.mjs drives Debian's chromium with
playwright-core (pinned in tests/wasm/package.json; no browser download) as a person would:
opens a CT file with the file picker, drags on the image, clicks an element of the explain
listing and hovers a byte, opens a 512x512 CT, opens a three-series study with the folder
picker and scrolls its largest stack with the arrow keys and the wheel, opens a folder of
irregular series, then opens files that are not good DICOM.

What the page shows is checked against CPython on the same files: every canvas pixel against
``rawdicom.window`` of ``rawdicom.hounsfield`` (numpy) for the window the page says it shows
(the page's pixels are ``rawdicom.window`` run in Pyodide, without numpy); the tree, with its
geometry diagnostics, against ``rawdicom tree`` and ``examples/browser/viewer.py`` run in
CPython without numpy (as in Pyodide); the listing and the highlighted bytes against
``rawdicom.explain``. The page must fetch nothing from anywhere but this server. The
screenshots go to docs/ (shown in the README); the times to the first image and to a dragged
window are printed (``-s``), never asserted.

Skipped with the reason when node, tests/wasm/node_modules or chromium is missing, unless the
environment variable CI is set: then it fails.
"""

from __future__ import annotations

import base64
import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import rawdicom
from rawdicom.explain import explain

sys.path.insert(0, str(Path(__file__).resolve().parent))
import test_wasm  # noqa: E402  (the wheel builder, corrupt inputs and the skip-or-fail rule)

REPO = test_wasm.REPO
BROWSER_DIR = REPO / "examples" / "browser"
CHECK = test_wasm.WASM_DIR / "browser_check.mjs"
PLAYWRIGHT = test_wasm.WASM_DIR / "node_modules" / "playwright-core" / "package.json"
EXAMPLE = REPO / "rawdicom" / "examples" / "ct_phantom.dcm"
STUDY = REPO / "rawdicom" / "examples" / "study"
DOCS = REPO / "docs"


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
                                                ".js": "text/javascript",
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


def viewer_without_numpy(call: str) -> dict:
    """A viewer.py function's JSON answer under CPython with numpy hidden, as in Pyodide."""
    code = ("import sys; sys.modules['numpy'] = None\n"
            f"sys.path.insert(0, {str(BROWSER_DIR)!r})\n"
            f"import viewer; print(viewer.{call})")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def rawdicom_tree(folder: Path) -> str:
    """What ``rawdicom tree NAME`` prints, run beside the folder (so it names it as the page
    does)."""
    proc = subprocess.run([sys.executable, "-m", "rawdicom", "tree", folder.name],
                          capture_output=True, text=True, timeout=300, cwd=folder.parent,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.rstrip("\n")


def windowed(path: Path, window: dict, frame: int = 0) -> np.ndarray:
    """What rawdicom gives for the page's window: hounsfield, then window (MONOCHROME1: the
    output range reversed)."""
    ds = rawdicom.read(path)
    out = (255, 0) if ds.PhotometricInterpretation == "MONOCHROME1" else (0, 255)
    values = rawdicom.hounsfield(ds, frame=frame if (ds.get("NumberOfFrames") or 1) > 1
                                 else None)
    return rawdicom.window(values, window["center"], window["width"], window["function"],
                           out_range=out)


def canvas(shown: dict) -> np.ndarray:
    """The canvas as the page drew it: rows x columns x RGB."""
    c = shown["canvas"]
    rgb = np.frombuffer(base64.b64decode(c["rgb"]), dtype=np.uint8)
    return rgb.reshape(c["height"], c["width"], 3)


def assert_pixels(shown: dict, path: Path) -> None:
    """Every pixel of a greyscale canvas is what rawdicom.window gives for its window."""
    rgb = canvas(shown)
    page = rgb[..., 0]
    assert (rgb == page[..., None]).all(), "a greyscale image drawn in colour"
    expected = windowed(path, shown["window"], shown["image"]["frame"])
    assert page.shape == expected.shape
    differ = np.argwhere(page != expected)
    assert not len(differ), (f"{len(differ)} pixels differ from rawdicom.window, first "
                             f"{differ[:5].tolist()}: page {page[tuple(differ[0])]}, "
                             f"rawdicom {expected[tuple(differ[0])]}")
    # Chosen points too, so that a failure names a pixel: centre, a corner, inside the skull.
    for y, x in ((page.shape[0] // 2, page.shape[1] // 2), (0, 0),
                 (page.shape[0] // 2, min(10, page.shape[1] - 1))):
        assert page[y, x] == expected[y, x], (y, x)
    assert len(np.unique(page)) > 2, "an image of one or two grey levels shows nothing"


def pydicom_file(name: str) -> Path:
    path = test_wasm.pydicom_test_files() / name
    if not path.exists():
        test_wasm.unavailable(f"pydicom's test file {name} is missing")
    return path


def monochrome1(tmp_path: Path) -> Path:
    """The example CT said to be MONOCHROME1: the same values, shown the other way round."""
    ds = rawdicom.read(EXAMPLE)
    ds.PhotometricInterpretation = "MONOCHROME1"
    path = tmp_path / "monochrome1.dcm"
    rawdicom.write(ds, path)
    return path


def sigmoid(tmp_path: Path) -> Path:
    """The example CT with VOI LUT Function SIGMOID (PS3.3 C.11.2.1.3.1)."""
    ds = rawdicom.read(EXAMPLE)
    ds.VOILUTFunction = "SIGMOID"
    path = tmp_path / "sigmoid.dcm"
    rawdicom.write(ds, path)
    return path


def big_ct(tmp_path: Path) -> Path:
    """A 512x512 CT slice (12-bit values in 16-bit words, window 40/400): a disc of soft
    tissue and bone in air, with noise, as benchmarks/bench_window.py makes it."""
    from series_builders import ct_slice
    rng = np.random.default_rng(0)
    y, x = np.mgrid[-256:256, -256:256]
    r = np.hypot(x, y)
    hu = np.where(r < 200, 40, -1000) + np.where((r > 170) & (r < 190), 1000, 0)
    stored = np.clip(hu + 1024 + rng.normal(0, 20, hu.shape), 0, 4095).astype(np.int16)
    path = tmp_path / "ct512.dcm"
    rawdicom.write(ct_slice(rows=512, columns=512, pixels=stored, extra={
        "WindowCenter": 40.0, "WindowWidth": 400.0}), path)
    return path


def irregular_folder(tmp_path: Path) -> Path:
    """Two series whose geometry the tree reports: a missing slice, and a gantry tilt."""
    from series_builders import write_series
    folder = tmp_path / "irregular"
    write_series(folder / "gap", [(0.0, 0.0, z) for z in (0, 2, 4, 8, 10)], series_number=7,
                 rows=16, columns=16)
    write_series(folder / "tilt", [(0.0, 0.3 * k, 2.0 * k) for k in range(6)], series_number=8,
                 rows=16, columns=16, extra={"GantryDetectorTilt": 8.5})
    return folder


def many_slices(tmp_path: Path) -> tuple[Path, list[Path]]:
    """A folder of 300 slices (128x128, shuffled names): listed and scrolled to its end."""
    from series_builders import axial_positions, write_series
    folder = tmp_path / "many"
    return folder, write_series(folder, axial_positions(300), series_number=9, rows=128,
                                columns=128)


def hostile_files(tmp_path: Path) -> list[Path]:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a DICOM file\n")
    data = EXAMPLE.read_bytes()
    truncated = tmp_path / "truncated.dcm"
    truncated.write_bytes(data[:700])
    huge = tmp_path / "huge-length.dcm"
    huge.write_bytes(test_wasm.part10(
        test_wasm.element(0x00100010, b"PN", b"Doe^John")
        + test_wasm.element(0x7FE00010, b"OB", b"\0" * 16, length=0xFFFFFFF0)))
    deep = tmp_path / "deep.dcm"
    deep.write_bytes(test_wasm.part10(test_wasm.element(0x00100010, b"PN", b"Doe^John")
                                      + test_wasm.nested_undefined(10_000)))
    ds = rawdicom.read(EXAMPLE)
    ds.NumberOfFrames = 2**31 - 1  # frames the file cannot hold: never listed one by one
    many = tmp_path / "many-frames.dcm"
    rawdicom.write(ds, many)
    return [notes, truncated, huge, deep, many]


def test_browser_page_views_windows_scrolls_and_explains(server, tmp_path):
    node = test_wasm.require_node()
    if not PLAYWRIGHT.exists():
        test_wasm.unavailable("playwright-core is missing: run `cd tests/wasm && npm ci`")
    chromium = find_chromium()
    base, build_dir = server

    whl = test_wasm.build_wheel(tmp_path / "build")
    shutil.copy(whl, build_dir / whl.name)
    bad = hostile_files(tmp_path)
    more = [monochrome1(tmp_path), pydicom_file("examples_rgb_color.dcm"),
            pydicom_file("examples_jpeg2k.dcm"),
            # JPEG Baseline: YBR_FULL (the usual), and RGB with no colour transform
            pydicom_file("SC_rgb_jpeg_dcmtk.dcm"), pydicom_file("SC_jpeg_no_color_transform.dcm"),
            # a cine loop: 30 frames, no positions
            pydicom_file("examples_ybr_color.dcm"),
            # big endian words; no window (the image's own range); 32-bit frames; SIGMOID
            pydicom_file("MR_small_bigendian.dcm"), pydicom_file("CT_small.dcm"),
            pydicom_file("rtdose.dcm"), sigmoid(tmp_path)]
    probes = [[64, 64], [10, 64], [0, 0], [40, 50]]
    big, irregular = big_ct(tmp_path), irregular_folder(tmp_path)
    many, many_paths = many_slices(tmp_path)
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"ct": str(EXAMPLE), "study": str(STUDY), "probes": probes,
                                "big": str(big), "irregular": str(irregular),
                                "many": str(many),
                                "more": list(map(str, more)), "bad": list(map(str, bad)),
                                "drop": "/rawdicom/examples/ct_phantom.dcm"}))
    shots = tmp_path / "shots"
    shots.mkdir()

    url = f"{base}/examples/browser/index.html?wheel=/_build/{whl.name}"
    proc = subprocess.run([node, str(CHECK), url, str(shots), str(plan)],
                          capture_output=True, text=True, timeout=600, cwd=test_wasm.WASM_DIR,
                          env={**os.environ, "CHROMIUM": chromium})
    assert proc.returncode == 0, f"browser_check failed:\n{proc.stderr[-4000:]}"
    page = json.loads(proc.stdout)
    assert page["state"] == "ready", (page["status"], page["console"])

    # Nothing was fetched from anywhere but this server (Pyodide from node_modules, no CDN).
    foreign = [u for u in page["requests"] if not u.startswith(base + "/")]
    assert not foreign, f"the page fetched from elsewhere: {foreign}"
    errors = [line for line in page["console"] if line.startswith(("error", "pageerror"))]
    assert not errors, errors

    # -- one CT file: the file's own window, every pixel as rawdicom.window gives it
    ct = page["ct"]
    assert ct["state"] == "done", ct["status"]
    assert ct["window"] == {"center": 40, "width": 80, "function": "LINEAR", "name": "BRAIN"}
    assert ct["wl"] == "W 80 L 40 (BRAIN)" and ct["tools"]
    assert_pixels(ct, EXAMPLE)
    ds = rawdicom.read(EXAMPLE)
    assert (ct["canvas"]["height"], ct["canvas"]["width"]) == (ds.Rows, ds.Columns)
    # Axial, rows along +x (patient's left), columns along +y (posterior).
    assert ct["orientation"] == ["A", "P", "R", "L"]
    assert ct["slice"].startswith("Image 1 / 1 · position -63.50, -63.50, 0.00 mm")
    assert ct["summary"]["Patient"] == "Phantom^Jörg (PHANTOM-001)"
    assert ct["summary"]["Size"].startswith(f"{EXAMPLE.stat().st_size:,} bytes")
    # The value under the cursor: HU (the rescale's type), and the stored value.
    hu = rawdicom.hounsfield(ds)
    stored = rawdicom.pixel_array(ds)
    for col, row, text in page["probes"]:
        value = hu[row, col]
        assert text == f"({col}, {row}): {value:g} HU (stored {stored[row, col]})", text
    print(f"\nbrowser page: Pyodide and rawdicom ready in {page['ready_s']:.1f} s; a "
          f"{ds.Rows}x{ds.Columns} CT shown {ct['firstImageMs']:.0f} ms after it was picked")

    # -- a 512x512 CT (Pyodide warm): its pixels, and the time to its first image
    shown = page["big"]
    assert shown["state"] == "done", shown["status"]
    assert (shown["canvas"]["height"], shown["canvas"]["width"]) == (512, 512)
    assert shown["window"] == {"center": 40, "width": 400, "function": "LINEAR",
                               "name": "the file's window"}
    assert_pixels(shown, big)
    print(f"browser page: a 512x512 CT shown {shown['firstImageMs']:.0f} ms after it was "
          f"picked (read, HU, rawdicom.window in Pyodide, drawn)")

    # -- dragged: a new window, and the pixels follow it
    dragged = page["dragged"]
    assert dragged["window"]["name"] == "dragged"
    assert dragged["window"]["width"] > 80 and dragged["window"]["center"] < 40
    assert_pixels(dragged, EXAMPLE)
    assert not np.array_equal(canvas(dragged), canvas(ct))
    print(f"browser page: the dragged window drawn {dragged['settleMs']:.0f} ms after the "
          "mouse was released")

    # -- the explain listing and the bytes of the element clicked
    explanation = explain(EXAMPLE.read_bytes())
    clicked = page["clicked"]
    assert clicked["entries"] == [
        [f"{e.parts[0].start:08X}", e.title,
         next((p.meaning[:2] for p in e.parts if p.role == "vr"), ""),
         next((p.meaning.split(" ")[0] for p in e.parts if p.role == "length"), ""),
         next((p.meaning for p in e.parts
               if p.role in ("value", "preamble", "prefix", "deflated", "unparsed")), "")]
        for e in explanation.entries]
    assert [r[1] for r in clicked["entries"][:3]] == [
        "Preamble", "DICM prefix", "(0002,0000) FileMetaInformationGroupLength"]
    name = next(e for e in explanation.entries if e.tag == 0x00100010)
    sel = clicked["selection"]
    assert (sel["start"], sel["end"], sel["title"]) == (name.start, name.end, name.title)
    roles = {offset: part.role for part in name.parts for offset in range(part.start, part.end)}
    assert dict(clicked["highlighted"]) == roles  # every byte of it, each in its role's colour
    assert {role for _, role in clicked["highlighted"]} == {"tag", "vr", "length", "value"}
    assert clicked["hexSpans"] < 2000  # a window of bytes, never the whole file
    assert clicked["hover"] == (f"{clicked['hovered']:08X}: (0010,0010) PatientName — value: "
                                "'Phantom^Jörg'")

    # A long value: its first bytes and its last, never all of them.
    pixel_data = page["pixelData"]
    entry = next(e for e in explanation.entries if e.tag == 0x7FE00010)
    assert (pixel_data["selection"]["start"], pixel_data["selection"]["end"]) == (
        entry.start, entry.end)
    offsets = [offset for offset, _ in pixel_data["highlighted"]]
    assert offsets[0] == entry.start and offsets[-1] == entry.end - 1
    assert len(offsets) < entry.end - entry.start and len(pixel_data["hexGaps"]) == 1
    assert pixel_data["hexSpans"] < 3000  # hex and text: two spans a byte

    # -- the study folder: the tree as rawdicom tree prints it (here, without numpy, as in
    # Pyodide), the largest stack first, scrolled in slice order
    study = page["study"]
    assert study["state"] == "done", study["status"]
    expected = viewer_without_numpy(f"open_folder({str(STUDY)!r}, 'study')")
    assert study["tree"] == "\n".join(expected["tree"])
    assert study["tree"].startswith("study: 65 instances\nPatient PHANTOM-001 'Phantom^Jörg'")
    assert study["tree"] == rawdicom_tree(STUDY)
    assert "! single_slice: one slice" in study["tree"]  # the scout: geometry checked
    assert study["stacks"] == ["Series 1 CT Scout lateral · 1 image",
                               "Series 2 CT Head 3.0 tilted · 40 images",
                               "Series 3 CT Head 5.0 soft · 24 images"]
    stack = expected["series"][1]["stacks"][0]["images"]
    rel = lambda p: os.path.relpath(p, STUDY)  # noqa: E731
    assert study["stackLength"] == 40 and study["index"] == 0
    assert rel(study["image"]["path"].replace("/data/study", str(STUDY))) == rel(stack[0]["path"])
    assert_pixels(study, Path(stack[0]["path"]))  # a deflated file: inflated by rawdicom
    for n, shown in enumerate(page["scrolled"], 1):
        image = stack[n]
        assert shown["index"] == n
        assert shown["path"] == "/data/study/" + rel(image["path"])
        assert shown["position"] == image["position"]
        xyz = ", ".join(f"{v:.2f}" for v in image["position"])
        assert shown["slice"] == f"Image {n + 1} / 40 · position {xyz} mm"
    # Slice order: along the normal of the tilted slices, every step the same 3 mm.
    positions = np.array([s["position"] for s in page["scrolled"]])
    assert np.allclose(np.linalg.norm(np.diff(positions, axis=0), axis=1), 3.0, atol=1e-3)
    # The explain listing of a deflated file: the meta group, then the data set's elements
    # with offsets in the inflated bytes, their bytes fetched from there.
    inflated = page["inflated"]
    shown_path = STUDY / inflated["image"]["path"].removeprefix("/data/study/")
    deflated = explain(shown_path.read_bytes())
    name = next(e for e in deflated.entries if e.tag == 0x00100010)
    assert name.parts[0].space == "inflated"
    sel = inflated["selection"]
    assert (sel["start"], sel["end"], sel["space"]) == (name.start, name.end, "inflated")
    roles = {offset: part.role for part in name.parts for offset in range(part.start, part.end)}
    assert dict(inflated["highlighted"]) == roles
    assert inflated["headings"] == [
        "File Meta Information, group 0002: always explicit VR little endian",
        "Data set: Deflated Explicit VR Little Endian, offsets (ⁱ) in the inflated bytes"]
    assert [row[1] for row in inflated["entries"]] == [e.title for e in deflated.entries]

    wheeled = page["wheeled"]
    assert wheeled["index"] == 7 and wheeled["slice"].startswith("Image 8 / 40")
    assert_pixels(wheeled, STUDY / rel(stack[7]["path"]))
    rapid = page["rapid"]
    assert rapid["index"] == 17 and rapid["image"]["path"].endswith(rel(stack[17]["path"]))
    assert rapid["explainNote"].startswith(rel(stack[17]["path"]) + ": ")
    assert_pixels(rapid, STUDY / rel(stack[17]["path"]))

    # -- a folder of irregular series: the geometry diagnostics as rawdicom tree prints them
    shown = page["irregular"]
    assert shown["state"] == "done", shown["status"]
    assert shown["tree"] == rawdicom_tree(irregular)
    assert "        ! missing_slices: 1 slice(s) missing between (0.000, 0.000, 4.000) and " \
           "(0.000, 0.000, 8.000)" in shown["tree"]
    assert "        ! gantry_tilt: positions advance 8.531 degrees off the slice normal" \
           in shown["tree"]

    # -- a folder of 300 slices: listed as one stack, then scrolled one press a slice to the
    # last, which is the last along the normal
    listed, end = page["many"], page["manyEnd"]
    assert listed["state"] == "done", listed["status"]
    assert listed["tree"] == rawdicom_tree(many)
    assert listed["stackLength"] == 300 and listed["index"] == 0
    assert listed["image"]["path"] == "/data/many/" + many_paths[0].name
    assert end["index"] == 299 and end["slice"].startswith("Image 300 / 300 · position")
    assert end["image"]["path"] == "/data/many/" + many_paths[-1].name
    assert_pixels(end, many_paths[-1])
    print(f"browser page: a folder of 300 slices listed and its first image shown in "
          f"{listed['wall_s']:.1f} s; 299 presses of the down arrow to its last slice in "
          f"{end['ms'] / 1000:.1f} s")

    # -- MONOCHROME1 the other way round; colour as colour; JPEG Baseline decoded by the
    # browser; JPEG 2000 named in one line
    mono1, rgb, j2k, *jpegs, cine, big_endian, no_window, dose, sigmoid_ct = page["more"]
    assert mono1["state"] == "done" and mono1["image"]["photometric"] == "MONOCHROME1"
    assert_pixels(mono1, more[0])
    assert (canvas(mono1)[..., 0] + canvas(ct)[..., 0] == 255).all()
    assert rgb["state"] == "done", rgb["status"]
    assert np.array_equal(canvas(rgb), rawdicom.pixel_array(rawdicom.read(more[1])))
    assert not rgb["tools"] and rgb["window"] is None  # no window for colour
    assert j2k["state"] == "done" and j2k["canvas"]["width"] == 0
    assert j2k["message"] == ("JPEG 2000 Image Compression (Lossless Only) "
                              "(1.2.840.10008.1.2.4.90) cannot be decoded in the browser (it "
                              "needs imagecodecs); the command line shows it (rawdicom png FILE)")
    for jpeg, path in zip(jpegs, more[3:]):
        assert jpeg["state"] == "done", jpeg["status"]
        assert not jpeg["tools"]  # decoded by the browser: 8-bit colour, no window
        decoded = rawdicom.pixel_array(rawdicom.read(path)).astype(int)
        difference = np.abs(canvas(jpeg).astype(int) - decoded)
        # Two JPEG decoders (Chromium's and imagecodecs') may differ by rounding, no more.
        assert difference.max() <= 2 and difference.mean() < 0.5, (
            path.name, difference.max(), difference.mean())
        assert [row[1] for row in jpeg["entries"] if row[1].startswith(("Basic", "Frag"))] == [
            "Basic Offset Table", "Fragment 1"]

    assert cine["state"] == "done", cine["status"]
    assert cine["stackLength"] == 30 and cine["slice"] == "Image 1 / 30 · frame 1 of 30"
    decoded = rawdicom.pixel_array(rawdicom.read(more[5]), frame=0).astype(int)
    difference = np.abs(canvas(cine).astype(int) - decoded)
    assert difference.max() <= 2 and difference.mean() < 0.5

    assert big_endian["state"] == "done", big_endian["status"]
    assert_pixels(big_endian, more[6])
    # Without a window: the image's own range, as rawdicom.to_uint8 shows it.
    for shown, path in ((no_window, more[7]), (dose, more[8])):
        assert shown["state"] == "done", shown["status"]
        assert shown["window"]["function"] == "LINEAR_EXACT"
        assert_pixels(shown, path)
        ds = rawdicom.read(path)
        frame = 0 if (ds.get("NumberOfFrames") or 1) > 1 else None
        assert np.array_equal(canvas(shown)[..., 0], rawdicom.to_uint8(ds, frame=frame))
    assert dose["stackLength"] == 15 and dose["slice"].startswith("Image 1 / 15 · frame 1 of 15")
    assert sigmoid_ct["window"]["function"] == "SIGMOID"
    assert_pixels(sigmoid_ct, more[9])

    # -- files that are not good DICOM: the library's one line, and the page goes on
    notes, truncated, huge, deep, many = page["bad"]
    assert notes["state"] == "error"
    assert notes["status"] == ("notes.txt: NotDicomError: at offset 0x0: no 'DICM' prefix, "
                               "and the data does not start with a DICOM data element")
    for shown in (truncated, huge, deep):
        assert shown["state"] in ("error", "done"), shown["status"]
        assert "\n" not in shown["status"]
    for shown in page["bad"]:
        print(f"{Path(shown['file']).name}: the page says: {shown['status']}")
    assert truncated["state"] == "error" and "(0020,000D) at offset 0x2B0" in truncated["status"]
    assert huge["state"] == "error" or huge["message"], huge
    assert many["stackLength"] == 1 and many["state"] == "done", many["status"]
    assert page["after"]["state"] == "done"
    assert_pixels(page["after"], EXAMPLE)

    # -- a file dropped on the page
    dropped = page["dropped"]
    assert dropped["state"] == "done", dropped["status"]
    assert dropped["image"]["path"] == "/data/ct_phantom.dcm"
    assert_pixels(dropped, EXAMPLE)

    # -- the presets are the library's
    app = (BROWSER_DIR / "app.js").read_text()
    presets = dict(re.findall(r"(\w+): \[(-?\d+, -?\d+)\]", app.split("CT_PRESETS = {")[1]
                              .split("};")[0]))
    from rawdicom.pixels.voi import CT_PRESETS
    assert {k: tuple(map(float, v.split(", "))) for k, v in presets.items()} == CT_PRESETS

    for shot in ("browser-ct.png", "browser-explain.png"):
        assert (shots / shot).stat().st_size > 10_000
        shutil.copy(shots / shot, DOCS / shot)
