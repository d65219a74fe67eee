"""The Siemens CSA header (rawdicom.vendor.siemens) and the ASCCONV protocol text.

Headers are built byte by byte (tests/csa_builders.py) in both layouts,
carried in datasets built with tests/builders.py (explicit OB, explicit UN,
implicit VR, big endian, other creator blocks), broken in every way the
parser checks, and fed arbitrary and mutated bytes by hypothesis.  The real
files are nibabel's Siemens test data (pydicom's test files hold no CSA
header), read against nibabel.nicom.csareader as the oracle and, for the
mosaics, against dcm2niix's slice count.
"""

from __future__ import annotations

import gzip
import io
import os
import shutil
import struct
import subprocess
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rawdicom
from builders import EXPLICIT_BE, IMPLICIT_LE, element, part10, txt
from csa_builders import CSA2_MARK, Spec, csa, protocol_text, siemens_dataset, typical_image, \
    typical_series
from rawdicom.errors import DicomError, DicomWarning, MalformedElementError
from rawdicom.vendor.ascconv import parse_ascconv
from rawdicom.vendor.siemens import MAX_ITEMS, MAX_TAGS, csa_element, csa_header, parse_csa

REPO = Path(__file__).resolve().parents[1]
# ../shared beside the checkout (main, CI's clone), or ../../shared from a worktree in wt/.
CSA_XML = next((p for p in (REPO.parent / "shared/standard/gdcm/CSAHeader.xml",
                            REPO.parent.parent / "shared/standard/gdcm/CSAHeader.xml")
                if p.exists()), REPO.parent / "shared/standard/gdcm/CSAHeader.xml")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def unavailable(reason: str) -> None:
    """Skip for a developer without the oracle; fail in CI, where it must be installed."""
    if in_ci():
        pytest.fail(f"{reason} (CI is set: the oracle must be installed)", pytrace=False)
    pytest.skip(reason)


# -- CSA2 and CSA1 built byte by byte --------------------------------------------------------
@pytest.mark.parametrize("layout", ["CSA2", "CSA1"])
def test_values_follow_the_declared_vr(layout):
    hdr = parse_csa(typical_image(layout))
    assert hdr.layout == layout
    assert list(hdr) == ["EchoLinePosition", "ICE_Dims", "B_value", "AcquisitionMatrixText",
                         "NumberOfImagesInMosaic", "DiffusionGradientDirection",
                         "SliceNormalVector", "ImageGroup", "SarWholeBody", "MosaicRefAcqTimes",
                         "ImageType"]
    assert hdr["EchoLinePosition"] == [64]                  # IS "64      " -> int
    assert hdr["ICE_Dims"] == ["X_1_1_1_2_1_1_48_1_1_1_1_201"]
    assert hdr["NumberOfImagesInMosaic"] == [48] and type(hdr["B_value"][0]) is int
    assert hdr["DiffusionGradientDirection"] == [0.99997449, 0.00505012, -0.00505012]
    assert hdr["ImageGroup"] == []
    assert hdr["SarWholeBody"] == [2.0, 0.26]               # the empty third item ends them
    assert hdr["MosaicRefAcqTimes"] == [6490.0, 6350.0, 6212.5]  # vm 0: every item counts
    assert hdr["ImageType"] == ["ORIGINAL\\PRIMARY\\DIFFUSION\\NONE"]
    el = hdr.elements["SliceNormalVector"]
    assert (el.vr, el.vm, el.syngodt) == ("FD", 3, 0)


@pytest.mark.parametrize("layout", ["CSA2", "CSA1"])
def test_accessors(layout):
    hdr = parse_csa(typical_image(layout))
    assert hdr.number_of_images_in_mosaic == 48
    assert hdr.b_value == 1000
    assert hdr.slice_normal_vector == (0.0, 0.00523632, 0.99998629)
    assert hdr.diffusion_gradient_direction == (0.99997449, 0.00505012, -0.00505012)
    assert hdr.mosaic_ref_acq_times == [6490.0, 6350.0, 6212.5]
    empty = parse_csa(csa([Spec("B_value", "IS", [])], layout=layout))
    assert empty.b_value is None and empty.number_of_images_in_mosaic is None
    assert empty.slice_normal_vector is None and empty.protocol() is None


def test_csa2_mark_and_text_details():
    data = typical_image()
    assert data.startswith(CSA2_MARK)
    # Garbage after the name's NUL, as real headers have; text items are kept as the header
    # holds them up to their NUL (spaces, a protocol's final newline, empty items), as
    # nibabel reads them; numbers are read from their stripped text.
    hdr = parse_csa(csa([Spec(b"ImaCoilString\0 {\n <ParamBool.", "LO", ["  T:HEA;HEP \0junk"]),
                         Spec("MrPhoenixProtocol", "UN", ["### ASCCONV END ###\n"]),
                         Spec("ImageType4MF", "CS", ["ORIGINAL", "", ""], vm=3),
                         Spec("EchoLinePosition", "IS", ["64      "])]))
    assert hdr == {"ImaCoilString": ["  T:HEA;HEP "], "MrPhoenixProtocol": ["### ASCCONV END ###\n"],
                   "ImageType4MF": ["ORIGINAL", "", ""], "EchoLinePosition": [64]}


def test_items_past_vm_are_padding():
    hdr = parse_csa(csa([Spec("FlipAngle", "DS", ["90", "45"], vm=1)]))
    assert hdr["FlipAngle"] == [90.0]


def test_csa1_length_is_the_first_word_less_the_first_elements_item_count():
    # First element with 2 items: every item's first word is its length + 2.
    data = csa([Spec("A", "IS", ["7"], n_items=2), Spec("B", "LO", ["abc"], n_items=1)],
                layout="CSA1")
    assert not data.startswith(b"SV10")
    assert parse_csa(data) == {"A": [7], "B": ["abc"]}
    # A first word below that count ends the element's items (SPM's rule): "B" is empty.
    short = bytearray(data)
    start_b = 8 + 84 + 2 * 16 + 4 + 84       # header, A, A's two items (data "7\0" -> 4)
    struct.pack_into("<i", short, start_b, 1)
    assert parse_csa(bytes(short)) == {"A": [7], "B": [""]}


def test_a_number_that_does_not_parse_stays_text_with_a_warning():
    with pytest.warns(DicomWarning, match="'Filter1'.*not a number"):
        hdr = parse_csa(csa([Spec("Filter1", "IS", ["1.5 mm"])]))
    assert hdr["Filter1"] == ["1.5 mm"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bad = parse_csa(csa([Spec("B_value", "IS", ["lots"]),
                             Spec("SliceNormalVector", "FD", ["0", "1"])]))
    with pytest.raises(MalformedElementError, match="'B_value'.*not a number"):
        bad.b_value
    with pytest.raises(MalformedElementError, match="'SliceNormalVector': 2 values where 3"):
        bad.slice_normal_vector
    for count in ("-4", "nan", "inf", "2.5"):
        odd = parse_csa(csa([Spec("NumberOfImagesInMosaic", "DS" if "n" in count or "." in count
                                  else "US", [count])]))
        with pytest.raises(MalformedElementError, match="not a slice count"):
            odd.number_of_images_in_mosaic
    assert parse_csa(csa([Spec("NumberOfImagesInMosaic", "FD", ["48.0"])])) \
        .number_of_images_in_mosaic == 48
    huge = parse_csa(csa([Spec("SliceNormalVector", "IS", ["9" * 400, "0", "1"]),
                          Spec("MosaicRefAcqTimes", "SL", ["1", "9" * 400], vm=0)]))
    with pytest.raises(MalformedElementError, match="'SliceNormalVector'.*too large"):
        huge.slice_normal_vector
    with pytest.raises(MalformedElementError, match="'MosaicRefAcqTimes'.*too large"):
        huge.mosaic_ref_acq_times


# -- the header in a dataset -------------------------------------------------------------------
def _csa_file(image: bytes, *, creator: bytes = b"SIEMENS CSA HEADER", block: int = 0x10,
              vr: str = "OB", syntax: str = "1.2.840.10008.1.2.1", series: bytes | None = None,
              before: bytes = b"") -> bytes:
    explicit, little = syntax != IMPLICIT_LE, syntax != EXPLICIT_BE
    body = element(0x00080060, "CS", txt("MR"), explicit=explicit, little=little)
    body += before
    body += element(0x00290000 | block, "LO", txt(creator), explicit=explicit, little=little)
    body += element(0x00290000 | block << 8 | 0x10, vr, image, explicit=explicit, little=little)
    if series is not None:
        body += element(0x00290000 | block << 8 | 0x20, vr, series, explicit=explicit,
                        little=little)
    return part10(body, syntax)


@pytest.mark.parametrize("syntax,vr", [("1.2.840.10008.1.2.1", "OB"), ("1.2.840.10008.1.2.1", "UN"),
                                       (IMPLICIT_LE, "OB"), (EXPLICIT_BE, "OB")])
def test_found_whatever_the_encoding(syntax, vr):
    ds = rawdicom.read(_csa_file(typical_image(), vr=vr, syntax=syntax, series=typical_series()))
    assert csa_header(ds, "image").number_of_images_in_mosaic == 48  # CSA is little endian
    assert csa_header(ds, "series")["UsedPatientWeight"] == [88]
    assert csa_header(ds) == csa_header(ds, "image")


def test_creator_padding_and_other_blocks():
    other = (element(0x00290010, "LO", txt("SIEMENS MEDCOM HEADER2"))
             + element(0x00290011, "LO", txt("ACME 1.0")))
    data = _csa_file(typical_image(), creator=b"SIEMENS CSA HEADER\0\0", block=0x12, before=other)
    ds = rawdicom.read(data)
    assert csa_element(ds, "image").tag == 0x00291210
    assert csa_header(ds, "image")["B_value"] == [1000]
    assert csa_header(ds, "series") is None       # no (0029,1220)
    assert not csa_header(ds).without_creator


# The creator (0029,0010) stripped by an anonymiser, (0029,1010)/(0029,1020) kept: the headers
# are recognised by their content, in any block no creator reserved, in every encoding.
@pytest.mark.parametrize("layout", ["CSA2", "CSA1"])
@pytest.mark.parametrize("syntax,vr", [("1.2.840.10008.1.2.1", "OB"), ("1.2.840.10008.1.2.1", "UN"),
                                       ("1.2.840.10008.1.2.1", "OW"), (IMPLICIT_LE, "OB"),
                                       (EXPLICIT_BE, "OB")])
@pytest.mark.parametrize("block", [0x10, 0x11])
def test_found_without_its_creator(layout, syntax, vr, block):
    explicit, little = syntax != IMPLICIT_LE, syntax != EXPLICIT_BE
    body = element(0x00080060, "CS", txt("MR"), explicit=explicit, little=little)
    for offset, data in ((0x10, typical_image(layout)), (0x20, typical_series(layout))):
        body += element(0x00290000 | block << 8 | offset, vr, data, explicit=explicit,
                        little=little)
    ds = rawdicom.read(part10(body, syntax))
    image, series = csa_header(ds, "image"), csa_header(ds, "series")
    assert image.layout == series.layout == layout
    assert image.without_creator and series.without_creator
    assert image.number_of_images_in_mosaic == 48
    assert series.protocol()["sSliceArray.lSize"] == 3
    assert csa_element(ds, "image").tag == 0x00290000 | block << 8 | 0x10


def test_without_a_creator_only_csa_content_counts():
    not_csa = [b"", b"not a CSA header at all, only text" * 4, b"\0" * 200,
               struct.pack("<2I", 5, 76) + typical_image("CSA1")[8:],       # unused word not 77
               struct.pack("<2I", 0, 77) + typical_image("CSA1")[8:]]       # no element
    for data in not_csa:
        assert csa_header(rawdicom.read(part10(element(0x00291010, "OB", data)))) is None
    # a block another creator reserved is that creator's, whatever it holds
    other = element(0x00290010, "LO", txt("ACME 1.0")) + element(0x00291010, "OB", typical_image())
    assert csa_header(rawdicom.read(part10(other))) is None


def test_absent_or_empty_is_none_and_kind_is_checked():
    assert csa_header(rawdicom.read(part10(element(0x00080060, "CS", txt("CT"))))) is None
    assert csa_header(rawdicom.read(_csa_file(b""))) is None
    with pytest.raises(ValueError, match="'image' or 'series'"):
        csa_header(rawdicom.Dataset(), "IMAGE")


def test_written_by_the_writer():
    ds = siemens_dataset(typical_image(), typical_series(), block=0x11)
    again = rawdicom.read(rawdicom.to_bytes(ds, IMPLICIT_LE))
    assert csa_header(again, "image").b_value == 1000
    assert csa_header(ds, "series").protocol()["sSliceArray.lSize"] == 3   # in memory too


def test_errors_point_into_the_file():
    bad = bytearray(typical_image())
    struct.pack_into("<i", bad, 8 + 8 + 84 + 4, 10_000)  # first item's length (word [1])
    data = _csa_file(bytes(bad))
    value_at = data.index(bytes(bad))
    with pytest.raises(MalformedElementError) as info:
        csa_header(rawdicom.read(data))
    assert info.value.tag == 0x00291010
    assert info.value.offset == value_at + 8 + 8 + 84 + 16
    assert "'EchoLinePosition'" in str(info.value) and "(0029,1010)" in str(info.value)


# -- malformed headers ---------------------------------------------------------------------------
def _patched(data: bytes, offset: int, fmt: str, value: object) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, offset, value)
    return bytes(out)


_GOOD = typical_image()
_FIRST = 16          # first element header in CSA2
_FIRST_ITEM = 16 + 84
_MALFORMED = {
    "empty": (b"", "element count needs 8 bytes"),
    "mark only": (CSA2_MARK, "element count needs 8 bytes"),
    "no tags": (_patched(_GOOD, 8, "<I", 0), "element count 0"),
    "huge n_tags": (_patched(_GOOD, 8, "<I", 0xFFFFFFFF), "outside 1..1000"),
    "n_tags past the end": (_patched(_GOOD, 8, "<I", 900), "900 elements need"),
    "truncated in a header": (_GOOD[:_FIRST + 40], "11 elements need at least 924 bytes"),
    "truncated in an item": (csa([Spec("EchoLinePosition", "IS", ["64"])])[:_FIRST_ITEM + 20],
                             "'EchoLinePosition'.*6 items need"),
    "truncated in item data": (csa([Spec("A", "LO", ["x" * 40], n_items=1)])[:16 + 84 + 30],
                               "'A'.*item 0 length 41 runs past"),
    "a lying last element": (_patched(_GOOD, 8, "<I", 12), "header of element 11 needs 84"),
    "huge nitems": (_patched(_GOOD, _FIRST + 76, "<i", 0x7FFFFFFF), "item count 2147483647"),
    "negative nitems": (_patched(_GOOD, _FIRST + 76, "<i", -1), "item count -1"),
    "nitems past the end": (_patched(_GOOD, _FIRST + 76, "<i", 999), "999 items need"),
    "negative item length": (_patched(_GOOD, _FIRST_ITEM + 4, "<i", -8), "negative length"),
    "item past the end": (_patched(_GOOD, _FIRST_ITEM + 4, "<i", 1 << 30), "runs past the end"),
    "name without NUL": (_GOOD[:_FIRST] + b"N" * 64 + _GOOD[_FIRST + 64:], "no NUL"),
    "empty name": (_GOOD[:_FIRST] + b"\0" + _GOOD[_FIRST + 1:], "is not a name"),
    "binary name": (_GOOD[:_FIRST] + b"\x01\xff\0" + _GOOD[_FIRST + 3:], "is not a name"),
    "negative vm": (_patched(_GOOD, _FIRST + 64, "<i", -3), "negative value multiplicity"),
    "csa1 nitems past the end": (_patched(typical_image("CSA1"), 8 + 76, "<i", 5000),
                                 "item count 5000"),
}


@pytest.mark.parametrize("case", list(_MALFORMED))
def test_malformed_is_a_dicom_error(case):
    data, message = _MALFORMED[case]
    with pytest.raises(MalformedElementError, match=message) as info:
        parse_csa(data)
    assert isinstance(info.value, DicomError) and info.value.offset is not None


def test_every_truncation_is_an_error_or_a_header():
    for end in range(len(_GOOD)):
        try:
            parse_csa(_GOOD[:end])
        except DicomError:
            continue
        # A cut in the final padding items' words may leave a complete header.
        assert end > len(_GOOD) - 64


def test_caps():
    assert MAX_TAGS == MAX_ITEMS == 1000
    ok = csa([Spec("MosaicRefAcqTimes", "FD", [str(i) for i in range(1000)], vm=0)])
    assert len(parse_csa(ok)["MosaicRefAcqTimes"]) == 1000
    too_many = csa([Spec("MosaicRefAcqTimes", "FD", ["1"] * 1001, vm=0)])
    with pytest.raises(MalformedElementError, match="item count 1001"):
        parse_csa(too_many)


# -- hypothesis: only DicomError comes out -------------------------------------------------
def _only_dicom_errors(data: bytes) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            hdr = parse_csa(data)
        except DicomError:
            return
        for accessor in ("number_of_images_in_mosaic", "slice_normal_vector", "b_value",
                         "diffusion_gradient_direction", "mosaic_ref_acq_times"):
            try:
                getattr(hdr, accessor)
            except DicomError:
                pass
        hdr.protocol()


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=600), st.booleans())
def test_arbitrary_bytes(data, csa2):
    _only_dicom_errors((CSA2_MARK if csa2 else b"") + data)


_SEEDS = [typical_image("CSA2"), typical_image("CSA1"), typical_series("CSA2"),
          typical_series("CSA1")]


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.sampled_from(range(len(_SEEDS))),
       st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from(["byte", "int", "cut"]),
                          st.integers(-2**31, 2**31 - 1)), min_size=1, max_size=4))
def test_mutated_headers(seed, mutations):
    data = bytearray(_SEEDS[seed])
    for position, kind, value in mutations:
        at = position % len(data)
        if kind == "byte":
            data[at] = value & 0xFF
        elif kind == "int" and at + 4 <= len(data):
            struct.pack_into("<i", data, at & ~3, value)
        elif kind == "cut":
            del data[at:]
        if not data:
            break
    _only_dicom_errors(bytes(data))


_ODD_TEXT = st.one_of(
    st.sampled_from(["nan", "inf", "-inf", "1e999", "9" * 400, "-0", "0x10", "1_0", " 3 ", "",
                     "### ASCCONV BEGIN ###\na.b[1] = 2\n### ASCCONV END ###"]),
    st.text(alphabet=st.characters(max_codepoint=255), max_size=12))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["NumberOfImagesInMosaic", "SliceNormalVector",
                                           "B_value", "DiffusionGradientDirection",
                                           "MosaicRefAcqTimes", "MrPhoenixProtocol"]),
                          st.sampled_from(["IS", "SL", "UL", "US", "SS", "DS", "FD", "FL", "LO",
                                           "UN", ""]),
                          st.lists(_ODD_TEXT, max_size=5), st.integers(0, 6)),
                min_size=1, max_size=6),
       st.sampled_from(["CSA1", "CSA2"]))
def test_well_formed_headers_with_odd_values(specs, layout):
    """Valid structure, any VR and text where the accessors look: only DicomError."""
    _only_dicom_errors(csa([Spec(name, vr, values, vm=vm) for name, vr, values, vm in specs],
                           layout=layout))


# -- ASCCONV -----------------------------------------------------------------------------------
def test_ascconv_values():
    text = protocol_text([
        "ulVersion = 0x14b44b6",
        'tProtocolName = ""ep2d_diff""',
        "sSliceArray.lSize                        = 48",
        "sSliceArray.asSlice[0].sPosition.dSag    = -2.83333333",
        "sGRADSPEC.asGPAData[0].flSensitivityY = -2.65859e-005",
        "sSliceArray.ucImageNumbTra = 0x1",
        "sWipMemBlock.alFree[3] = 5    # a comment, as syngo MR XA writes",
        "garbage without an equals sign",
        "1bad.key = 3",
        "sKSpace.dSliceResolution = not a number",
        'tUnclosed = ""open',
    ])
    assert parse_ascconv(text) == {
        "ulVersion": 0x14B44B6, "tProtocolName": "ep2d_diff", "sSliceArray.lSize": 48,
        "sSliceArray.asSlice[0].sPosition.dSag": -2.83333333,
        "sGRADSPEC.asGPAData[0].flSensitivityY": -2.65859e-05,
        "sSliceArray.ucImageNumbTra": 1, "sWipMemBlock.alFree[3]": 5}
    assert parse_ascconv('### ASCCONV BEGIN ###\ntName = "plain quotes"\n### ASCCONV END ###') \
        == {"tName": "plain quotes"}


def test_ascconv_bounds():
    assert parse_ascconv("no section at all") == {}
    assert parse_ascconv("### ASCCONV BEGIN ###") == {}           # no line after it
    assert parse_ascconv("### ASCCONV BEGIN ###\na = 1\nb = 2") == {"a": 1, "b": 2}  # no END
    assert parse_ascconv("### ASCCONV BEGIN ###\na = 1\n### ASCCONV END ###\nb = 2") == {"a": 1}
    assert parse_ascconv("### ASCCONV BEGIN ###\nhuge = " + "9" * 10_000) == {}
    assert parse_ascconv("### ASCCONV BEGIN ###\n" + "a" * 10_000 + " = 1") == {}


def test_protocol_from_the_series_header():
    hdr = parse_csa(typical_series())
    protocol = hdr.protocol()
    assert protocol["sSliceArray.lSize"] == 3
    assert protocol["sSliceArray.asSlice[0].sPosition.dSag"] == -2.83333333
    assert protocol["sSliceArray.ucImageNumbTra"] == 1
    assert protocol["tProtocolName"] == "ep2d_diff"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400), st.text(max_size=400))
def test_ascconv_never_raises(before, body):
    parse_ascconv(before)
    result = parse_ascconv(before + "### ASCCONV BEGIN ###\n" + body)
    assert all(isinstance(v, (int, float, str)) for v in result.values())


# -- real files: nibabel's Siemens test data, with nibabel and dcm2niix as oracles ----------
def _nibabel_data() -> Path:
    try:
        import nibabel.nicom
    except ImportError:
        unavailable("nibabel is not installed (pip install nibabel): it is the CSA oracle")
    folder = Path(nibabel.nicom.__file__).parent / "tests" / "data"
    if not folder.is_dir():
        unavailable(f"nibabel's test data is not installed ({folder})")
    return folder


def _load(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


REAL_DICOM = ["0.dcm", "1.dcm", "csa_slice_norm.dcm", "siemens_dwi_0.dcm.gz",
              "siemens_dwi_1000.dcm.gz"]
REAL_BIN = ["csa2_b0.bin", "csa2_b1000.bin", "csa2_zero_len.bin.gz", "csa_str_valid.bin"]


def _same_as_nibabel(ours, theirs) -> None:
    """Every value exactly as nibabel reads it; nibabel gives an empty text item as b""
    (its nt_str returns bytes when there is no NUL to cut at): the same empty value."""
    assert list(ours) == list(theirs["tags"])
    for name, tag in theirs["tags"].items():
        expected = [v.decode("latin-1") if isinstance(v, bytes) else v for v in tag["items"]]
        assert ours[name] == expected, name
        assert (ours.elements[name].vr, ours.elements[name].vm) == (tag["vr"], tag["vm"])


@pytest.mark.parametrize("name", REAL_DICOM)
def test_real_files_agree_with_nibabel(name):
    folder = _nibabel_data()
    import pydicom
    from nibabel.nicom import csareader
    data = _load(folder / name)
    ds = rawdicom.read(data)
    reference = pydicom.dcmread(io.BytesIO(data), force=True)
    found = 0
    for kind in ("image", "series"):
        theirs = csareader.get_csa_header(reference, kind)
        ours = csa_header(ds, kind)
        assert (ours is None) == (theirs is None)
        if ours is not None:
            found += 1
            assert ours.layout == f"CSA{theirs['type']}"
            _same_as_nibabel(ours, theirs)
    assert found
    image = csa_header(ds, "image")
    assert image.number_of_images_in_mosaic == csareader.get_n_mosaic(
        csareader.get_csa_header(reference, "image"))


@pytest.mark.parametrize("name", REAL_BIN)
def test_real_headers_agree_with_nibabel(name):
    from nibabel.nicom import csareader
    data = _load(_nibabel_data() / name)
    _same_as_nibabel(parse_csa(data), csareader.read(data))


REALDATA = next((p for p in (REPO.parent / "shared/realdata", Path("/work/shared/realdata"))
                 if p.is_dir()), REPO.parent / "shared/realdata")


def test_realdata_headers_agree_with_nibabel():
    """Every CSA header of the Siemens files of ../shared/realdata, value for value (the
    protocol with its final newline, ImageHistory's empty items)."""
    from nibabel.nicom import csareader
    files = sorted(p for p in (REALDATA / "dcm_qa_fmap" / "In" / "Siemens").rglob("*")
                   if p.is_file())
    if not files:
        unavailable(f"no Siemens series under {REALDATA}")
    found = 0
    for path in files:
        ds = rawdicom.read(path)
        for kind in ("image", "series"):
            element_ = csa_element(ds, kind)
            if element_ is not None:
                found += 1
                _same_as_nibabel(csa_header(ds, kind), csareader.read(bytes(element_.raw)))
    assert found >= len(files)


def test_item_cap_agrees_with_nibabel():
    from nibabel.nicom import csareader
    data = (_nibabel_data() / "csa_str_1001n_items.bin").read_bytes()
    with pytest.raises(csareader.CSAReadError):
        csareader.read(data)
    with pytest.raises(MalformedElementError, match="item count 1001"):
        parse_csa(data)


def _flatten(obj, prefix=""):
    """nibabel's nested ASCCONV dict as flat ``a.b[0].c`` keys."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield from _flatten(value, f"{prefix}.{key}" if prefix else key)
    elif isinstance(obj, list):
        for index, value in enumerate(obj):
            if value is not None:
                yield from _flatten(value, f"{prefix}[{index}]")
    else:
        yield prefix, obj


def test_protocol_agrees_with_nibabel():
    folder = _nibabel_data()
    from nibabel.nicom.ascconv import parse_ascconv as nibabel_ascconv
    sample = (folder / "ascconv_sample.txt").read_text()
    assert parse_ascconv(sample) == dict(_flatten(nibabel_ascconv(sample, '""')[0]))
    series = csa_header(rawdicom.read(folder / "0.dcm"), "series")
    text = series["MrPhoenixProtocol"][0]
    section = text[text.index("### ASCCONV BEGIN"):]
    expected = dict(_flatten(nibabel_ascconv(section, '""')[0]))
    protocol = series.protocol()
    assert protocol == expected and len(protocol) > 900
    assert protocol["sSliceArray.lSize"] == 48 == csa_header(
        rawdicom.read(folder / "0.dcm")).number_of_images_in_mosaic


# GDCM's CSAHeader.xml lists part of the names (mostly the DICOM-like ones); where it lists a
# name, the VR it gives agrees with the files', except these three, where GDCM's list is wrong
# for the files we have (syngo MR B17: ICE_Dims is "X_1_1_..." text, a slice number is IS).
GDCM_VR_DIFFERS = {"ICE_Dims": ("DS", "LO"), "ProtocolSliceNumber": ("UN", "IS"),
                   "PixelFileName": ("LO", "UN")}


def test_names_against_gdcms_list():
    folder = _nibabel_data()
    if not CSA_XML.exists():
        unavailable(f"GDCM's CSAHeader.xml not found at {CSA_XML}")
    known = {e.get("name"): e.get("vr") for e in ET.parse(CSA_XML).getroot().iter("entry")}
    unknown: set[str] = set()
    for name in REAL_DICOM:
        for kind in ("image", "series"):
            hdr = csa_header(rawdicom.read(_load(folder / name)), kind)
            for el in (hdr.elements.values() if hdr is not None else ()):
                if el.name not in known:
                    unknown.add(el.name)
                elif el.name in GDCM_VR_DIFFERS:
                    assert (known[el.name], el.vr) == GDCM_VR_DIFFERS[el.name]
                else:
                    assert known[el.name] == el.vr, el.name
    needed = {"NumberOfImagesInMosaic", "SliceNormalVector", "B_value",
              "DiffusionGradientDirection"}
    assert needed <= set(known) and not needed & unknown
    print(f"{len(unknown)} names not in GDCM's CSAHeader.xml:", sorted(unknown))
    assert "MosaicRefAcqTimes" in unknown   # GDCM's list predates slice timing


def _dcm2niix() -> str:
    tool = shutil.which("dcm2niix")
    if tool is None:
        unavailable("dcm2niix is not installed (Debian package dcm2niix)")
    return tool


def _dcm2niix_shape(tool: str, dicom: bytes, folder: Path) -> tuple[int, ...]:
    import nibabel
    source, out = folder / "in", folder / "out"
    source.mkdir(parents=True)
    out.mkdir()
    (source / "image.dcm").write_bytes(dicom)
    run = subprocess.run([tool, "-b", "n", "-z", "n", "-f", "vol", "-o", str(out), str(source)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    niftis = sorted(out.glob("*.nii"))
    assert len(niftis) == 1, run.stdout
    return tuple(nibabel.load(str(niftis[0])).shape)


@pytest.mark.parametrize("name", ["0.dcm", "siemens_dwi_1000.dcm.gz"])
def test_dcm2niix_slices_are_the_mosaic_count(name, tmp_path):
    tool = _dcm2niix()
    data = _load(_nibabel_data() / name)
    shape = _dcm2niix_shape(tool, data, tmp_path)
    hdr = csa_header(rawdicom.read(data))
    assert shape[2] == hdr.number_of_images_in_mosaic == 48


def _mosaic(tiles: int, rows: int, cols: int) -> rawdicom.Dataset:
    """A synthetic Siemens mosaic: ceil(sqrt(tiles)) tiles a side, tile t filled with t+1."""
    import math
    side = math.ceil(math.sqrt(tiles))
    image = csa([Spec("NumberOfImagesInMosaic", "US", [str(tiles)]),
                 Spec("AcquisitionMatrixText", "SH", [f"{rows}*{cols}"]),
                 Spec("SliceNormalVector", "FD", ["0.0", "0.0", "1.0"]),
                 Spec("MosaicRefAcqTimes", "FD", [f"{50.0 * t:.1f}" for t in range(tiles)],
                      vm=0)])
    ds = siemens_dataset(image)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "MOSAIC"]
    ds.StudyInstanceUID, ds.SeriesInstanceUID = "1.2.3", "1.2.3.4"
    ds.SeriesNumber, ds.InstanceNumber, ds.AcquisitionNumber = 1, 1, 1
    ds.PatientName, ds.PatientID, ds.SeriesDescription = "Mosaic^Test", "M1", "ep2d_bold"
    ds.ImagePositionPatient = [-96.0, -96.0, 0.0]
    ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    ds.PixelSpacing, ds.SliceThickness = [3.0, 3.0], 3.0
    ds.AcquisitionMatrix = [cols, 0, 0, rows]
    ds.set(0x00181312, "ROW", "CS")  # In-plane Phase Encoding Direction
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows, ds.Columns = side * rows, side * cols
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    pixels = bytearray(side * rows * side * cols * 2)
    for t in range(tiles):
        ty, tx = divmod(t, side)
        for y in range(rows):
            row = (ty * rows + y) * side * cols + tx * cols
            pixels[row * 2:(row + cols) * 2] = struct.pack(f"<{cols}H", *[t + 1] * cols)
    ds.PixelData = bytes(pixels)
    return ds


def test_dcm2niix_reads_a_synthetic_mosaic(tmp_path):
    """The CSA header built here is the one dcm2niix reads its slice count from."""
    tool = _dcm2niix()
    _nibabel_data()  # nibabel reads dcm2niix's output
    ds = _mosaic(tiles=5, rows=4, cols=6)
    data = rawdicom.to_bytes(ds)
    assert csa_header(rawdicom.read(data)).number_of_images_in_mosaic == 5
    assert _dcm2niix_shape(tool, data, tmp_path / "5") == (6, 4, 5)
    # The count comes from the CSA field: claim 3 and dcm2niix cuts 2x2 tiles of 9x6, 3 slices.
    ds.set(0x00291010, csa([Spec("NumberOfImagesInMosaic", "US", ["3"])]), "OB")
    assert _dcm2niix_shape(tool, rawdicom.to_bytes(ds), tmp_path / "3") == (9, 6, 3)
