"""The scanner's layouts (runs of elements matched against the last file's, in C) give what
the element walk gives: the same elements, records, stop, warnings and errors, for files
read one after another, on real series, on generated variants (values of other lengths,
flipped bytes, cut files, other encodings) and with small element budgets."""

from __future__ import annotations

import random
import struct
import warnings
from pathlib import Path

import pytest

import rawdicom
from rawdicom import scanner
from rawdicom.errors import DicomError, DicomWarning
from rawdicom.limits import Limits
from rawdicom.model.record import HEADER_TAGS
from builders import EXPLICIT_BE, element, part10, sequence, item, txt, uid, us

ROOT = Path(__file__).resolve().parents[1]
REALDATA = next((p for p in (ROOT.parent / "shared" / "realdata", Path("/work/shared/realdata"))
                 if p.is_dir()), None)


def _walk_only(data, records, buf, pos, end, header, u32, last_tag, stop_tag, count,
               last_start, kept):
    return scanner._plain_run(records, buf, pos, end, header, u32, last_tag, stop_tag, count,
                              last_start, kept)


def _entry(entry):
    if type(entry) is tuple:
        return entry
    return (entry.vr, entry.length, entry.offset)


def fingerprint(src, **kw):
    """Everything a read gives: elements (nested ones too), stop, size, warnings or error."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            ds = rawdicom.read(src, **kw)
            out = [ds.stopped_at, getattr(ds, "source_size", None),
                   [(t, _entry(e)) for t, e in ds._elements.items()],
                   [(t, _entry(e)) for t, e in ds.file_meta._elements.items()]
                   if ds.file_meta is not None else None]
            try:
                out.append([(d, el.tag, el.vr, el.length, el.offset) for d, el in ds.walk()])
            except DicomError as exc:
                out.append(("walk error", type(exc).__name__, str(exc), exc.offset, exc.tag))
        except DicomError as exc:
            out = ["error", type(exc).__name__, str(exc), exc.offset, exc.tag]
    return out, [str(w.message) for w in caught if issubclass(w.category, DicomWarning)]


def compare(sources, monkeypatch, **kw):
    """Each source read in turn with layouts (from a clean start) and with the walk alone."""
    with monkeypatch.context() as m:
        m.setattr(scanner, "_layout_run", _walk_only)
        expected = [fingerprint(s, **kw) for s in sources]
    scanner._LAYOUTS.clear()
    used = 0
    for source, want in zip(sources, expected):
        got = fingerprint(source, **kw)
        assert got == want, source if isinstance(source, (str, Path)) else len(source)
        used += bool(scanner._LAYOUTS)
    return used


def _real_files(limit):
    if REALDATA is None:
        pytest.skip("the real series (../shared/realdata) are not here")
    files = sorted(p for p in REALDATA.rglob("*") if p.is_file() and p.name != "README.md")
    random.Random(5).shuffle(files)
    return sorted(files[:limit])


@pytest.mark.parametrize("kw", [{"tags": HEADER_TAGS}, {"stop_before_pixels": True}, {}],
                         ids=["tags", "header", "whole"])
def test_real_series(kw, monkeypatch):
    files = _real_files(300 if kw.get("tags") else 120)
    assert compare([str(p) for p in files], monkeypatch, **kw) > 0


def _header_elements(data):
    """(value offset, length, header length) of the top-level plain elements of ``data``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = rawdicom.read(data, stop_before_pixels=True)
    out = []
    for tag, entry in ds._elements.items():
        if type(entry) is tuple:
            vr, length, offset = entry
            out.append((offset, length, 12 if vr in scanner.LONG_VRS else 8))
    return out


def _resized(data, offset, length, size, grow):
    """``data`` with the value at ``offset`` grown by ``grow`` bytes (or cut), its length
    field changed to match."""
    new = length + grow
    if new < 0 or (size == 8 and new > 0xFFFF):
        return data
    field = struct.pack("<H", new) if size == 8 else struct.pack("<I", new)
    value = data[offset:offset + length]
    value = value + b" " * grow if grow > 0 else value[:new]
    return (data[:offset - len(field)] + field + value + data[offset + length:])


def _variants(base, rng, count):
    elements = _header_elements(base)
    out = []
    for _ in range(count):
        data = base
        kind = rng.random()
        if kind < 0.5 and elements:  # one to three values of another length
            for offset, length, size in sorted(rng.sample(elements, min(len(elements),
                                                                         rng.randint(1, 3))),
                                               reverse=True):
                data = _resized(data, offset, length, size, rng.choice((-2, 2, 4, 1, -1)))
        elif kind < 0.8:  # bytes flipped in the header
            data = bytearray(data)
            for _ in range(rng.randint(1, 4)):
                data[rng.randrange(min(len(data), 4096))] = rng.randrange(256)
            data = bytes(data)
        else:  # cut
            data = data[:rng.randrange(len(data) + 1)]
        out.append(data)
    return out


def _bases():
    files = [p for p in _real_files(300)]
    rng = random.Random(7)
    rng.shuffle(files)
    bases = []
    for p in files:
        data = p.read_bytes()[:20000]
        try:
            _header_elements(data)
        except DicomError:
            continue
        bases.append(data)
        if len(bases) == 12:
            break
    return bases


@pytest.mark.parametrize("kw", [{"tags": HEADER_TAGS}, {"stop_before_pixels": True}],
                         ids=["tags", "header"])
def test_variants(kw, monkeypatch):
    rng = random.Random(11)
    sources = []
    for base in _bases():
        sources.append(base)
        sources.extend(_variants(base, rng, 40))
        sources.append(base)
    compare(sources, monkeypatch, **kw)


def test_small_budgets(monkeypatch):
    """An element budget that ends inside a remembered run: the same error, or none."""
    bases = _bases()[:4]
    for limit in (5, 20, 40, 60, 90, 130):
        limits = Limits(max_elements=limit)
        sources = [b for base in bases for b in (base, base, _resized(
            base, *_header_elements(base)[len(_header_elements(base)) // 2], 2))]
        compare(sources, monkeypatch, stop_before_pixels=True, limits=limits)


def _synthetic(little, lengths):
    body = b"".join(element(0x00080010 + i * 2, "LO", txt("v" * n), little=little)
                    for i, n in enumerate(lengths))
    body += sequence(0x00082112, [item(element(0x00081150, "UI", uid("1.2.3"), little=little)
                                       + element(0x00081155, "UI", uid("1.2.3.4"),
                                                 little=little), little=little)],
                     little=little)
    body += b"".join(element(0x00200010 + i, "SH", txt("x" * n), little=little)
                     for i, n in enumerate(lengths))
    body += element(0x00280010, "US", us(8, little=little), little=little)
    return body


@pytest.mark.parametrize("little", [True, False], ids=["little", "big"])
def test_synthetic_series(little, monkeypatch):
    """Runs before and after a sequence, values changing length one file to the next, in
    both byte orders."""
    rng = random.Random(3)
    sources = []
    for _ in range(60):
        lengths = [rng.choice((2, 3, 4, 10)) for _ in range(12)]
        body = _synthetic(little, lengths)
        sources.append(part10(body) if little else part10(body, EXPLICIT_BE))
    compare(sources, monkeypatch, stop_before_pixels=True)
    compare(sources, monkeypatch)
