"""Tiny byte builders for pixel tests: a Part 10 file from a few attributes and pixel bytes.

Each test states its bytes: the Image Pixel attributes, the Pixel Data value
(native bytes, or fragments for encapsulated syntaxes), the transfer syntax.
Also a DICOM RLE encoder (PS3.5 Annex G, PackBits per byte plane) so RLE can
be round-tripped.
"""

from __future__ import annotations

import struct

import numpy as np

EXPLICIT_LE = "1.2.840.10008.1.2.1"
EXPLICIT_BE = "1.2.840.10008.1.2.2"
IMPLICIT_LE = "1.2.840.10008.1.2"
RLE = "1.2.840.10008.1.2.5"

_LONG_VRS = {"OB", "OW", "OF", "OD", "OL", "OV", "SQ", "UN", "UT", "UC", "UR"}


def element(tag: int, vr: str, value: bytes, little: bool = True) -> bytes:
    """One explicit VR element, padded to even length."""
    if len(value) % 2:
        value += b"\0" if vr in ("OB", "UI", "OW", "UN") else b" "
    e = "<" if little else ">"
    head = struct.pack(f"{e}HH", tag >> 16, tag & 0xFFFF) + vr.encode()
    if vr in _LONG_VRS:
        return head + b"\0\0" + struct.pack(f"{e}I", len(value)) + value
    return head + struct.pack(f"{e}H", len(value)) + value


def us(*values: int, little: bool = True) -> bytes:
    return struct.pack(f"{'<' if little else '>'}{len(values)}H", *values)


def encapsulated(fragments: list[bytes], offsets: list[int] | None = None) -> bytes:
    """Pixel Data (7FE0,0010) OB of undefined length: Basic Offset Table, fragments, delimiter."""
    table = b"".join(struct.pack("<I", o) for o in offsets or [])
    out = struct.pack("<HH", 0x7FE0, 0x0010) + b"OB\0\0" + b"\xff\xff\xff\xff"
    out += struct.pack("<HHI", 0xFFFE, 0xE000, len(table)) + table
    for frag in fragments:
        if len(frag) % 2:
            frag += b"\0"
        out += struct.pack("<HHI", 0xFFFE, 0xE000, len(frag)) + frag
    return out + struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)


def dicom(*, rows: int | None, columns: int | None, bits_allocated: int | None,
          bits_stored: int | None = None, pixel_representation: int = 0, samples: int = 1,
          planar: int | None = None, frames: int | None = None,
          photometric: str | None = None, pixels: bytes = b"",
          fragments: list[bytes] | None = None, offsets: list[int] | None = None,
          syntax: str = EXPLICIT_LE, pixel_tag: int = 0x7FE00010, pixel_vr: str | None = None,
          extra: list[tuple[int, str, bytes]] = ()) -> bytes:
    """A Part 10 file; attributes given as None are left out (to test their absence)."""
    uid = syntax.encode()
    meta = element(0x00020010, "UI", uid)
    meta = element(0x00020000, "UL", struct.pack("<I", len(meta))) + meta
    little = syntax != EXPLICIT_BE
    if photometric is None:
        photometric = "MONOCHROME2" if samples == 1 else "RGB"
    elems: list[tuple[int, str, bytes]] = [(0x00280002, "US", us(samples, little=little)),
                                            (0x00280004, "CS", photometric.encode())]
    if planar is not None:
        elems.append((0x00280006, "US", us(planar, little=little)))
    if frames is not None:
        elems.append((0x00280008, "IS", str(frames).encode()))
    for tag, value in ((0x00280010, rows), (0x00280011, columns), (0x00280100, bits_allocated),
                       (0x00280101, bits_stored if bits_stored is not None else bits_allocated),
                       (0x00280102, (bits_stored or bits_allocated or 1) - 1),
                       (0x00280103, pixel_representation)):
        if value is not None:
            elems.append((tag, "US", us(value, little=little)))
    elems.extend(extra)
    body = b"".join(element(t, vr, v, little) for t, vr, v in sorted(elems))
    if fragments is not None:
        body += encapsulated(fragments, offsets)
    else:
        vr = pixel_vr or {0x7FE00008: "OF", 0x7FE00009: "OD"}.get(
            pixel_tag, "OW" if (bits_allocated or 8) > 8 else "OB")
        body += element(pixel_tag, vr, pixels, little)
    return b"\0" * 128 + b"DICM" + meta + body


def native_bytes(arr: np.ndarray, *, planar: int = 0, little: bool = True) -> bytes:
    """Frames (f, r, c[, s]) or a frame (r, c[, s]) as stored native bytes."""
    a = arr
    if planar and a.ndim >= 3 and a.shape[-1] in (3,):
        a = np.moveaxis(a, -1, -3)
    dtype = a.dtype.newbyteorder("<" if little else ">")
    return np.ascontiguousarray(a).astype(dtype).tobytes()


# -- DICOM RLE encoder -----------------------------------------------------------------
def packbits(data: bytes) -> bytes:
    """PackBits as DICOM RLE uses it (PS3.5 G.3.1): runs of 2-128 and literals of 1-128."""
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        run = 1
        while i + run < n and run < 128 and data[i + run] == data[i]:
            run += 1
        if run >= 2:
            out += bytes([257 - run, data[i]])
            i += run
            continue
        start = i
        while i < n and i - start < 128 and not (i + 1 < n and data[i + 1] == data[i]):
            i += 1
        if i == start:
            i += 1
        out += bytes([i - start - 1]) + data[start:i]
    return bytes(out)


def rle_frame(frame: np.ndarray) -> bytes:
    """One frame (r, c[, s]) of unsigned or signed integers as a DICOM RLE frame."""
    samples = frame.reshape(frame.shape[0], frame.shape[1], -1)
    nbytes = frame.dtype.itemsize
    segments = []
    for s in range(samples.shape[2]):
        plane = samples[:, :, s].astype(frame.dtype.newbyteorder(">")).tobytes()
        for b in range(nbytes):
            seg = packbits(plane[b::nbytes])
            segments.append(seg + (b"\0" if len(seg) % 2 else b""))
    offsets, pos = [], 64
    for seg in segments:
        offsets.append(pos)
        pos += len(seg)
    header = struct.pack("<16I", len(segments), *(offsets + [0] * (15 - len(offsets))))
    return header + b"".join(segments)
