"""A 4-D fMRI series, folder -> 4-D Volume -> NIfTI, rawdicom beside dcm2niix on the same folder.

    python benchmarks/bench_mr.py                      # 64x64x36 x 200 volumes
    python benchmarks/bench_mr.py --volumes 50 --repeat 1

Two folders are generated once under ``--dir`` (default /tmp/rawdicom-bench-mr): the series
as classic files (one 64x64 slice per file: 7,200 files) and as Siemens mosaics (one
384x384 mosaic of 36 tiles per volume, CSA header and (0019,100A) count: 200 files), with
shuffled extension-less names. Each job is one whole command in a fresh process, timed
wall clock (best of ``--repeat``, warm file cache), NIfTI write included for both:

* ``rawdicom``: ``python -c`` scan(folder) -> the series' stack -> ``volume()`` ->
  ``to_nifti(out.nii)``; ``scan`` with its default workers (all cores) and with
  ``workers=1``;
* ``dcm2niix -z n -b n`` (uncompressed NIfTI, no BIDS sidecar).

The two outputs are checked to hold the same array before the timings are printed.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

DEFAULT_DIR = Path("/tmp/rawdicom-bench-mr")
SLICES, SIZE = 36, 64

JOB = """
import sys, rawdicom
coll = rawdicom.scan(sys.argv[1], workers={workers})
[series] = coll.patients[0].studies[0].series
[stack] = series.stacks()
stack.volume().to_nifti(sys.argv[2])
"""


def pixels(t: int, k: int):
    import numpy as np
    r, c = np.mgrid[0:SIZE, 0:SIZE]
    return ((r * 64 + c + k * 97 + t * 13) % 4000).astype(np.int16)


def generate(root: Path, volumes: int) -> tuple[Path, Path]:
    from mr_builders import write_4d, write_mosaics
    classic, mosaic = root / f"classic-{volumes}", root / f"mosaic-{volumes}"
    if not (classic / ".done").exists():
        shutil.rmtree(classic, ignore_errors=True)
        write_4d(classic, slices=SLICES, volumes=volumes, rows=SIZE, columns=SIZE,
                 pixels=pixels)
        (classic / ".done").write_text("")
    if not (mosaic / ".done").exists():
        shutil.rmtree(mosaic, ignore_errors=True)
        write_mosaics(mosaic, count=SLICES, volumes=volumes, tile_size=SIZE, pixels=pixels)
        (mosaic / ".done").write_text("")
    return classic, mosaic


def timed(command: list[str], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, cwd=ROOT)
        best = min(best, time.perf_counter() - t0)
    return best


def check(ours: Path, theirs_dir: Path) -> str:
    """Same values at the same physical points (both NIfTI: RAS affines)."""
    import nibabel
    import numpy as np
    [theirs] = sorted(theirs_dir.glob("*.nii"))
    a, b = nibabel.load(ours), nibabel.load(theirs)
    data_a, data_b = np.asanyarray(a.dataobj), np.asanyarray(b.dataobj)
    if data_a.shape != data_b.shape:
        return f"shapes differ: {data_a.shape} vs {data_b.shape}"
    ijk = np.stack(np.meshgrid(*[np.arange(n) for n in data_b.shape[:3]], indexing="ij"),
                   -1).reshape(-1, 3)
    world = np.c_[ijk, np.ones(len(ijk))] @ b.affine.T
    mine = np.rint(world @ np.linalg.inv(a.affine).T)[:, :3].astype(int)
    same = np.array_equal(data_a[mine[:, 0], mine[:, 1], mine[:, 2]],
                          data_b[ijk[:, 0], ijk[:, 1], ijk[:, 2]])
    return "same values at the same points" if same else "VALUES DIFFER"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--volumes", type=int, default=200)
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    t0 = time.perf_counter()
    folders = generate(args.dir, args.volumes)
    print(f"{args.volumes} volumes of {SIZE}x{SIZE}x{SLICES} "
          f"({time.perf_counter() - t0:.1f} s to generate/find)")
    dcm2niix = shutil.which("dcm2niix")
    for folder in folders:
        files = sum(1 for p in folder.iterdir() if p.name != ".done")
        out = args.dir / "out"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True, exist_ok=True)
        rows = []
        for workers in ("None", "1"):
            command = [sys.executable, "-c", JOB.format(workers=workers), str(folder),
                       str(out / "rawdicom.nii")]
            rows.append((f"rawdicom (workers={workers})", timed(command, args.repeat)))
        verdict = "dcm2niix not installed"
        if dcm2niix:
            theirs = out / "dcm2niix"
            theirs.mkdir(exist_ok=True)

            def run() -> list[str]:
                for old in theirs.glob("*"):
                    old.unlink()
                return [dcm2niix, "-z", "n", "-b", "n", "-f", "%s", "-o", str(theirs),
                        str(folder)]
            best = float("inf")
            for _ in range(args.repeat):
                command = run()
                t = time.perf_counter()
                subprocess.run(command, check=True, capture_output=True)
                best = min(best, time.perf_counter() - t)
            rows.append(("dcm2niix -z n -b n", best))
            verdict = check(out / "rawdicom.nii", theirs)
        print(f"\n{folder.name}: {files} files -> 4-D NIfTI; {verdict}")
        for name, seconds in rows:
            print(f"  {name:28s} {seconds:7.2f} s  {files / seconds:8.0f} files/s")


if __name__ == "__main__":
    main()
