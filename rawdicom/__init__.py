"""rawdicom: a from-scratch, pure-Python reader and writer of DICOM files.

``import rawdicom`` needs the standard library only; numpy and imagecodecs
are imported lazily by the pixel layer, which names the extra to install
when one is missing.
"""

from __future__ import annotations

from typing import Any

from .dataset import Dataset, Element
from .errors import (DicomError, DicomWarning, JSONModelError, LimitExceededError,
                     MalformedElementError, NotDicomError, NotRegularFileError, PixelDataError,
                     TruncatedError,
                     UnsupportedTransferSyntaxError, ValueDecodeError)
from .limits import Limits
from .reader import read
from .writer import set_pixel_frames, to_bytes, write

__version__ = "0.1.0"

__all__ = [
    "read", "write", "to_bytes", "set_pixel_frames", "Dataset", "Element", "Limits",
    "to_json", "from_json",
    "DicomError", "DicomWarning", "NotDicomError", "NotRegularFileError", "TruncatedError",
    "MalformedElementError", "LimitExceededError", "UnsupportedTransferSyntaxError",
    "ValueDecodeError", "PixelDataError", "JSONModelError",
]

# Names served by the pixel layer, imported on first use so that ``import rawdicom``
# needs neither numpy nor imagecodecs.
_LAZY = {
    "pixel_array": "rawdicom.pixels",
    "iter_frames": "rawdicom.pixels",
    "pixel_array_isolated": "rawdicom.pixels.isolated",
    "modality_lut": "rawdicom.pixels.modality",
    "hounsfield": "rawdicom.pixels.modality",
    "window": "rawdicom.pixels.windowing",  # works without numpy too
    "window_preset": "rawdicom.pixels.windowing",
    "CT_PRESETS": "rawdicom.pixels.windowing",
    "apply_voi": "rawdicom.pixels.voi",
    "to_uint8": "rawdicom.pixels.voi",
    "histogram": "rawdicom.pixels.histogram",
    "format_histogram": "rawdicom.pixels.histogram",
    "to_json": "rawdicom.dicomjson",
    "from_json": "rawdicom.dicomjson",
    "scan": "rawdicom.model.scan",
    "Collection": "rawdicom.model.hierarchy",
    "read_dicomdir": "rawdicom.model.dicomdir",
    "organize": "rawdicom.model.organize",
    "Volume": "rawdicom.model.volume",
    "convert": "rawdicom.convert",  # a callable subpackage: rawdicom.convert(src, out)
    "index": "rawdicom.index",  # a subpackage: rawdicom.index.build(...) after import rawdicom
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'rawdicom' has no attribute {name!r}")
    import importlib
    imported = importlib.import_module(module)
    value = imported if module == f"rawdicom.{name}" else getattr(imported, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The module's names with the lazily imported ones (``pixel_array``, ``scan``...), so
    that ``dir(rawdicom)`` and a notebook's completion list them before their first use."""
    return sorted(set(globals()) | set(_LAZY))
