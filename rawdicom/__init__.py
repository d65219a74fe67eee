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

__version__ = "0.1.0"

__all__ = [
    "read", "Dataset", "Element", "Limits",
    "DicomError", "DicomWarning", "NotDicomError", "TruncatedError", "MalformedElementError",
    "LimitExceededError", "UnsupportedTransferSyntaxError", "ValueDecodeError", "PixelDataError",
]
