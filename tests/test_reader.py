"""Part 10 framing, transfer syntaxes, encoding detection and the read() options."""

from __future__ import annotations

import io
import warnings

import pytest

import rawdicom
from rawdicom import DicomWarning, NotDicomError
from builders import (DEFLATED, EXPLICIT_BE, EXPLICIT_LE, IMPLICIT_LE, JPEG_BASELINE, RLE,
                      deflate, element, encapsulated, part10, small_dataset, txt, uid, us)


def read_quiet(data, **kw):
    """read() that fails the test on any warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return rawdicom.read(data, **kw)


def check_small(ds):
    assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.7"
    assert ds.Modality == "OT"
    assert str(ds.PatientName) == "Doe^John"
    assert ds.InstanceNumber == 7
    assert ds.Rows == 2
    assert [el.tag for el in ds] == [0x00080016, 0x00080060, 0x00100010, 0x00200013, 0x00280010]


# -- framing ------------------------------------------------------------------------
def test_preamble_and_dicm():
    data = part10(small_dataset(), EXPLICIT_LE)
    ds = read_quiet(data)
    check_small(ds)
    assert ds.preamble == b"\0" * 128
    assert ds.file_meta["TransferSyntaxUID"].value == EXPLICIT_LE
    assert ds.file_meta.MediaStorageSOPInstanceUID == "1.2.3.4.5.6.7.8.9"
    assert ds.transfer_syntax.uid == EXPLICIT_LE
    assert 0x00020010 not in ds  # the meta group is not part of the dataset


def test_no_preamble_starts_with_meta_group():
    ds = read_quiet(part10(small_dataset(), EXPLICIT_LE, preamble=False))
    check_small(ds)
    assert ds.preamble is None
    assert ds.transfer_syntax.uid == EXPLICIT_LE


def test_meta_without_group_length():
    data = part10(small_dataset(explicit=False), IMPLICIT_LE, group_length=False)
    ds = read_quiet(data)
    check_small(ds)
    assert 0x00020000 not in ds.file_meta
    assert ds.transfer_syntax.uid == IMPLICIT_LE


def test_meta_missing_transfer_syntax_detects_encoding():
    data = part10(small_dataset(explicit=False), None)
    with pytest.warns(DicomWarning, match="no transfer syntax"):
        ds = rawdicom.read(data)
    check_small(ds)
    assert not ds.transfer_syntax.explicit_vr


@pytest.mark.parametrize("explicit,little,uid_", [(False, True, IMPLICIT_LE),
                                                  (True, True, EXPLICIT_LE),
                                                  (True, False, EXPLICIT_BE)])
def test_no_meta_group_detects_encoding(explicit, little, uid_):
    ds = read_quiet(small_dataset(explicit=explicit, little=little))
    check_small(ds)
    assert len(ds.file_meta) == 0
    assert ds.transfer_syntax.uid == uid_
    assert ds.transfer_syntax.explicit_vr is explicit
    assert ds.transfer_syntax.little_endian is little


@pytest.mark.parametrize("data", [
    b"",
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x06\0\0\0\x1f\xf3\xffa" + b"\0" * 64,
    b"Hello, this is a plain text file.\nIt is not DICOM at all.\n" * 4,
    b"\x08\x00",                    # too short for any element
])
def test_not_dicom(data):
    with pytest.raises(NotDicomError) as info:
        rawdicom.read(data)
    assert "offset 0x" in str(info.value)


def test_preamble_alone_is_an_empty_dataset():
    # documented lenient result: "DICM" and nothing else is an empty DICOM file
    ds = read_quiet(b"\0" * 128 + b"DICM")
    assert len(ds) == 0 and len(ds.file_meta) == 0


def test_not_dicom_is_a_dicom_error():
    assert issubclass(NotDicomError, rawdicom.DicomError)


# -- transfer syntaxes -------------------------------------------------------------
@pytest.mark.parametrize("syntax,explicit,little", [(IMPLICIT_LE, False, True),
                                                    (EXPLICIT_LE, True, True),
                                                    (EXPLICIT_BE, True, False)])
def test_native_transfer_syntaxes(syntax, explicit, little):
    ds = read_quiet(part10(small_dataset(explicit=explicit, little=little), syntax))
    check_small(ds)
    assert ds.transfer_syntax.uid == syntax
    assert ds.little_endian is little and ds.explicit_vr is explicit


def test_big_endian_binary_values():
    body = (element(0x00280010, "US", us(512, little=False), little=False)
            + element(0x00280030, "DS", txt("0.5\\0.25"), little=False)
            + element(0x00281052, "DS", txt("-1024"), little=False))
    ds = read_quiet(part10(body, EXPLICIT_BE))
    assert ds.Rows == 512
    assert ds.PixelSpacing == [0.5, 0.25]
    assert ds.RescaleIntercept == -1024.0


def test_deflated():
    ds = read_quiet(part10(deflate(small_dataset()), DEFLATED))
    check_small(ds)
    assert ds.transfer_syntax.deflated


def test_deflated_with_zlib_header_is_accepted():
    import zlib
    ds = read_quiet(part10(zlib.compress(small_dataset()), DEFLATED))
    check_small(ds)


@pytest.mark.parametrize("syntax", [JPEG_BASELINE, RLE])
def test_encapsulated_transfer_syntaxes(syntax):
    body = small_dataset() + encapsulated([b"\xff\xd8\xff\xe0abcd"])
    ds = read_quiet(part10(body, syntax))
    assert ds.Modality == "OT" and ds.Rows == 2
    assert ds.transfer_syntax.encapsulated
    pixel = ds["PixelData"]
    assert pixel.vr == "OB" and pixel.undefined_length
    assert [bytes(f) for f in pixel.encapsulated.fragments] == [b"\xff\xd8\xff\xe0abcd"]


def test_unknown_transfer_syntax_read_as_explicit_le():
    with pytest.warns(DicomWarning, match="unknown transfer syntax"):
        ds = rawdicom.read(part10(small_dataset(), "1.2.3.999"))
    check_small(ds)
    assert ds.transfer_syntax.uid == "1.2.3.999"
    assert ds.transfer_syntax.explicit_vr and ds.transfer_syntax.little_endian


def test_syntax_says_explicit_but_data_is_implicit():
    with pytest.warns(DicomWarning, match="read as written"):
        ds = rawdicom.read(part10(small_dataset(explicit=False), EXPLICIT_LE))
    check_small(ds)
    assert not ds.explicit_vr


def test_syntax_says_implicit_but_data_is_explicit():
    with pytest.warns(DicomWarning, match="read as written"):
        ds = rawdicom.read(part10(small_dataset(), IMPLICIT_LE))
    check_small(ds)
    assert ds.explicit_vr


# -- tags= and stop_before_pixels -----------------------------------------------------
def _header_then_garbage():
    body = (element(0x00080005, "CS", txt("ISO_IR 100"))
            + element(0x00080016, "UI", uid("1.2.840.10008.5.1.4.1.1.7"))
            + element(0x00100010, "PN", txt("Doe^John"))
            + element(0x00100020, "LO", txt("PID42"))
            + element(0x0020000D, "UI", uid("1.2.3"))
            + element(0x00200013, "IS", txt("7")))
    # after it, an element whose length runs past the end: reading it would raise
    return part10(body + element(0x00300010, "LO", b"garbage", length=0x1000) + b"\xde" * 99)


def test_tags_keeps_only_requested_and_charset():
    ds = read_quiet(_header_then_garbage(), tags=["PatientID", 0x0020000D])
    assert ds.keys() == [0x00080005, 0x00100020, 0x0020000D]
    assert ds.PatientID == "PID42"
    assert ds.StudyInstanceUID == "1.2.3"


def test_tags_stops_after_the_largest_tag():
    # the garbage after (0020,0013) would raise if it were scanned
    ds = read_quiet(_header_then_garbage(), tags=["InstanceNumber", "PatientName"])
    assert ds.keys() == [0x00080005, 0x00100010, 0x00200013]
    assert ds.InstanceNumber == 7
    # a full read does meet the bad element (an error, or a warning under the lenient policy)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        try:
            rawdicom.read(_header_then_garbage())
        except rawdicom.DicomError:
            record.append("raised")
    assert record


def test_tags_accepts_tuple_and_string_forms():
    ds = read_quiet(_header_then_garbage(), tags=[(0x0010, 0x0020), "0020,000D"])
    assert ds.keys() == [0x00080005, 0x00100020, 0x0020000D]


def test_tags_missing_tag_is_absent():
    ds = read_quiet(_header_then_garbage(), tags=["Modality", "PatientID"])
    assert "Modality" not in ds and ds.PatientID == "PID42"


def test_stop_before_pixels():
    body = small_dataset() + element(0x7FE00010, "OW", b"\1\0" * 8) + b"garbage!"
    ds = read_quiet(part10(body), stop_before_pixels=True)
    check_small(ds)
    assert "PixelData" not in ds
    full = rawdicom.read(part10(small_dataset() + element(0x7FE00010, "OW", b"\1\0" * 8)))
    assert bytes(full["PixelData"].raw) == b"\1\0" * 8


def test_stop_before_float_pixel_data():
    body = small_dataset() + element(0x7FE00008, "OF", b"\0" * 8) + b"garbage!"
    ds = read_quiet(part10(body), stop_before_pixels=True)
    assert 0x7FE00008 not in ds and len(ds) == 5


# -- sources -----------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["bytes", "bytearray", "memoryview", "fileobj", "path",
                                  "str_path"])
def test_sources(kind, tmp_path):
    data = part10(small_dataset())
    if kind == "bytes":
        src = data
    elif kind == "bytearray":
        src = bytearray(data)
    elif kind == "memoryview":
        src = memoryview(data)
    elif kind == "fileobj":
        src = io.BytesIO(data)
    else:
        path = tmp_path / "f.dcm"
        path.write_bytes(data)
        src = path if kind == "path" else str(path)
    check_small(read_quiet(src))


def test_empty_file_path(tmp_path):
    path = tmp_path / "empty.dcm"
    path.write_bytes(b"")
    with pytest.raises(NotDicomError):
        rawdicom.read(path)


def test_text_mode_file_object_is_a_type_error():
    with pytest.raises(TypeError):
        rawdicom.read(io.StringIO("not binary"))


def test_example_file():
    from pathlib import Path
    ds = read_quiet(Path(rawdicom.__file__).parent / "examples" / "ct_phantom.dcm")
    assert ds.Modality == "CT"
    assert len(list(ds.walk())) > 10


def test_header_only_read_gives_the_file_size_and_each_tuple_its_own_tags(tmp_path) -> None:
    """A read of the first kilobytes keeps the size of the file it opened (scan checks the
    Pixel Data against it, without another stat); the tags of the last read are reused
    only for that very tuple, never for another one or a list changed in place."""
    ds = rawdicom.Dataset()
    for keyword, value in (("PatientID", "P"), ("StudyID", "S"), ("Rows", 2), ("Columns", 2)):
        ds.set(keyword, value)
    ds.set("PixelData", b"\0" * 8, "OW")
    path = tmp_path / "x.dcm"
    rawdicom.write(ds, path)
    header = rawdicom.read(path, stop_before_pixels=True)
    assert header.source_size == path.stat().st_size
    assert rawdicom.read(path).source_size is None
    first, second = ("PatientID",), ("StudyID",)
    assert list(rawdicom.read(path, tags=first).keys()) == [0x00100020]
    assert list(rawdicom.read(path, tags=second).keys()) == [0x00200010]
    assert list(rawdicom.read(path, tags=first).keys()) == [0x00100020]
    tags = ["PatientID"]
    assert list(rawdicom.read(path, tags=tags).keys()) == [0x00100020]
    tags[0] = "Rows"
    assert list(rawdicom.read(path, tags=tags).keys()) == [0x00280010]
