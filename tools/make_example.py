"""Write the example file shipped with rawdicom: a synthetic CT slice of a head phantom.

    python tools/make_example.py [OUT]     (default: rawdicom/examples/ct_phantom.dcm)

The file is made from first principles (explicit VR little endian, PS3.5 7.1.2),
so it carries no patient data and no third party's bytes: 128 x 128 signed
16-bit pixels with Rescale Intercept -1024 (stored = HU + 1024), two window
presets, a Latin-1 name, a nested sequence of undefined length. The output is
the same bytes on every run.
"""

from __future__ import annotations

import math
import struct
import sys
from pathlib import Path

LONG_VRS = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "UC", "UN", "UR", "UT", "SV", "UV"}
ROOT = "2.25.31415926535897932384626433832795028"


def element(tag: int, vr: str, value: bytes) -> bytes:
    """One explicit VR little endian element, its value padded to even length."""
    if len(value) % 2:
        value += b"\0" if vr in ("UI", "OB", "UN") else b" "
    head = struct.pack("<HH2s", tag >> 16, tag & 0xFFFF, vr.encode())
    if vr in LONG_VRS:
        return head + struct.pack("<2xI", len(value)) + value
    return head + struct.pack("<H", len(value)) + value


def text(tag: int, vr: str, value: str, encoding: str = "ascii") -> bytes:
    return element(tag, vr, value.encode(encoding))


def us(tag: int, *values: int) -> bytes:
    return element(tag, "US", struct.pack(f"<{len(values)}H", *values))


def phantom(size: int = 128) -> bytes:
    """Stored values (HU + 1024) of an elliptic skull with brain and two ventricles."""
    out = bytearray()
    c = (size - 1) / 2
    for y in range(size):
        for x in range(size):
            dx, dy = (x - c) / (size * 0.40), (y - c) / (size * 0.46)
            r = math.hypot(dx, dy)
            hu = -1000
            if r < 1.0:
                hu = 1000 if r > 0.90 else 35 + int(6 * math.sin(x * 0.7) * math.cos(y * 0.5))
                for vx in (-0.18, 0.18):
                    if math.hypot((x - c) / size - vx, (y - c) / size + 0.05) < 0.07:
                        hu = 8
            out += struct.pack("<h", hu + 1024)
    return bytes(out)


def build() -> bytes:
    sop_class = "1.2.840.10008.5.1.4.1.1.2"
    sop_instance = ROOT + ".3.1"
    meta_body = b"".join([
        element(0x00020001, "OB", b"\x00\x01"),
        text(0x00020002, "UI", sop_class),
        text(0x00020003, "UI", sop_instance),
        text(0x00020010, "UI", "1.2.840.10008.1.2.1"),
        text(0x00020012, "UI", ROOT + ".0"),
        text(0x00020013, "SH", "RAWDICOM_EXAMPLE"),
    ])
    meta = element(0x00020000, "UL", struct.pack("<I", len(meta_body))) + meta_body
    item = b"".join([text(0x00321060, "LO", "CT HEAD WITHOUT CONTRAST"),
                     text(0x00401001, "SH", "RP-0001")])
    request_sequence = (struct.pack("<HH2s2xI", 0x0040, 0x0275, b"SQ", 0xFFFFFFFF)
                        + struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF) + item
                        + struct.pack("<HHI", 0xFFFE, 0xE00D, 0)
                        + struct.pack("<HHI", 0xFFFE, 0xE0DD, 0))
    body = b"".join([
        text(0x00080005, "CS", "ISO_IR 100"),
        text(0x00080008, "CS", "ORIGINAL\\PRIMARY\\AXIAL"),
        text(0x00080016, "UI", sop_class),
        text(0x00080018, "UI", sop_instance),
        text(0x00080020, "DA", "20260101"),
        text(0x00080030, "TM", "093000.000"),
        text(0x00080060, "CS", "CT"),
        text(0x00080070, "LO", "rawdicom synthetic phantom"),
        text(0x0008103E, "LO", "Head phantom, synthetic"),
        text(0x00100010, "PN", "Phantom^Jörg", "latin-1"),
        text(0x00100020, "LO", "PHANTOM-001"),
        text(0x00100030, "DA", "19700101"),
        text(0x00100040, "CS", "O"),
        text(0x00180050, "DS", "2.5"),
        text(0x00180060, "DS", "120"),
        text(0x0020000D, "UI", ROOT + ".1"),
        text(0x0020000E, "UI", ROOT + ".2"),
        text(0x00200010, "SH", "1"),
        text(0x00200011, "IS", "1"),
        text(0x00200013, "IS", "1"),
        text(0x00200032, "DS", "-63.5\\-63.5\\0"),
        text(0x00200037, "DS", "1\\0\\0\\0\\1\\0"),
        us(0x00280002, 1),
        text(0x00280004, "CS", "MONOCHROME2"),
        us(0x00280010, 128),
        us(0x00280011, 128),
        text(0x00280030, "DS", "1\\1"),
        us(0x00280100, 16),
        us(0x00280101, 12),
        us(0x00280102, 11),
        us(0x00280103, 1),
        text(0x00281050, "DS", "40\\400"),
        text(0x00281051, "DS", "80\\1500"),
        text(0x00281052, "DS", "-1024"),
        text(0x00281053, "DS", "1"),
        text(0x00281054, "LO", "HU"),
        text(0x00281055, "LO", "BRAIN\\BONE"),
        request_sequence,
        element(0x7FE00010, "OW", phantom()),
    ])
    return b"\0" * 128 + b"DICM" + meta + body


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else (
        Path(__file__).resolve().parents[1] / "rawdicom" / "examples" / "ct_phantom.dcm")
    out.write_bytes(build())
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
