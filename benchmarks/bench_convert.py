"""``rawdicom convert`` beside ``dcm2niix`` on the same folders, in the same run.

    python benchmarks/bench_convert.py                     # classic MR, mosaic MR, CT folder
    python benchmarks/bench_convert.py --volumes 50 --repeat 1 --compression gz

Folders generated once under ``--dir`` (default /tmp/rawdicom-bench-convert):

* classic MR: a 4-D fMRI series, one 64x64 slice per file (36 slices x ``--volumes``);
* mosaic MR: the same as Siemens mosaics (one 384x384 mosaic of 36 tiles per volume);
* CT: 10 series of ``--ct-slices`` 512x512 slices (a smooth phantom with noise, so gzip has
  the work real CT gives it).

Each job is one whole command in a fresh process (start-up, scan, read, write), wall clock
and CPU time (the command and its children), best of ``--repeat``, warm file cache, output
folder emptied first; rawdicom's modules compiled to bytecode once beforehand, as an
installed package has them (:func:`installed_env`):

* ``rawdicom convert SRC OUT`` (worker processes: all cores), ``--format nii.gz --level 6``
  or ``--format nii``; its deflate is zlib-ng's when the ``zlib-ng`` package is installed
  (the ``nifti`` extra), the standard library's zlib otherwise (printed);
* ``dcm2niix -z y -6`` or ``-z n``; ``-b y`` (a sidecar, as rawdicom writes). For ``-z y``
  dcm2niix runs ``pigz -6`` (stock zlib's deflate, in threads) when pigz is on the PATH, as
  on this project's machines (``.ci/run`` installs Debian's pigz), its own built-in zlib
  otherwise (printed).

Afterwards the NIfTI files are compared: same count, same values at the same physical points;
with gzip the total size of each tool's ``.nii.gz`` files is printed, as the two deflates at
the same level do not make the same bytes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

DEFAULT_DIR = Path("/tmp/rawdicom-bench-convert")
SLICES, SIZE = 36, 64


def mr_pixels(t: int, k: int):
    import numpy as np
    r, c = np.mgrid[0:SIZE, 0:SIZE]
    return ((r * 64 + c + k * 97 + t * 13) % 4000).astype(np.int16)


def ct_pixels(k: int, seed: int):
    import numpy as np
    rng = np.random.default_rng(seed * 1000 + k)
    r, c = np.mgrid[0:512, 0:512]
    body = ((r - 256) ** 2 + (c - 256) ** 2 < 200 ** 2) * 1040 + 24
    bone = ((r - 256) ** 2 / 4 + (c - 256 - k) ** 2 < 40 ** 2) * 700
    return (body + bone + rng.normal(0, 12, (512, 512))).clip(0, 4095).astype(np.int16)


def generate(root: Path, volumes: int, ct_slices: int) -> dict[str, Path]:
    from mr_builders import write_4d, write_mosaics
    from series_builders import axial_positions, make_uid, write_series
    folders = {"classic MR": root / f"classic-{volumes}", "mosaic MR": root / f"mosaic-{volumes}",
               "CT 10 series": root / f"ct-{ct_slices}"}
    for name, folder in folders.items():
        if (folder / ".done").exists():
            continue
        shutil.rmtree(folder, ignore_errors=True)
        if name == "classic MR":
            write_4d(folder, slices=SLICES, volumes=volumes, rows=SIZE, columns=SIZE,
                     pixels=mr_pixels)
        elif name == "mosaic MR":
            write_mosaics(folder, count=SLICES, volumes=volumes, tile_size=SIZE, pixels=mr_pixels)
        else:
            for s in range(10):
                write_series(folder / f"s{s}", axial_positions(ct_slices, spacing=1.25),
                             rows=512, columns=512, series_number=s + 1,
                             series_description=f"CT {s}", series_instance_uid=make_uid("ct", s),
                             slice_thickness=1.25,
                             per_slice=lambda k, s=s: {"pixels": ct_pixels(k, s)})
        (folder / ".done").write_text("")
    return folders


def installed_env(root: Path) -> dict[str, str]:
    """The environment of the rawdicom command as an installed package runs: its modules
    compiled once to bytecode and reused (pip compiles them at install), kept under
    ``root`` rather than in the checkout. Without it (PYTHONDONTWRITEBYTECODE set, as on
    CI and in these sessions) every run compiles rawdicom's modules again: about 0.2 s of
    CPU a command a user never pays."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(root / "pycache")
    return env


def timed(command: list[str], out: Path, repeat: int, env: dict[str, str] | None = None
          ) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the command and its children), best of ``repeat``.
    On a shared machine the CPU time is the steadier figure: the work done, whatever the
    load made the wall clock."""
    import resource
    best, cpu = float("inf"), float("inf")
    for _ in range(repeat):
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, cwd=ROOT, env=env)
        best = min(best, time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = min(cpu, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return best, cpu


def compare(ours: Path, theirs: Path) -> str:
    """Same number of NIfTI files; every dcm2niix voxel equal to ours at its world point."""
    import nibabel
    import numpy as np
    mine = sorted(p for p in ours.rglob("*.nii*"))
    other = sorted(p for p in theirs.rglob("*.nii*"))
    if len(mine) != len(other):
        return f"{len(mine)} NIfTI files vs {len(other)}"
    by_shape: dict[tuple[int, ...], list[Path]] = {}
    for p in mine:
        by_shape.setdefault(nibabel.load(p).shape, []).append(p)
    for path in other:
        b = nibabel.load(path)
        data_b = b.get_fdata()
        matched = False
        for candidate in by_shape.get(b.shape, []):
            a = nibabel.load(candidate)
            data_a = a.get_fdata()
            ijk = np.stack(np.meshgrid(*[np.arange(n) for n in b.shape[:3]], indexing="ij"),
                           -1).reshape(-1, 3)[::97]
            world = np.c_[ijk, np.ones(len(ijk))] @ b.affine.T
            at = np.rint(world @ np.linalg.inv(a.affine).T)[:, :3].astype(int)
            if np.array_equal(data_a[at[:, 0], at[:, 1], at[:, 2]],
                              data_b[ijk[:, 0], ijk[:, 1], ijk[:, 2]]):
                matched = True
                break
        if not matched:
            return f"{path.name}: no file of ours holds its values at its points"
    return f"{len(mine)} NIfTI each, same values at the same points"


def nifti_bytes(folder: Path) -> int:
    """Total size of the ``.nii.gz`` files under ``folder``."""
    return sum(p.stat().st_size for p in folder.rglob("*.nii.gz"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--volumes", type=int, default=200)
    parser.add_argument("--ct-slices", type=int, default=40)
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--compression", choices=("gz", "none", "both"), default="both")
    parser.add_argument("--only", choices=("classic MR", "mosaic MR", "CT 10 series"), nargs="*")
    args = parser.parse_args()
    t0 = time.perf_counter()
    folders = generate(args.dir, args.volumes, args.ct_slices)
    from rawdicom.convert.pgzip import ENGINES
    pigz = shutil.which("pigz")
    print(f"folders ready in {time.perf_counter() - t0:.1f} s; {os.cpu_count()} cores; "
          f"dcm2niix: {shutil.which('dcm2niix')}; gzip: rawdicom {ENGINES[0].__name__}, "
          f"dcm2niix {'pigz ' + pigz if pigz else 'its built-in zlib (no pigz)'}")
    dcm2niix = shutil.which("dcm2niix") or "dcm2niix"
    env = installed_env(args.dir)
    subprocess.run([sys.executable, "-m", "rawdicom", "convert", "--help"], check=True,
                   capture_output=True, cwd=ROOT, env=env)  # compiles the modules once
    modes = {"gz": [("--format", "nii.gz", "--level", "6"), ("-z", "y", "-6")],
             "none": [("--format", "nii"), ("-z", "n")]}
    chosen = ["gz", "none"] if args.compression == "both" else [args.compression]
    for name, folder in folders.items():
        if args.only and name not in args.only:
            continue
        files = sum(1 for p in folder.rglob("*") if p.is_file() and p.name != ".done")
        print(f"\n{name}: {files} files")
        for mode in chosen:
            ours_args, theirs_args = modes[mode]
            ours, theirs = args.dir / "out-rawdicom", args.dir / "out-dcm2niix"
            ours_cmd = [sys.executable, "-m", "rawdicom", "convert", str(folder), str(ours),
                        "--quiet", *ours_args]
            theirs_cmd = [dcm2niix, *theirs_args, "-b", "y", "-f", "%s_%d", "-o", str(theirs),
                          str(folder)]
            a, a_cpu = timed(ours_cmd, ours, args.repeat, env)
            b, b_cpu = timed(theirs_cmd, theirs, args.repeat)
            verdict = compare(ours, theirs)
            if mode == "gz":
                size_a, size_b = nifti_bytes(ours), nifti_bytes(theirs)
                verdict += (f"; .nii.gz bytes {size_a:,} vs {size_b:,}, "
                            f"{100 * (size_a / size_b - 1):+.1f}%")
            print(f"  {mode:4s} rawdicom convert {a:7.2f} s {files / a:6.0f} files/s "
                  f"(cpu {a_cpu:6.2f} s)   dcm2niix {b:7.2f} s {files / b:6.0f} files/s "
                  f"(cpu {b_cpu:6.2f} s)   files/s ratio {b / a:5.2f}x  ({verdict})")
            print(f"       {' '.join(ours_cmd[1:])}\n       {' '.join(theirs_cmd)}")


if __name__ == "__main__":
    main()
