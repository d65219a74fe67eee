"""Windowing and modality LUT of a 512x512 CT image: rawdicom vs pydicom, measured in the same run.

    python benchmarks/bench_window.py

The image is synthetic 12-bit CT (stored 0..4095, Rescale Intercept -1024,
Window 40/400); both libraries read the same file bytes and get the same
input array.  Times are the best of several repeats; ratios > 1 mean
rawdicom is faster.
"""

from __future__ import annotations

import io
import timeit

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.pixels import apply_modality_lut, apply_voi_lut
from pydicom.uid import ExplicitVRLittleEndian

import rawdicom
from rawdicom.pixels.modality import modality_lut
from rawdicom.pixels.voi import apply_voi, window


def ct_file() -> tuple[bytes, np.ndarray]:
    """A 512x512 CT slice: a disc of soft tissue and bone in air, with noise."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[-256:256, -256:256]
    r = np.hypot(x, y)
    hu = np.where(r < 200, 40, -1000) + np.where((r > 170) & (r < 190), 1000, 0)
    stored = np.clip(hu + 1024 + rng.normal(0, 20, hu.shape), 0, 4095).astype(np.uint16)
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = "1.2.3.4"
    ds.Modality = "CT"
    ds.PhotometricInterpretation, ds.SamplesPerPixel = "MONOCHROME2", 1
    ds.Rows, ds.Columns = stored.shape
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.RescaleSlope, ds.RescaleIntercept, ds.RescaleType = 1, -1024, "HU"
    ds.WindowCenter, ds.WindowWidth = 40, 400
    ds.PixelData = stored.tobytes()
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue(), stored


def best_pair(ours, theirs, number: int = 20, repeat: int = 15) -> tuple[float, float]:
    """Best time per call of each, repeats interleaved so that load from other processes hits both."""
    t_ours, t_theirs = [], []
    for _ in range(repeat):
        t_ours.append(timeit.timeit(ours, number=number) / number)
        t_theirs.append(timeit.timeit(theirs, number=number) / number)
    return min(t_ours), min(t_theirs)


def main() -> None:
    data, stored = ct_file()
    pd = pydicom.dcmread(io.BytesIO(data))
    ds = rawdicom.read(data)
    hu = modality_lut(ds, stored)  # int16
    assert np.array_equal(hu, apply_modality_lut(stored, pd))
    assert np.array_equal(apply_voi(ds, hu), apply_voi_lut(hu, pd))

    cases = [  # name, pydicom's VOI LUT Function, rawdicom, pydicom
        ("modality LUT (rescale)", "LINEAR", lambda: modality_lut(ds, stored),
         lambda: apply_modality_lut(stored, pd)),
        ("VOI, float64 like pydicom (apply_voi)", "LINEAR", lambda: apply_voi(ds, hu),
         lambda: apply_voi_lut(hu, pd)),
        ("window -> uint8 (window)", "LINEAR", lambda: window(hu, 40, 400),
         lambda: apply_voi_lut(hu, pd)),
        ("window SIGMOID -> uint8", "SIGMOID", lambda: window(hu, 40, 400, "SIGMOID"),
         lambda: apply_voi_lut(hu, pd)),
    ]
    print(f"512x512 12-bit CT, numpy {np.__version__}, pydicom {pydicom.__version__}")
    print(f"{'operation':40} {'rawdicom':>10} {'pydicom':>10} {'ratio':>7}")
    for name, function, ours, theirs in cases:
        pd.VOILUTFunction = function
        t_ours, t_theirs = best_pair(ours, theirs)
        print(f"{name:40} {t_ours * 1e3:8.3f}ms {t_theirs * 1e3:8.3f}ms {t_theirs / t_ours:6.1f}x")


if __name__ == "__main__":
    main()
