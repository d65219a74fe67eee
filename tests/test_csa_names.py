"""parse_csa(names=...): the scan's fast path through a CSA header equals the full parse.

The elements asked for hold the same values; every other element is walked with the same
checks, so a damaged header raises the same error (type, message, offset) either way. Checked
on both layouts, on the real Siemens headers of ../shared/realdata where they are, and on
thousands of headers with bytes overwritten.
"""

from __future__ import annotations

import random
import warnings
from pathlib import Path

import pytest

import rawdicom
from csa_builders import typical_image
from rawdicom.errors import DicomError
from rawdicom.vendor.fields import _CSA_NAMES
from rawdicom.vendor.siemens import parse_csa

REPO = Path(__file__).resolve().parents[1]
REALDATA = next((p for p in (REPO.parent / "shared/realdata",
                             REPO.parent.parent / "shared/realdata") if p.exists()), None)


def outcome(raw: bytes, names: frozenset[str] | None) -> tuple[object, ...]:
    """What a parse gives: the asked-for elements' values and declarations, or the error."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a non-number among the values not asked for
        try:
            header = parse_csa(raw, offset=100, tag=0x00291010, names=names)
        except DicomError as exc:
            return ("error", type(exc), str(exc), exc.offset, exc.tag)
    kept = {n: (header.get(n), header.elements[n].vr, header.elements[n].offset)
            for n in _CSA_NAMES if n in header}
    return ("ok", header.layout, kept)


def real_headers() -> list[bytes]:
    if REALDATA is None:
        return []
    found = []
    for path in sorted(REALDATA.rglob("*.dcm")):
        try:
            ds = rawdicom.read(path, stop_before_pixels=True)
        except (DicomError, OSError):
            continue
        for tag in (0x00291010, 0x00291110):
            if tag in ds._elements and isinstance(ds[tag].value, bytes):
                found.append(ds[tag].value)
    return found[:6]


@pytest.mark.parametrize("layout", ["CSA2", "CSA1"])
def test_asked_for_elements_equal_the_full_parse(layout: str) -> None:
    raw = typical_image(layout)
    fast, full = outcome(raw, _CSA_NAMES), outcome(raw, None)
    assert fast == full and fast[0] == "ok" and len(fast[2]) == 4


def test_real_headers_give_the_same_values() -> None:
    headers = real_headers()
    if not headers:
        pytest.skip("no Siemens file under ../shared/realdata")
    for raw in headers:
        assert outcome(raw, _CSA_NAMES) == outcome(raw, None)


@pytest.mark.parametrize("layout", ["CSA2", "CSA1"])
def test_damaged_headers_fail_alike(layout: str) -> None:
    """Bytes overwritten anywhere (counts, lengths, names, values): the same values or the
    same error from the fast path as from the full parse."""
    sources = [typical_image(layout)] + [r for r in real_headers()
                                         if (r[:4] == b"SV10") == (layout == "CSA2")][:2]
    rng = random.Random(23)
    errors = 0
    for case in range(1500):
        raw = bytearray(sources[case % len(sources)])
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(raw))
            raw[at:at + 4] = rng.choice([b"\xff\xff\xff\xff", b"\x00\x00\x00\x00",
                                         rng.randbytes(4), b"\x10\x00\x00\x00"])[
                :len(raw) - at]
        fast, full = outcome(bytes(raw), _CSA_NAMES), outcome(bytes(raw), None)
        assert fast == full, case
        errors += fast[0] == "error"
    assert 100 < errors < 1400  # both outcomes were exercised
