"""rawdicom runs unchanged under WebAssembly (Pyodide in Node) and gives the same answers.

The test builds the one pure-Python wheel (``pip wheel``), checks what it carries, unpacks it
for CPython and into Pyodide's site-packages, runs ``tests/wasm/canonical.py`` in both on every
file of pydicom's bundled test data plus corrupt inputs made here, and requires the two
canonical listings to be identical line for line: every element, recursively into sequences,
every value decoded, every error's class and message.

Needs ``node`` and ``tests/wasm/node_modules`` (``cd tests/wasm && npm ci``).  Without them the
test is skipped with the reason, except when the environment variable CI is set: then it fails,
so CI cannot pass by skipping.

Run ``python -m pytest tests/test_wasm.py -s`` to see the figures (import and read time under
Pyodide against CPython, measured in the same run; the wheel's size).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import rawdicom

REPO = Path(__file__).resolve().parent.parent
WASM_DIR = REPO / "tests" / "wasm"
CANONICAL = WASM_DIR / "canonical.py"
RUNNER = WASM_DIR / "run_pyodide.mjs"
PYODIDE_MJS = WASM_DIR / "node_modules" / "pyodide" / "pyodide.mjs"
REPEAT = 3  # timed runs per file for the figures (the best is kept)


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def unavailable(reason: str) -> None:
    """Skip for a developer without the tool; fail in CI, where .ci/run installs it."""
    if in_ci():
        pytest.fail(f"{reason} (CI is set: .ci/run should have installed it)", pytrace=False)
    pytest.skip(reason)


def require_node() -> str:
    node = shutil.which("node")
    if node is None:
        unavailable("node is not installed: the WebAssembly tests run Pyodide in Node")
    if not PYODIDE_MJS.exists():
        unavailable("tests/wasm/node_modules is missing: run `cd tests/wasm && npm ci`")
    return node


def pydicom_data() -> list[Path]:
    """pydicom's bundled test files and character set files."""
    test_files = pydicom_test_files()
    return [test_files, test_files.parent / "charset_files"]


def pydicom_test_files() -> Path:
    try:
        import pydicom
    except ImportError:
        unavailable("pydicom is not installed (pip install -e '.[test]')")
    # The files bundled in the package; pydicom's downloader is never called.
    path = Path(pydicom.__file__).parent / "data" / "test_files"
    if not path.is_dir():
        unavailable(f"pydicom's bundled test files are missing: {path}")
    return path


# ---------------------------------------------------------------------------- the wheel

_BUILD_IGNORE = shutil.ignore_patterns(".git", ".venv", "venv", "node_modules", "build", "dist",
                                       "*.egg-info", "__pycache__", ".pytest_cache",
                                       ".hypothesis", "*.whl", "*.png")


def build_wheel(dest: Path) -> Path:
    """``pip wheel`` of a clean copy of the repository (no stale build/ can leak into it)."""
    src = dest / "src"
    shutil.copytree(REPO, src, ignore=_BUILD_IGNORE)
    out = dest / "wheel"
    cmd = [sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "-w", str(out),
           "--quiet", "--disable-pip-version-check"]
    try:  # build offline with the environment's setuptools when it can build wheels
        import setuptools  # noqa: F401  (only whether it is there)
        import wheel  # noqa: F401  (bdist_wheel before setuptools 70.1)
        cmd.append("--no-build-isolation")
    except ImportError:
        pass
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"pip wheel failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    wheels = sorted(out.glob("*.whl"))
    assert len(wheels) == 1, f"expected one wheel, got {[w.name for w in wheels]}"
    return wheels[0]


def check_wheel(whl: Path) -> None:
    """One pure-Python wheel with every module and the dictionary tables inside."""
    assert whl.name.startswith("rawdicom-") and whl.name.endswith("-py3-none-any.whl"), whl.name
    with zipfile.ZipFile(whl) as zf:
        names = set(zf.namelist())
        wheel_meta = next(n for n in names if n.endswith(".dist-info/WHEEL"))
        assert "Root-Is-Purelib: true" in zf.read(wheel_meta).decode()
        metadata = zf.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    compiled = [n for n in names if n.endswith((".so", ".pyd", ".dylib", ".dll"))]
    assert not compiled, f"compiled files in the wheel: {compiled}"
    # No runtime dependency: every Requires-Dist belongs to an extra.
    hard = [line for line in metadata.splitlines()
            if line.startswith("Requires-Dist:") and "extra ==" not in line]
    assert not hard, f"runtime dependencies: {hard}"
    for table in sorted((REPO / "dictionaries").glob("*.tsv")):
        assert f"rawdicom/_dictionaries/{table.name}" in names, f"{table.name} not in the wheel"
    assert "rawdicom/_dictionaries/elements.tsv" in names
    missing = [p.relative_to(REPO).as_posix() for p in sorted((REPO / "rawdicom").rglob("*.py"))
               if "__pycache__" not in p.parts
               and p.relative_to(REPO).as_posix() not in names]
    assert not missing, (f"modules of rawdicom/ missing from the wheel (pyproject.toml's "
                         f"[tool.setuptools] packages must list every subpackage): {missing}")


def unpack(whl: Path, dest: Path) -> Path:
    with zipfile.ZipFile(whl) as zf:
        zf.extractall(dest)
    return dest


# ---------------------------------------------------------------------------- corrupt inputs

_LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR",
             b"UT", b"UV"}


def element(tag: int, vr: bytes, value: bytes, length: int | None = None) -> bytes:
    """One explicit VR little endian element; ``length`` overrides the written length."""
    n = len(value) if length is None else length
    if vr in _LONG_VRS:
        return struct.pack("<HH2sHI", tag >> 16, tag & 0xFFFF, vr, 0, n) + value
    return struct.pack("<HH2sH", tag >> 16, tag & 0xFFFF, vr, n) + value


def part10(dataset: bytes, syntax: str = "1.2.840.10008.1.2.1") -> bytes:
    uid = syntax.encode()
    uid += b"\0" * (len(uid) % 2)
    meta = element(0x00020010, b"UI", uid)
    return (b"\0" * 128 + b"DICM" + element(0x00020000, b"UL", struct.pack("<I", len(meta)))
            + meta + dataset)


def nested_undefined(depth: int) -> bytes:
    """``depth`` undefined-length sequences, each in an undefined-length item."""
    open_ = (struct.pack("<HH2sHI", 0x0008, 0x1115, b"SQ", 0, 0xFFFFFFFF)
             + struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF))
    close = struct.pack("<HHI", 0xFFFE, 0xE00D, 0) + struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
    return open_ * depth + close * depth


def nested_defined(depth: int) -> bytes:
    """``depth`` defined-length sequences, each holding one item that holds the next."""
    parts = []
    for d in range(depth):
        seq_len = 8 + 20 * (depth - 1 - d)
        item_len = seq_len - 8
        parts.append(struct.pack("<HH2sHI", 0x0008, 0x1115, b"SQ", 0, seq_len))
        parts.append(struct.pack("<HHI", 0xFFFE, 0xE000, item_len))
    return b"".join(parts)


def make_corrupt_inputs(dest: Path, test_files: Path) -> dict[str, str]:
    """Write the corrupt files; returns name -> where the DicomError must appear."""
    ct = (test_files / "CT_small.dcm").read_bytes()
    manufacturer = rawdicom.read(ct)["Manufacturer"].offset  # where a text value starts
    name_el = element(0x00100010, b"PN", b"Doe^John")
    rng = random.Random(20261125)
    files = {
        # name: (bytes, what must show in both: "error" = a DicomError, raised by read or by
        # a value access (the reader's policy decides which), "warn" = a DicomWarning or a
        # DicomError (a cut at an element boundary may be read leniently))
        "corrupt-empty.dcm": (b"", "error"),
        "corrupt-truncated-in-header.dcm": (ct[:700], "warn"),
        "corrupt-truncated-in-value.dcm": (ct[:manufacturer + 5], "error"),
        "corrupt-truncated-pixels.dcm": (ct[:-100], "error"),
        "corrupt-huge-length-explicit.dcm": (
            part10(name_el + element(0x7FE00010, b"OB", b"\0" * 16, length=0xFFFFFFF0)), "error"),
        "corrupt-huge-length-implicit.dcm": (
            part10(struct.pack("<HHI", 0x0010, 0x0020, 0xFFFFFFF0) + b"x" * 10,
                   "1.2.840.10008.1.2"), "error"),
        "corrupt-deep-undefined.dcm": (part10(name_el + nested_undefined(10_000)), "error"),
        "corrupt-deep-defined.dcm": (part10(name_el + nested_defined(10_000)), "error"),
        "corrupt-random.dcm": (rng.randbytes(4096), "error"),
        "corrupt-random-after-dicm.dcm": (b"\0" * 128 + b"DICM" + rng.randbytes(4096), "error"),
    }
    dest.mkdir(parents=True, exist_ok=True)
    for name, (data, _) in files.items():
        (dest / name).write_bytes(data)
    return {name: where for name, (_, where) in files.items()}


def dicom_error_names() -> set[str]:
    return {name for name, obj in vars(rawdicom).items()
            if isinstance(obj, type) and issubclass(obj, rawdicom.DicomError)}


def errors_in(record: dict) -> list[str]:
    """Class names of every error in a canonical record, at file level or inside values."""
    found = []

    def visit(node):
        if isinstance(node, dict):
            if "error" in node and "message" in node:
                found.append(node["error"])
            for v in node.values():
                visit(v)
        elif isinstance(node, list):
            for v in node:
                visit(v)

    visit(record)
    return found


# ---------------------------------------------------------------------------- running

def parse_output(text: str) -> tuple[dict[str, str], dict, dict]:
    """(key -> canonical JSON line, Python summary, node summary)."""
    records: dict[str, str] = {}
    summary: dict = {}
    node: dict = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        obj = json.loads(line)
        if obj.get("summary"):
            summary = obj
        elif obj.get("node"):
            node = obj
        else:
            assert obj["file"] not in records, f"duplicate key {obj['file']}"
            records[obj["file"]] = line
    return records, summary, node


def run_cpython(site: Path, inputs: list[Path], cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = str(site)
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # import compiles from source, as in fresh Pyodide
    # -S: no site-packages, so rawdicom comes from the unpacked wheel only (not the checkout).
    cmd = [sys.executable, "-S", "-B", str(CANONICAL), "--repeat", str(REPEAT),
           *map(str, inputs)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd, timeout=300)
    assert proc.returncode == 0, f"CPython listing failed:\n{proc.stderr[-4000:]}"
    return proc.stdout


def run_pyodide(node: str, whl: Path, inputs: list[Path]) -> str:
    cmd = [node, str(RUNNER), "--wheel", str(whl), "--repeat", str(REPEAT), *map(str, inputs)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=WASM_DIR, timeout=600)
    assert proc.returncode == 0, f"Pyodide listing failed:\n{proc.stderr[-4000:]}"
    return proc.stdout


def first_difference(a: str, b: str) -> str:
    """Where two canonical lines first differ, as the element lists around it."""
    ja, jb = json.loads(a), json.loads(b)
    for key in sorted(set(ja) | set(jb)):
        if ja.get(key) != jb.get(key):
            va, vb = ja.get(key), jb.get(key)
            if isinstance(va, list) and isinstance(vb, list):
                for i, (x, y) in enumerate(zip(va, vb)):
                    if x != y:
                        return f"{key}[{i}]:\n  CPython: {str(x)[:600]}\n  Pyodide: {str(y)[:600]}"
                return f"{key}: lengths {len(va)} != {len(vb)}"
            return f"{key}:\n  CPython: {str(va)[:600]}\n  Pyodide: {str(vb)[:600]}"
    return "(lines differ only in formatting)"


def ratio(a: float, b: float) -> float:
    return a / b if b else float("inf")


# ---------------------------------------------------------------------------- the tests

@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("wheel"))


def test_wheel_is_one_pure_python_wheel_with_everything(wheel):
    check_wheel(wheel)


def test_pyodide_lists_every_file_as_cpython_does(wheel, tmp_path, record_property):
    node = require_node()
    data_dirs = pydicom_data()
    test_files = data_dirs[0]
    whl = wheel
    site = unpack(whl, tmp_path / "site")

    corrupt_dir = tmp_path / "corrupt"
    expected_errors = make_corrupt_inputs(corrupt_dir, test_files)
    inputs = [*data_dirs, corrupt_dir]

    cpython_out = run_cpython(site, inputs, tmp_path)
    pyodide_out = run_pyodide(node, whl, inputs)
    cp_records, cp_summary, _ = parse_output(cpython_out)
    py_records, py_summary, node_summary = parse_output(pyodide_out)

    # Every file of pydicom's test data (and every corrupt input) is listed by both.
    n_test_files = sum(1 for d in data_dirs for p in d.rglob("*")
                       if p.is_file() and "__pycache__" not in p.parts)
    assert n_test_files > 100, f"only {n_test_files} files in {data_dirs}"
    assert len(cp_records) == n_test_files + len(expected_errors)
    assert set(py_records) == set(cp_records), (
        f"only in CPython: {sorted(set(cp_records) - set(py_records))[:10]}; "
        f"only in Pyodide: {sorted(set(py_records) - set(cp_records))[:10]}")
    assert py_summary.get("platform") == "emscripten", py_summary

    # Identical, file by file.
    differing = [k for k in sorted(cp_records) if cp_records[k] != py_records[k]]
    if differing:
        first = differing[0]
        pytest.fail(f"{len(differing)} of {len(cp_records)} files list differently under "
                    f"Pyodide, e.g. {first}: {first_difference(cp_records[first], py_records[first])}"
                    f"\nall: {differing[:30]}", pytrace=False)

    # The data really was read: most DICOM files give elements, charsets included.
    read_ok = [k for k, line in cp_records.items() if '"elements"' in line]
    assert len(read_ok) > 100, f"only {len(read_ok)} files were read"
    assert "charset_files/chrH31.dcm" in read_ok  # Japanese, ISO 2022 code extensions

    # Corrupt inputs end in a DicomError, the same one in both interpreters.
    names = dicom_error_names()
    for name, where in expected_errors.items():
        record = json.loads(cp_records[f"corrupt/{name}"])
        errors = errors_in(record)
        assert set(errors) <= names, (name, errors)
        if where == "warn" and not errors:
            assert any(w[0] == "DicomWarning" for w in record["warnings"]), (name, record)
        else:
            assert errors, (name, "no DicomError", record)

    # Figures: the same files, measured in this run.
    wheel_kib = whl.stat().st_size / 1024
    figures = {
        "wheel": whl.name,
        "wheel_kib": round(wheel_kib, 1),
        "files": cp_summary["files"],
        "bytes": cp_summary["bytes"],
        "cpython": cp_summary["python"],
        "pyodide": f"{node_summary.get('pyodide_version')} (Python {py_summary['python']})",
        "pyodide_load_s": round(node_summary.get("pyodide_load_s", 0.0), 3),
        "first_import_ms": [round(cp_summary["import_s"] * 1e3, 1),
                            round(py_summary["import_s"] * 1e3, 1)],
        "import_ms": [round(cp_summary["import_best_s"] * 1e3, 1),
                      round(py_summary["import_best_s"] * 1e3, 1)],
        "import_ratio": round(ratio(py_summary["import_best_s"],
                                    cp_summary["import_best_s"]), 2),
        "dictionary_load_ms": [round(cp_summary["dictionary_s"] * 1e3, 1),
                               round(py_summary["dictionary_s"] * 1e3, 1)],
        "read_us_per_file": [round(cp_summary["best_read_s"] / cp_summary["files"] * 1e6, 1),
                             round(py_summary["best_read_s"] / py_summary["files"] * 1e6, 1)],
        "read_ratio": round(ratio(py_summary["best_read_s"], cp_summary["best_read_s"]), 2),
        "read_all_values_us_per_file": [
            round(cp_summary["best_list_s"] / cp_summary["files"] * 1e6, 1),
            round(py_summary["best_list_s"] / py_summary["files"] * 1e6, 1)],
        "read_all_values_ratio": round(ratio(py_summary["best_list_s"],
                                             cp_summary["best_list_s"]), 2),
    }
    for key, value in figures.items():
        record_property(key, value)
    print("\nrawdicom under Pyodide vs CPython ([CPython, Pyodide]; best of "
          f"{REPEAT} runs):\n" + json.dumps(figures))
