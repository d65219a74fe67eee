"""Regressions found by review: each test names the defect it keeps away."""

from __future__ import annotations

import gc
import struct
import warnings
import weakref
import zlib
from pathlib import Path

import pytest

import rawdicom
from builders import (DEFLATED, EXPLICIT_LE, IMPLICIT_LE, JPEG_BASELINE, UNDEFINED, element,
                      encapsulated, item, part10, sequence, sequence_delimiter, txt, uid)
from rawdicom import reader


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "f.dcm"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("kwargs", [{}, {"stop_before_pixels": True},
                                    {"tags": ["ReferencedSeriesSequence"]}])
def test_a_sequence_read_from_a_header_prefix_fails_as_a_full_read_does(tmp_path, kwargs):
    """A defect inside a sequence parsed after a header-only read is a DicomError, not the
    reader's internal 'read more' signal."""
    bad_item = item(element(0x00100010, "PN", txt("Doe")), length=100)
    data = part10(element(0x00080005, "CS", txt("ISO_IR 100")) + element(0x00081115, "SQ", bad_item)
                  + element(0x7FE00010, "OW", b"\0" * (4 * reader.HEADER_PREFIX)))
    ds = rawdicom.read(_write(tmp_path, data), **kwargs)
    with pytest.raises(rawdicom.TruncatedError, match="runs past the end of the sequence"):
        ds[0x00081115].value


def test_header_prefix_reads_equal_full_reads_across_the_prefix_boundary(tmp_path):
    long_text = b"A" * (reader.HEADER_PREFIX + 1000)
    bare = (element(0x00080070, "LO", long_text, explicit=False)
            + element(0x00100010, "PN", txt("Doe^John"), explicit=False))
    for data in (bare, part10(bare, None)):  # no meta group; a meta group without syntax
        path = _write(tmp_path, data)
        assert rawdicom.read(path, stop_before_pixels=True).PatientName == "Doe^John"
        assert rawdicom.read(path, tags=["PatientName"]).PatientName == "Doe^John"


def test_errors_and_zlib_wrapped_deflate_leave_no_reference_cycle(tmp_path):
    gc.disable()
    try:
        truncated = part10(element(0x00100010, "PN", txt("Doe"))
                           + element(0x00211010, "UT", b"x" * 1000, length=UNDEFINED))
        with pytest.raises(rawdicom.TruncatedError) as info:
            rawdicom.read(truncated)
        ref = weakref.ref(info.value.partial)
        del info
        assert ref() is None
        body = element(0x00100010, "PN", txt("Doe"))
        ds = rawdicom.read(part10(zlib.compress(body), DEFLATED))  # zlib header: second try
        assert ds.PatientName == "Doe"
        ref = weakref.ref(ds)
        del ds
        assert ref() is None
    finally:
        gc.enable()


def test_context_attributes_follow_changes_made_through_the_element():
    implicit = lambda tag, vr, value: element(tag, vr, value, explicit=False)  # noqa: E731
    data = part10(implicit(0x00280103, "US", b"\1\0") + implicit(0x00280106, "US", b"\xff\xff"),
                  IMPLICIT_LE)
    ds = rawdicom.read(data)
    ds["PixelRepresentation"].value = 0
    assert ds["SmallestImagePixelValue"].vr == "US" and ds.SmallestImagePixelValue == 65535
    ds = rawdicom.read(part10(element(0x00080005, "CS", txt("ISO_IR 100"))))
    ds["SpecificCharacterSet"].value = "ISO_IR 192"
    assert ds.charset == ("ISO_IR 192",)


def test_items_follow_a_change_of_their_parents_character_set():
    items = [element(0x00100010, "PN", "Müller".encode("utf-8"))] * 2
    data = part10(element(0x00080005, "CS", txt("ISO_IR 100")) + sequence(0x00081115, items))
    ds = rawdicom.read(data)
    first, second = ds.ReferencedSeriesSequence
    assert first.charset == ("ISO_IR 100",)
    ds.set("SpecificCharacterSet", "ISO_IR 192")
    assert first.charset == second.charset == ("ISO_IR 192",)
    assert second.PatientName == "Müller"


def test_tags_read_resolves_ambiguous_vrs_as_a_full_read():
    data = part10(element(0x00280103, "US", b"\1\0") + element(0x00280106, "UN", b"\xff\xff"))
    full = rawdicom.read(data)
    part = rawdicom.read(data, tags=["SmallestImagePixelValue"])
    assert (full["SmallestImagePixelValue"].vr, full.SmallestImagePixelValue) == ("SS", -1)
    assert (part["SmallestImagePixelValue"].vr, part.SmallestImagePixelValue) == ("SS", -1)
    assert part.keys() == [0x00280106]


@pytest.mark.parametrize("data", [
    part10(sequence(0x00081115, [b""] * 2000)),
    part10(sequence(0x00081115, [b""] * 2000, undefined=False)),
    part10(encapsulated([b""] * 2000), JPEG_BASELINE),
], ids=["items", "lazy items", "fragments"])
def test_items_and_fragments_count_against_max_elements(data):
    with pytest.raises(rawdicom.LimitExceededError, match="more than 1000 elements"):
        ds = rawdicom.read(data, limits=rawdicom.Limits(max_elements=1000))
        for _ in ds.walk():
            pass


def test_lut_descriptor_entry_count_and_bits_are_unsigned():
    """PS3.3 C.11.1.1.1: only the first mapped value follows Pixel Representation."""
    implicit = lambda tag, vr, value: element(tag, vr, value, explicit=False)  # noqa: E731
    lut = (implicit(0x00283002, "SS", struct.pack("<Hhh", 40000, -100, 16))
           + implicit(0x00283006, "OW", b"\0\0" * 4))
    data = part10(implicit(0x00280103, "US", b"\1\0") + sequence(0x00283000, [lut], explicit=False),
                  IMPLICIT_LE)
    item_ = rawdicom.read(data).ModalityLUTSequence[0]
    assert item_["LUTDescriptor"].vr == "US" and item_.LUTDescriptor == [40000, 65436, 16]


def test_an_undefined_length_meta_element_does_not_swallow_the_dataset():
    meta = (element(0x00020001, "OB", b"\0\1") + element(0x00020010, "UI", uid(EXPLICIT_LE))
            + element(0x00020100, "UN", item(b""), length=UNDEFINED) + sequence_delimiter())
    ds = rawdicom.read(b"\0" * 128 + b"DICM" + meta + element(0x00100010, "PN", txt("Doe^John")))
    assert ds.keys() == [0x00100010]
    assert 0x00020100 in ds.file_meta


def test_strict_decode_errors_from_the_context_name_tag_and_offset():
    from rawdicom import values

    implicit = lambda tag, vr, value: element(tag, vr, value, explicit=False)  # noqa: E731
    data = part10(implicit(0x00280103, "US", b"\1\0\0") + implicit(0x00280106, "US", b"\1\0"),
                  IMPLICIT_LE)
    values.set_strict(True)
    try:
        with pytest.raises(rawdicom.ValueDecodeError) as info:
            rawdicom.read(data)["SmallestImagePixelValue"].vr
    finally:
        values.set_strict(False)
    assert info.value.tag == 0x00280103 and info.value.offset is not None


def test_a_mutable_source_is_copied_and_an_mmap_read_whole():
    import mmap
    import tempfile

    data = bytearray(part10(element(0x00100010, "PN", txt("Doe^John"))
                            + element(0x00100020, "LO", txt("ID1"))))
    ds = rawdicom.read(data)
    data[data.index(b"ID1")] = ord("X")
    data.extend(b"\0\0")  # the caller may still resize it
    assert ds.PatientID == "ID1"
    with tempfile.TemporaryFile() as f:
        f.write(bytes(data[:-2]))
        f.flush()
        with mmap.mmap(f.fileno(), 0) as mapped:
            mapped.seek(100)
            assert rawdicom.read(mapped).PatientName == "Doe^John"


def test_inflate_ends_when_the_deflate_stream_ends_before_its_input():
    """A deflate stream followed by more bytes: inflation stops at the stream's end."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = element(0x00100010, "PN", txt("Doe^John"))
    data = part10(packer.compress(body) + packer.flush() + b"trailing bytes", DEFLATED)
    assert rawdicom.read(data).PatientName == "Doe^John"
