"""Robustness: any bytes end in a Dataset or a DicomError, through every use; bounds hold.

Inputs: arbitrary bytes behind a valid meta group of each transfer syntax,
and structured-but-wrong element streams — plausible headers with wrong
lengths, wrong or invented VRs, broken nesting, delimiters out of place,
encapsulated fragments with lying offset tables, pixel module attributes that
disagree with the pixel data.  Each goes through tools/fuzz.py's
``exercise_rawdicom``: read, every value, vm, raw, walk, str, pixel_array,
writing it back and reading that.  Only DicomError (and ImportError for a
missing extra) may come out.

Then each Limit at its boundary, and memory and time bounded by the input size.
"""

from __future__ import annotations

import struct
import sys
import tracemalloc
import warnings
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rawdicom
from rawdicom import Dataset, DicomError, LimitExceededError, Limits
from rawdicom.writer import to_bytes

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import fuzz  # noqa: E402

SYNTAXES = ["1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2",
            "1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.5",
            "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.8.1"]
HUGE = [0xFFFFFFFF, 0xFFFFFFFE, 0x7FFFFFFF, 0x80000000, 0x10000]


def exercise(data: bytes) -> None:
    """Run fuzz.exercise_rawdicom; anything but DicomError/ImportError fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fuzz.exercise_rawdicom(data)
        except (DicomError, ImportError):
            pass


def meta(syntax: str) -> bytes:
    """A valid file meta group naming ``syntax``, as rawdicom writes it."""
    data = to_bytes(Dataset(), syntax)
    return data[:-2] if syntax.endswith(".99") else data  # deflated: drop the empty body


# -- structured-but-wrong element streams -------------------------------------------------------
# Tags that steer the reader and the pixel layer, sequences, private and odd ones.
TAGS = [0x00080005, 0x00080016, 0x00100010, 0x00280002, 0x00280004, 0x00280006, 0x00280008,
        0x00280010, 0x00280011, 0x00280100, 0x00280101, 0x00280102, 0x00280103, 0x00281050,
        0x00281051, 0x00281052, 0x00281053, 0x00283002, 0x00283006, 0x00281101, 0x00281201,
        0x00283010, 0x00081032, 0x00400275, 0x00090010, 0x00091010, 0x00091011, 0x7FE00001,
        0x7FE00002, 0x7FE00008, 0x7FE00010, 0x00020010, 0x00000000, 0x00100000]
VRS = ["AE", "AS", "AT", "CS", "DA", "DS", "DT", "FD", "FL", "IS", "LO", "LT", "OB", "OD", "OF",
       "OL", "OV", "OW", "PN", "SH", "SL", "SQ", "SS", "ST", "SV", "TM", "UC", "UI", "UL", "UN",
       "UR", "US", "UT", "UV"]
LONG = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "UC", "UN", "UR", "UT", "SV", "UV"}
VALUES = [b"", b"\x01\x00", b"\x00\x01", b"\x10\x00", b"\x08\x00\x08\x00", b"1\\2\\3 ", b"-1",
          b"MONOCHROME2 ", b"RGB ", b"PALETTE COLOR ", b"YBR_FULL_422", b"ISO 2022 IR 87\\ISO_IR 100",
          b"ISO_IR 192", b"\x1b$B\x3b\x33", b"\xff\xd8\xff\xdb", b"\xff\x4f\xff\x51", b"\x00" * 64,
          b"\x00\x01\x00\x00\x10\x00", b"3\\0\\8 ", b"1e308 ", b"nan ", b"\xff" * 8]


@st.composite
def streams(draw, depth: int = 0) -> bytes:
    explicit = draw(st.booleans())
    little = draw(st.booleans())
    return draw(_stream(explicit, little, depth))


def _stream(explicit: bool, little: bool, depth: int) -> st.SearchStrategy[bytes]:
    o = "<" if little else ">"

    @st.composite
    def build(draw) -> bytes:
        out = b""
        for _ in range(draw(st.integers(0, 6))):
            kind = draw(st.sampled_from(["value", "value", "sequence", "token", "pixels",
                                         "garbage"]))
            tag = draw(st.sampled_from(TAGS) | st.integers(0, 0xFFFFFFFF))
            head = struct.pack(o + "HH", tag >> 16, tag & 0xFFFF)
            if kind == "value":
                vr = draw(st.sampled_from(VRS) | st.binary(min_size=2, max_size=2).map(
                    lambda b: b.decode("latin-1")))
                value = draw(st.sampled_from(VALUES) | st.binary(max_size=24))
                length = draw(st.sampled_from([len(value)] * 4 + HUGE) | st.integers(0, 40))
                out += head + _length(explicit, o, vr, length) + value
            elif kind == "sequence":
                items = b""
                for _ in range(draw(st.integers(0, 3))):
                    content = draw(_stream(explicit, little, depth + 1)) if depth < 3 else b""
                    undefined = draw(st.booleans())
                    length = 0xFFFFFFFF if undefined else draw(
                        st.sampled_from([len(content)] * 3 + HUGE) | st.integers(0, 64))
                    items += struct.pack(o + "HHI", 0xFFFE, 0xE000, length) + content
                    if undefined and draw(st.booleans()):
                        items += struct.pack(o + "HHI", 0xFFFE, 0xE00D, 0)
                undefined = draw(st.booleans())
                length = 0xFFFFFFFF if undefined else draw(
                    st.sampled_from([len(items)] * 3 + HUGE) | st.integers(0, 64))
                vr = draw(st.sampled_from(["SQ", "SQ", "UN", "OB"]))
                out += head + _length(explicit, o, vr, length) + items
                if undefined and draw(st.booleans()):
                    out += struct.pack(o + "HHI", 0xFFFE, 0xE0DD, 0)
            elif kind == "token":
                out += struct.pack(o + "HHI", 0xFFFE, draw(st.sampled_from([0xE000, 0xE00D,
                                                                           0xE0DD])),
                                   draw(st.sampled_from([0, 0xFFFFFFFF, 4, 8])))
            elif kind == "pixels":
                fragments = draw(st.lists(st.sampled_from(VALUES) | st.binary(max_size=40),
                                          max_size=4))
                table = draw(st.lists(st.integers(0, 200) | st.sampled_from(HUGE), max_size=4))
                body = struct.pack("<HHI", 0xFFFE, 0xE000, 4 * len(table)) + struct.pack(
                    f"<{len(table)}I", *table)
                for fragment in fragments:
                    body += struct.pack("<HHI", 0xFFFE, 0xE000, draw(
                        st.sampled_from([len(fragment)] * 4 + HUGE))) + fragment
                if draw(st.booleans()):
                    body += struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
                out += b"\xe0\x7f\x10\x00" + (b"OB\0\0" if explicit else b"") \
                    + b"\xff\xff\xff\xff" + body
            else:
                out += draw(st.binary(max_size=16))
        return out

    return build()


def _length(explicit: bool, o: str, vr: str, length: int) -> bytes:
    if not explicit:
        return struct.pack(o + "I", length & 0xFFFFFFFF)
    code = vr.encode("latin-1")[:2].ljust(2, b" ")
    if vr in LONG:
        return code + b"\0\0" + struct.pack(o + "I", length & 0xFFFFFFFF)
    return code + struct.pack(o + "H", length & 0xFFFF)


_SETTINGS = settings(max_examples=250, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@_SETTINGS
@given(stream=streams(), syntax=st.sampled_from(SYNTAXES + [None]), deflate=st.booleans())
def test_structured_but_wrong_streams(stream, syntax, deflate):
    if syntax is None:
        exercise(stream)
        return
    if syntax.endswith(".99") and deflate:
        compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
        stream = compressor.compress(stream) + compressor.flush()
    exercise(meta(syntax) + stream)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=300), syntax=st.sampled_from(SYNTAXES))
def test_arbitrary_bytes_behind_a_valid_meta_group(data, syntax):
    exercise(meta(syntax) + data)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes(data):
    exercise(data)


# -- limits ---------------------------------------------------------------------------------
def _nested(levels: int) -> Dataset:
    ds = Dataset()
    ds.PatientID = "leaf"
    for _ in range(levels):
        outer = Dataset()
        outer.set(0x00081032, [ds], "SQ")
        ds = outer
    return ds


def _use_all(ds: Dataset) -> int:
    """Parse every lazy sequence; the number of elements and items met (meta group included):
    each item counts against max_elements too."""
    count = len(ds.file_meta or ())
    for _, el in ds.walk():
        count += 1 + (len(el.value or ()) if el.vr == "SQ" else 0)
    return count


@pytest.mark.parametrize("undefined", [False, True])
def test_max_depth_boundary(undefined):
    data = to_bytes(_nested(12), undefined_length_sequences=undefined)
    _use_all(rawdicom.read(data, limits=Limits(max_depth=12)))
    with pytest.raises(LimitExceededError, match="nested deeper than 11"):
        _use_all(rawdicom.read(data, limits=Limits(max_depth=11)))


def test_max_depth_is_validated():
    with pytest.raises(ValueError):
        Limits(max_depth=0)
    with pytest.raises(ValueError):
        Limits(max_depth=100_000)


@pytest.mark.parametrize("undefined", [False, True])
def test_max_elements_boundary(undefined):
    ds = _nested(3)
    for k in range(20):
        ds.set(0x00091000 + 0x10 + k, b"xx", "OB")
    data = to_bytes(ds, undefined_length_sequences=undefined)
    total = _use_all(rawdicom.read(data))
    _use_all(rawdicom.read(data, limits=Limits(max_elements=total)))
    with pytest.raises(LimitExceededError, match=f"more than {total - 1} elements"):
        _use_all(rawdicom.read(data, limits=Limits(max_elements=total - 1)))


def test_max_inflated_size_boundary():
    ds = Dataset()
    ds.PatientComments = "x" * 10_000
    data = to_bytes(ds, "1.2.840.10008.1.2.1.99")
    size = len(to_bytes(ds)) - len(to_bytes(Dataset()))  # the inflated dataset's bytes
    assert rawdicom.read(data, limits=Limits(max_inflated_size=size)).PatientComments == "x" * 10_000
    with pytest.raises(LimitExceededError, match="inflates past"):
        rawdicom.read(data, limits=Limits(max_inflated_size=size - 1))


def test_default_limits_are_documented_and_generous():
    limits = Limits()
    assert limits.max_depth >= 64 and limits.max_elements >= 1_000_000
    assert limits.max_inflated_size >= 1 << 28
    assert limits.inflate_cap(1000) <= limits.max_inflated_size


# -- memory and time bounded by the input size -----------------------------------------------
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(stream=streams(), syntax=st.sampled_from(SYNTAXES[:4]))
def test_memory_is_a_small_multiple_of_the_input(stream, syntax):
    """Lengths up to 4 GiB in a small input allocate nothing near them (PS3.5 lengths are
    checked against the bytes that remain before anything is sliced)."""
    data = meta(syntax) + stream
    tracemalloc.start()
    try:
        exercise(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 200 * len(data) + (4 << 20)


def test_undefined_length_values_read_in_linear_time(monkeypatch):
    """Regression: each undefined-length non-sequence value copied the rest of the data to find
    its delimiter, so reading was quadratic (2.5 MB: 28 s).  Fixed by a windowed search.

    Counted, not timed (the machine is shared): the bytes the delimiter search copies, over
    a 2.5 MB stream, stay within a constant per element, and the search of one delimiter
    near the start of a large buffer copies one window, not the rest of the buffer."""
    from rawdicom import scanner
    tags = [0x00100010, 0x00100020, 0x00100030, 0x00100040, 0x00101010, 0x00104000]
    delimiter = struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)

    def stream(n: int) -> bytes:
        return b"".join(struct.pack("<HHI", tags[i % 6] >> 16, tags[i % 6] & 0xFFFF, 0xFFFFFFFF)
                        + delimiter for i in range(n))

    class CountingBuffer:
        """A buffer that counts the bytes sliced out of it."""
        def __init__(self, data: bytes) -> None:
            self.view, self.copied = memoryview(data), 0

        def __getitem__(self, index: slice) -> memoryview:
            part = self.view[index]
            self.copied += len(part)
            return part

    big = CountingBuffer(b"\0" * 100 + delimiter + b"\0" * 10_000_000)
    assert scanner._find(big, delimiter, 0, len(big.view)) == 100
    assert big.copied <= 8192

    copied = 0
    real_find = scanner._find

    def counting_find(buf, needle, start, end):
        nonlocal copied
        counter = CountingBuffer(bytes(buf))
        found = real_find(counter, needle, start, end)
        copied += counter.copied
        return found

    monkeypatch.setattr(scanner, "_find", counting_find)
    data = stream(2_000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rawdicom.read(data)
    assert copied <= 2_000 * 4096
