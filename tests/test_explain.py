"""``rawdicom.explain``: every byte of a file accounted for exactly once, in order.

"Every byte" is the whole file (see rawdicom/explain.py): values and pixel data are parts
too, and a deflated data set is explained a second time as its inflated bytes. The walker is
independent of the scanner; the scanner's value offsets check it.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import rawdicom
from rawdicom.explain import Walk, explain, format_entries, format_walk

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


# -- damaged values and streaming ----------------------------------------------------------------
def _explicit_le(*elements: bytes) -> bytes:
    """A Part 10 file in explicit VR little endian holding ``elements``."""
    syntax = b"1.2.840.10008.1.2.1\0"
    meta = struct.pack("<HH2sH", 2, 0x10, b"UI", len(syntax)) + syntax
    meta = struct.pack("<HH2sHI", 2, 0, b"UL", 4, len(meta)) + meta
    return bytes(128) + b"DICM" + meta + b"".join(elements)


def test_an_at_value_that_is_not_whole_tags_is_explained():
    """A 2-byte AT value was a TypeError (explain promises to explain any bytes)."""
    for value in (b"\x10\x00", b"\x10\x00\x10\x00\x01\x00"):
        data = _explicit_le(struct.pack("<HH2sH", 0x0028, 0x0009, b"AT", len(value)) + value)
        explanation = explain(data)
        (part,) = [p for e in explanation.entries for p in e.parts if p.role == "value"
                   and e.tag == 0x00280009]
        assert "not a tag: AT values are 4 bytes each" in part.meaning
        assert explanation.problem is None and "(0028,0009)" in format_entries(explanation)


@pytest.mark.parametrize("path", FILES[::5] + [EXAMPLES / "ct_phantom.dcm"], ids=_name)
def test_the_streamed_walk_lists_what_explain_lists(path: Path):
    explanation = explain(path.read_bytes())
    with open(path, "rb") as f:
        walk = Walk(f)
        assert list(walk) == explanation.entries and walk.problem == explanation.problem
    for options in ({}, {"limit": 7}, {"offset": 400}, {"tag": 0x7FE00010}, {"colour": True}):
        with Walk(path) as walk:
            assert "\n".join(format_walk(walk, **options)) == format_entries(explanation,
                                                                             **options)


def _sparse_file(path: Path, pixel_bytes: int) -> None:
    """The example slice with a Pixel Data of ``pixel_bytes`` zeros (a sparse file: no disk
    space, no memory to write it)."""
    ds = rawdicom.read(EXAMPLES / "ct_phantom.dcm", stop_before_pixels=True)
    head = rawdicom.to_bytes(ds, transfer_syntax="1.2.840.10008.1.2.1")
    with open(path, "wb") as f:
        f.write(head + struct.pack("<HH2s2xI", 0x7FE0, 0x0010, b"OW", pixel_bytes))
        f.truncate(len(head) + 12 + pixel_bytes)


def _peak_mib(*args: str) -> float:
    """Peak resident memory of ``python -m rawdicom ARGS`` (in a child of a child, so that
    no other child of this process counts), output discarded."""
    code = ("import resource, subprocess, sys\n"
            "r = subprocess.run([sys.executable, '-m', 'rawdicom', *sys.argv[1:]], "
            "stdout=subprocess.DEVNULL)\n"
            "assert r.returncode == 0, r.returncode\n"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code, *args], cwd=root, capture_output=True,
                         text=True, check=True, env={**os.environ, "PYTHONPATH": str(root)})
    return int(out.stdout) / 1024


def test_explain_of_a_large_file_streams(tmp_path: Path):
    """Memory is bounded by what is printed, not by the file: a 200 MB file costs what
    looking up a tag costs (within 40 MiB). Before the stream a 104 MB file took 924 MiB
    (the file, its copies and a list of its 8-byte rows)."""
    big = tmp_path / "big.dcm"
    _sparse_file(big, 200 << 20)
    baseline = _peak_mib("tag", "Rows")
    assert _peak_mib("explain", str(big)) < baseline + 40
    assert _peak_mib("explain", str(big), "--tag", "PixelData") < baseline + 40
