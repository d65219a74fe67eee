"""The pixel layer: Pixel Data to NumPy arrays.

This package is the only part of rawdicom that needs numpy (and, for
compressed transfer syntaxes, imagecodecs).  ``rawdicom`` imports it lazily,
on first use of ``rawdicom.pixel_array``, so reading headers never pays for
numpy and works where numpy is not installed.  One module of it needs no numpy:
:mod:`.windowing` (``rawdicom.window``), which also runs on ``array.array`` values
where numpy is missing (WebAssembly); so the package imports without numpy, and
its array functions then raise an ImportError that names the extra to install.
"""

from __future__ import annotations

from typing import Any

__all__ = ["pixel_array", "iter_frames", "geometry", "Geometry", "apply_palette",
           "invert_monochrome1", "ybr_to_rgb"]

try:
    import numpy  # noqa: F401  (imported here so a missing numpy fails with a useful message)
except ImportError as exc:  # pragma: no cover - exercised only without numpy (test_import)
    _MISSING: ImportError | None = exc
else:
    _MISSING = None
    from .color import apply_palette, invert_monochrome1, ybr_to_rgb
    from .frames import iter_frames, pixel_array
    from .image_pixel import Geometry, geometry


def __getattr__(name: str) -> Any:
    """Without numpy: the array functions, as an ImportError naming the extra."""
    if name in __all__ and _MISSING is not None:
        raise ImportError("rawdicom's pixel functions need numpy: pip install rawdicom[pixels]"
                          ) from _MISSING
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
