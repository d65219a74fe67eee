"""The lazy Dataset: access by every key form, decode-once, order, charsets in sequences."""

from __future__ import annotations

import warnings

import pytest

import rawdicom
from builders import element, part10, sequence, txt, us
from rawdicom.values import PersonName


def _read(body: bytes) -> rawdicom.Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return rawdicom.read(part10(body))


def test_every_key_form_finds_the_same_element():
    ds = _read(element(0x0020000E, "UI", txt("1.2.3\0", b"\0")))
    forms = [0x0020000E, (0x0020, 0x000E), "0020,000E", "(0020,000E)", "SeriesInstanceUID"]
    assert {id(ds[key]) for key in forms} == {id(ds[0x0020000E])}
    assert all(key in ds for key in forms)
    assert ds.SeriesInstanceUID == "1.2.3" and ds.get("SeriesInstanceUID") == "1.2.3"
    assert ds.get("StudyID", "none") == "none" and "StudyID" not in ds
    with pytest.raises(KeyError):
        ds["StudyID"]
    with pytest.raises(AttributeError):
        ds.StudyID


def test_value_is_decoded_once_and_raw_is_a_view():
    ds = _read(element(0x00200032, "DS", txt("1.5\\-2\\3")))
    el = ds["ImagePositionPatient"]
    assert el.value == [1.5, -2.0, 3.0] and el.value is el.value
    assert isinstance(el.raw, memoryview) and bytes(el.raw) == b"1.5\\-2\\3"
    assert (el.tag, el.vr, el.vm, el.keyword) == (0x00200032, "DS", 3, "ImagePositionPatient")
    assert el.name == "Image Position (Patient)"


def test_iteration_is_in_ascending_tag_order_and_walk_enters_sequences():
    inner = element(0x00081150, "UI", txt("1.2\0", b"\0"))
    body = (element(0x00080060, "CS", txt("MR")) + sequence(0x00081140, [inner, inner])
            + element(0x00100010, "PN", txt("A^B")))
    ds = _read(body)
    assert [el.tag for el in ds] == [0x00080060, 0x00081140, 0x00100010]
    walked = [(depth, el.tag) for depth, el in ds.walk()]
    assert walked == [(0, 0x00080060), (0, 0x00081140), (1, 0x00081150), (1, 0x00081150),
                      (0, 0x00100010)]


def test_sequences_inherit_or_override_the_character_set():
    name = "Müller^Jörg".encode("latin-1")
    cyrillic = "Люкceмбypг".encode("iso8859_5")
    inherits = element(0x00100010, "PN", txt(name))
    overrides = element(0x00080005, "CS", txt("ISO_IR 144")) + element(0x00100010, "PN",
                                                                       txt(cyrillic))
    body = (element(0x00080005, "CS", txt("ISO_IR 100"))
            + sequence(0x00081120, [inherits, overrides]))
    items = _read(body).ReferencedPatientSequence
    assert items[0].PatientName == "Müller^Jörg"
    assert items[1].PatientName == "Люкceмбypг"
    assert isinstance(items[0].PatientName, PersonName)
    assert items[0].PatientName.family_name == "Müller"


def test_dump_lists_tags_vrs_names_values_and_indents_items():
    inner = element(0x00081150, "UI", txt("1.2.840.10008.5.1.4.1.1.2\0", b"\0"))
    body = (element(0x00080060, "CS", txt("CT")) + sequence(0x00081140, [inner])
            + element(0x7FE00010, "OW", b"\0" * 4096))
    text = str(_read(body))
    lines = text.splitlines()
    assert lines[0].startswith("(0008,0060) CS Modality") and "'CT'" in lines[0]
    assert lines[1].startswith("(0008,1140) SQ ReferencedImageSequence")
    assert lines[2] == "  Item 1"
    assert lines[3].startswith("    (0008,1150) UI ReferencedSOPClassUID")
    assert "(CT Image Storage)" in lines[3]
    assert lines[4].startswith("(7FE0,0010) OW PixelData") and "<4096 bytes>" in lines[4]


def test_long_values_are_abbreviated_in_the_listing():
    ds = _read(element(0x00204000, "LT", txt("x" * 500)))
    line = ds.dump()
    assert len(line) < 140 and line.endswith("...")


def test_set_and_delete_by_keyword_with_dictionary_vr():
    ds = _read(element(0x00080060, "CS", txt("CT")) + element(0x00280010, "US", us(512)))
    ds.PatientID = "P1"
    ds.set(0x00200013, 7)
    assert ds["PatientID"].vr == "LO" and ds.PatientID == "P1"
    assert ds["InstanceNumber"].vr == "IS" and ds.InstanceNumber == 7
    assert [el.tag for el in ds] == [0x00080060, 0x00100020, 0x00200013, 0x00280010]
    del ds.Modality
    del ds["Rows"]
    assert "Modality" not in ds and "Rows" not in ds and len(ds) == 2


def test_a_dataset_is_freed_without_the_garbage_collector():
    """No reference cycles: a read file (and a memory map under it) goes with its last user."""
    import gc
    import weakref

    inner = element(0x00081150, "UI", txt("1.2\0", b"\0"))
    body = (element(0x00080005, "CS", txt("ISO_IR 100")) + sequence(0x00081140, [inner])
            + sequence(0x00081140 + 1, [inner], undefined=False)
            + element(0x00100010, "PN", txt("A^B")))
    gc.disable()
    try:
        ds = _read(body)
        for _, el in ds.walk():
            el.value
        items = ds[0x00081141].value
        ref = weakref.ref(ds)
        del ds
        assert ref() is None
        assert items[0].parent is None and items[0].charset == ("ISO_IR 100",)
    finally:
        gc.enable()


def test_items_kept_alone_still_decode_with_the_inherited_charset():
    name = "Müller".encode("latin-1")
    body = (element(0x00080005, "CS", txt("ISO_IR 100"))
            + sequence(0x00081120, [element(0x00100010, "PN", txt(name))], undefined=False))
    seq = _read(body)["ReferencedPatientSequence"]  # the dataset itself is gone
    assert seq.value[0].PatientName == "Müller"


def test_printing_imports_the_dataset_not_the_other_way():
    """Imports run one way: printing.py takes the Dataset it prints; dataset.py imports no
    printing at module level (Dataset.dump reaches it at call time)."""
    import ast
    from pathlib import Path

    def module_imports(name: str) -> set[str]:
        tree = ast.parse((Path(rawdicom.__file__).parent / f"{name}.py").read_text(encoding="utf-8"))
        found = set()
        for node in tree.body:  # module level only
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                found |= {node.module} if node.module else {a.name for a in node.names}
        return found

    assert "printing" not in module_imports("dataset")
    assert "dataset" in module_imports("printing")
