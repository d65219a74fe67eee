"""rawdicom.Limits: the configurable bounds of a read."""

from __future__ import annotations

import zlib

import pytest

import rawdicom
from builders import element, part10, txt
from rawdicom.limits import INFLATE_FLOOR, MAX_DEPTH, Limits

DEFLATED = "1.2.840.10008.1.2.1.99"


def _deflated(body: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return part10(packer.compress(body) + packer.flush(), DEFLATED)


def test_max_depth_is_validated_against_the_stack():
    assert Limits(max_depth=MAX_DEPTH).max_depth == MAX_DEPTH
    for bad in (0, MAX_DEPTH + 1):
        with pytest.raises(ValueError, match="max_depth"):
            Limits(max_depth=bad)


def test_inflate_cap_is_the_smaller_of_size_and_ratio_with_a_floor():
    limits = Limits(max_inflated_size=1 << 30, max_inflate_ratio=100)
    assert limits.inflate_cap(1000) == INFLATE_FLOOR            # small inputs: the floor
    assert limits.inflate_cap(10 << 20) == 1000 << 20           # 100 x 10 MiB
    assert limits.inflate_cap(100 << 20) == 1 << 30             # the absolute cap
    assert Limits(max_inflated_size=4096).inflate_cap(10) == 4096


def test_deflate_ratio_bound_applies_to_large_inputs():
    body = element(0x00080060, "CS", txt("CT")) + element(0x7FE00010, "OB", b"\0" * (2 << 20))
    data = _deflated(body)
    ds = rawdicom.read(data)  # 2 MiB out of ~2 KiB: under the 16 MiB floor
    assert ds.Modality == "CT"
    with pytest.raises(rawdicom.LimitExceededError, match="inflates past"):
        rawdicom.read(data, limits=Limits(max_inflated_size=1 << 20))


def test_element_count_bound():
    body = b"".join(element(0x00090010 + k, "LO", txt("x")) for k in range(50))
    with pytest.raises(rawdicom.LimitExceededError, match="more than 20 elements"):
        rawdicom.read(part10(body), limits=Limits(max_elements=20))
    assert len(rawdicom.read(part10(body), limits=Limits(max_elements=100))) == 50


@pytest.mark.parametrize("undefined", [True, False])
def test_the_deepest_nesting_allowed_reads_prints_and_writes(undefined):
    from builders import sequence

    inner = element(0x00100010, "PN", txt("Deep"))
    for _ in range(MAX_DEPTH):
        inner = sequence(0x00081115, [inner], undefined=undefined)
    ds = rawdicom.read(part10(inner), limits=Limits(max_depth=MAX_DEPTH))
    for _ in ds.walk():
        pass
    assert "Deep" in str(ds)
    again = rawdicom.read(rawdicom.to_bytes(ds), limits=Limits(max_depth=MAX_DEPTH))
    item = again
    for _ in range(MAX_DEPTH):
        item = item[0x00081115].value[0]
    assert item.PatientName == "Deep"
    with pytest.raises(rawdicom.LimitExceededError):
        # undefined lengths are parsed by read(), defined ones when walked into
        for _ in rawdicom.read(part10(inner), limits=Limits(max_depth=MAX_DEPTH - 1)).walk():
            pass
