"""Round trips: read(write(ds)) == ds for every uncompressed transfer syntax (hypothesis).

The strategies make valid datasets: standard tags of every VR with valid
values of VM 0 to 4, nested sequences, private creators with private
elements (a private sequence too), and text in single-byte, UTF-8, GB18030
and ISO 2022 multi-byte character sets.  Equality is value-wise, through
:func:`canonical`, which states what each encoding can keep: implicit VR
keeps no VR, so private values come back as UN bytes (compared as bytes);
OB/OW-like bytes are in the byte order of their dataset (compared in little
endian).
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rawdicom
from rawdicom import Dataset, dictionary
from rawdicom.writer import _SWAP_SIZE, _swap, to_bytes

SYNTAXES = ["1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2",
            "1.2.840.10008.1.2.1.99"]
IMPLICIT = "1.2.840.10008.1.2"

# (Specific Character Set, extra letters it can encode) — text draws from ASCII plus these.
CHARSETS: list[tuple[Any, str]] = [
    (None, ""),
    ("ISO_IR 100", "ÀÉÍÑÖÜßàéíñöüÿ"),
    ("ISO_IR 144", "АБВГДЕЖабвгдеж"),
    ("ISO_IR 126", "ΑΒΓΔαβγδ"),
    ("ISO_IR 192", "ÀÉßАБΑΒ山田太郎한국어中文😀"),
    ("GB18030", "中文汉字王小东"),
    (["", "ISO 2022 IR 87"], "山田太郎やまだたろう"),
    (["ISO 2022 IR 13", "ISO 2022 IR 87"], "ﾔﾏﾀﾞﾀﾛｳ山田"),
    (["", "ISO 2022 IR 149"], "김희중홍길동"),
    (["", "ISO 2022 IR 58"], "中文汉字王小东"),
    (["ISO 2022 IR 100", "ISO 2022 IR 126"], "ÀÉßΑΒγδ"),
]
_ASCII = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in "\\~^=")
_AFFECTED = {"SH", "LO", "ST", "LT", "UC", "UT", "PN"}
_SKIP_TAGS = {0x00080005}


@lru_cache(maxsize=None)
def tags_by_vr() -> dict[str, list[int]]:
    """Standard tags whose VR is one plain VR, outside the groups the writer owns."""
    out: dict[str, list[int]] = {}
    for entry in dictionary.elements():
        group = entry.tag >> 16
        if (entry.kind != "standard" or entry.retired or group in (0x0000, 0x0002, 0x7FE0)
                or entry.tag & 0xFFFF == 0 or entry.tag in _SKIP_TAGS
                or len(entry.vr) != 2):
            continue
        out.setdefault(entry.vr, []).append(entry.tag)
    return out


def _text(alphabet: str, min_size: int, max_size: int) -> st.SearchStrategy[str]:
    """Text with no leading/trailing space (padding) and no backslash (value delimiter)."""
    return st.text(alphabet + " ", min_size=min_size, max_size=max_size).map(str.strip).filter(bool)


def _multi(single: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """VM 1 as a value, VM 2-4 as a list (how decode_value returns them)."""
    return st.one_of(single, st.lists(single, min_size=2, max_size=4))


def value_strategy(vr: str, extra: str) -> st.SearchStrategy[Any]:
    """Valid values of ``vr``; ``extra``: the charset's letters, for charset-affected VRs."""
    letters = _ASCII + (extra if vr in _AFFECTED else "")
    digits = st.integers(0, 9).map(str)
    date = st.dates().map(lambda d: d.strftime("%Y%m%d")).filter(lambda s: len(s) == 8)
    time = st.tuples(st.integers(0, 23), st.integers(0, 59), st.integers(0, 59),
                     st.integers(0, 999999)).map(lambda t: f"{t[0]:02d}{t[1]:02d}{t[2]:02d}.{t[3]:06d}")
    numbers = {"US": (0, 0xFFFF), "SS": (-0x8000, 0x7FFF), "UL": (0, 0xFFFFFFFF),
               "SL": (-(1 << 31), (1 << 31) - 1), "UV": (0, (1 << 64) - 1),
               "SV": (-(1 << 63), (1 << 63) - 1)}
    units = {"OB": 2, "UN": 2, "OW": 2, "OF": 4, "OL": 4, "OD": 8, "OV": 8}
    if vr in numbers:
        return _multi(st.integers(*numbers[vr]))
    if vr in units:
        # Even lengths: an odd value gets a padding byte (PS3.5 7.1.1).
        return st.binary(min_size=1, max_size=24).map(lambda b: b * units[vr])
    single = {
        "AE": _text(_ASCII, 1, 16),
        "AS": st.tuples(digits, digits, digits, st.sampled_from("DWMY")).map("".join),
        "CS": _text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_", 1, 16),
        "DA": date,
        "DS": st.integers(-10 ** 9, 10 ** 9).map(lambda n: n / 1000),
        "DT": st.tuples(date, time).map("".join),
        "FL": st.floats(width=32, allow_nan=False),
        "FD": st.floats(allow_nan=False),
        "IS": st.integers(-(1 << 31), (1 << 31) - 1),
        "LO": _text(letters, 1, 64),
        "PN": st.lists(_text(letters, 1, 12), min_size=1, max_size=3).map("^".join),
        "SH": _text(letters, 1, 16),
        "TM": time,
        "UC": _text(letters, 1, 80),
        "UI": st.lists(st.integers(0, 10 ** 6).map(str), min_size=2, max_size=8).map(".".join),
        "AT": st.integers(0, 0xFFFFFFFF),
    }
    if vr in ("FL", "FD"):
        return _multi(single[vr])
    if vr in single:
        return _multi(single[vr])
    # VM 1 only; a backslash is text here; leading spaces are kept, trailing are padding.
    body = st.text(letters + " \\\r\n", min_size=1, max_size=200 if vr != "UR" else 60)
    body = body.map(str.rstrip).filter(bool)
    return body if vr != "UR" else body.map(lambda s: s.replace(" ", "").replace("\\", "/") or "x")


@st.composite
def datasets(draw: Any, depth: int = 0, extra: str | None = None, max_elements: int = 10
             ) -> Dataset:
    """A valid dataset: a charset (at the top), standard and private elements, sequences."""
    ds = Dataset()
    if extra is None:
        charset, extra = draw(st.sampled_from(CHARSETS))
        if charset is not None:
            ds.SpecificCharacterSet = charset
    table = tags_by_vr()
    vrs = sorted(v for v in table if v != "SQ")
    for _ in range(draw(st.integers(0, max_elements))):
        vr = draw(st.sampled_from(vrs))
        tag = draw(st.sampled_from(table[vr]))
        value = draw(st.none() | value_strategy(vr, extra)) if draw(st.booleans()) \
            else draw(value_strategy(vr, extra))
        ds.set(tag, value, vr)
    if depth < 2 and draw(st.integers(0, 3)) == 0:
        tag = draw(st.sampled_from(table["SQ"]))
        items = draw(st.lists(datasets(depth + 1, extra, 4), max_size=3))
        ds.set(tag, items, "SQ")
    if draw(st.integers(0, 3)) == 0:
        group = draw(st.sampled_from([0x0009, 0x0011, 0x0029]))
        ds.set(group << 16 | 0x0010, draw(_text(_ASCII, 1, 16)), "LO")
        for element in draw(st.sets(st.integers(0x1000, 0x10FF), max_size=4)):
            vr = draw(st.sampled_from(["UN", "OB", "LO", "DS", "US", "FD", "SQ"]))
            if vr == "SQ":
                if depth < 2:
                    ds.set(group << 16 | element,
                           draw(st.lists(datasets(depth + 1, extra, 3), max_size=2)), "SQ")
            else:
                ds.set(group << 16 | element, draw(value_strategy(vr, extra)), vr)
    return ds


def canonical(ds: Dataset, implicit: bool) -> list[tuple[Any, ...]]:
    """What a round trip must keep, as plain data (see the module docstring)."""
    out: list[tuple[Any, ...]] = []
    for el in ds:
        value = el.value
        private_data = el.is_private and (el.tag & 0xFFFF) > 0x00FF
        if el.vr == "SQ" or (isinstance(value, list) and value
                              and isinstance(value[0], Dataset)):
            out.append((el.tag, "SQ", [canonical(item, implicit) for item in value or []]))
        elif implicit and private_data:
            raw = bytes(el.raw)
            size = _SWAP_SIZE.get(el.vr)
            if size and not ds.little_endian:
                raw = bytes(_swap(raw, size))
            out.append((el.tag, "raw", raw))
        else:
            if isinstance(value, bytes) and el.vr in _SWAP_SIZE and not ds.little_endian:
                value = bytes(_swap(value, _SWAP_SIZE[el.vr]))
            if isinstance(value, float) or (isinstance(value, list) and value
                                            and isinstance(value[0], float)):
                value = repr(value)  # -0.0 == 0.0 would hide a lost sign
            out.append((el.tag, el.vr, value))
    return out


def read(data: bytes) -> Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # what rawdicom writes reads without a warning
        return rawdicom.read(data)


_SETTINGS = settings(max_examples=200, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@_SETTINGS
@given(ds=datasets(), syntax=st.sampled_from(SYNTAXES), undefined=st.booleans())
def test_read_of_written_equals_original(ds, syntax, undefined):
    data = to_bytes(ds, syntax, undefined_length_sequences=undefined)
    back = read(data)
    assert back.transfer_syntax.uid == syntax
    assert canonical(back, syntax == IMPLICIT) == canonical(ds, syntax == IMPLICIT)


@_SETTINGS
@given(ds=datasets(), syntax=st.sampled_from(SYNTAXES), undefined=st.booleans())
def test_rewriting_what_was_read_is_byte_identical(ds, syntax, undefined):
    data = to_bytes(ds, syntax, undefined_length_sequences=undefined)
    back = read(data)
    assert to_bytes(back, syntax, undefined_length_sequences=undefined) == data
    for _, el in back.walk():  # decoded values are still copied as stored
        el.value
    assert to_bytes(back, syntax, undefined_length_sequences=undefined) == data


@_SETTINGS
@given(ds=datasets(), first=st.sampled_from(SYNTAXES), second=st.sampled_from(SYNTAXES))
def test_converting_between_syntaxes_keeps_every_value(ds, first, second):
    converted = read(to_bytes(read(to_bytes(ds, first)), second))
    implicit = IMPLICIT in (first, second)
    assert canonical(converted, implicit) == canonical(ds, implicit)
