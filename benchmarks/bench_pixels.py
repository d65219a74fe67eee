"""Pixel decoding throughput: rawdicom against pydicom 3, measured in the same run.

    /work/venv/bin/python benchmarks/bench_pixels.py [--quick]

For every transfer syntax in pydicom's bundled test files (largest file of
each), and for synthetic larger images built here (a 100-frame 512 x 512
int16 native file; a 16-frame 512 x 512 JPEG 2000 and JPEG-LS file encoded
with imagecodecs), it prints the time per decode for both libraries and the
ratio pydicom / rawdicom (above 1: rawdicom is faster).  pydicom is timed
with each installed plugin for the syntax and the fastest is kept.

"decode" times pixel_array on an already-read dataset (pydicom:
Decoder.as_array, which is what ds.pixel_array runs, bypassing its cache);
"read+decode" includes parsing the file from bytes in memory.
"""

from __future__ import annotations

import io
import os
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import imagecodecs
import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.pixels import get_decoder
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

import rawdicom

warnings.simplefilter("ignore")
ROOT = Path(pydicom.__file__).parent / "data" / "test_files"
QUICK = "--quick" in sys.argv


def best_time(fn: Callable[[], object], budget: float = 0.4 if not QUICK else 0.1) -> float:
    """Best per-call time over repeated batches within ``budget`` seconds."""
    fn()
    best, spent = float("inf"), 0.0
    number = 1
    while spent < budget:
        start = time.perf_counter()
        for _ in range(number):
            fn()
        elapsed = time.perf_counter() - start
        spent += elapsed
        best = min(best, elapsed / number)
        if elapsed < 0.02:
            number *= 2
    return best


def pydicom_fastest(ds: pydicom.Dataset) -> tuple[float, str]:
    uid = ds.file_meta.TransferSyntaxUID
    decoder = get_decoder(uid)
    plugins = decoder.available_plugins or ("",)
    timings = []
    for name in plugins:
        try:
            decoder.as_array(ds, decoding_plugin=name)
        except Exception:
            continue
        timings.append((best_time(lambda: decoder.as_array(ds, decoding_plugin=name)),
                        name or "numpy"))
    return min(timings)


def row(label: str, data: bytes, threads: int | None = None) -> None:
    pds = pydicom.dcmread(io.BytesIO(data))
    rds = rawdicom.read(data)
    ref = pds.pixel_array
    arr = rawdicom.pixel_array(rds, threads=threads)
    assert arr.shape == ref.shape, (label, arr.shape, ref.shape)
    p_time, plugin = pydicom_fastest(pds)
    r_time = best_time(lambda: rawdicom.pixel_array(rds, threads=threads))
    p_full = best_time(lambda: pydicom.dcmread(io.BytesIO(data)).pixel_array)
    r_full = best_time(lambda: rawdicom.pixel_array(rawdicom.read(data), threads=threads))
    mpix = ref.size / 1e6
    print(f"{label:<44} {ref.dtype.str:>4} {mpix:7.2f} Mvals | decode: pydicom[{plugin:<9}] "
          f"{p_time * 1e3:8.3f} ms  rawdicom {r_time * 1e3:8.3f} ms  x{p_time / r_time:6.1f} | "
          f"read+decode x{p_full / r_full:6.1f}")


def synthetic(frames: np.ndarray, uid: str, encode: Callable[[np.ndarray], bytes] | None
              ) -> bytes:
    """A minimal multi-frame file written by pydicom."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = uid
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    n, rows, cols = frames.shape
    ds.Rows, ds.Columns, ds.NumberOfFrames = rows, cols, n
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
    ds.PixelRepresentation = int(frames.dtype.kind == "i")
    if encode is None:
        ds.PixelData = frames.tobytes()
    else:
        ds.PixelData = encapsulate([encode(f) for f in frames])
        ds["PixelData"].VR = "OB"
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def rle_file(frames: np.ndarray) -> bytes:
    """The frames RLE-encoded by pydicom's own encoder (independent of rawdicom's decoder)."""
    ds = pydicom.dcmread(io.BytesIO(synthetic(frames, ExplicitVRLittleEndian, None)))
    ds.compress("1.2.840.10008.1.2.5", encoding_plugin="pydicom")
    buf = io.BytesIO()
    ds.save_as(buf)
    return buf.getvalue()


def main() -> None:
    print(f"rawdicom {rawdicom.__version__}  pydicom {pydicom.__version__}  "
          f"imagecodecs {imagecodecs.__version__}  numpy {np.__version__}  cores {os.cpu_count()}")
    print("ratio = pydicom time / rawdicom time (higher: rawdicom faster)\n")
    print("== pydicom test files: largest file per transfer syntax ==")
    largest: dict[str, tuple[int, Path]] = {}
    for path in ROOT.glob("*.dcm"):
        try:
            ds = pydicom.dcmread(path)
            ds.pixel_array
            rawdicom.pixel_array(rawdicom.read(path))
        except Exception:
            continue
        size = int(ds.Rows) * int(ds.Columns) * int(ds.get("NumberOfFrames") or 1)
        uid = str(ds.file_meta.TransferSyntaxUID)
        if size > largest.get(uid, (0, path))[0]:
            largest[uid] = (size, path)
    for uid, (_, path) in sorted(largest.items()):
        row(f"{uid} {path.name}"[:44], path.read_bytes())

    print("\n== synthetic, 512 x 512 int16 CT-like frames ==")
    y, x = np.mgrid[:512, :512]
    base = ((np.hypot(y - 256, x - 256) < 200) * 1000 - 1000 + (x % 37)).astype(np.int16)
    n_native = 20 if QUICK else 100
    native = np.stack([base + k for k in range(n_native)])
    row(f"native LE {n_native} frames", synthetic(native, ExplicitVRLittleEndian, None))
    coded = np.stack([base + 1000 + k for k in range(16)]).astype(np.uint16)
    j2k = synthetic(coded, "1.2.840.10008.1.2.4.90",
                    lambda f: imagecodecs.jpeg2k_encode(f, level=0, codecformat="J2K"))
    jls = synthetic(coded, "1.2.840.10008.1.2.4.80", imagecodecs.jpegls_encode)
    rle = rle_file(coded)
    for label, data in (("J2K lossless 16 frames", j2k), ("JPEG-LS lossless 16 frames", jls),
                        ("RLE 16 frames", rle)):
        row(label + " (1 thread)", data)
        row(label + f" ({os.cpu_count()} threads)", data, threads=os.cpu_count())


if __name__ == "__main__":
    main()
