"""Plain words for an image plane: axial, coronal or sagittal, and how far it is tilted."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["plane_of"]

_PLANES = ("sagittal", "coronal", "axial")  # the plane whose normal is x (L), y (P), z (S)


def plane_of(orientation: Any) -> str | None:
    """``"axial"``, or ``"axial, tilted 12.0 degrees"``, from Image Orientation (Patient).

    The plane is the one whose normal is nearest the slice normal (row x column cosines);
    the tilt is the angle between the two normals.
    """
    if not isinstance(orientation, list) or len(orientation) != 6:
        return None
    try:
        r = [float(v) for v in orientation[:3]]
        c = [float(v) for v in orientation[3:]]
    except (TypeError, ValueError, OverflowError):  # text, or a 400-digit IS
        return None
    n = [r[1] * c[2] - r[2] * c[1], r[2] * c[0] - r[0] * c[2], r[0] * c[1] - r[1] * c[0]]
    size = math.sqrt(sum(v * v for v in n))
    if not size:
        return None
    axis = max(range(3), key=lambda i: abs(n[i]))
    tilt = math.degrees(math.acos(min(1.0, abs(n[axis]) / size)))
    if tilt < 0.05:
        return _PLANES[axis]
    return f"{_PLANES[axis]}, tilted {tilt:.1f} degrees (oblique)"
