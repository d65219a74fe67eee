"""The window of PS3.3 C.11.2.1.2 (``rawdicom.window``), with numpy or without it.

A window maps values of interest onto an output range: LINEAR (C.11.2.1.2.1), LINEAR_EXACT
(C.11.2.1.3.2) or SIGMOID (C.11.2.1.3.1). :class:`WindowMap` checks a window and holds its
formula, written once as arithmetic that means the same on a Python float and on a numpy
float64 array (the same IEEE operations in the same order), so the two ways of applying it
agree bit for bit:

* with numpy, on an array: the formula on the array's values (integer images: on a table
  of their range, ``tables.via_table``);
* without numpy (WebAssembly, where Pyodide's npm package has none), on an ``array.array``,
  a ``memoryview``, ``bytes`` or a list: the formula once per distinct value, then the
  values mapped through that table in one pass (``bytes.translate`` for 8-bit data), 8-bit
  output as ``array('B')``.

Only the function that applies a window to an array imports numpy, when it is called, so
this module (and ``rawdicom.window``) work where numpy is not installed.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, Callable, Iterable, Sequence

__all__ = ["window", "window_preset", "pure_window", "WindowMap", "CT_PRESETS", "FUNCTIONS"]

#: The VOI LUT Functions a window may have (PS3.3 C.11.2.1.3).
FUNCTIONS = ("LINEAR", "LINEAR_EXACT", "SIGMOID")

#: Published CT windows, name -> (center, width) in HU.  From Radiopaedia,
#: "Windowing (CT)" (https://radiopaedia.org/articles/windowing-ct): head
#: brain W:80 L:40, subdural W:130-300 L:50-100 (the middle of both ranges
#: here), stroke W:8 L:32 or W:40 L:40 (the latter here, the wider and more
#: common one; the narrow one is the subject of Radiopaedia case 19148),
#: chest lungs W:1500 L:-600 and mediastinum W:350 L:50, abdomen soft tissues
#: W:400 L:50, liver W:150 L:30, spine bone W:1800 L:400.
CT_PRESETS: dict[str, tuple[float, float]] = {
    "brain": (40, 80),
    "subdural": (75, 215),
    "stroke": (40, 40),
    "bone": (400, 1800),
    "lung": (-600, 1500),
    "mediastinum": (50, 350),
    "abdomen": (50, 400),
    "liver": (30, 150),
}

# Array typecodes (and memoryview formats) of integers; the others are 'f' and 'd'.
_INTEGER_CODES = frozenset("bBhHiIlLqQ")
# The largest table the pure path builds over an integer range (filler entries included).
_MAX_TABLE = 1 << 20
# Values looked up per call (see _looked_up).
_RUN = 1 << 16


def _exp(t: float) -> float:
    """math.exp, with inf past the largest float (numpy's exp gives inf there too)."""
    try:
        return math.exp(t)
    except OverflowError:
        return math.inf


@dataclass(frozen=True)
class WindowMap:
    """A checked window onto (y_min, y_max): the numbers its formula needs, and the formula.

    Raises ValueError for a function the standard does not define, a width it does not
    allow (LINEAR: at least 1; LINEAR_EXACT and SIGMOID: more than 0) or a center or width
    that is not finite; callers turn it into a PixelDataError when the numbers came from a
    file.
    """

    center: float
    width: float
    function: str = "LINEAR"
    y_min: float = 0.0
    y_max: float = 255.0

    def __post_init__(self) -> None:
        name = self.function.strip().upper()
        if name not in FUNCTIONS:
            raise ValueError(f"VOI LUT Function {self.function!r}: one of "
                             f"{', '.join(FUNCTIONS)} expected")
        if not (math.isfinite(self.center) and math.isfinite(self.width)):
            raise ValueError(f"window center {self.center} and width {self.width} must be finite")
        if name == "LINEAR" and self.width < 1:
            raise ValueError(f"window width {self.width} < 1: LINEAR needs a width of at least 1")
        if name != "LINEAR" and self.width <= 0:
            raise ValueError(f"window width {self.width} <= 0: {name} needs a positive width")
        object.__setattr__(self, "function", name)
        # C.11.2.1.2.1 (LINEAR: c - 0.5, w - 1) and C.11.2.1.3.2 (LINEAR_EXACT: c, w)
        c, w = (self.center - 0.5, self.width - 1.0) if name == "LINEAR" else \
            (self.center, self.width)
        object.__setattr__(self, "_c_w", (c, w))
        object.__setattr__(self, "bounds", (c - w / 2, c + w / 2))

    #: LINEAR and LINEAR_EXACT: values <= the first give y_min, values > the second y_max.
    bounds: tuple[float, float] = field(init=False, repr=False, compare=False)

    # -- the formula: one text for floats and float64 arrays ---------------------------------
    def ramp(self, x: Any) -> Any:
        """The linear part, for values between the bounds: ``((x - c) / w + 0.5) * (y_max -
        y_min) + y_min``. ``x``: a float, or a float64 array (then changed in place)."""
        c, w = self._c_w
        if w:  # w == 0 (LINEAR, width 1): no value lies between the two bounds
            x -= c
            x /= w
            x += 0.5
            x *= self.y_max - self.y_min
            x += self.y_min
        return x

    def sigmoid(self, x: Any, exp: Callable[[Any], Any] = _exp) -> Any:
        """SIGMOID: ``(y_max - y_min) / (1 + exp(-4 (x - center) / width)) + y_min``."""
        return (self.y_max - self.y_min) / (1 + exp(-4 * (x - self.center) / self.width)) \
            + self.y_min

    # -- applied to one number (without numpy) -------------------------------------------------
    def value(self, x: float) -> float:
        """The window's output for one value, unrounded."""
        x = float(x)  # compared and computed as a float64, as numpy does
        if self.function == "SIGMOID":
            return self.sigmoid(x)
        lower, upper = self.bounds
        if x <= lower:
            return self.y_min
        if x > upper:
            return self.y_max
        return self.ramp(x)

    def table(self, values: Iterable[float]) -> bytes:
        """The window's output for each value, rounded to nearest, ties to even (numpy's
        rint), as bytes."""
        return bytes(round(self.value(x)) for x in values)

    # -- applied to a numpy array --------------------------------------------------------------
    def array_function(self, np: Any, dtype: Any) -> Callable[[Any], Any]:
        """The window as an elementwise function of numpy arrays giving ``dtype`` (integer
        types rounded to nearest, ties to even). Raises ValueError when the output range does
        not fit an integer ``dtype``."""
        integral = dtype.kind in "iu"
        if integral:
            info = np.iinfo(dtype)
            if not info.min <= min(self.y_min, self.y_max) <= max(self.y_min, self.y_max) \
                    <= info.max:
                raise ValueError(f"output range {self.y_min}..{self.y_max} does not fit "
                                 f"in {dtype}")

        def finish(y: Any) -> Any:
            return np.rint(y).astype(dtype) if integral else y.astype(dtype, copy=False)

        if self.function == "SIGMOID":
            def fn(v: Any) -> Any:
                with np.errstate(over="ignore"):  # exp -> inf far below the center: y_min
                    return finish(self.sigmoid(v.astype(np.float64), np.exp))
            return fn
        lower, upper = self.bounds

        def fn(v: Any) -> Any:
            x = v.astype(np.float64)
            below, above = x <= lower, x > upper
            self.ramp(x)
            x[below] = self.y_min
            x[above] = self.y_max
            return finish(x)
        return fn


def _numpy() -> Any:
    try:
        import numpy
    except ImportError:
        return None
    return numpy


def window(values: Any, center: float, width: float, function: str = "LINEAR", *,
           out_range: tuple[float, float] = (0, 255), dtype: Any = None) -> Any:
    """Map ``values`` through a window: 8-bit 0..255 by default, PS3.3 C.11.2.1.2.

    ``function`` is LINEAR (the default: C.11.2.1.2.1, width >= 1, values
    ``<= c - 0.5 - (w-1)/2`` give the lowest output, ``> c - 0.5 + (w-1)/2``
    the highest, linear between), LINEAR_EXACT (C.11.2.1.3.2, the same with
    ``c`` and ``w`` unadjusted, width > 0) or SIGMOID (C.11.2.1.3.1, width > 0).
    ``out_range`` is (y_min, y_max); ``(255, 0)`` gives the inverted image a
    MONOCHROME1 display wants.  Integer output types are rounded to nearest
    (ties to even); ``dtype=np.float64`` gives the unrounded values.

    With numpy installed: a numpy array of ``values``' shape (uint8 unless ``dtype`` says
    otherwise); integer input goes through a table of the formula's values (same result,
    several times faster than per-pixel math). Without numpy: :func:`pure_window`, the same
    numbers as a flat ``array('B')``.
    """
    np = _numpy()
    if np is None:
        if dtype is not None and str(dtype) not in ("uint8", "B"):
            raise ImportError(f"window output of type {dtype} needs numpy: "
                              "pip install rawdicom[pixels]")
        return pure_window(values, center, width, function, out_range=out_range)
    from .tables import via_table
    arr = np.asarray(values)
    out_type = np.dtype(np.uint8 if dtype is None else dtype)
    mapping = WindowMap(float(center), float(width), function, float(out_range[0]),
                        float(out_range[1]))
    return via_table(arr, mapping.array_function(np, out_type))


def window_preset(values: Any, name: str, **kwargs: Any) -> Any:
    """``window(values, *CT_PRESETS[name])``; ``values`` in HU (see ``rawdicom.hounsfield``)."""
    try:
        center, width = CT_PRESETS[name.lower()]
    except KeyError:
        raise KeyError(f"no CT preset {name!r}; known: {', '.join(CT_PRESETS)}") from None
    return window(values, center, width, **kwargs)


def pure_window(values: Any, center: float, width: float, function: str = "LINEAR", *,
                out_range: tuple[float, float] = (0, 255)) -> array:
    """The window without numpy: 8-bit output, one byte per value, as a flat ``array('B')``.

    ``values``: an ``array.array`` or a ``memoryview`` of integers or floats (any number
    of dimensions, read in order), ``bytes``/``bytearray`` (unsigned 8-bit values), or a
    sequence of numbers. Each distinct value is windowed once (integers: over their range,
    in a table the values index directly), then every value is looked up in one pass.
    Not-a-number values raise ValueError (they have no place in a window).
    """
    if not all(0 <= y <= 255 for y in out_range):
        raise ValueError(f"output range {out_range[0]}..{out_range[1]} does not fit in 8 bits")
    mapping = WindowMap(float(center), float(width), function, float(out_range[0]),
                        float(out_range[1]))
    flat, code = _flat(values)
    if not len(flat):
        return array("B")
    if code in ("B", "b"):  # every byte pattern once: bytes.translate maps them all
        table = mapping.table(range(256)) if code == "B" else \
            mapping.table(range(128)) + mapping.table(range(-128, 0))
        raw = flat if isinstance(flat, (bytes, bytearray)) else memoryview(flat).cast("B")
        return array("B", bytes(raw).translate(table))
    if code in _INTEGER_CODES:
        lo, hi = min(flat), max(flat)
        first, last = min(lo, 0), max(hi, -1)
        if last - first < _MAX_TABLE and hi - lo < len(flat):
            return _looked_up(_integer_table(mapping, lo, hi), flat)
    distinct = list(set(flat))
    if any(v != v for v in distinct):
        raise ValueError("a value that is not a number cannot be windowed")
    return _looked_up(dict(zip(distinct, mapping.table(distinct))), flat)


def _looked_up(table: Any, values: Sequence[Any]) -> array:
    """``table[v]`` for every value, as bytes. itemgetter does the lookups of a run of values
    in one call, in C (in Pyodide twice as fast as map(table.__getitem__, ...), as fast in
    CPython); runs of _RUN values keep its argument tuples small."""
    out = array("B")
    for start in range(0, len(values), _RUN):
        run = values[start:start + _RUN]
        out.frombytes(bytes(itemgetter(*run)(table) if len(run) > 1 else (table[run[0]],)))
    return out


def _integer_table(mapping: WindowMap, lo: int, hi: int) -> bytes:
    """The window of every integer in lo..hi, indexed by the integer itself: non-negative
    values from the start, negative ones from the end (Python's negative indices), so the
    lookup needs no arithmetic. Entries no value in lo..hi reaches hold 0."""
    positive = b""
    if hi >= 0:
        start = max(lo, 0)
        positive = bytes(start) + mapping.table(range(start, hi + 1))
    negative = b""
    if lo < 0:
        end = min(hi, -1)
        negative = mapping.table(range(lo, end + 1)) + bytes(-1 - end)
    return positive + negative


def _flat(values: Any) -> tuple[Sequence[Any], str]:
    """``values`` as a flat sequence of numbers, with its typecode ('d' for a list of
    floats, 'q' for a list of integers)."""
    if isinstance(values, array):
        return values, values.typecode
    if isinstance(values, (bytes, bytearray)):
        return values, "B"
    if isinstance(values, memoryview):
        code = values.format.lstrip("@=<>!")
        if values.ndim != 1 and values.nbytes:
            values = values.cast("B").cast(code)
        if code not in _INTEGER_CODES and code not in ("f", "d"):
            raise TypeError(f"a memoryview of format {values.format!r}: numbers expected")
        return values, code
    flat = list(values)
    if all(isinstance(v, int) and not isinstance(v, bool) for v in flat):
        return flat, "q"
    if not all(isinstance(v, (int, float)) for v in flat):
        raise TypeError("window values must be numbers")
    return flat, "d"
