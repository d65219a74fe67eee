"""A 300-slice 512x512 CT folder -> one volume: rawdicom vs a dicomsdl loop, in one run.

    python benchmarks/bench_volume.py                 # 300 slices, best of 5
    python benchmarks/bench_volume.py --slices 100 --repeat 5 --dir /tmp/ct300

The series is generated (no network) from pydicom's CT_small.dcm header: 512x512 slices,
12 bits stored in 16, signed, Rescale Intercept -1024, 1.25 mm apart, written under
shuffled extension-less names with instance numbers running against the geometry.
Timed with a warm file cache, best of ``--repeat`` rounds (each round runs every case
once, so a change in machine load falls on all of them):

* bytes: ``open(path).read()`` of every file: the floor under any reader;
* rawdicom, whole job: ``rawdicom.scan(folder)`` (headers, worker processes), the
  series split into stacks, ``Series.volume()`` (int16 Hounsfield units); and the same
  with the headers read in this process (``scan(folder, workers=1)``);
* rawdicom, volume only: ``Stack.volume()`` on an already scanned series;
* dicomsdl loop: for each file ``dicomsdl.open(path)``, its Image Position and
  Orientation (Patient) and ``pixelData()`` (float32, rescaled), then sorted along the
  normal and ``np.stack``-ed; also with ``pixelData(storedvalue=True)`` (int16 stored).

Peak traced memory (tracemalloc) of ``Stack.volume()`` is reported against the volume's
size (target: within 1.2x plus a constant), and the load average before and after.
"""

from __future__ import annotations

import argparse
import copy
import gc
import os
import random
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Callable

import numpy as np
import pydicom

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import rawdicom  # noqa: E402
from rawdicom.model.stacks import split_stacks  # noqa: E402

TEST_FILES = Path(pydicom.__file__).parent / "data" / "test_files"


def make_series(folder: Path, count: int) -> list[Path]:
    """``count`` 512x512 CT slices (12 bits signed in 16), shuffled names, no extension."""
    template = pydicom.dcmread(TEST_FILES / "CT_small.dcm")
    template.Rows = template.Columns = 512
    template.BitsAllocated, template.BitsStored, template.HighBit = 16, 12, 11
    template.PixelRepresentation = 1
    template.RescaleSlope, template.RescaleIntercept = 1, -1024
    template.SeriesInstanceUID = pydicom.uid.generate_uid(entropy_srcs=["rawdicom-vol"])
    rng = np.random.default_rng(0)
    names = [f"{v:08X}" for v in random.Random(0).sample(range(1 << 32), count)]
    paths = []
    for i in range(count):
        ds = copy.copy(template)
        pixels = rng.integers(-1000, 2000, (512, 512), dtype=np.int16)
        ds.PixelData = pixels.tobytes()
        ds["PixelData"].VR = "OW"
        uid = pydicom.uid.generate_uid(entropy_srcs=["rawdicom-vol", str(i)])
        ds.SOPInstanceUID = uid
        ds.file_meta = copy.copy(template.file_meta)
        ds.file_meta.MediaStorageSOPInstanceUID = uid
        ds.InstanceNumber = count - i
        ds.ImagePositionPatient = [-158.1, -179.0, -75.7 + 1.25 * i]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.SliceLocation = -75.7 + 1.25 * i
        path = folder / names[i]
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def interleaved(repeat: int, cases: list[tuple[str, Callable[[], object]]]
                ) -> list[tuple[str, float]]:
    """Best time of each case over ``repeat`` rounds, each round running every case once,
    so that a change of machine load falls on all cases alike."""
    times: dict[str, list[float]] = {label: [] for label, _ in cases}
    for _ in range(repeat):
        for label, fn in cases:
            gc.collect()
            start = time.perf_counter()
            fn()
            times[label].append(time.perf_counter() - start)
    return [(label, min(times[label])) for label, _ in cases]


def read_bytes(paths: list[Path]) -> int:
    total = 0
    for path in paths:
        with open(path, "rb") as f:
            total += len(f.read())
    return total


def dicomsdl_loop(paths: list[Path], stored: bool = False) -> np.ndarray:
    import dicomsdl
    slices = []
    for path in paths:
        d = dicomsdl.open(str(path))
        iop = np.array(d.ImageOrientationPatient, dtype=float)
        depth = float(np.dot(d.ImagePositionPatient, np.cross(iop[:3], iop[3:])))
        slices.append((depth, d.pixelData(storedvalue=stored)))
    slices.sort(key=lambda item: item[0])
    return np.stack([a for _, a in slices])


def whole_job(folder: Path, workers: int | None = None) -> rawdicom.Volume:
    collection = rawdicom.scan(folder, workers=workers)
    [series] = [s for p in collection.patients for st in p.studies for s in st.series]
    return series.volume()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--dir", type=Path, help="keep and reuse the generated series here")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.dir or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        paths = sorted(p for p in folder.iterdir() if p.is_file())
        if len(paths) != args.slices:
            for p in paths:
                p.unlink()
            paths = make_series(folder, args.slices)
        read_bytes(paths)  # warm the cache
        [stack] = split_stacks(rawdicom.scan(folder).instances)
        ours = stack.volume()
        theirs = dicomsdl_loop(paths)
        assert np.array_equal(ours.array, theirs), "rawdicom and dicomsdl disagree"
        assert ours.array.dtype == np.int16
        tracemalloc.start()
        stack.volume()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        rows = interleaved(args.repeat, [
            ("read the bytes of every file", lambda: read_bytes(paths)),
            ("rawdicom: scan + stacks + volume", lambda: whole_job(folder)),
            ("rawdicom: the same, scan(workers=1)", lambda: whole_job(folder, 1)),
            ("rawdicom: Stack.volume() only", stack.volume),
            ("dicomsdl loop, pixelData() float32", lambda: dicomsdl_loop(paths)),
            ("dicomsdl loop, stored values int16", lambda: dicomsdl_loop(paths, True)),
        ])
    load_after = os.getloadavg()
    size = ours.array.nbytes
    print(f"{args.slices} slices of 512x512, volume {size / 2**20:.1f} MiB int16, "
          f"{os.cpu_count()} cores, load average {load_before[0]:.2f} before, "
          f"{load_after[0]:.2f} after")
    reference = dict(rows)["dicomsdl loop, pixelData() float32"]
    print(f"{'case':40s} {'seconds':>8s} {'MB/s':>8s} {'dicomsdl loop / case':>21s}")
    for label, seconds in rows:
        print(f"{label:40s} {seconds:8.3f} {size / seconds / 1e6:8.0f} "
              f"{reference / seconds:20.2f}x")
    print(f"peak traced memory of Stack.volume(): {peak / 2**20:.1f} MiB = "
          f"{peak / size:.3f} x the volume ({(peak - size) / 2**20:+.2f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
