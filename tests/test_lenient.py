"""Lenient readings that real files need (issue 12, item 5), each built from its bytes.

Each case is read by dcmtk or GDCM and failed (or lost data) in rawdicom before: an
explicit VR element whose VR bytes are no VR, a meta-less dataset whose bytes 128-131
read "DICM", a stray item outside any sequence, encapsulated pixel data without its
Sequence Delimitation Item at the end of the file.  Every one is read with a
DicomWarning naming the offset.  And every error raised while reading carries
``.partial``, the dataset read before the defect.
"""

from __future__ import annotations

import struct
import warnings

import pytest

import rawdicom
from rawdicom import (DicomError, DicomWarning, LimitExceededError, Limits,
                      MalformedElementError, NotDicomError, TruncatedError)
from builders import (EXPLICIT_BE, EXPLICIT_LE, IMPLICIT_LE, UNDEFINED, element, encapsulated,
                      item, part10, sequence, sequence_delimiter, small_dataset, tag_bytes, txt,
                      uid, us)

CT = element(0x00080060, "CS", txt("CT"))
NAME = element(0x00100010, "PN", txt("Doe^John"))
PATIENT_ID = element(0x00100020, "LO", txt("ID7"))
STUDY_ID = element(0x00200010, "SH", txt("S1"))
START = len(part10(b""))  # where the dataset starts in part10(...)


def read(data: bytes, **kwargs) -> tuple[rawdicom.Dataset, list[str]]:
    """The dataset and the DicomWarning messages of reading it."""
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        ds = rawdicom.read(data, **kwargs)
    return ds, [str(w.message) for w in record if issubclass(w.category, DicomWarning)]


def one(messages: list[str], fragment: str) -> str:
    found = [m for m in messages if fragment in m]
    assert found, messages
    return found[0]


# -- an explicit VR element whose VR bytes are not a VR ---------------------------------------
@pytest.mark.parametrize("code", ["  ", "\0\0", "??", "x1"])
def test_invalid_vr_with_a_2_byte_length_is_read_as_dcmtk_does(code):
    # Read as implicit VR, "  " + 2-byte length 8 is the 32-bit length 0x00082020: past the
    # end, so every element after it was lost
    data = part10(CT + element(0x00100010, code, txt("Doe^John")) + PATIENT_ID + STUDY_ID)
    ds, messages = read(data)
    assert ds.keys() == [0x00080060, 0x00100010, 0x00100020, 0x00200010]
    assert ds["PatientName"].vr == "PN" and ds.PatientName == "Doe^John"
    assert ds.PatientID == "ID7" and ds.StudyID == "S1"
    message = one(messages, "invalid VR")
    assert f"(0010,0010) at offset 0x{START + len(CT):X}" in message
    assert "2-byte length" in message and "PN" in message


def test_invalid_vr_of_an_unknown_tag_is_un():
    data = part10(CT + element(0x00091001, "\0\0", b"\1\2\3\4") + NAME)
    ds, _ = read(data)
    assert ds[0x00091001].vr == "UN" and ds[0x00091001].value == b"\1\2\3\4"
    assert ds.PatientName == "Doe^John"


def test_invalid_vr_in_several_elements_in_a_row():
    # The next element's VR bytes are not a VR either, but they are the same bytes
    data = part10(CT + element(0x00100010, "\0\0", txt("Doe^John"))
                  + element(0x00100020, "\0\0", txt("ID7")) + STUDY_ID)
    ds, messages = read(data)
    assert (ds.PatientName, ds.PatientID, ds.StudyID) == ("Doe^John", "ID7", "S1")
    assert len([m for m in messages if "invalid VR" in m]) == 2


def test_invalid_vr_as_the_last_element():
    ds, messages = read(part10(CT + element(0x00100010, "  ", b"Doe^")))
    assert ds.PatientName == "Doe^"
    one(messages, "2-byte length")


def test_invalid_vr_as_the_first_element_keeps_the_stream_explicit():
    # reader._check_encoding: the first element decides implicit vs explicit; a 2-byte
    # reading that leads to a well-formed element keeps the declared explicit VR
    data = part10(element(0x00080005, "  ", txt("ISO_IR 100")) + CT + NAME)
    ds, messages = read(data)
    assert ds.explicit_vr
    assert (ds.SpecificCharacterSet, ds.Modality, ds.PatientName) == ("ISO_IR 100", "CT",
                                                                      "Doe^John")
    assert not [m for m in messages if "read as written" in m]


def test_invalid_vr_inside_a_sequence_item():
    inner = element(0x00080100, "  ", txt("A1")) + element(0x00080104, "LO", txt("Meaning"))
    data = part10(sequence(0x00081032, [inner], undefined=False) + NAME)
    ds, messages = read(data)
    with pytest.warns(DicomWarning, match="invalid VR"):
        code = ds.ProcedureCodeSequence[0]
    assert (code.CodeValue, code.CodeMeaning) == ("A1", "Meaning")
    assert ds.PatientName == "Doe^John"


def test_invalid_vr_in_big_endian():
    data = part10(element(0x00080060, "CS", txt("CT"), little=False)
                  + element(0x00280010, "  ", us(512, little=False), little=False)
                  + element(0x00280011, "US", us(256, little=False), little=False), EXPLICIT_BE)
    ds, _ = read(data)
    assert (ds.Rows, ds.Columns) == (512, 256)


def test_unknown_capital_letter_vr_is_a_newer_vr_with_a_4_byte_length():
    # PS3.5 7.1.2: VRs defined later use the 4-byte length form (dcmtk reads them so)
    newer = tag_bytes(0x00091001) + b"ZZ\0\0" + struct.pack("<I", 4) + b"\1\2\3\4"
    ds, messages = read(part10(CT + newer + NAME))
    assert ds[0x00091001].value == b"\1\2\3\4" and ds.PatientName == "Doe^John"
    one(messages, "4-byte length")


def test_invalid_vr_that_only_implicit_vr_explains_is_read_as_implicit():
    # An implicit element in an explicit stream (a writer switching encodings): the 2-byte
    # reading leads nowhere, the implicit one to the next element
    data = part10(CT + element(0x00100010, "PN", txt("Doe^John"), explicit=False) + PATIENT_ID)
    ds, messages = read(data)
    assert ds.PatientName == "Doe^John" and ds.PatientID == "ID7"
    one(messages, "read as implicit VR")


def test_a_stream_that_is_implicit_throughout_is_still_read_as_implicit():
    implicit = b"".join(element(t, vr, v, explicit=False) for t, vr, v in [
        (0x00080005, "CS", txt("ISO_IR 100")), (0x00080060, "CS", txt("CT")),
        (0x00100010, "PN", txt("Doe^John")), (0x00100020, "LO", txt("ID7"))])
    ds, messages = read(part10(implicit))  # the meta group says explicit VR
    assert not ds.explicit_vr
    assert ds.PatientName == "Doe^John" and ds.PatientID == "ID7"
    one(messages, "read as written")


# -- a meta-less dataset whose bytes 128-131 read DICM -----------------------------------------
def _dataset_with_dicm_at_128(explicit: bool) -> bytes:
    head = (element(0x00080005, "CS", txt("ISO_IR 100"), explicit=explicit)
            + element(0x00080060, "CS", txt("CT"), explicit=explicit))
    header = 8  # both forms of an LO header are 8 bytes
    filler = b"A" * (128 - len(head) - header)
    text = filler + b"DICM" + b"BB"  # the value runs past bytes 128-131
    data = (head + element(0x00081030, "LO", text, explicit=explicit)
            + element(0x00100010, "PN", txt("Doe^John"), explicit=explicit))
    assert data[128:132] == b"DICM"
    return data


@pytest.mark.parametrize("explicit", [True, False])
def test_dataset_whose_bytes_128_to_131_read_dicm_is_read_from_offset_0(explicit):
    ds, messages = read(_dataset_with_dicm_at_128(explicit))
    assert ds.preamble is None and not len(ds.file_meta)
    assert ds.explicit_vr is explicit
    assert ds.Modality == "CT" and ds.PatientName == "Doe^John"
    assert ds.StudyDescription.endswith("DICMBB")
    assert "offset 0x80" in one(messages, "'DICM'")


def test_preamble_dicm_and_a_dataset_without_meta_group_keeps_the_preamble():
    # What follows DICM is not group 0002, but the preamble is no dataset: DICM is the prefix
    ds, messages = read(b"\0" * 128 + b"DICM" + small_dataset())
    assert ds.preamble == b"\0" * 128
    assert ds.PatientName == "Doe^John"
    assert not [m for m in messages if "'DICM'" in m]


# -- a stray item outside any sequence -------------------------------------------------------
@pytest.mark.parametrize("explicit", [True, False])
@pytest.mark.parametrize("kind", ["empty", "with-a-length", "undefined-length"])
def test_stray_item_in_a_dataset_is_skipped(explicit, kind):
    def el(tag, vr, value):
        return element(tag, vr, value, explicit=explicit)
    content = el(0x00100020, "LO", txt("ID7"))
    stray = {"empty": item(b""), "with-a-length": item(content),
             "undefined-length": item(content, undefined=True)}[kind]
    syntax = EXPLICIT_LE if explicit else IMPLICIT_LE
    data = part10(el(0x00080060, "CS", txt("CT")) + stray + el(0x00100010, "PN", txt("Doe^John")),
                  syntax)
    ds, messages = read(data)
    assert ds.keys() == [0x00080060, 0x00100010]  # the item's own elements are dropped
    assert ds.PatientName == "Doe^John"
    message = one(messages, "outside any sequence")
    assert f"(FFFE,E000) at offset 0x{len(part10(b'', syntax)) + 10:X}" in message


def test_stray_item_delimiter_with_a_length_is_skipped():
    stray = tag_bytes(0xFFFEE00D) + struct.pack("<I", 0)
    ds, messages = read(part10(CT + stray + NAME))
    assert ds.keys() == [0x00080060, 0x00100010]
    one(messages, "Item Delimitation Item outside")


def test_items_left_over_after_a_sequence_ended_too_early():
    # A Sequence Delimitation Item where the first item's delimiter belonged: the second
    # item lands in the dataset around the sequence
    first = element(0x00080100, "SH", txt("A"))
    second = element(0x00080100, "SH", txt("B"))
    data = part10(element(0x00081032, "SQ", length=UNDEFINED)
                  + item(b"", length=UNDEFINED) + first + sequence_delimiter()
                  + item(second, undefined=True) + sequence_delimiter() + NAME)
    ds, messages = read(data)
    assert [i.CodeValue for i in ds.ProcedureCodeSequence] == ["A"]
    assert ds.PatientName == "Doe^John"
    one(messages, "outside any sequence")


def test_next_item_where_an_undefined_items_delimiter_belonged():
    data = part10(element(0x00081032, "SQ", length=UNDEFINED)
                  + item(b"", length=UNDEFINED) + element(0x00080100, "SH", txt("A"))
                  + item(element(0x00080100, "SH", txt("B")), undefined=True)
                  + sequence_delimiter() + NAME)
    ds, messages = read(data)
    assert [i.CodeValue for i in ds.ProcedureCodeSequence] == ["A", "B"]
    assert ds.PatientName == "Doe^John"
    one(messages, "before the next item")


def test_stray_item_inside_a_defined_length_item():
    inner = element(0x00080100, "SH", txt("A")) + item(b"") + element(0x00080104, "LO", txt("M"))
    ds, _ = read(part10(sequence(0x00081032, [inner], undefined=False) + NAME))
    with pytest.warns(DicomWarning, match="outside any sequence"):
        code = ds.ProcedureCodeSequence[0]
    assert (code.CodeValue, code.CodeMeaning) == ("A", "M")


def test_stray_item_whose_length_runs_past_the_end_skips_its_header():
    ds, messages = read(part10(CT + item(b"", length=1000) + NAME))
    assert ds.PatientName == "Doe^John"
    one(messages, "header skipped")


def test_stray_items_count_against_the_element_limit():
    with pytest.raises(LimitExceededError):
        rawdicom.read(part10(CT + item(b"") * 50), limits=Limits(max_elements=20))


def test_other_tags_of_group_fffe_are_still_an_error():
    with pytest.raises(MalformedElementError, match="reserved group FFFE"):
        rawdicom.read(part10(CT + tag_bytes(0xFFFE0001) + b"\0\0\0\0" + NAME))


# -- encapsulated Pixel Data without its Sequence Delimitation Item ------------------------------
ENCAPSULATED_UNCOMPRESSED = "1.2.840.10008.1.2.1.98"
IMAGE = (element(0x00280002, "US", us(1)) + element(0x00280004, "CS", txt("MONOCHROME2"))
         + element(0x00280008, "IS", txt("2")) + element(0x00280010, "US", us(2))
         + element(0x00280011, "US", us(2)) + element(0x00280100, "US", us(8))
         + element(0x00280101, "US", us(8)) + element(0x00280102, "US", us(7))
         + element(0x00280103, "US", us(0)))
FRAMES = [bytes([1, 2, 3, 4]), bytes([5, 6, 7, 8])]


def test_encapsulated_pixel_data_ending_with_the_file_without_delimiter_is_decoded():
    np = pytest.importorskip("numpy")
    data = part10(IMAGE + encapsulated(FRAMES, delimiter=False), ENCAPSULATED_UNCOMPRESSED)
    ds, messages = read(data)
    el = ds["PixelData"]
    assert [bytes(f) for f in el.encapsulated.fragments] == FRAMES
    message = one(messages, "without a Sequence Delimitation Item")
    assert f"offset 0x{len(data):X}" in message and "(7FE0,0010)" in message
    expected = np.array([[[1, 2], [3, 4]], [[5, 6], [7, 8]]], np.uint8)
    assert np.array_equal(rawdicom.pixel_array(ds), expected)
    with_delimiter = rawdicom.read(part10(IMAGE + encapsulated(FRAMES), ENCAPSULATED_UNCOMPRESSED))
    assert np.array_equal(rawdicom.pixel_array(with_delimiter), expected)


@pytest.mark.parametrize("cut", [1, 11], ids=["fragment", "fragment-header"])
def test_encapsulated_pixel_data_cut_short_is_still_an_error(cut):
    data = part10(IMAGE + encapsulated(FRAMES, delimiter=False), ENCAPSULATED_UNCOMPRESSED)
    ds, messages = read(data[:-cut])
    one(messages, "reading pixels will raise")
    with pytest.raises(TruncatedError) as info:
        ds["PixelData"].raw
    assert info.value.tag == 0x7FE00010 and "at offset 0x" in str(info.value)


def test_encapsulated_pixel_data_cut_between_fragments_lacks_frames():
    # Cut exactly after a whole fragment, the file looks like one whose delimiter is
    # missing: the fragments read, and the frame count tells that one is missing
    pytest.importorskip("numpy")
    data = part10(IMAGE + encapsulated(FRAMES, delimiter=False), ENCAPSULATED_UNCOMPRESSED)
    ds, _ = read(data[:-12])
    with pytest.raises(rawdicom.PixelDataError, match="2 frames"):
        rawdicom.pixel_array(ds)


def test_encapsulated_pixel_data_inside_an_item_still_needs_its_delimiter():
    icon = IMAGE + encapsulated(FRAMES[:1], delimiter=False)
    ds, _ = read(part10(sequence(0x00880200, [icon], undefined=False) + NAME,
                        ENCAPSULATED_UNCOMPRESSED))
    with pytest.warns(DicomWarning):
        pixels = ds.IconImageSequence[0]["PixelData"]
    with pytest.raises(TruncatedError):
        pixels.raw


# -- .partial on every error raised while reading ---------------------------------------------
def _partial(data: bytes, error: type[DicomError], **kwargs) -> rawdicom.Dataset | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(error) as info:
            rawdicom.read(data, **kwargs)
    assert "at offset 0x" in str(info.value)
    return info.value.partial


def test_partial_of_a_malformed_element():
    partial = _partial(part10(NAME + CT.replace(b"\x08\x00\x60\x00", b"\xfe\xff\x01\x00") + CT),
                       MalformedElementError)
    assert partial.keys() == [0x00100010] and partial.PatientName == "Doe^John"
    assert partial.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
    assert partial.transfer_syntax.uid == "1.2.840.10008.1.2.1"
    assert partial.preamble == b"\0" * 128


def test_partial_of_a_limit_exceeded():
    partial = _partial(part10(small_dataset()), LimitExceededError,
                       limits=Limits(max_elements=8))  # the meta group counts too
    full = rawdicom.read(part10(small_dataset()))
    assert 0 < len(partial) < len(full) and partial.keys() == full.keys()[:len(partial)]
    assert len(partial.file_meta) == len(full.file_meta)


def test_partial_of_an_error_inside_a_sequence_is_the_dataset_before_it():
    # an undefined-length sequence is parsed during the read: the error comes from inside it
    bad = element(0x00080100, "SH", txt("A")) + tag_bytes(0xFFFE0001) + b"\0\0\0\0"
    data = part10(CT + sequence(0x00081032, [bad]) + NAME)
    partial = _partial(data, MalformedElementError)
    assert partial.keys() == [0x00080060] and partial.Modality == "CT"


def test_partial_of_a_truncation_is_the_whole_dataset_read_so_far():
    # a value running past the end of its item (not of the data) in a sequence read eagerly
    cut = element(0x00080100, "SH", b"A", length=50)
    data = part10(CT + element(0x00081030, "LO", txt("Head")) + sequence(0x00081032, [cut])
                  + NAME)
    partial = _partial(data, TruncatedError)
    assert partial.keys() == [0x00080060, 0x00081030]  # the top dataset, not the item


def test_partial_of_an_error_after_the_meta_group_holds_the_meta_read():
    partial = _partial(part10(b"\xff" * 40, None), NotDicomError)
    assert partial is not None and not len(partial) and partial.transfer_syntax is None
    assert partial.file_meta.MediaStorageSOPInstanceUID == "1.2.3.4.5.6.7.8.9"


def test_partial_of_a_deflated_dataset():
    from builders import DEFLATED, deflate
    body = NAME + CT.replace(b"\x08\x00\x60\x00", b"\xfe\xff\x01\x00")
    partial = _partial(part10(deflate(body), DEFLATED), MalformedElementError)
    assert partial.PatientName == "Doe^John" and partial.transfer_syntax.deflated


def test_partial_keeps_only_the_tags_asked_for_and_in_order():
    data = part10(NAME + CT + PATIENT_ID + tag_bytes(0xFFFE0001) + b"\0\0\0\0" + STUDY_ID)
    partial = _partial(data, MalformedElementError)
    assert partial.keys() == [0x00080060, 0x00100010, 0x00100020]  # sorted
    partial = _partial(data, MalformedElementError, tags=["PatientID", "StudyID"])
    assert partial.keys() == [0x00100020]


def test_no_partial_where_nothing_was_read():
    assert _partial(b"just text\n" * 30, NotDicomError) is None
    assert _partial(b"\0" * 128 + b"DICM" + b"\xff" * 40, NotDicomError) is None


def test_partial_of_a_sequence_parsed_on_first_use_is_the_dataset_holding_it():
    inner = element(0x00080100, "SH", txt("A")) + tag_bytes(0xFFFE0001) + b"\0\0\0\0"
    ds, _ = read(part10(CT + sequence(0x00081032, [inner], undefined=False) + NAME))
    with pytest.raises(MalformedElementError) as info:
        ds.ProcedureCodeSequence
    assert info.value.partial is ds


def test_every_error_class_has_partial():
    for cls in (DicomError, NotDicomError, TruncatedError, MalformedElementError,
                LimitExceededError, rawdicom.UnsupportedTransferSyntaxError,
                rawdicom.ValueDecodeError, rawdicom.PixelDataError):
        assert cls("x").partial is None


def test_invalid_vr_in_the_meta_group(tmp_path):
    # the meta group's end is found by walking its headers (reader._meta_group_end): the
    # walk reads the element as the scanner does, and a header-only read stays a prefix read
    meta = (element(0x00020001, "OB", b"\0\1") + element(0x00020002, "\0\0", uid("1.2.3"))
            + element(0x00020010, "UI", uid("1.2.840.10008.1.2.1")))
    data = b"\0" * 128 + b"DICM" + meta + CT + NAME + element(0x7FE00010, "OW", bytes(20000))
    path = tmp_path / "meta.dcm"
    path.write_bytes(data)
    for ds, messages in (read(data), read(str(path), stop_before_pixels=True)):
        assert ds.file_meta.MediaStorageSOPClassUID == "1.2.3"
        assert ds.transfer_syntax.uid == "1.2.840.10008.1.2.1"
        assert ds.Modality == "CT" and ds.PatientName == "Doe^John"
        one(messages, "invalid VR")


@pytest.mark.parametrize("little", [True, False])
def test_invalid_vr_as_the_first_element_of_a_dataset_without_meta_group(little):
    # the encoding is detected from the first element (reader._detect_encoding)
    data = (element(0x00080005, "  ", txt("ISO_IR 100"), little=little)
            + element(0x00080060, "CS", txt("CT"), little=little)
            + element(0x00100010, "PN", txt("Doe^John"), little=little))
    ds, messages = read(data)
    assert ds.explicit_vr and ds.little_endian is little
    assert (ds.SpecificCharacterSet, ds.PatientName) == ("ISO_IR 100", "Doe^John")
    one(messages, "invalid VR")
