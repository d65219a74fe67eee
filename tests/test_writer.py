"""Writer unit tests: each shows the bytes the writer must produce, built with tests/builders."""

from __future__ import annotations

import io
import struct
import warnings
import zlib

import pytest

import rawdicom
from rawdicom import Dataset
from rawdicom.writer import IMPLEMENTATION_CLASS_UID, set_pixel_frames, to_bytes, write

from builders import (DEFLATED, EXPLICIT_BE, EXPLICIT_LE, IMPLICIT_LE, JPEG_BASELINE, element,
                       encapsulated, item, part10, sequence, small_dataset, tag_bytes, txt, uid,
                       ul, us)

CT = "1.2.840.10008.5.1.4.1.1.2"


def body(data: bytes) -> bytes:
    """The dataset bytes of a file written by rawdicom: after preamble, DICM and meta group."""
    assert data[128:132] == b"DICM"
    assert data[132:140] == b"\x02\x00\x00\x00UL\x04\x00"
    (meta_length,) = struct.unpack_from("<I", data, 140)
    return data[144 + meta_length:]


def read(data: bytes) -> Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # what rawdicom writes must read without a warning
        return rawdicom.read(data)


def new(**values) -> Dataset:
    ds = Dataset()
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    return ds


# -- file framing --------------------------------------------------------------------------
def test_meta_group_is_generated():
    ds = new(SOPClassUID=CT, SOPInstanceUID="1.2.3.4", PatientName="Doe^John")
    data = to_bytes(ds)
    assert data[:128] == bytes(128)
    meta = rawdicom.read(data).file_meta
    assert meta.FileMetaInformationVersion == b"\0\1"
    assert meta.MediaStorageSOPClassUID == CT
    assert meta.MediaStorageSOPInstanceUID == "1.2.3.4"
    assert meta.TransferSyntaxUID == EXPLICIT_LE
    assert meta.ImplementationClassUID == IMPLEMENTATION_CLASS_UID
    assert meta.ImplementationVersionName == f"RAWDICOM_{rawdicom.__version__}"
    # The group length counts every meta byte after it, up to the dataset.
    (length,) = struct.unpack_from("<I", data, 140)
    assert data[144 + length:] == (element(0x00080016, "UI", uid(CT))
                                   + element(0x00080018, "UI", uid("1.2.3.4"))
                                   + element(0x00100010, "PN", txt("Doe^John")))


def test_meta_group_of_a_read_file_is_kept_except_what_the_writer_owns():
    extra = element(0x00020016, "AE", txt("SCANNER")) + element(0x00020100, "UI", uid("1.2.9"))
    source = (b"\0" * 128 + b"DICM" + element(0x00020001, "OB", b"\0\1")
              + element(0x00020002, "UI", uid(CT)) + element(0x00020003, "UI", uid("9.9"))
              + element(0x00020010, "UI", uid(EXPLICIT_LE))
              + element(0x00020012, "UI", uid("1.2.826.0.1.3680043.9.9999")) + extra
              + element(0x00100010, "PN", txt("A")))
    meta = read(to_bytes(read(source), IMPLICIT_LE)).file_meta
    assert meta.SourceApplicationEntityTitle == "SCANNER"
    assert meta.PrivateInformationCreatorUID == "1.2.9"
    assert meta.MediaStorageSOPInstanceUID == "9.9"  # kept: the dataset has no SOP Instance UID
    assert meta.TransferSyntaxUID == IMPLICIT_LE
    assert meta.ImplementationClassUID == IMPLEMENTATION_CLASS_UID


def test_preamble_is_kept():
    source = bytearray(part10(small_dataset()))
    source[:4] = b"TIFF"
    assert to_bytes(rawdicom.read(bytes(source)))[:4] == b"TIFF"


def test_group_2_elements_in_the_dataset_go_to_the_meta_group():
    ds = new(PatientID="7")
    ds.set(0x00020016, "AE1")
    data = to_bytes(ds)
    assert body(data) == element(0x00100020, "LO", txt("7"))
    assert read(data).file_meta.SourceApplicationEntityTitle == "AE1"


def test_destinations(tmp_path):
    ds = new(PatientID="7")
    path = tmp_path / "a.dcm"
    write(ds, path)
    write(ds, str(tmp_path / "b.dcm"))
    stream = io.BytesIO()
    rawdicom.write(ds, stream)
    assert path.read_bytes() == (tmp_path / "b.dcm").read_bytes() == stream.getvalue() \
        == to_bytes(ds)


def test_unknown_transfer_syntax_is_a_value_error():
    with pytest.raises(ValueError, match="unknown transfer syntax"):
        to_bytes(new(PatientID="7"), "1.2.3")


# -- element encodings ---------------------------------------------------------------------
@pytest.mark.parametrize("syntax, explicit, little", [
    (EXPLICIT_LE, True, True), (IMPLICIT_LE, False, True), (EXPLICIT_BE, True, False)])
def test_element_headers_in_each_encoding(syntax, explicit, little):
    ds = new(PatientName="Doe^John", Rows=512, PixelSpacing=[0.5, 0.25])
    ds.set(0x00091010, b"\1\2", "OB")
    expected = (element(0x00091010, "OB", b"\1\2", explicit=explicit, little=little)
                + element(0x00100010, "PN", txt("Doe^John"), explicit=explicit, little=little)
                + element(0x00280010, "US", us(512, little=little), explicit=explicit,
                          little=little)
                + element(0x00280030, "DS", txt("0.5\\0.25"), explicit=explicit, little=little))
    assert body(to_bytes(ds, syntax)) == expected


def test_padding_rules():
    ds = new(PatientID="ABC", SOPInstanceUID="1.2.3", PatientName=None)
    ds.set(0x00091010, b"\1\2\3", "OB")
    assert body(to_bytes(ds)) == (element(0x00080018, "UI", b"1.2.3\0")
                                  + element(0x00091010, "OB", b"\1\2\3\0")
                                  + element(0x00100010, "PN", b"")
                                  + element(0x00100020, "LO", b"ABC "))


def test_text_is_encoded_with_the_specific_character_set():
    ds = new(SpecificCharacterSet="ISO_IR 192", PatientName="Ærø^Œuvre")
    assert "Ærø^Œuvre".encode() in body(to_bytes(ds))
    ds = new(SpecificCharacterSet=["", "ISO 2022 IR 87"], PatientName="Yamada^Tarou=山田^太郎")
    data = to_bytes(ds)
    assert b"\x1b$B" in body(data)  # JIS X 0208 designated by its escape sequence
    assert read(data).PatientName == "Yamada^Tarou=山田^太郎"


def test_elements_are_written_in_ascending_tag_order():
    ds = Dataset()
    for tag in (0x00280010, 0x00100010, 0x00080060):
        ds.set(tag, None)
    tags = [el.tag for el in read(to_bytes(ds))]
    assert tags == sorted(tags) == [0x00080060, 0x00100010, 0x00280010]


def test_group_length_is_recomputed():
    source = part10(element(0x00100000, "UL", ul(999)) + element(0x00100010, "PN", txt("A"))
                    + element(0x00100020, "LO", txt("BB")) + element(0x00200000, "UL", ul(0)))
    ds = rawdicom.read(source)
    ds.PatientID = "CCCC"
    out = body(to_bytes(ds))
    assert out == (element(0x00100000, "UL", ul(22)) + element(0x00100010, "PN", txt("A"))
                   + element(0x00100020, "LO", txt("CCCC")) + element(0x00200000, "UL", ul(0)))


def test_long_value_of_a_short_vr_is_written_as_un_in_explicit_vr():
    ds = new(SpecificCharacterSet="ISO_IR 100")
    ds.set(0x00283006, list(range(40000)), "US")  # LUT Data: 80,000 bytes, too long for 2 bytes
    for syntax in (EXPLICIT_LE, EXPLICIT_BE):
        data = body(to_bytes(ds, syntax))
        little = syntax == EXPLICIT_LE
        assert element(0x00283006, "UN", us(*range(40000)), little=little) in data


# -- unchanged values are copied, and swapped when the byte order changes --------------------
def test_unchanged_values_are_copied_byte_for_byte():
    odd_ds = txt("1.50000000000000000")  # a DS with more digits than a float keeps
    source = part10(element(0x00180050, "DS", odd_ds) + element(0x00280010, "US", us(7)))
    assert body(to_bytes(rawdicom.read(source))) == body(source)


@pytest.mark.parametrize("src, dst", [(EXPLICIT_LE, EXPLICIT_BE), (EXPLICIT_BE, IMPLICIT_LE)])
def test_byte_order_change_swaps_binary_values_by_their_size(src, dst):
    def stream(little, explicit=True):
        o = "<" if little else ">"
        return (element(0x00091010, "UN", b"\1\2\3\4", explicit=explicit, little=little)
                + element(0x00181310, "US", struct.pack(o + "4H", 1, 2, 3, 4), explicit=explicit,
                          little=little)
                + element(0x00209165, "AT", struct.pack(o + "HH", 0x0018, 0x1310),
                          explicit=explicit, little=little)
                + element(0x00209241, "FL", struct.pack(o + "f", 1.5), explicit=explicit,
                          little=little)
                + element(0x00660040, "OL", struct.pack(o + "2I", 1, 2), explicit=explicit,
                          little=little)
                + element(0x00720076, "FD", struct.pack(o + "d", -2.25), explicit=explicit,
                          little=little)
                + element(0x7FE00010, "OW", struct.pack(o + "2H", 0x0102, 0x0304),
                          explicit=explicit, little=little))

    src_little, dst_little = src != EXPLICIT_BE, dst != EXPLICIT_BE
    ds = rawdicom.read(part10(stream(src_little), src))
    out = body(to_bytes(ds, dst))
    expected = stream(dst_little, explicit=dst != IMPLICIT_LE)
    # UN is never swapped: its encoding is unknown (and PS3.5 6.2.2 makes it little endian).
    un = element(0x00091010, "UN", b"\1\2\3\4", explicit=dst != IMPLICIT_LE, little=dst_little)
    assert out == un + expected[len(un):]


def test_bytes_assigned_to_a_binary_vr_are_in_the_datasets_byte_order():
    ds = rawdicom.read(part10(element(0x00280010, "US", us(1, little=False), little=False),
                              EXPLICIT_BE))
    ds.set(0x7FE00010, b"\x01\x02\x03\x04", "OW")
    out = body(to_bytes(ds, EXPLICIT_LE))
    assert out == element(0x00280010, "US", us(1)) + element(0x7FE00010, "OW", b"\2\1\4\3")


def test_an_assigned_value_replaces_the_stored_bytes():
    ds = rawdicom.read(part10(small_dataset()))
    ds["PatientName"].value = "Roe^Jane"
    ds.InstanceNumber = 12
    del ds["Modality"]
    assert bytes(ds["PatientName"].raw) == b"Roe^Jane"
    back = read(to_bytes(ds))
    assert (back.PatientName, back.InstanceNumber, "Modality" in back) == ("Roe^Jane", 12, False)


# -- sequences -------------------------------------------------------------------------------
def _with_sequence() -> Dataset:
    inner = new(CodeValue="121", CodingSchemeDesignator="DCM")
    return new(ProcedureCodeSequence=[inner, new(CodeValue="7")])


def test_defined_length_sequences():
    a = element(0x00080100, "SH", txt("121")) + element(0x00080102, "SH", txt("DCM"))
    b = element(0x00080100, "SH", txt("7"))
    assert body(to_bytes(_with_sequence())) == sequence(0x00081032, [a, b], undefined=False)


def test_undefined_length_sequences():
    a = element(0x00080100, "SH", txt("121")) + element(0x00080102, "SH", txt("DCM"))
    b = element(0x00080100, "SH", txt("7"))
    data = to_bytes(_with_sequence(), undefined_length_sequences=True)
    assert body(data) == sequence(0x00081032, [a, b], undefined=True, undefined_items=True)
    assert read(data).ProcedureCodeSequence[1].CodeValue == "7"


def test_private_sequence_in_implicit_vr_has_undefined_length():
    ds = Dataset()
    ds.set(0x00090010, "ACME")
    ds.set(0x00091001, [new(PatientID="P")], "SQ")
    out = to_bytes(ds, IMPLICIT_LE)
    inner = element(0x00100020, "LO", txt("P"), explicit=False)
    assert body(out) == (element(0x00090010, "LO", txt("ACME"), explicit=False)
                         + sequence(0x00091001, [inner], undefined=True, explicit=False))
    back = read(out)
    assert back[0x00091001].vr == "SQ" and back[0x00091001].value[0].PatientID == "P"


def test_an_item_edited_after_reading_is_written():
    source = part10(sequence(0x00081032, [element(0x00080100, "SH", txt("A"))]))
    ds = rawdicom.read(source)
    ds.ProcedureCodeSequence[0].CodeValue = "BB"
    assert read(to_bytes(ds)).ProcedureCodeSequence[0].CodeValue == "BB"


# -- deflate ---------------------------------------------------------------------------------
def test_deflated_dataset_is_raw_deflate_padded_to_even_length():
    ds = new(PatientName="Doe^John" * 20, PatientID="1")
    data = to_bytes(ds, DEFLATED)
    deflated = body(data)
    assert len(deflated) % 2 == 0
    plain = zlib.decompressobj(-15).decompress(deflated)
    assert plain == body(to_bytes(ds, EXPLICIT_LE))
    assert read(data).PatientName == "Doe^John" * 20


# -- encapsulated pixel data -----------------------------------------------------------------
def test_encapsulated_fragments_are_kept():
    frames = [b"\xff\xd8\xff\xdb12", b"\xff\xd8\xff\xdb3456"]
    source = part10(small_dataset() + encapsulated(frames, [0, 14]), JPEG_BASELINE)
    data = to_bytes(rawdicom.read(source))
    assert body(data).endswith(encapsulated(frames, [0, 14]))
    back = read(data)
    assert [bytes(f) for f in back["PixelData"].encapsulated.frames(2)] == frames


def test_set_pixel_frames_with_a_basic_offset_table():
    ds = new(SOPClassUID=CT, Rows=1, Columns=1)
    set_pixel_frames(ds, [b"\xff\xd8\xff\xdbA", b"\xff\xd8\xff\xdbBC"])
    data = to_bytes(ds, JPEG_BASELINE)
    expected = encapsulated([b"\xff\xd8\xff\xdbA\0", b"\xff\xd8\xff\xdbBC"], [0, 14])
    assert body(data).endswith(expected)
    back = read(data)
    assert back.NumberOfFrames == 2
    assert back.transfer_syntax.uid == JPEG_BASELINE


def test_set_pixel_frames_with_an_extended_offset_table():
    ds = new(SOPClassUID=CT)
    set_pixel_frames(ds, [b"AB", b"CDE"], extended_offset_table=True)
    back = read(to_bytes(ds, JPEG_BASELINE))
    assert back.ExtendedOffsetTable == struct.pack("<2Q", 0, 10)
    assert back.ExtendedOffsetTableLengths == struct.pack("<2Q", 2, 3)
    pixels = back["PixelData"].encapsulated
    assert pixels.basic_offset_table == []
    frames = pixels.frames(2, back.ExtendedOffsetTable, back.ExtendedOffsetTableLengths)
    assert [bytes(f) for f in frames] == [b"AB", b"CDE"]


def test_encapsulated_pixel_data_cannot_become_native_nor_native_encapsulated():
    ds = new(SOPClassUID=CT)
    set_pixel_frames(ds, [b"AB"])
    with pytest.raises(ValueError, match="encapsulated"):
        to_bytes(ds, EXPLICIT_LE)
    ds.PixelData = b"\0\0"
    with pytest.raises(ValueError, match="does not compress"):
        to_bytes(ds, JPEG_BASELINE)


def test_encapsulated_pixel_data_read_keeps_its_own_syntax():
    # JPEG fragments written with transfer_syntax=RLE were silently relabelled as RLE
    source = part10(small_dataset() + encapsulated([b"\xff\xd8\xff\xd9"]), JPEG_BASELINE)
    ds = rawdicom.read(source)
    with pytest.raises(ValueError, match="coded as JPEG Baseline.* RLE Lossless"):
        to_bytes(ds, "1.2.840.10008.1.2.5")
    assert read(to_bytes(ds, JPEG_BASELINE)).transfer_syntax.uid == JPEG_BASELINE
    # frames set in memory are the caller's: any encapsulated syntax
    set_pixel_frames(ds, [b"an RLE frame"])
    assert read(to_bytes(ds, "1.2.840.10008.1.2.5")).transfer_syntax.uid == "1.2.840.10008.1.2.5"


def test_a_value_cut_short_in_the_source_raises_its_dicom_error():
    source = part10(small_dataset() + element(0x7FE00010, "OW", b"\0" * 4, length=100))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = rawdicom.read(source)
    with pytest.raises(rawdicom.TruncatedError):
        to_bytes(ds)
    del ds["PixelData"]
    assert read(to_bytes(ds)).PatientName == "Doe^John"


def test_item_tag_bytes_are_in_the_byte_order_written():
    out = body(to_bytes(_with_sequence(), EXPLICIT_BE))
    assert tag_bytes(0xFFFEE000, little=False) in out and item(b"")[:4] not in out
