"""The record's caches of decoded values (model/record.py: a value decoded once per distinct
bytes and field) give the records, problems and warnings of a cold start: files read one
after another with the caches warm equal each file read with them emptied, on real series
and on variants whose values are changed in place (IS "1.0", "+5", "1\\2", "12a", DS that do
not parse, non-ASCII and ESC bytes, NULs)."""

from __future__ import annotations

import random
import warnings
from pathlib import Path

import pytest

import rawdicom
from rawdicom.errors import DicomError, DicomWarning
from rawdicom.model import record as model_record
from rawdicom.model.record import HEADER_TAGS, instance_record

ROOT = Path(__file__).resolve().parents[1]
REALDATA = next((p for p in (ROOT.parent / "shared" / "realdata", Path("/work/shared/realdata"))
                 if p.is_dir()), None)


def _empty_caches():
    for table in model_record._FIELD_TAGS.values():
        for _, _, cache in table.values():
            if cache is not None:
                cache.clear()


def _record(source, cold):
    if cold:
        _empty_caches()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            ds = rawdicom.read(source, tags=HEADER_TAGS)
            return instance_record(ds, "p"), [str(w.message) for w in caught
                                               if issubclass(w.category, DicomWarning)]
        except DicomError as exc:
            return "error", type(exc).__name__, str(exc)


def compare(sources):
    expected = [_record(s, cold=True) for s in sources]
    _empty_caches()
    for i, (source, want) in enumerate(zip(sources, expected)):
        assert _record(source, cold=False) == want, i


def _real_files(limit):
    if REALDATA is None:
        pytest.skip("the real series (../shared/realdata) are not here")
    files = sorted(p for p in REALDATA.rglob("*") if p.is_file() and p.name != "README.md")
    random.Random(5).shuffle(files)
    return sorted(files[:limit])


def test_real_series():
    compare([str(p) for p in _real_files(300)])


_VALUES = [b"1.0", b"+5", b"-3", b"1\\2", b"12a", b"1e3", b"0012", b" 7", b"\x1b$B", b"\xe9",
           b"\x00", b"2.5\\x", b"\\", b"99999999999", b"1_0"]


def _variants(base, rng, count):
    ds = rawdicom.read(base, tags=HEADER_TAGS)
    places = [(o, n) for t, e in ds._elements.items() if type(e) is tuple
              for vr, n, o in [e] if n and vr in ("IS", "DS", "CS", "LO", "SH", "PN", "UI")]
    out = []
    for _ in range(count):
        data = bytearray(base)
        for offset, length in rng.sample(places, min(len(places), rng.randint(1, 4))):
            value = rng.choice(_VALUES)[:length].ljust(length, b" ")
            data[offset:offset + length] = value
        out.append(bytes(data))
    return out


def test_variants():
    rng = random.Random(19)
    sources = []
    for path in _real_files(300):
        data = path.read_bytes()[:30000]
        try:
            variants = _variants(data, rng, 25)
        except DicomError:
            continue
        # each variant twice: the second meets the values its first put in the caches
        sources.extend([data, *variants, *variants, data])
        if len(sources) > 600:
            break
    compare(sources)


def test_counts_and_identifiers_of_another_type():
    """A count that is no integer and an identifier that is no text are left out with a
    note (the record's type checks, taken key by key only when a type differs)."""
    import struct

    from builders import element, part10, txt, uid

    body = (element(0x00080016, "UI", uid("1.2.3"))
            + element(0x00080018, "FD", struct.pack("<d", 1.5))
            + element(0x0020000D, "UI", uid("1.2.3.4"))
            + element(0x0020000E, "UI", uid("1.2.3.5"))
            + element(0x00280010, "UT", txt("8"))
            + element(0x00280011, "US", struct.pack("<H", 4)))
    for _ in range(2):  # cold, then warm caches
        record = instance_record(rawdicom.read(part10(body), tags=HEADER_TAGS), "p")
        assert record["rows"] is None and record["columns"] == 4
        assert record["sop_instance_uid"] is None and record["sop_class_uid"] == "1.2.3"
        assert [p.split(":")[0] for p in record["problems"]] == ["rows", "sop_instance_uid"]
