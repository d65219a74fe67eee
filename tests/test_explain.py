"""``rawdicom.explain``: every byte of a file accounted for exactly once, in order.

"Every byte" is the whole file (see rawdicom/explain.py): values and pixel data are parts
too, and a deflated data set is explained a second time as its inflated bytes. The walker is
independent of the scanner; the scanner's value offsets check it.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

import rawdicom
from rawdicom.explain import explain, format_entries

pydicom = pytest.importorskip("pydicom")
DATA = Path(pydicom.__file__).parent / "data"
EXAMPLES = Path(rawdicom.__file__).parent / "examples"
FILES = sorted([p for folder in ("test_files", "charset_files") for p in (DATA / folder).rglob("*")
                if p.is_file() and "__pycache__" not in p.parts]
               + list((EXAMPLES / "study").iterdir()) + [EXAMPLES / "ct_phantom.dcm"])

# Files rawdicom reads (leniently) whose bytes break a rule explain stops at, and why.
STOPS = {
    "test_files/dicomdirtests/DICOMDIR-nooffset": "an item of the Directory Record Sequence "
                                                  "runs 24 bytes past the end of the file",
    "test_files/MR_truncated.dcm": "the file ends inside the Pixel Data value",
    "test_files/rtplan_truncated.dcm": "the file ends inside a sequence",
}


def _name(path: Path) -> str:
    return str(path.relative_to(DATA if DATA in path.parents else EXAMPLES.parent))


def _accounted(path: Path) -> rawdicom.explain.Explanation:
    """Parts of each byte space run from 0 to its end, each starting where the last ended."""
    data = path.read_bytes()
    explanation = explain(data)
    assert explanation.data["file"] == data
    for space, buf in explanation.data.items():
        position = 0
        for entry in explanation.entries:
            for part in entry.parts:
                if part.space == space:
                    assert part.start == position, (space, entry.title, part)
                    assert part.end > part.start or part.role == "value", (space, part)
                    position = part.end
        assert position == len(buf), (space, position, len(buf))
    return explanation


@pytest.mark.parametrize("path", FILES, ids=_name)
def test_every_byte_is_accounted_for_once_in_order(path: Path):
    explanation = _accounted(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ds = rawdicom.read(path)
            readable = True
        except rawdicom.NotDicomError:
            readable = False  # not DICOM: the walk stops on the first "element", unparsed
        except rawdicom.DicomError:
            readable = True  # cut short: explain shows what is there
    if not readable:
        assert explanation.problem
        return
    name = _name(path)
    assert (explanation.problem is not None) == (name in STOPS), explanation.problem
    if name in STOPS:
        return
    # The scanner's value offsets are where explain's value parts start.
    space = "inflated" if "inflated" in explanation.data else "file"
    top = {e.tag: e for e in explanation.entries if e.kind == "element" and e.depth == 0
           and e.parts[0].space == space}
    for el in ds:
        if el.vr == "SQ" or el.encapsulated is not None or el.tag not in top:
            continue
        value = [p for p in top[el.tag].parts if p.role == "value"]
        if el.size:
            assert value and value[0].start == el.offset, (el, value)


def test_the_listing_marks_what_a_learner_needs():
    study = EXAMPLES / "study"
    by_syntax = {}
    for path in study.iterdir():
        ds = rawdicom.read(path, stop_before_pixels=True)
        by_syntax.setdefault(ds.transfer_syntax.uid, path)
    implicit = format_entries(explain(by_syntax["1.2.840.10008.1.2"].read_bytes()))
    assert "preamble 128 bytes" in implicit and "'DICM'" in implicit
    assert "implicit VR: the dictionary says SQ" in implicit
    assert "undefined (0xFFFFFFFF): the item ends at an Item Delimitation Item" in implicit
    assert "(FFFE,E0DD) Sequence Delimitation Item" in implicit
    rle = format_entries(explain(by_syntax["1.2.840.10008.1.2.5"].read_bytes()),
                         tag=0x7FE00010)
    assert "Basic Offset Table" in rle and "Fragment 1" in rle and rle.startswith("(7FE0,0010)")
    deflated = format_entries(explain(by_syntax["1.2.840.10008.1.2.1.99"].read_bytes()),
                              limit=12)
    assert "raw deflate (PS3.5 A.5)" in deflated and "(inflated)" in deflated
    assert "2 reserved bytes and a 4-byte length" in deflated
    assert "\x1b[" not in deflated
    assert "\x1b[36m" in format_entries(explain(by_syntax["1.2.840.10008.1.2"].read_bytes()),
                                        colour=True, limit=3)


def test_a_cut_file_ends_in_one_unparsed_part():
    data = (EXAMPLES / "ct_phantom.dcm").read_bytes()[:700]
    explanation = explain(data)
    assert explanation.entries[-1].kind == "unparsed" or explanation.problem
    assert explanation.entries[-1].end == 700 and "runs past" in explanation.problem
