"""Bad input: every case of issue 3's list, each ending in a specific DicomError
subclass naming the offset and the tag, or in the documented lenient result.

The lenient policy (scanner.py): where the *data ends early* (a length, a
header or a sequence cut by the end of the file) the header read so far is
returned with a DicomWarning, and an element whose value was cut raises
TruncatedError when its value is used.  A length that runs past the end of
its enclosing item (not the end of the data) is an error.
"""

from __future__ import annotations

import struct
import time
import tracemalloc
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rawdicom
from rawdicom import (DicomError, DicomWarning, LimitExceededError, Limits,
                      MalformedElementError, NotDicomError, TruncatedError)
from rawdicom.errors import format_tag
from builders import (DEFLATED, EXPLICIT_BE, EXPLICIT_LE, IMPLICIT_LE, JPEG_BASELINE, UNDEFINED,
                      deflate, element, encapsulated, item, item_delimiter, part10, sequence,
                      sequence_delimiter, small_dataset, txt, us)

CT = element(0x00080060, "CS", txt("CT"))
NAME = element(0x00100010, "PN", txt("Doe^John"))


def names(error: DicomError, tag: int | None) -> None:
    """The message names the offset (0x..) and, when given, the tag."""
    text = str(error)
    assert "at offset 0x" in text, text
    assert error.offset is not None
    if tag is not None:
        assert format_tag(tag) in text, text
        assert error.tag == tag


def warned(record, fragment: str) -> str:
    messages = [str(w.message) for w in record if issubclass(w.category, DicomWarning)]
    found = [m for m in messages if fragment in m]
    assert found, messages
    return found[0]


# -- a value length past the end ---------------------------------------------------------
def test_length_past_end_of_data_is_lenient():
    data = part10(CT + element(0x00100010, "PN", b"Doe^", length=100))
    with pytest.warns(DicomWarning) as record:
        ds = rawdicom.read(data)
    message = warned(record, "cut short")
    assert "(0010,0010)" in message and "offset 0x" in message
    assert ds.Modality == "CT"
    el = ds["PatientName"]
    assert el.length == 100
    with pytest.raises(TruncatedError) as info:
        el.value
    names(info.value, 0x00100010)
    with pytest.raises(TruncatedError):
        el.raw


def test_length_past_end_of_item_is_an_error():
    inner = element(0x00080100, "SH", b"AB", length=100) + element(0x00080102, "SH", txt("B"))
    data = part10(sequence(0x00081032, [inner], undefined=False) + NAME)
    ds = rawdicom.read(data)  # defined-length sequences are parsed on first use
    assert ds.PatientName == "Doe^John"
    with pytest.raises(TruncatedError) as info:
        ds.ProcedureCodeSequence
    names(info.value, 0x00080100)
    assert "100" in str(info.value)


def test_length_past_end_of_undefined_item_inside_defined_sequence():
    inner = element(0x00080100, "SH", b"AB", length=100)
    data = part10(element(0x00081032, "SQ", item(inner, length=len(inner))
                          + b"\0" * 4) + NAME)
    ds = rawdicom.read(data)
    with pytest.raises(TruncatedError) as info:
        ds.ProcedureCodeSequence
    names(info.value, 0x00080100)


def test_item_length_past_end_of_sequence_is_an_error():
    body = item(CT, length=100)  # item claims 100 bytes, sequence holds 18
    data = part10(element(0x00081032, "SQ", body) + NAME)
    ds = rawdicom.read(data)
    with pytest.raises(TruncatedError) as info:
        ds.ProcedureCodeSequence
    names(info.value, 0x00081032)


# -- odd lengths ---------------------------------------------------------------------------
def test_odd_length_warns_and_reads():
    data = part10(CT + element(0x00100010, "PN", b"Doe") + element(0x00100020, "LO", b"ID7"))
    with pytest.warns(DicomWarning) as record:
        ds = rawdicom.read(data)
    assert "(0010,0010)" in warned(record, "odd value length 3")
    assert ds.PatientName == "Doe" and ds.PatientID == "ID7"


def test_odd_length_ob_is_silent():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = rawdicom.read(part10(NAME + element(0x00420011, "OB", b"abc")))
    assert ds[0x00420011].value == b"abc" and ds.PatientName == "Doe^John"


# -- truncation ------------------------------------------------------------------------------
@pytest.mark.parametrize("cut", [1, 4, 7])
def test_truncated_short_header(cut):
    data = part10(CT + NAME[:cut])
    with pytest.warns(DicomWarning, match="ends inside an element header"):
        ds = rawdicom.read(data)
    assert ds.keys() == [0x00080060]


@pytest.mark.parametrize("cut", [8, 10, 11])
def test_truncated_long_header(cut):
    data = part10(CT + element(0x00420011, "OB", b"abcd")[:cut])
    with pytest.warns(DicomWarning, match="ends inside an element header"):
        ds = rawdicom.read(data)
    assert ds.keys() == [0x00080060]


def test_truncated_header_inside_a_defined_item_is_an_error():
    inner = CT + NAME[:5]
    data = part10(sequence(0x00081032, [inner], undefined=False) + NAME)
    ds = rawdicom.read(data)
    with pytest.raises(TruncatedError) as info:
        ds.ProcedureCodeSequence
    assert "offset 0x" in str(info.value)


@pytest.mark.parametrize("undefined,cut", [(True, 9), (False, 1)])
def test_truncated_inside_a_sequence_keeps_items_read(undefined, cut):
    a = element(0x00080100, "SH", txt("A"))
    b = element(0x00080100, "SH", txt("B"))
    seq = sequence(0x00081032, [a, b], undefined=undefined)
    data = part10(CT + seq[:-cut])  # cut inside the second item's value
    with pytest.warns(DicomWarning):
        ds = rawdicom.read(data)
        items = ds.ProcedureCodeSequence
    assert ds.Modality == "CT"
    assert items[0].CodeValue == "A"
    assert len(items) == 2
    with pytest.raises(TruncatedError) as info:
        items[1].CodeValue
    names(info.value, 0x00080100)


def test_truncated_inside_an_item_header_keeps_items_read():
    seq = sequence(0x00081032, [element(0x00080100, "SH", txt("A"))] * 2, undefined=False)
    with pytest.warns(DicomWarning) as record:
        ds = rawdicom.read(part10(CT + seq[:-14]))
        assert [i.CodeValue for i in ds.ProcedureCodeSequence] == ["A"]
    warned(record, "ends inside an item header")


def test_truncated_in_native_pixel_data_returns_header():
    data = part10(small_dataset() + element(0x7FE00010, "OW", b"\1\0" * 512)[:200])
    with pytest.warns(DicomWarning, match="cut short"):
        ds = rawdicom.read(data)
    assert ds.Rows == 2 and ds.Modality == "OT"
    el = ds["PixelData"]
    assert el.length == 1024
    for use in (lambda: el.raw, lambda: el.value):
        with pytest.raises(TruncatedError) as info:
            use()
        names(info.value, 0x7FE00010)


def test_truncated_in_encapsulated_pixel_data_returns_header():
    data = part10(small_dataset() + encapsulated([b"\xff\xd8\xff\xdb" * 20])[:60], JPEG_BASELINE)
    with pytest.warns(DicomWarning):
        ds = rawdicom.read(data)
    assert ds.Rows == 2
    for use in (lambda: ds["PixelData"].raw, lambda: ds["PixelData"].value):
        with pytest.raises(TruncatedError) as info:
            use()
        names(info.value, 0x7FE00010)


def test_encapsulated_pixel_data_without_delimiter():
    # the fragments end with the file: read (test_lenient.py)
    data = part10(small_dataset() + encapsulated([b"\xff\xd8\xff\xdb"], delimiter=False),
                  JPEG_BASELINE)
    with pytest.warns(DicomWarning, match="without a Sequence Delimitation Item"):
        ds = rawdicom.read(data)
    assert [bytes(f) for f in ds["PixelData"].encapsulated.fragments] == [b"\xff\xd8\xff\xdb"]


def test_encapsulated_pixel_data_with_a_stray_element():
    body = (element(0x7FE00010, "OB", length=UNDEFINED) + item(b"") + CT)
    with pytest.warns(DicomWarning):
        ds = rawdicom.read(part10(small_dataset()[:-10] + body, JPEG_BASELINE))
    with pytest.raises(MalformedElementError) as info:
        ds["PixelData"].raw
    names(info.value, 0x7FE00010)


def test_encapsulated_pixel_data_written_with_vr_sq_is_bytes():
    # found by the fuzzer: undefined-length Pixel Data whose explicit VR says SQ was
    # kept as "SQ" with a bytes value, and walk() iterated the bytes as items
    body = small_dataset() + encapsulated([b"\xff\xd8\xff\xdb"], vr="SQ")
    ds = rawdicom.read(part10(body, JPEG_BASELINE))
    assert ds["PixelData"].vr == "OB"
    assert [bytes(f) for f in ds["PixelData"].encapsulated.fragments] == [b"\xff\xd8\xff\xdb"]
    assert [el.tag for _, el in ds.walk()][-1] == 0x7FE00010


# -- items and delimiters ----------------------------------------------------------------------
def test_undefined_item_without_item_delimiter_before_sequence_delimiter():
    data = part10(element(0x00081032, "SQ", length=UNDEFINED)
                  + item(b"", length=UNDEFINED) + element(0x00080100, "SH", txt("A"))
                  + sequence_delimiter() + NAME)
    with pytest.warns(DicomWarning, match="without its Item Delimitation Item"):
        ds = rawdicom.read(data)
    assert ds.ProcedureCodeSequence[0].CodeValue == "A"
    assert ds.PatientName == "Doe^John"


def test_undefined_item_without_any_delimiter_at_end_of_data():
    data = part10(element(0x00081032, "SQ", length=UNDEFINED)
                  + item(b"", length=UNDEFINED) + element(0x00080100, "SH", txt("A")))
    with pytest.warns(DicomWarning, match="no (Item|Sequence) Delimitation Item"):
        ds = rawdicom.read(data)
    assert ds.ProcedureCodeSequence[0].CodeValue == "A"


def test_item_delimiter_without_item_in_dataset():
    with pytest.warns(DicomWarning, match="Item Delimitation Item outside"):
        ds = rawdicom.read(part10(CT + item_delimiter() + NAME))
    assert ds.keys() == [0x00080060, 0x00100010]


def test_sequence_delimiter_without_sequence():
    with pytest.warns(DicomWarning, match="Sequence Delimitation Item outside"):
        ds = rawdicom.read(part10(CT + sequence_delimiter() + NAME))
    assert ds.keys() == [0x00080060, 0x00100010]


def test_item_delimiter_without_item_in_sequence():
    data = part10(element(0x00081032, "SQ", length=UNDEFINED) + item_delimiter()
                  + item(element(0x00080100, "SH", txt("A"))) + sequence_delimiter() + NAME)
    with pytest.warns(DicomWarning, match="without an item"):
        ds = rawdicom.read(data)
    assert [i.CodeValue for i in ds.ProcedureCodeSequence] == ["A"]
    assert ds.PatientName == "Doe^John"


def test_item_tag_where_an_element_belongs_is_skipped():
    # as dcmtk and GDCM do (more cases in test_lenient.py)
    with pytest.warns(DicomWarning, match="outside any sequence") as record:
        ds = rawdicom.read(part10(CT + item(NAME) + NAME))
    assert ds.keys() == [0x00080060, 0x00100010]
    assert "(FFFE,E000) at offset 0x" in warned(record, "outside any sequence")


def test_element_instead_of_item_in_sequence_is_an_error():
    data = part10(element(0x00081032, "SQ", length=UNDEFINED) + NAME + sequence_delimiter())
    with pytest.raises(MalformedElementError) as info:
        rawdicom.read(data)
    names(info.value, 0x00081032)


# -- nesting ----------------------------------------------------------------------------------------
def _nested(depth: int, undefined: bool) -> bytes:
    data = element(0x00080100, "SH", txt("A"))
    for _ in range(depth):
        data = sequence(0x00081032, [data], undefined=undefined, undefined_items=undefined)
    return data


def test_sequence_nested_10000_deep_undefined():
    data = part10(_nested(10_000, True))
    start = time.perf_counter()
    with pytest.raises(LimitExceededError) as info:
        rawdicom.read(data)
    assert time.perf_counter() - start < 2
    names(info.value, 0x00081032)
    assert "nested deeper than" in str(info.value)


def test_sequence_nested_10000_deep_defined():
    data = part10(_nested(10_000, False) + NAME)
    start = time.perf_counter()
    ds = rawdicom.read(data)  # defined lengths: items are parsed on first use
    assert ds.PatientName == "Doe^John"
    with pytest.raises(LimitExceededError) as info:
        for _ in ds.walk():
            pass
    assert time.perf_counter() - start < 2
    names(info.value, 0x00081032)


def test_nesting_within_the_limit_is_fine():
    ds = rawdicom.read(part10(_nested(30, True)))
    depth = max(d for d, _ in ds.walk())
    assert depth == 30
    with pytest.raises(LimitExceededError):
        rawdicom.read(part10(_nested(30, True)), limits=Limits(max_depth=10))


# -- huge lengths --------------------------------------------------------------------------------
@pytest.mark.parametrize("vr,tag", [("UT", 0x0008030E),
                                    ("OB", 0x7FE00010), ("SQ", 0x00081032)])
def test_huge_length_in_a_small_file_allocates_nothing(vr, tag):
    data = part10(CT + element(tag, vr, b"\0" * 8, length=0xFFFFFFF0))
    data += b"\0" * (200 - len(data)) if len(data) < 200 else b""
    tracemalloc.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = rawdicom.read(data)
            try:
                for _, el in ds.walk():
                    el.value
            except DicomError:
                pass
            try:
                ds[tag].raw
            except DicomError as exc:
                names(exc, tag)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20, peak
    assert ds.Modality == "CT"


def test_huge_length_in_implicit_stream():
    data = part10(element(0x00080060, "CS", txt("CT"), explicit=False)
                  + element(0x00100010, "PN", b"", explicit=False, length=0xFFFFFFF0),
                  IMPLICIT_LE)
    with pytest.warns(DicomWarning, match="cut short"):
        ds = rawdicom.read(data)
    with pytest.raises(TruncatedError) as info:
        ds.PatientName
    names(info.value, 0x00100010)


def test_element_count_limit():
    data = part10(b"".join(element(0x00090010 + i, "LO", b"ab") for i in range(50)))
    with pytest.raises(LimitExceededError) as info:
        rawdicom.read(data, limits=Limits(max_elements=20))
    assert "offset 0x" in str(info.value)


# -- deflate ------------------------------------------------------------------------------------------
def test_deflate_bomb_small_limit():
    bomb = deflate(element(0x00420011, "OB", b"\0" * (4 << 20)))
    assert len(bomb) < 10_000
    data = part10(bomb, DEFLATED)
    with pytest.raises(LimitExceededError) as info:
        rawdicom.read(data, limits=Limits(max_inflated_size=1 << 20))
    names(info.value, None)
    assert "inflates past" in str(info.value)


def test_deflate_bomb_memory_is_bounded_by_the_cap():
    bomb = deflate(element(0x00420011, "OB", b"\0" * (64 << 20)))
    data = part10(bomb, DEFLATED)
    cap = 2 << 20
    tracemalloc.start()
    try:
        with pytest.raises(LimitExceededError):
            rawdicom.read(data, limits=Limits(max_inflated_size=cap))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3 * cap


def test_deflate_within_the_limit():
    data = part10(deflate(small_dataset()), DEFLATED)
    assert rawdicom.read(data, limits=Limits(max_inflated_size=len(small_dataset()))).Rows == 2
    with pytest.raises(LimitExceededError):
        rawdicom.read(data, limits=Limits(max_inflated_size=len(small_dataset()) - 1))


def test_deflate_garbage_is_malformed():
    with pytest.raises(MalformedElementError) as info:
        rawdicom.read(part10(b"\xff\xfe not deflate at all", DEFLATED))
    names(info.value, None)


def test_deflate_truncated_stream():
    data = part10(deflate(small_dataset() + NAME.replace(b"\x10\x00\x10\x00", b"\x10\x00\x20\x00"))
                  [:-6], DEFLATED)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = rawdicom.read(data)
            [el.value for _, el in ds.walk()]
    except DicomError as exc:
        assert "offset 0x" in str(exc)


# -- order and duplicates ---------------------------------------------------------------------------
def test_tags_out_of_order_warn_and_sort():
    data = part10(NAME + CT + element(0x00200013, "IS", txt("3")))
    with pytest.warns(DicomWarning, match="not in ascending tag order"):
        ds = rawdicom.read(data)
    assert ds.keys() == [0x00080060, 0x00100010, 0x00200013]
    assert ds.PatientName == "Doe^John" and ds.InstanceNumber == 3


def test_tags_out_of_order_inside_an_item():
    data = part10(sequence(0x00081032, [element(0x00080104, "LO", txt("M"))
                                        + element(0x00080100, "SH", txt("A"))]))
    with pytest.warns(DicomWarning, match="not in ascending tag order"):
        ds = rawdicom.read(data)
        first = ds.ProcedureCodeSequence[0]
    assert first.keys() == [0x00080100, 0x00080104]


def test_duplicate_tags_first_kept():
    data = part10(CT + element(0x00080060, "CS", txt("MR")) + NAME
                  + element(0x00100010, "PN", txt("Other")))
    with pytest.warns(DicomWarning) as record:
        ds = rawdicom.read(data)
    assert "(0008,0060)" in warned(record, "duplicate")
    assert ds.keys() == [0x00080060, 0x00100010]
    assert ds.Modality == "CT" and ds.PatientName == "Doe^John"


def test_duplicate_out_of_order_first_kept():
    data = part10(NAME + CT + element(0x00100010, "PN", txt("Other")))
    with pytest.warns(DicomWarning):
        ds = rawdicom.read(data)
    assert ds.keys() == [0x00080060, 0x00100010]
    assert ds.PatientName == "Doe^John"


# -- invalid VR ------------------------------------------------------------------------------------
def test_invalid_vr_falls_back_to_implicit():
    # an implicit element in an explicit stream: bytes 4-7 are a 32-bit length
    data = part10(CT + element(0x00100010, "PN", b"Doe^", explicit=False)
                  + element(0x00100020, "LO", txt("ID")))
    with pytest.warns(DicomWarning) as record:
        ds = rawdicom.read(data)
    assert "(0010,0010)" in warned(record, "invalid VR")
    assert ds["PatientName"].vr == "PN" and ds.PatientName == "Doe^"
    assert ds.PatientID == "ID"


def test_invalid_vr_code_that_parses_neither_way_is_an_error():
    # "??" + a 2-byte length that runs past the item; read as implicit VR, a 32-bit length
    # that does too -> error
    inner = element(0x00100010, "??", b"Doe^", length=40) + element(0x00100020, "LO", txt("ID"))
    data = part10(sequence(0x00081032, [inner], undefined=False) + NAME.replace(b"\x10\x00", b"\x20\x00", 1))
    with pytest.warns(DicomWarning, match="invalid VR"):
        ds = rawdicom.read(data)
        with pytest.raises(TruncatedError) as info:
            ds.ProcedureCodeSequence
    names(info.value, 0x00100010)


def test_invalid_vr_at_the_end_of_the_data_is_lenient():
    data = part10(CT + element(0x00100010, "??", b"Doe^", length=40))
    with pytest.warns(DicomWarning) as record:
        ds = rawdicom.read(data)
    warned(record, "invalid VR")
    warned(record, "cut short")
    with pytest.raises(TruncatedError):
        ds.PatientName


def test_specific_character_set_with_embedded_nul():
    # found by the fuzzer: codecs.lookup() raises ValueError on a NUL inside the term
    data = part10(element(0x00080005, "CS", b"X\0Y ") + NAME)
    with pytest.warns(DicomWarning, match="unknown Specific Character Set"):
        ds = rawdicom.read(data)
        assert ds.PatientName == "Doe^John"


@pytest.mark.parametrize("vr,value", [("US", b"\x01\x00"), ("LO", txt("ISO_IR 100")),
                                      ("PN", txt("ISO_IR 192")), ("OB", b"\xff\xfe")])
def test_specific_character_set_with_a_wrong_vr(vr, value):
    # found by the fuzzer: (0008,0005) with a charset-affected VR recursed into itself
    # (RecursionError), with a binary VR gave codecs_for() an int (TypeError)
    data = part10(element(0x00080005, vr, value) + element(0x00100010, "PN", "Müller".encode("latin-1")))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = rawdicom.read(data)
        assert ds["SpecificCharacterSet"].value is not None
        assert ds.PatientName in ("Müller", "M\ufffdller", "M\\xfcller")
        str(ds)


# -- not DICOM -----------------------------------------------------------------------------------
@pytest.mark.parametrize("data", [b"", b"\x89PNG\r\n\x1a\n" + b"\0" * 100, b"just text\n" * 30,
                                  b"\xff" * 300])
def test_not_dicom(data):
    with pytest.raises(NotDicomError) as info:
        rawdicom.read(data)
    names(info.value, None)


# -- property tests: any bytes -> Dataset or DicomError ---------------------------------------------
def touch(ds) -> None:
    """Use every element's value, recursively, the way a careless caller would."""
    def visit(d, level):
        for el in list(d):
            for attr in ("vr", "keyword", "name", "length"):
                getattr(el, attr)
            try:
                value = el.value
                el.vm
                el.raw
            except DicomError:
                continue
            if el.encapsulated is not None:
                try:
                    el.encapsulated.fragments
                    el.encapsulated.basic_offset_table
                    el.encapsulated.frames(1)
                except DicomError:
                    pass
            if isinstance(value, list) and value and isinstance(value[0], rawdicom.Dataset):
                for item_ds in value:
                    visit(item_ds, level + 1)
    visit(ds, 0)
    if ds.file_meta is not None:
        visit(ds.file_meta, 0)
    try:
        for _ in ds.walk():
            pass
    except DicomError:
        pass
    try:
        str(ds)
    except DicomError:
        pass


def read_and_touch(data: bytes) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ds = rawdicom.read(data)
        except DicomError as exc:
            if exc.partial is not None:  # what was read before the defect is usable too
                touch(exc.partial)
            return
        touch(ds)


def _seed_files() -> list[bytes]:
    a = element(0x00080100, "SH", txt("A"))
    lut = (element(0x00283002, "US", us(2, 0, 16), explicit=False)
           + element(0x00283006, "US", us(10, 20), explicit=False))
    rich = (element(0x00080005, "CS", txt("ISO_IR 100")) + small_dataset()[:-10]
            + element(0x00081032, "SQ", length=UNDEFINED) + item(a, undefined=True)
            + item(sequence(0x00081140, [a], undefined=False)) + sequence_delimiter()
            + element(0x00090010, "LO", txt("ACME")) + element(0x00091001, "UN", length=UNDEFINED)
            + item(element(0x00080100, "SH", txt("B"), explicit=False)) + sequence_delimiter()
            + element(0x00280010, "US", us(2)) + element(0x00280030, "DS", txt("0.5\\0.5"))
            + element(0x00280103, "US", us(1)) + element(0x00281050, "DS", txt("40")))
    implicit = (element(0x00080060, "CS", txt("CT"), explicit=False)
                + element(0x00280103, "US", us(1), explicit=False)
                + element(0x00280106, "US", b"\xff\xff", explicit=False)
                + sequence(0x00283010, [lut], explicit=False)
                + element(0x7FE00010, "OW", b"\0\1" * 8, explicit=False))
    return [
        part10(rich + element(0x7FE00010, "OW", b"\0\1" * 8)),
        part10(implicit, IMPLICIT_LE, preamble=False),
        part10(small_dataset(little=False) + sequence(0x00081032, [b""], little=False),
               EXPLICIT_BE),
        part10(deflate(rich), DEFLATED),
        part10(small_dataset() + encapsulated([b"\xff\xd8\xff\xdb1", b"\xff\xd8\xff\xdb2"],
                                              [0, 14]), JPEG_BASELINE),
        implicit,
        small_dataset(),
    ]


SEEDS = _seed_files()


def test_seed_files_read():
    for data in SEEDS:
        read_and_touch(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600))
def test_arbitrary_bytes(data):
    read_and_touch(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_arbitrary_bytes_after_dicm(data):
    read_and_touch(b"\0" * 128 + b"DICM" + data)
    read_and_touch(part10(data, EXPLICIT_LE, preamble=False))


@settings(max_examples=700, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_valid_files(data):
    seed = bytearray(data.draw(st.sampled_from(SEEDS)))
    for _ in range(data.draw(st.integers(1, 6))):
        kind = data.draw(st.sampled_from(["byte", "word", "cut", "insert", "delete", "length"]))
        pos = data.draw(st.integers(0, max(0, len(seed) - 1)))
        if kind == "byte" and seed:
            seed[pos] = data.draw(st.integers(0, 255))
        elif kind == "word":
            seed[pos:pos + 4] = data.draw(st.sampled_from(
                [b"\xff\xff\xff\xff", b"\xf0\xff\xff\xff", b"\xfe\xff\x00\xe0", b"\xfe\xff\xdd\xe0",
                 b"\xfe\xff\x0d\xe0", b"SQ\0\0", b"UN\0\0", b"OB\0\0", b"\x01\x00\x00\x00"]))
        elif kind == "cut":
            del seed[pos:]
        elif kind == "insert":
            seed[pos:pos] = data.draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del seed[pos:pos + data.draw(st.integers(1, 16))]
        elif kind == "length":
            seed[pos:pos + 2] = struct.pack("<H", data.draw(st.integers(0, 0xFFFF)))
    read_and_touch(bytes(seed))


def test_mutations_of_the_example_file_do_not_escape():
    example = (Path(rawdicom.__file__).parent / "examples" / "ct_phantom.dcm").read_bytes()
    header_end = example.find(b"\xe0\x7f\x10\x00")
    header = example[:header_end if header_end > 0 else 4096]
    for cut in range(132, len(header), 7):
        read_and_touch(header[:cut])
    for pos in range(132, len(header), 11):
        for value in (0x00, 0xFF, 0x80):
            mutated = bytearray(header)
            mutated[pos] = value
            read_and_touch(bytes(mutated))
