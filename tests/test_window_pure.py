"""``rawdicom.window`` without numpy (rawdicom.pixels.windowing.pure_window) gives, byte for
byte, what it gives with numpy: every VOI LUT Function, signed and unsigned 8/12/16/32-bit
values, reversed output (MONOCHROME1), rescaled (HU, float) values, the edge widths; and it
works in an interpreter where numpy cannot be imported. pydicom's ``apply_voi_lut`` is a
third, independent opinion where it computes the same thing (see the oracle test).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from array import array

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rawdicom
from rawdicom.pixels.windowing import FUNCTIONS, WindowMap, pure_window, window

# numpy dtype -> the array typecode of the same values, and the range of stored values
INTEGERS = [(np.uint8, "B", 0, 255), (np.int8, "b", -128, 127),
            (np.uint16, "H", 0, 4095),  # 12-bit unsigned CT
            (np.int16, "h", -2048, 2047),  # 12-bit signed
            (np.int16, "h", -1024, 3071),  # HU of a 12-bit CT (intercept -1024)
            (np.uint16, "H", 0, 65535), (np.int16, "h", -32768, 32767),
            (np.int32, "i", -70000, 70000)]


def both(values: np.ndarray, code: str, center: float, width: float, function: str,
         out_range: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    with_numpy = window(values, center, width, function, out_range=out_range)
    without = pure_window(array(code, values.ravel().tolist()), center, width, function,
                          out_range=out_range)
    assert isinstance(without, array) and without.typecode == "B"
    return with_numpy.ravel(), np.frombuffer(without, dtype=np.uint8)


@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize("dtype, code, lo, hi", INTEGERS)
@pytest.mark.parametrize("out_range", [(0, 255), (255, 0)])  # (255, 0): MONOCHROME1
def test_every_stored_value_is_windowed_alike(function, dtype, code, lo, hi, out_range):
    """Every value of the range, in windows narrow, wide, off-centre, and of the edge widths."""
    values = np.arange(lo, hi + 1, dtype=np.int64).astype(dtype)
    span = hi - lo
    for center, width in ((lo + span / 2, span / 3), (lo + 17.5, 1), (lo + 40, 2),
                          (hi - 3, 0.5 if function != "LINEAR" else 1.5),
                          (lo + span / 4, 10 * span), (lo + 1, 1e-3 + (function == "LINEAR"))):
        got, expected = both(values, code, center, width, function, out_range)
        assert np.array_equal(got, expected), (center, width, np.flatnonzero(got != expected)[:5])


@settings(max_examples=200, deadline=None)
@given(function=st.sampled_from(FUNCTIONS), center=st.floats(-5000, 5000),
       width=st.floats(1, 10000), reverse=st.booleans(),
       values=st.lists(st.integers(-32768, 32767), min_size=1, max_size=400))
def test_random_windows_on_16_bit_values(function, center, width, reverse, values):
    out_range = (255, 0) if reverse else (0, 255)
    got, expected = both(np.array(values, dtype=np.int16), "h", center, width, function,
                         out_range)
    assert np.array_equal(got, expected)


def test_rescaled_values_float_hu():
    """A rescale that is not integral gives float64 modality values (slope 0.684, as a PET
    or an MR with a real-world slope): each distinct value is windowed once, alike."""
    stored = np.random.default_rng(1).integers(0, 4096, 20_000)
    hu = stored.astype(np.float64) * 0.684 + -1024.0
    for function in FUNCTIONS:
        for center, width in ((40, 80), (-600, 1500), (0.25, 1)):
            got, expected = both(hu, "d", center, width, function, (0, 255))
            assert np.array_equal(got, expected), function


def test_the_input_types_of_the_pure_path():
    values = np.arange(-1024, 3072, dtype=np.int16).reshape(64, 64)
    expected = window(values, 40, 400).ravel().tobytes()
    assert pure_window(memoryview(values), 40, 400).tobytes() == expected  # 2-D, read in order
    assert pure_window(values.ravel().tolist(), 40, 400).tobytes() == expected
    assert pure_window(array("h", values.ravel().tolist()), 40, 400).tobytes() == expected
    u8 = bytes(range(256))
    assert pure_window(u8, 100, 50).tobytes() == window(np.frombuffer(u8, np.uint8), 100, 50
                                                        ).tobytes()
    assert pure_window(bytearray(u8), 100, 50) == pure_window(u8, 100, 50)
    assert pure_window([], 1, 1) == array("B")
    # more values than one itemgetter run takes (65536), one left for a last run of one
    many = np.arange(2 * 65536 + 1, dtype=np.int64) * 7 % 4000 - 1000
    assert pure_window(array("h", many.tolist()), 40, 400).tobytes() == window(
        many.astype(np.int16), 40, 400).tobytes()
    # a few values spread far apart: windowed one by one, not through a table of their range
    sparse = [-(2**40), 0, 2**40]
    assert pure_window(sparse, 0, 10).tolist() == [0, 142, 255]
    with pytest.raises(ValueError, match="not a number"):
        pure_window(array("d", [1.0, float("nan")]), 0, 10)
    with pytest.raises(TypeError):
        pure_window(["40"], 40, 80)
    with pytest.raises(ValueError, match="8 bits"):
        pure_window(array("h", [1]), 0, 10, out_range=(0, 4095))


@pytest.mark.parametrize("function, width", [("LINEAR", 0.99), ("LINEAR", 0),
                                             ("LINEAR_EXACT", 0), ("LINEAR_EXACT", -1),
                                             ("SIGMOID", 0), ("LINEAR", float("inf"))])
def test_widths_the_standard_does_not_allow_are_refused_by_both(function, width):
    """C.11.2.1.2.1: LINEAR needs a width >= 1; C.11.2.1.3.1/2: LINEAR_EXACT and SIGMOID a
    width > 0 (a LINEAR_EXACT width 0 would divide by zero)."""
    with pytest.raises(ValueError, match="width"):
        window(np.zeros(3, dtype=np.int16), 0, width, function)
    with pytest.raises(ValueError, match="width"):
        pure_window(array("h", [0, 0, 0]), 0, width, function)


def test_width_one_is_a_threshold_in_both():
    """LINEAR, width 1: values <= c - 0.5 give the lowest output, the others the highest."""
    values = np.array([8, 9, 10, 11], dtype=np.int16)
    assert window(values, 10, 1).tolist() == [0, 0, 255, 255]
    assert pure_window(array("h", values.tolist()), 10, 1).tolist() == [0, 0, 255, 255]
    assert WindowMap(10, 1).value(9.5) == 0 and WindowMap(10, 1).value(9.50001) == 255


def test_pydicom_apply_voi_lut_agrees():
    """pydicom windows onto the range of the stored values (here 8-bit unsigned: 0..255),
    with the same formulas; rounded to nearest its float64 output is our byte. Not compared:
    MONOCHROME1 (pydicom leaves the inversion to the caller, and 255 - rint(y) differs from
    rint(255 - y) at exact halves, where rounding ties to even: the standard's formula with
    the output range reversed is what rawdicom computes)."""
    pydicom = pytest.importorskip("pydicom")
    from pydicom.pixels import apply_voi_lut
    ds = pydicom.Dataset()
    ds.PhotometricInterpretation, ds.BitsStored, ds.PixelRepresentation = "MONOCHROME2", 8, 0
    hu = np.arange(-1024, 3072, dtype=np.int16)
    for function in FUNCTIONS:
        ds.VOILUTFunction = function
        for center, width in ((40, 80), (40, 400), (-600, 1500), (300.5, 1), (0, 2.5)):
            if function != "LINEAR" and width == 1:
                width = 0.5
            ds.WindowCenter, ds.WindowWidth = center, width
            with np.errstate(over="ignore"):  # SIGMOID: exp -> inf far below the center
                theirs = np.rint(apply_voi_lut(hu, ds)).astype(np.uint8)
            ours = pure_window(array("h", hu.tolist()), center, width, function)
            assert np.array_equal(np.frombuffer(ours, np.uint8), theirs), (function, center)


def test_rawdicom_window_without_numpy():
    """In an interpreter where numpy cannot be imported: rawdicom.window and window_preset
    on array.array values, the same bytes numpy gives here."""
    hu = np.arange(-1100, 2000, 7, dtype=np.int16)
    expected = [window(hu, 40, 80).tobytes().hex(), rawdicom.window_preset(hu, "lung").tobytes()
                .hex(), window(hu, 40, 80, "SIGMOID", out_range=(255, 0)).tobytes().hex()]
    code = textwrap.dedent(f"""
        import sys
        sys.modules["numpy"] = None
        from array import array
        import rawdicom
        hu = array("h", {hu.tolist()!r})
        out = [rawdicom.window(hu, 40, 80), rawdicom.window_preset(hu, "lung"),
               rawdicom.window(hu, 40, 80, "SIGMOID", out_range=(255, 0))]
        print(" ".join(o.tobytes().hex() for o in out))
        try:
            rawdicom.window(hu, 40, 80, dtype="uint16")
        except ImportError as exc:
            print(exc)
        try:
            rawdicom.pixel_array(b"")
        except ImportError as exc:
            print(exc)
        assert "numpy" not in [m for m in sys.modules if sys.modules[m] is not None]
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    first, *notes = proc.stdout.splitlines()
    assert first.split() == expected
    assert notes == ["window output of type uint16 needs numpy: pip install rawdicom[pixels]",
                     "rawdicom's pixel functions need numpy: pip install rawdicom[pixels]"]
