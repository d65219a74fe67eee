"""rawdicom.read vs pydicom.dcmread, side by side in one run, printing ratios.

    python benchmarks/bench_read.py              # 1,000-file series + rich headers
    python benchmarks/bench_read.py --files 200 --repeat 3 --profile

Inputs are generated into a temporary directory from pydicom's bundled test
files (no network): a CT series of 512x512 int16 images made from
CT_small.dcm, and rich headers (rtplan.dcm, rtstruct.dcm and an
enhanced-multi-frame-like header built here with many nested sequences).
Every timing is the best of ``--repeat`` runs with a warm file cache.
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import gc
import io
import pstats
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Callable

import pydicom
from pydicom.dataset import Dataset as PyDataset
from pydicom.sequence import Sequence as PySequence

import rawdicom

TEST_FILES = Path(pydicom.__file__).parent / "data" / "test_files"
TAGS = ["StudyInstanceUID", "SeriesInstanceUID", "StudyID", "PatientID", "InstanceNumber"]


# -- inputs -----------------------------------------------------------------------------
def make_series(folder: Path, count: int) -> list[Path]:
    """``count`` 512x512 int16 CT slices derived from CT_small.dcm."""
    template = pydicom.dcmread(TEST_FILES / "CT_small.dcm")
    template.Rows = template.Columns = 512
    template.BitsAllocated = 16
    template.BitsStored = 16
    template.HighBit = 15
    template.PixelRepresentation = 1
    template.PixelData = (b"\x10\x00\xf0\xff" * (512 * 512 // 2))
    template["PixelData"].VR = "OW"
    series_uid = pydicom.uid.generate_uid(entropy_srcs=["rawdicom-bench-series"])
    template.SeriesInstanceUID = series_uid
    paths = []
    for i in range(count):
        ds = copy.copy(template)  # a shallow copy: the big PixelData bytes are shared
        uid = pydicom.uid.generate_uid(entropy_srcs=["rawdicom-bench", str(i)])
        ds.SOPInstanceUID = uid
        ds.file_meta = copy.copy(template.file_meta)
        ds.file_meta.MediaStorageSOPInstanceUID = uid
        ds.InstanceNumber = i + 1
        ds.ImagePositionPatient = [-158.1, -179.0, -75.7 + 1.25 * i]
        ds.SliceLocation = -75.7 + 1.25 * i
        path = folder / f"ct_{i:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def make_enhanced_header(folder: Path, frames: int = 200) -> Path:
    """A header like an enhanced multi-frame MR: per-frame functional groups, one item
    per frame, each with several nested sequences (no pixel data)."""
    ds = pydicom.dcmread(TEST_FILES / "MR_small.dcm")
    del ds.PixelData
    ds.NumberOfFrames = frames

    def item(**kw) -> PyDataset:
        d = PyDataset()
        for k, v in kw.items():
            setattr(d, k, v)
        return d

    shared = item(
        PixelMeasuresSequence=PySequence([item(PixelSpacing=[0.5, 0.5], SliceThickness=1.0)]),
        MRImagingModifierSequence=PySequence([item(PixelBandwidth=200.0,
                                                   MagnetizationTransfer="NONE")]),
    )
    ds.SharedFunctionalGroupsSequence = PySequence([shared])
    per_frame = []
    for k in range(frames):
        per_frame.append(item(
            FrameContentSequence=PySequence([item(
                FrameAcquisitionNumber=k, StackID="1", InStackPositionNumber=k + 1,
                DimensionIndexValues=[1, k + 1],
                FrameAcquisitionDateTime="20240101120000.000000")]),
            PlanePositionSequence=PySequence([item(
                ImagePositionPatient=[-100.0, -100.0, 0.5 * k])]),
            PlaneOrientationSequence=PySequence([item(
                ImageOrientationPatient=[1.0, 0.0, 0.0, 0.0, 1.0, 0.0])]),
            PixelValueTransformationSequence=PySequence([item(
                RescaleIntercept=0.0, RescaleSlope=1.0, RescaleType="US")]),
            FrameVOILUTSequence=PySequence([item(WindowCenter=400.0, WindowWidth=1200.0)]),
        ))
    ds.PerFrameFunctionalGroupsSequence = PySequence(per_frame)
    path = folder / "enhanced_header.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path


# -- what is measured -------------------------------------------------------------------
def raw_touch(ds) -> int:
    n = 0
    for _, el in ds.walk():
        el.value
        n += 1
    return n


def py_touch(ds) -> int:
    n = 0
    for el in ds.iterall():
        el.value
        n += 1
    return n


def raw_tags(path):
    ds = rawdicom.read(path, tags=TAGS)
    return [ds.get(t) for t in TAGS]


def py_tags(path):
    ds = pydicom.dcmread(path, specific_tags=TAGS)
    return [ds.get(t) for t in TAGS]


def best_of(repeat: int, fn: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def cases(series: list[Path], rich: list[Path], rich_loops: int):
    """(name, rawdicom fn, pydicom fn, target ratio or None)."""
    def over(paths, fn, loops=1):
        def run():
            for _ in range(loops):
                for p in paths:
                    fn(p)
        return run

    n = len(series)
    yield (f"(a) header read, {n} files",
           over(series, lambda p: rawdicom.read(p, stop_before_pixels=True)),
           over(series, lambda p: pydicom.dcmread(p, stop_before_pixels=True)), 3.0)
    yield (f"(b) read + decode all, {n} files",
           over(series, lambda p: raw_touch(rawdicom.read(p))),
           over(series, lambda p: py_touch(pydicom.dcmread(p))), 3.0)
    yield (f"(b') header + decode all, {n} files",
           over(series, lambda p: raw_touch(rawdicom.read(p, stop_before_pixels=True))),
           over(series, lambda p: py_touch(pydicom.dcmread(p, stop_before_pixels=True))), None)
    yield (f"(c) tags= 5 tags, {n} files", over(series, raw_tags), over(series, py_tags), 10.0)
    for path in rich:
        yield (f"(d) {path.name} read x{rich_loops}",
               over([path], rawdicom.read, rich_loops),
               over([path], lambda p: pydicom.dcmread(p, force=True), rich_loops), None)
        yield (f"(d) {path.name} read + decode x{rich_loops}",
               over([path], lambda p: raw_touch(rawdicom.read(p)), rich_loops),
               over([path], lambda p: py_touch(pydicom.dcmread(p, force=True)), rich_loops),
               None)


def check_same(series: list[Path], rich: list[Path]) -> None:
    """Both libraries see the same values for the 5 tags and the same element counts."""
    for p in series[:3] + series[-1:]:
        a = [str(v) for v in raw_tags(p)]
        b = [str(v) for v in py_tags(p)]
        assert a == b, (p, a, b)
    for p in rich:
        a = raw_touch(rawdicom.read(p))
        b = py_touch(pydicom.dcmread(p, force=True))
        print(f"  {p.name}: rawdicom {a} elements, pydicom {b} elements")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000, help="series size (default 1000)")
    parser.add_argument("--repeat", type=int, default=3, help="best of N (default 3)")
    parser.add_argument("--rich-loops", type=int, default=50,
                        help="reads of each rich-header file per timing (default 50)")
    parser.add_argument("--dir", type=Path, help="keep the generated inputs here")
    parser.add_argument("--profile", action="store_true",
                        help="also print cProfile hot spots of rawdicom for each case")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")

    with tempfile.TemporaryDirectory(prefix="rawdicom-bench-") as tmp:
        folder = args.dir or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        series = sorted(folder.glob("ct_*.dcm"))[:args.files]
        if len(series) < args.files:
            series = make_series(folder, args.files)
        rich = [TEST_FILES / "rtplan.dcm", TEST_FILES / "rtstruct.dcm",
                make_enhanced_header(folder)]
        size = sum(p.stat().st_size for p in series)
        print(f"inputs: {len(series)} CT files ({size / 1e6:.0f} MB) and "
              f"{', '.join(p.name for p in rich)} in {folder} "
              f"({time.perf_counter() - start:.1f} s to make)")
        print(f"rawdicom {rawdicom.__version__}, pydicom {pydicom.__version__}, "
              f"Python {sys.version.split()[0]}; best of {args.repeat}")
        check_same(series, rich)
        for p in series + rich:  # warm the file cache
            p.read_bytes()

        rows = []
        print(f"\n{'case':44} {'rawdicom s':>11} {'pydicom s':>11} {'ratio':>7}  target")
        for name, raw_fn, py_fn, target in cases(series, rich, args.rich_loops):
            t_raw = best_of(args.repeat, raw_fn)
            t_py = best_of(args.repeat, py_fn)
            ratio = t_py / t_raw
            verdict = "" if target is None else (f">= {target:g}x " +
                                                 ("ok" if ratio >= target else "MISSED"))
            print(f"{name:44} {t_raw:11.4f} {t_py:11.4f} {ratio:6.1f}x  {verdict}", flush=True)
            rows.append((name, raw_fn))
        if args.profile:
            for name, raw_fn in rows:
                print(f"\n--- cProfile: rawdicom, {name}")
                prof = cProfile.Profile()
                prof.runcall(raw_fn)
                out = io.StringIO()
                pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(12)
                print("\n".join(out.getvalue().splitlines()[4:24]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
