"""The pixel layer: Pixel Data to NumPy arrays.

This package is the only part of rawdicom that needs numpy (and, for
compressed transfer syntaxes, imagecodecs).  ``rawdicom`` imports it lazily,
on first use of ``rawdicom.pixel_array``, so reading headers never pays for
numpy and works where numpy is not installed.
"""

from __future__ import annotations

try:
    import numpy  # noqa: F401  (imported here so a missing numpy fails with a useful message)
except ImportError as exc:  # pragma: no cover - exercised only without numpy
    raise ImportError("rawdicom's pixel functions need numpy: pip install rawdicom[pixels]"
                      ) from exc

from .color import apply_palette, invert_monochrome1, ybr_to_rgb
from .frames import iter_frames, pixel_array
from .image_pixel import Geometry, geometry

__all__ = ["pixel_array", "iter_frames", "geometry", "Geometry", "apply_palette",
           "invert_monochrome1", "ybr_to_rgb"]
