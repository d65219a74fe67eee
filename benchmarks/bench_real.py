"""Scan and convert on folders that already exist (real scanner data), beside the references.

    python benchmarks/bench_real.py ../shared/realdata/dcm_qa_fmap/In ../shared/realdata/dcm_qa_xa60/In
    python benchmarks/bench_real.py FOLDER... --repeat 5 --skip convert

The generated benchmarks (``bench_scan.py``, ``bench_convert.py``) time folders made to
measure; this one times the same jobs on folders as scanners wrote them (other vendors,
enhanced multi-frame files, mosaics, private groups, files that are not DICOM), and never
writes into them. For each folder, in one run:

* **scan**: ``rawdicom.scan(folder, workers=1 or 2)`` then every series' stacks, beside the
  lean loops of ``bench_scan.py`` (pydicom ``dcmread(specific_tags=..., stop_before_pixels=
  True)``, dicomsdl ``open(...).getValues(...)`` and its header-only ``load_until``), each
  grouping and ordering with ``bench_scan._order``; a file a loop cannot read (not DICOM)
  is skipped by it, as a user's ``try``/``except`` would. Real folders hold multi-frame
  files whose frames the loops cannot order, so the jobs are not checked for the same order
  (``bench_scan.py`` does that on its generated folder); the files each job read are
  printed instead.
* **convert**: ``rawdicom convert FOLDER OUT`` beside ``dcm2niix -b y`` as whole commands,
  gzip level 6 and none (the commands and environment of ``bench_convert.py``); the NIfTI
  files each wrote are counted (the two split some series differently: see
  ``tests/test_realdata.py`` for which and why).

Wall clock and CPU seconds, best of ``--repeat``. As everywhere in ``benchmarks/``, the CPU
figures are the ones to compare when the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_convert  # noqa: E402
import bench_scan  # noqa: E402
import rawdicom  # noqa: E402


def _records(paths: list[str], read: Callable[[str], dict[str, Any]],
             errors: tuple[type[BaseException], ...]) -> int:
    """A lean loop: each readable file's values into a dict, then grouped and ordered."""
    records = []
    for path in paths:
        try:
            records.append(read(path) | {"path": path})
        except errors:
            continue
    bench_scan._order(records)
    return len(records)


def scan_jobs(folder: Path) -> list[tuple[str, Callable[[], int]]]:
    """The scan jobs on ``folder``, each returning how many files it read."""
    import dicomsdl
    import pydicom
    from pydicom.errors import InvalidDicomError
    paths = bench_scan._list(folder)
    tags = bench_scan.TAGS
    sdl_errors = (dicomsdl.DicomException, RuntimeError, OSError)

    def ours(workers: int) -> int:
        collection = rawdicom.scan(folder, workers=workers)
        for series in collection.series:
            series.stacks()
        return sum(len(series) for series in collection.series)

    def with_pydicom(path: str) -> dict[str, Any]:
        ds = pydicom.dcmread(path, specific_tags=tags, stop_before_pixels=True)
        return {keyword: ds.get(keyword) for keyword in tags}

    def with_dicomsdl(header_only: bool) -> Callable[[str], dict[str, Any]]:
        def read(path: str) -> dict[str, Any]:
            ds = (dicomsdl.open(path, load_until=0x7FE00000) if header_only
                  else dicomsdl.open(path))
            return dict(zip(tags, ds.getValues(tags)))
        return read

    return [
        ("rawdicom-1", lambda: ours(1)),
        ("rawdicom-2", lambda: ours(2)),
        ("pydicom", lambda: _records(paths, with_pydicom, (InvalidDicomError, OSError))),
        ("dicomsdl", lambda: _records(paths, with_dicomsdl(False), sdl_errors)),
        ("dicomsdl-header", lambda: _records(paths, with_dicomsdl(True), sdl_errors)),
    ]


def bench_scan_folder(folder: Path, repeat: int) -> None:
    files = len(bench_scan._list(folder))
    print(f"\nscan {folder}: {files} files")
    jobs = scan_jobs(folder)
    best: dict[str, tuple[float, float, float, int]] = {}
    for _ in range(repeat):  # rounds: every job once per round
        for name, fn in jobs:
            run = bench_scan.timed(fn)
            if name not in best or run[0] < best[name][0]:
                best[name] = run
    for name, (wall, cpu, busiest, read) in best.items():
        line = (f"  {name:16s} {wall:7.3f} s {files / wall:8.0f} files/s   CPU {cpu:6.3f} s "
                f"{files / cpu:8.0f} files per CPU-s   ({read} files read)")
        if name == "rawdicom-2":
            line += f"; busiest process {busiest:.3f} s: {files / busiest:.0f} files/s on 2 free cores"
        print(line)
    for name in ("rawdicom-1", "rawdicom-2"):
        ratios = ", ".join(f"{best[o][0] / best[name][0]:.2f}x {o} wall "
                           f"({best[o][1] / best[name][1]:.2f}x per CPU-s)"
                           for o in ("pydicom", "dicomsdl", "dicomsdl-header"))
        print(f"  {name} vs: {ratios}")


def bench_convert_folder(folder: Path, repeat: int, work: Path) -> None:
    files = sum(1 for p in folder.rglob("*") if p.is_file())
    print(f"\nconvert {folder}: {files} files")
    env = bench_convert.installed_env(work)
    dcm2niix = shutil.which("dcm2niix") or "dcm2niix"
    modes = {"gz": (("--format", "nii.gz", "--level", "6"), ("-z", "y", "-6")),
             "none": (("--format", "nii"), ("-z", "n"))}
    for mode, (ours_args, theirs_args) in modes.items():
        ours, theirs = work / "out-rawdicom", work / "out-dcm2niix"
        a, a_cpu = bench_convert.timed([sys.executable, "-m", "rawdicom", "convert", str(folder),
                                        str(ours), "--quiet", *ours_args], ours, repeat, env)
        b, b_cpu = bench_convert.timed([dcm2niix, *theirs_args, "-b", "y", "-o", str(theirs),
                                        str(folder)], theirs, repeat)
        count_a = sum(1 for _ in ours.rglob("*.nii*"))
        count_b = sum(1 for _ in theirs.rglob("*.nii*"))
        print(f"  {mode:4s} rawdicom convert {a:6.2f} s {files / a:6.0f} files/s (CPU {a_cpu:5.2f} s,"
              f" {count_a} NIfTI)   dcm2niix {b:6.2f} s {files / b:6.0f} files/s (CPU {b_cpu:5.2f}"
              f" s, {count_b} NIfTI)   files/s ratio {b / a:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", type=Path, nargs="+", help="existing folders (never written)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip", choices=("scan", "convert"), action="append", default=[])
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    print(f"load: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    work = Path(tempfile.mkdtemp(prefix="bench-real-"))
    try:
        for folder in args.folders:
            if not folder.is_dir():
                parser.error(f"{folder}: not a folder")
            for path in bench_scan._list(folder):  # warm the file cache
                with open(path, "rb") as f:
                    while f.read(1 << 20):
                        pass
            if "scan" not in args.skip:
                bench_scan_folder(folder, args.repeat)
            if "convert" not in args.skip:
                bench_convert_folder(folder, args.repeat, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nload after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
