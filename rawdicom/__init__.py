"""rawdicom: a from-scratch, pure-Python reader and writer of DICOM files.

``import rawdicom`` needs the standard library only; numpy and imagecodecs
are imported lazily by the pixel layer, which names the extra to install
when one is missing.
"""

from __future__ import annotations

from typing import Any

from .dataset import Dataset, Element
from .errors import (DicomError, DicomWarning, LimitExceededError, MalformedElementError,
                     NotDicomError, PixelDataError, TruncatedError,
                     UnsupportedTransferSyntaxError, ValueDecodeError)
from .limits import Limits
from .reader import read
from .writer import set_pixel_frames, to_bytes, write

__version__ = "0.1.0"

__all__ = [
    "read", "write", "to_bytes", "set_pixel_frames", "Dataset", "Element", "Limits",
    "DicomError", "DicomWarning", "NotDicomError", "TruncatedError", "MalformedElementError",
    "LimitExceededError", "UnsupportedTransferSyntaxError", "ValueDecodeError", "PixelDataError",
]

# Names served by the pixel layer, imported on first use so that ``import rawdicom``
# needs neither numpy nor imagecodecs.
_LAZY = {
    "pixel_array": "rawdicom.pixels",
    "iter_frames": "rawdicom.pixels",
    "pixel_array_isolated": "rawdicom.pixels.isolated",
    "modality_lut": "rawdicom.pixels.lut",
    "hounsfield": "rawdicom.pixels.lut",
    "window": "rawdicom.pixels.lut",
    "window_preset": "rawdicom.pixels.lut",
    "CT_PRESETS": "rawdicom.pixels.lut",
    "apply_voi": "rawdicom.pixels.lut",
    "to_uint8": "rawdicom.pixels.lut",
    "histogram": "rawdicom.pixels.lut",
    "format_histogram": "rawdicom.pixels.lut",
    "scan": "rawdicom.model.scan",
    "Collection": "rawdicom.model.hierarchy",
    "read_dicomdir": "rawdicom.model.dicomdir",
    "Volume": "rawdicom.model.volume",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'rawdicom' has no attribute {name!r}")
    import importlib
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
