"""Private data elements: the private dictionary, VRs resolved through the creator, names, writing.

Each test builds its bytes with tests/builders.py. Entries used (dictionaries/private.tsv, GDCM's):
SIEMENS MR HEADER (0019,xx0A) US NumberOfImagesInMosaic, (0019,xx0C) IS B_value,
(0019,xx0E) FD DiffusionGradientDirection; GEMS_ACQU_01 (0019,xx0E) US; GEMS_ADWSoft_3D1 (0047,xx01)
SQ and (0047,xx50) UL; FDMS 1.0 (0027,xxA3) "US or SS"; PAPYRUS 3.0 (60xx,xx10) US Overlay Rows.
"""

from __future__ import annotations

import struct
import subprocess
import sys
import warnings

import pytest

import rawdicom
from rawdicom import dictionary
from rawdicom.errors import DicomWarning
from rawdicom.writer import to_bytes

from builders import (EXPLICIT_BE, EXPLICIT_LE, IMPLICIT_LE, element, item, part10, sequence, txt,
                      us)

SIEMENS = "SIEMENS MR HEADER"
B_VALUE, MOSAIC, GRADIENT = 0x0019100C, 0x0019100A, 0x0019100E


def _siemens(explicit: bool, little: bool = True, vr: str = "UN", block: int = 0x10) -> bytes:
    """A creator at (0019,00<block>) and three of its elements, written with ``vr`` (explicit)."""
    o = "<" if little else ">"
    base = 0x00190000 | block << 8

    def el(tag: int, value: bytes, real_vr: str) -> bytes:
        return element(tag, vr if vr != "as dictionary" else real_vr, value, explicit=explicit,
                       little=little)

    # UN values are little endian whatever the transfer syntax (PS3.5 6.2.2).
    order = "<" if vr == "UN" else o
    return (element(0x00190000 | block, "LO", txt(SIEMENS), explicit=explicit, little=little)
            + el(base | 0x0A, struct.pack(order + "H", 6), "US")
            + el(base | 0x0C, txt("1000"), "IS")
            + el(base | 0x0E, struct.pack(order + "3d", 0.0, 0.6, 0.8), "FD"))


def _read(body: bytes, syntax: str) -> rawdicom.Dataset:
    return rawdicom.read(part10(body, syntax))


# -- the dictionary ---------------------------------------------------------------------------
def test_lookup_private_by_creator_group_and_element_byte() -> None:
    entry = dictionary.lookup_private(B_VALUE, SIEMENS)
    assert entry is not None
    assert (entry.vr, entry.vm, entry.keyword, entry.name, entry.creator, entry.kind) == (
        "IS", "1", "B_value", "B_value", SIEMENS, "private")
    # Any block: the creator may have been given (0019,0011), its elements are (0019,11xx).
    assert dictionary.lookup_private(0x0019110C, SIEMENS).vr == "IS"
    assert dictionary.lookup_private(0x0019FF0C, SIEMENS).tag == 0x0019FF0C


def test_lookup_private_strips_the_creators_padding_only() -> None:
    for padded in (SIEMENS + " ", SIEMENS + "\0", " " + SIEMENS, SIEMENS + " \0"):
        assert dictionary.lookup_private(B_VALUE, padded).vr == "IS"
    assert dictionary.lookup_private(B_VALUE, SIEMENS.lower()) is None  # compared as written


def test_lookup_private_none_where_no_entry_can_be() -> None:
    assert dictionary.lookup_private(B_VALUE, "NO SUCH CREATOR") is None
    assert dictionary.lookup_private(0x00191099, SIEMENS) is None  # creator known, element not
    assert dictionary.lookup_private(0x00190010, SIEMENS) is None  # the creator element itself
    assert dictionary.lookup_private(0x0019000C, SIEMENS) is None  # below the blocks (0x10..0xFF)
    assert dictionary.lookup_private(0x0018100C, SIEMENS) is None  # even group: not private
    assert dictionary.creator_tag(0x0019200C) == 0x00190020
    assert dictionary.creator_tag(0x00190020) is None and dictionary.creator_tag(0x0010100C) is None


def test_lookup_private_group_masks() -> None:
    """PAPYRUS 3.0 is listed for groups 60xx: any odd group 6001-60FF."""
    assert dictionary.lookup_private(0x60011010, "PAPYRUS 3.0").name == "Overlay Rows"
    assert dictionary.lookup_private(0x60FF1010, "PAPYRUS 3.0").vr == "US"
    assert dictionary.lookup_private(0x61011010, "PAPYRUS 3.0") is None


def test_importing_or_reading_a_file_without_private_elements_loads_no_private_table() -> None:
    code = ("import sys; sys.path[:0] = ['tests', '.']; import rawdicom, rawdicom.dictionary as d; "
            "from builders import part10, small_dataset; assert d._private is None; "
            "ds = rawdicom.read(part10(small_dataset())); ds.dump(); print(d._private is None)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=str(__import__("pathlib").Path(__file__).parents[1]))
    assert result.stdout.strip() == "True", result.stderr


# -- reading ----------------------------------------------------------------------------------
@pytest.mark.parametrize("syntax, explicit, little", [
    (IMPLICIT_LE, False, True),   # no VR in the stream
    (EXPLICIT_LE, True, True),    # explicit UN
    (EXPLICIT_BE, True, False),   # explicit UN in big endian: the UN values are little endian
])
def test_private_vrs_resolved_through_the_creator(syntax: str, explicit: bool, little: bool) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = _read(_siemens(explicit, little), syntax)
        assert [ds[t].vr for t in (MOSAIC, B_VALUE, GRADIENT)] == ["US", "IS", "FD"]
        assert ds[MOSAIC].value == 6
        assert ds[B_VALUE].value == 1000
        assert ds[GRADIENT].value == [0.0, 0.6, 0.8]
    assert bytes(ds[MOSAIC].raw) == b"\x06\x00"  # the bytes as stored stay available
    assert ds[0x00190010].vr == "LO"


def test_explicit_private_vrs_are_kept_as_written() -> None:
    ds = _read(_siemens(True, vr="as dictionary"), EXPLICIT_LE)
    assert ds[B_VALUE].vr == "IS" and ds[B_VALUE].value == 1000
    ds = _read(element(0x00190010, "LO", txt(SIEMENS)) + element(B_VALUE, "LO", txt("x1")),
               EXPLICIT_LE)
    assert ds[B_VALUE].vr == "LO" and ds[B_VALUE].value == "x1"  # the file's VR, not the dictionary's


def test_a_creator_block_other_than_0x10() -> None:
    ds = _read(_siemens(False, block=0x42), IMPLICIT_LE)
    assert ds[0x0019420C].vr == "IS" and ds[0x0019420C].value == 1000
    assert ds[0x0019420C].private_creator == SIEMENS


def test_two_creators_in_one_group() -> None:
    """Byte 0E is US under GEMS_ACQU_01 and FD (3 values) under SIEMENS MR HEADER."""
    body = (element(0x00190010, "LO", txt("GEMS_ACQU_01"), explicit=False)
            + element(0x00190011, "LO", txt(SIEMENS), explicit=False)
            + element(0x0019100E, "UN", us(7), explicit=False)
            + element(0x0019110E, "UN", struct.pack("<3d", 1, 0, 0), explicit=False))
    ds = _read(body, IMPLICIT_LE)
    assert (ds[0x0019100E].vr, ds[0x0019100E].value) == ("US", 7)
    assert (ds[0x0019110E].vr, ds[0x0019110E].value) == ("FD", [1.0, 0.0, 0.0])
    assert ds[0x0019100E].private_creator == "GEMS_ACQU_01"


def test_unknown_creators_and_elements_stay_un_without_warning() -> None:
    body = (element(0x00190010, "LO", txt("ACME 1.0"), explicit=False)
            + element(0x00190011, "LO", txt(SIEMENS), explicit=False)
            + element(0x0019100C, "UN", txt("1000"), explicit=False)
            + element(0x00191199, "UN", b"\1\2", explicit=False)
            + element(0x0019200C, "UN", txt("1000"), explicit=False))  # block 20: no creator
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = _read(body, IMPLICIT_LE)
        assert [ds[t].vr for t in (0x0019100C, 0x00191199, 0x0019200C)] == ["UN"] * 3
    assert ds[0x0019100C].value == b"1000"
    assert ds[0x0019100C].name == "[ACME 1.0] Private tag data"
    assert ds[0x00191199].name == f"[{SIEMENS}] Private tag data"
    assert ds[0x0019200C].name == "Private tag data" and ds[0x0019200C].private_creator is None


@pytest.mark.parametrize("tag, value, why", [
    (MOSAIC, b"\1\2\3", "not a multiple of 2"),      # US: 3 bytes
    (GRADIENT, b"\0" * 20, "not a multiple of 8"),   # FD: 20 bytes
])
def test_a_value_that_does_not_fit_the_vr_stays_un_with_a_warning(tag: int, value: bytes,
                                                                  why: str) -> None:
    body = element(0x00190010, "LO", txt(SIEMENS), explicit=False) + element(tag, "UN", value,
                                                                           explicit=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = _read(body, IMPLICIT_LE)
        el = ds[tag]
    assert el.vr == "UN" and el.value == value
    messages = [str(w.message) for w in caught if issubclass(w.category, DicomWarning)]
    assert any(why in m and "kept as UN" in m and f"{tag >> 16:04X},{tag & 0xFFFF:04X}" in m
               for m in messages), messages


def test_a_multi_vr_entry_follows_pixel_representation() -> None:
    """FDMS 1.0 (0027,xxA3) is "US or SS": settled as the standard's US-or-SS elements are."""
    for representation, vr, value in ((0, "US", 65535), (1, "SS", -1)):
        body = (element(0x00270010, "LO", txt("FDMS 1.0"), explicit=False)
                + element(0x002710A3, "UN", b"\xff\xff", explicit=False)
                + element(0x00280103, "US", us(representation), explicit=False))
        el = _read(body, IMPLICIT_LE)[0x002710A3]
        assert (el.vr, el.value) == (vr, value)


def _adw_item(value: int) -> bytes:
    return (element(0x00470010, "LO", txt("GEMS_ADWSoft_3D1"), explicit=False)
            + element(0x00471050, "UN", struct.pack("<I", value), explicit=False))


@pytest.mark.parametrize("undefined", [True, False])
def test_a_private_sequence_of_implicit_vr(undefined: bool) -> None:
    """Undefined length: a sequence by its form. Defined length: by the dictionary's SQ."""
    body = (element(0x00470010, "LO", txt("GEMS_ADWSoft_3D1"), explicit=False)
            + sequence(0x00471001, [_adw_item(7), _adw_item(8)], undefined=undefined,
                       explicit=False))
    el = _read(body, IMPLICIT_LE)[0x00471001]
    assert el.vr == "SQ" and len(el.value) == 2
    assert [it[0x00471050].value for it in el.value] == [7, 8]
    assert el.value[0][0x00471050].name == "[GEMS_ADWSoft_3D1] Volume Voxel Count"


def test_a_private_sequence_as_explicit_un() -> None:
    """Explicit UN holding a sequence: implicit VR little endian inside (PS3.5 6.2.2)."""
    items = item(_adw_item(7))
    body = (element(0x00470010, "LO", txt("GEMS_ADWSoft_3D1"))
            + element(0x00471001, "UN", items))
    el = _read(body, EXPLICIT_LE)[0x00471001]
    assert el.vr == "SQ" and el.value[0][0x00471050].value == 7


def test_a_private_value_the_dictionary_calls_sq_but_is_not_stays_un() -> None:
    for value in (b"\1\2\3\4", item(b"\x47\x00\x10\x00\xff\xff\xff\x7f")):  # no item; a bad item
        body = (element(0x00470010, "LO", txt("GEMS_ADWSoft_3D1"), explicit=False)
                + element(0x00471001, "UN", value, explicit=False)
                + element(0x00480010, "LO", txt("after"), explicit=False))  # not at the data's end
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            el = _read(body, IMPLICIT_LE)[0x00471001]
        assert el.vr == "UN" and el.value == value
        assert any("kept as UN" in str(w.message) for w in caught)


def test_a_private_element_asked_for_with_tags_brings_its_creator() -> None:
    ds = rawdicom.read(part10(_siemens(False), IMPLICIT_LE), tags=[B_VALUE])
    assert ds[B_VALUE].vr == "IS" and ds[B_VALUE].value == 1000


def test_a_value_cut_short_stays_un() -> None:
    body = _siemens(False) + element(0x00191013, "UN", b"\0" * 12, explicit=False)[:-4]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        el = _read(body, IMPLICIT_LE)[0x00191013]
    assert el.vr == "UN"
    with pytest.raises(rawdicom.TruncatedError):
        el.value


def test_setting_a_private_element_takes_the_dictionary_vr() -> None:
    ds = _read(element(0x00190010, "LO", txt(SIEMENS), explicit=False), IMPLICIT_LE)
    el = ds.set(B_VALUE, 700)
    assert el.vr == "IS" and el.name == "[SIEMENS MR HEADER] B_value"
    assert rawdicom.read(to_bytes(ds, EXPLICIT_LE))[B_VALUE].value == 700


# -- names and printing -----------------------------------------------------------------------
def test_keyword_name_and_dump_of_private_elements() -> None:
    ds = _read(_siemens(False), IMPLICIT_LE)
    el = ds[B_VALUE]
    assert (el.keyword, el.name, el.private_creator) == ("B_value", "[SIEMENS MR HEADER] B_value",
                                                        SIEMENS)
    lines = [" ".join(line.split()) for line in ds.dump().splitlines()]
    assert "(0019,100C) IS [SIEMENS MR HEADER] B_value 1000" in lines
    assert "(0019,0010) LO Private Creator 'SIEMENS MR HEADER'" in lines
    assert "B_value" not in ds  # private keywords are not unique: no keyword access


# -- writing ----------------------------------------------------------------------------------
def _header_vr(data: bytes, tag: int) -> bytes:
    needle = struct.pack("<HH", tag >> 16, tag & 0xFFFF)
    at = data.rindex(needle)
    return data[at + 4:at + 6]


def test_implicit_to_explicit_writes_the_dictionary_vr() -> None:
    ds = _read(_siemens(False), IMPLICIT_LE)
    out = to_bytes(ds, EXPLICIT_LE)
    assert [_header_vr(out, t) for t in (MOSAIC, B_VALUE, GRADIENT)] == [b"US", b"IS", b"FD"]
    back = rawdicom.read(out)
    assert [(back[t].vr, back[t].value) for t in (MOSAIC, B_VALUE)] == [("US", 6), ("IS", 1000)]
    big = rawdicom.read(to_bytes(ds, EXPLICIT_BE))  # swapped as the VR says
    assert big[MOSAIC].value == 6 and big[GRADIENT].value == [0.0, 0.6, 0.8]


def test_implicit_to_implicit_writes_the_bytes_it_read() -> None:
    body = _siemens(False)
    assert to_bytes(_read(body, IMPLICIT_LE)).endswith(body)


@pytest.mark.parametrize("syntax, little", [(EXPLICIT_LE, True), (EXPLICIT_BE, False)])
def test_explicit_un_is_written_as_it_was_read(syntax: str, little: bool) -> None:
    body = _siemens(True, little)
    ds = _read(body, syntax)
    assert ds[MOSAIC].vr == "US"
    for target in (EXPLICIT_LE, EXPLICIT_BE):
        out = to_bytes(ds, target)
        tags = (MOSAIC, B_VALUE, GRADIENT)
        order = "<" if target == EXPLICIT_LE else ">"
        vrs = [out[out.rindex(struct.pack(order + "HH", t >> 16, t & 0xFFFF)) + 4:][:2] for t in tags]
        assert vrs == [b"UN"] * 3
        assert rawdicom.read(out)[MOSAIC].value == 6
    assert to_bytes(ds).endswith(body)
