"""A bounded run of tools/fuzz_pipeline.py in CI, and the fuzzer's own machinery.

The run takes a fixed set of cases (seed, index) of mutated series through every library
operation (scan, stacks and geometry, volumes 3-D/4-D/resampled, NIfTI, index.record,
index.build to SQLite and Parquet, DICOM JSON, DICOMDIR, organize, explain) and a sample of
the commands, each in a forked child with a memory limit and a timeout, and requires 0
defects. The machinery tests show that each kind of defect is seen: a foreign exception, a
MemoryError, a hang, a crash, a file opened outside the case's folders, a lost file.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import fuzz_pipeline as fp  # noqa: E402

pytest.importorskip("numpy")

SEED = 2024
CASES = 16
SKIP: set[int] = set()
CI_OPS = list(fp.OPERATIONS)
CI_COMMANDS = ["tree", "info_dir", "volume", "index"]


def _run(tmp_path: Path, **kw):
    return fp.run(seed=SEED, out=tmp_path / "out", scratch=tmp_path / "seeds", **kw)


def test_bounded_pipeline_fuzz_run(tmp_path: Path) -> None:
    summary = _run(tmp_path, start=0, count=CASES, ops=CI_OPS, cli=[], cli_per_case=0,
                   skip=SKIP)
    print({k: v for k, v in summary.items() if k != "defects"})
    assert summary["cases"] == CASES - len(SKIP)
    assert summary["operations"] >= summary["cases"] * (len(CI_OPS) - 2)
    assert not summary["defects"], [(d["signature"], d["reproduce"])
                                    for d in summary["defects"]]
    outcomes = {o for counts in summary["counts"].values() for o in counts}
    assert outcomes <= {"ok", "error"}


def test_bounded_pipeline_fuzz_run_of_commands(tmp_path: Path) -> None:
    summary = _run(tmp_path, start=CASES, count=4, ops=[], cli=CI_COMMANDS,
                   cli_per_case=1)
    assert summary["operations"] == 4
    assert not summary["defects"], [(d["signature"], d["reproduce"])
                                    for d in summary["defects"]]


def test_cases_are_reproducible(tmp_path: Path) -> None:
    seeds = fp.seed_series(tmp_path / "seeds")
    assert len(seeds) >= 10
    assert fp.make_case(seeds, 7, 3) == fp.make_case(seeds, 7, 3)
    assert fp.make_case(seeds, 7, 3) != fp.make_case(seeds, 7, 4)


# -- the machinery: each kind of defect is seen ---------------------------------------------
def _folder(tmp_path: Path) -> tuple[Path, Path]:
    folder, out = tmp_path / "case", tmp_path / "target"
    folder.mkdir()
    out.mkdir()
    (folder / "a.dcm").write_bytes(b"not dicom")
    return folder, out


def _raises_type_error(folder, out, errors):
    raise TypeError("a foreign exception")


def _raises_dicom_error(folder, out, errors):
    import rawdicom
    raise rawdicom.MalformedElementError("broken")


def _allocates(folder, out, errors):
    bytearray(8 << 30)


def _hangs(folder, out, errors):
    import time
    time.sleep(60)


def _crashes(folder, out, errors):
    os.kill(os.getpid(), 9)


def _opens_outside(folder, out, errors):
    with open(Path(fp.__file__).resolve().parents[1] / "README.md", "rb"):
        pass


def _opens_inside(folder, out, errors):
    (folder / "a.dcm").read_bytes()
    (out / "written").write_bytes(b"")


@pytest.mark.parametrize("fn, outcome, kind", [
    (_raises_type_error, "defect", "exception"),
    (_raises_dicom_error, "error", None),
    (_allocates, "defect", "memory"),
    (_hangs, "defect", "timeout"),
    (_crashes, "defect", "crash"),
    (_opens_outside, "defect", "outside"),
    (_opens_inside, "ok", None),
])
def test_each_outcome_is_seen(tmp_path, monkeypatch, fn, outcome, kind) -> None:
    folder, out = _folder(tmp_path)
    monkeypatch.setitem(fp.OPERATIONS, "probe", fn)
    result = fp.run_op("probe", folder, out, timeout=3.0, memory=512 << 20)
    assert result["outcome"] == outcome, result
    assert result.get("kind") == kind


def test_a_lost_file_is_a_defect(tmp_path, monkeypatch) -> None:
    import rawdicom
    from rawdicom.model.hierarchy import Collection
    folder, out = _folder(tmp_path)
    monkeypatch.setattr(rawdicom, "scan", lambda *a, **k: Collection([]))
    result = fp.run_op("scan", folder, out, timeout=30.0, memory=512 << 20)
    assert result["outcome"] == "defect" and "lost 1 files" in result["detail"]


def test_a_command_traceback_or_odd_status_is_a_defect(tmp_path, monkeypatch) -> None:
    trace = ('Traceback (most recent call last):\n  File "x/rawdicom/a.py", line 1, in f\n'
             'KeyError: 1')
    assert fp.cli_outcome("x", 1, trace)["outcome"] == "defect"
    assert fp.cli_outcome("x", 3, "rawdicom: unexpected KeyError; rerun with --debug")[
        "outcome"] == "defect"
    assert fp.cli_outcome("x", 1, "rawdicom: a.dcm: not a DICOM file")["outcome"] == "error"
    assert fp.cli_outcome("x", 0, "FUZZ-OUTSIDE /etc/shadow\n")["kind"] == "outside"
    folder, out = _folder(tmp_path)
    monkeypatch.setitem(fp.CLI, "probe", lambda d, o: ["--no-such-option"])
    assert fp.run_cli("probe", folder, out, timeout=60, memory=0)["outcome"] == "error"
    import series_builders
    series_builders.write_series(folder / "series", n=2)
    (folder / "a.dcm").unlink()
    monkeypatch.setitem(fp.CLI, "probe", lambda d, o: ["tree", str(d)])
    assert fp.run_cli("probe", folder, out, timeout=60, memory=0)["outcome"] == "ok"
    readme = Path(fp.__file__).resolve().parents[1] / "README.md"
    monkeypatch.setitem(fp.CLI, "probe", lambda d, o: ["explain", str(readme)])
    result = fp.run_cli("probe", folder, out, timeout=60, memory=0)
    assert result["kind"] == "outside" and "README.md" in result["detail"]
