"""A record's numbers as the model uses them: the one place where header values are converted.

A record holds what the file wrote, decoded (``rawdicom.model.record``): a DS that did
not parse stays text, a multi-valued attribute is a list, a value may be absent. Before a
value drives a computation (a position, a cosine, a spacing, a count, a rescale), the model
takes it through one of these functions, which give either a value of the expected shape
(finite floats of the expected count, a scalar int, a unit vector) or None — never an
exception for a value that is merely broken, so that the caller decides what an absent
value means (a missing_geometry diagnostic, a default, a refusal).

Pure Python: the stacks and geometry code below numpy use them too.
"""

from __future__ import annotations

import math
from typing import Any

from ..errors import PixelDataError

__all__ = ["as_tuple", "finite_floats", "positive_float", "scalar_int", "unit_vector",
           "rescale", "position", "orientation", "pixel_spacing", "spacing", "GEOMETRY_VALUES",
           "MAX_POSITION", "MAX_COSINE", "MAX_SPACING"]

#: Millimetres from the patient coordinate system's origin beyond which no Image Position
#: (Patient) is taken: a patient lies within metres of it, and 1e6 mm is a kilometre.
#: (1e308 is finite, but depths and spacings computed from it are not.)
MAX_POSITION = 1e6
#: The largest absolute direction cosine taken: a cosine lies in [-1, 1]; a little more
#: is rounding, or a scale the geometry reports (non_orthonormal_cosines) and normalises.
MAX_COSINE = 2.0
#: Millimetres: the largest pixel spacing, slice thickness or spacing between slices taken
#: (a 10 m pixel is no pixel); the smallest pixel spacing is a nanometre.
MAX_SPACING = 1e4
MIN_SPACING = 1e-6


def as_tuple(value: Any) -> tuple[Any, ...] | None:
    """A value as a tuple of its values (a single value as a 1-tuple); None stays None."""
    if value is None:
        return None
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


def finite_floats(value: Any, count: int) -> tuple[float, ...] | None:
    """``value`` as ``count`` finite floats, or None when it is not that (a broken header)."""
    if value is None:
        return None
    values = value if isinstance(value, (list, tuple)) else (value,)  # as_tuple, inlined
    if len(values) != count:
        return None
    try:  # map, not a generator: called per value per slice, in every stack split
        out = tuple(map(float, values))
    except (TypeError, ValueError, OverflowError):
        return None
    return out if all(map(math.isfinite, out)) else None


def finite_number(value: Any) -> float | None:
    """A single int or float (not bool, not text) as a finite float, else None: an integer
    beyond the float range (a 400-digit IS) is no finite number, never an OverflowError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    values = finite_floats(value, 1)
    return values[0] if values else None


def positive_float(value: Any) -> float | None:
    """A single positive finite number, or None (absent, text that did not decode, <= 0)."""
    values = finite_floats([value], 1)
    return values[0] if values and values[0] > 0 else None


def _within(value: Any, count: int, low: float, high: float) -> tuple[float, ...] | None:
    out = finite_floats(value, count)
    return out if out is not None and low <= min(out) and max(out) <= high else None


def position(value: Any) -> tuple[float, float, float] | None:
    """An Image Position (Patient): three finite floats within ``MAX_POSITION`` mm, or None."""
    if type(value) is list and len(value) == 3:  # the common case, once per image: inlined
        x, y, z = value
        if type(x) is float and type(y) is float and type(z) is float and \
                -MAX_POSITION <= x <= MAX_POSITION and -MAX_POSITION <= y <= MAX_POSITION and \
                -MAX_POSITION <= z <= MAX_POSITION:  # (NaN fails every comparison)
            return (x, y, z)
    return _within(value, 3, -MAX_POSITION, MAX_POSITION)  # type: ignore[return-value]


def orientation(value: Any) -> tuple[float, ...] | None:
    """An Image Orientation (Patient): six finite cosines within ``MAX_COSINE``, or None
    (whether they span a plane is the geometry's to say)."""
    return _within(value, 6, -MAX_COSINE, MAX_COSINE)


def pixel_spacing(value: Any) -> tuple[float, float] | None:
    """A Pixel Spacing: two finite spacings in ``MIN_SPACING .. MAX_SPACING`` mm, or None."""
    return _within(value, 2, MIN_SPACING, MAX_SPACING)  # type: ignore[return-value]


def spacing(value: Any) -> float | None:
    """A slice thickness or spacing between slices: one finite number in ``MIN_SPACING ..
    MAX_SPACING`` mm, or None."""
    out = _within([value], 1, MIN_SPACING, MAX_SPACING)
    return out[0] if out else None


#: The geometric attributes by record key, each with its conversion.
GEOMETRY_VALUES = {"image_position_patient": position,
                   "image_orientation_patient": orientation, "pixel_spacing": pixel_spacing}


def scalar_int(value: Any) -> int | None:
    """A single integer (not a bool, not a list of them), or None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def unit_vector(value: Any) -> tuple[float, float, float] | None:
    """Three finite floats scaled to length 1, or None (another count, or no length)."""
    out = finite_floats(value, 3)
    if out is None:
        return None
    length = math.hypot(*out)  # inf for components near the largest float: no direction
    return (out[0] / length, out[1] / length, out[2] / length) if 1e-6 < length < math.inf \
        else None


def rescale(inst: Any, hounsfield: bool) -> tuple[float, float]:
    """An image's Rescale Slope and Intercept (1, 0 without ``hounsfield`` or in their
    absence); a value that is no finite number is the file's fault: PixelDataError."""
    if not hounsfield:
        return 1.0, 0.0
    slope, intercept = inst.get("rescale_slope", 1.0), inst.get("rescale_intercept", 0.0)
    if type(slope) is float and type(intercept) is float \
            and math.isfinite(slope) and math.isfinite(intercept):
        return slope, intercept  # the common case, per slice and more than once: kept cheap
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool)
                  for v in (slope, intercept))
    values = finite_floats([slope, intercept], 2) if numbers else None  # 400 digits: None
    if values is None:
        shown = [v if len(str(v)) <= 40 else f"{str(v)[:20]}... ({len(str(v))} characters)"
                 for v in (slope, intercept)]
        raise PixelDataError(f"Rescale Slope {shown[0]!r} / Intercept {shown[1]!r} of "
                             f"{inst.get('path')} are not finite numbers")
    return values[0], values[1]
