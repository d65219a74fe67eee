"""Part 10 framing: preamble, ``DICM``, the file meta group, the transfer syntax.

``read(src)`` accepts a path, bytes-like data or a binary file object.  It
handles files with the 128-byte preamble and ``DICM`` prefix, files that
start directly with the meta group, and bare datasets with no meta group at
all (the encoding is then detected from the first element, as real-world
readers must).  Deflated datasets are inflated with a cap on their size.
"""

from __future__ import annotations

import functools
import os
import struct
import zlib
from typing import IO, Any, Iterable, Union

from . import dictionary
from .dataset import Dataset
from .dictionary import TransferSyntax
from .errors import DicomError, LimitExceededError, MalformedElementError, NotDicomError
from .limits import DEFAULT_LIMITS, Limits
from .regular_file import open_regular, open_regular_stat
from .scanner import (ENCODINGS, LONG_VRS, VALID_VRS, Encoding, NeedMoreData, Scanner,
                      explicit_reading)

try:  # mmap is a speed-up on CPython; WebAssembly builds may lack or restrict it.
    import mmap
except ImportError:  # pragma: no cover - exercised under Pyodide
    mmap = None  # type: ignore[assignment]

__all__ = ["read", "Source"]

Source = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, IO[bytes]]

EXPLICIT_LE = ENCODINGS[True, True]
_TRANSFER_SYNTAX_UID = 0x00020010
_META_END = 0x00030000  # the meta group is group 0002
_SPECIFIC_CHARACTER_SET = 0x00080005
_VR_BYTES = frozenset(vr.encode() for vr in VALID_VRS)
_LONG_VR_BYTES = frozenset(vr.encode() for vr in LONG_VRS)

# Transfer syntaxes for data that names none (no meta group): by encoding.
_SYNTAX_FOR_ENCODING = {
    (False, True): "1.2.840.10008.1.2",
    (True, True): "1.2.840.10008.1.2.1",
    (True, False): "1.2.840.10008.1.2.2",
}


# A header-only read (stop_before_pixels, tags=) of a file reads this much first,
# and the whole file only if the header runs past it (a prefix of 8 KiB holds the usual
# header; reading more costs more than parsing it).
HEADER_PREFIX = 8 * 1024
# A header-only read starts with a prefix of this size, which follows the headers of the
# last files read (between HEADER_PREFIX and _MAX_PREFIX): the files of a folder have
# headers of much the same size, and a header longer than its prefix costs a parse of the
# prefix, wasted, then a read and a parse of the whole file (GE headers of 17 KiB, Siemens
# ones with their CSA headers of 90 KiB, enhanced multi-frame ones of 100-160 KiB). Any
# prefix gives the same dataset.
_MAX_PREFIX = 256 * 1024
_prefix_size = HEADER_PREFIX
# Smaller files are read into memory; larger ones are memory-mapped, so that
# their pixel data is never copied just to be looked at.
_MAP_ABOVE = 256 * 1024
_INFLATE_STEP = 4 << 20
_HEADER = struct.Struct("<HH2sH").unpack_from
_U32 = struct.Struct("<I").unpack_from


def read(src: Source, *, stop_before_pixels: bool = False,
         tags: Iterable[Any] | None = None, limits: Limits | None = None) -> Dataset:
    """Read a DICOM file or dataset; values are decoded only when accessed.

    stop_before_pixels: stop at Pixel Data (or Float/Double Float Pixel Data).
    tags: keywords or tags; scanning stops past the largest, and only those
        elements (and the Specific Character Set) are kept.
    limits: safety bounds (nesting depth, inflated size, element count).

    A read that stopped early (stop_before_pixels, tags=) leaves in ``ds.stopped_at`` the
    (tag, VR, length, value offset) of the first top-level element it did not read (the
    Pixel Data, typically: where it lies, without reading it), else None; and, for a
    header-only read of a path, the file's size in ``ds.source_size`` (from the descriptor
    it read: whether the Pixel Data fits, without another ``stat``), else None.

    Raises a :class:`rawdicom.DicomError` subclass for any defect in the bytes.
    """
    global _last_tags
    limits = limits or DEFAULT_LIMITS
    wanted = max_tag = None
    if tags is not None:
        last = _last_tags
        if tags is last[0]:  # the same tuple as the last read's (a scan's, every file)
            wanted, max_tag = last[1]
        else:
            wanted, max_tag = _wanted_tags(tuple(tags))
            if type(tags) is tuple:
                _last_tags = (tags, (wanted, max_tag))
    header_only = stop_before_pixels or (max_tag is not None and max_tag < 0x7FE00000)
    if header_only and isinstance(src, (str, os.PathLike)):
        asked = _prefix_size
        prefix, complete, size = _read_prefix(src, asked)
        try:
            ds = _read_buffer(prefix, limits, stop_before_pixels, max_tag, wanted,
                              complete=complete)
        except NeedMoreData:
            pass  # the header is longer than the prefix: read the whole file
        else:
            ds.__dict__["source_size"] = size
            _follow_header(ds, asked)
            return ds
        buf = _load(src)
        ds = _read_buffer(buf, limits, stop_before_pixels, max_tag, wanted)
        ds.__dict__["source_size"] = len(buf)
        _follow_header(ds, None)
        return ds
    return _read_buffer(_load(src), limits, stop_before_pixels, max_tag, wanted)


def _follow_header(ds: Dataset, prefix: int | None) -> None:
    """Size the next header-only read's prefix after this one's header: grown to hold it
    when the prefix (``None``: the one tried) was too short, halved when the header took
    under a quarter of it."""
    global _prefix_size
    stopped = ds.__dict__.get("stopped_at")
    if stopped is None:
        return
    header = stopped[3]  # where the first value not read starts
    if prefix is None:
        size = HEADER_PREFIX
        while size < header + 1024:
            size *= 2
        if size <= _MAX_PREFIX:  # (a longer header is read whole whatever the prefix)
            _prefix_size = max(_prefix_size, size)
    elif header < prefix // 4 and prefix > HEADER_PREFIX:
        _prefix_size = max(HEADER_PREFIX, prefix // 2)


# The tags of the last read and what _wanted_tags made of them: a scan asks the same
# tuple of some 400 tags for every file, and hashing it for the lru_cache costs more than
# a small file's read. Held (not its id only), so that no other tuple takes its address.
_last_tags: tuple[Any, Any] = (None, None)


@functools.lru_cache(maxsize=64)
def _wanted_tags(tags: tuple[Any, ...]) -> tuple[frozenset[int], int]:
    """The tags asked for (plus the Specific Character Set, which decodes them) and the
    largest: cached, since a caller sorting thousands of files asks the same each time."""
    wanted = frozenset(dictionary.parse_tag(t) for t in tags)
    return wanted | {_SPECIFIC_CHARACTER_SET}, max(wanted, default=0)


def _read_prefix(path: str | os.PathLike[str], prefix: int = HEADER_PREFIX
                 ) -> tuple[memoryview, bool, int]:
    """The first ``prefix`` bytes of a file, whether that is the whole file, and the
    file's size when it was opened.

    Plain os calls: for the few kilobytes of a header, building a file object
    costs as much as reading.
    """
    fd, st = open_regular_stat(path)  # (a FIFO, socket or device is refused, never waited on)
    try:
        data = os.read(fd, prefix)
        while len(data) < prefix:  # a short read is not the end until read() says so
            more = os.read(fd, prefix - len(data))
            if not more:
                break
            data += more
    finally:
        os.close(fd)
    return memoryview(data), len(data) < prefix, st.st_size


def _load(src: Source) -> memoryview:
    """A read-only view of the whole source; a memory map for large files where possible."""
    if isinstance(src, bytes):
        return memoryview(src)
    if isinstance(src, bytearray) or (isinstance(src, memoryview) and not src.readonly):
        # Values are decoded later, from the buffer: a buffer the caller may still
        # change is copied, so the dataset does not change under them (nor they under it).
        return memoryview(bytes(src))
    if isinstance(src, memoryview):
        return src.cast("B") if src.format != "B" or src.ndim != 1 else src
    if mmap is not None and isinstance(src, mmap.mmap):
        return memoryview(src)  # the whole map, whatever its read position
    if isinstance(src, (str, os.PathLike)):
        with os.fdopen(open_regular(src), "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if mmap is not None and size > _MAP_ABOVE:
                try:
                    return memoryview(mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ))
                except (OSError, ValueError):
                    pass  # e.g. a special file, or a platform that cannot map
            return memoryview(f.read())
    if hasattr(src, "read"):
        data = src.read()
        if not isinstance(data, (bytes, bytearray)):
            raise TypeError("the file object must be opened in binary mode")
        return memoryview(data)
    raise TypeError(f"cannot read DICOM from {type(src).__name__}")


def _read_buffer(buf: memoryview, limits: Limits, stop_before_pixels: bool,
                 max_tag: int | None, wanted: frozenset[int] | None,
                 complete: bool = True) -> Dataset:
    n = len(buf)
    if n == 0:
        raise NotDicomError("empty data: no DICOM preamble, meta group or data element",
                            offset=0)
    scanner = Scanner(buf, limits, stop_before_pixels=stop_before_pixels, max_tag=max_tag,
                      wanted=wanted, complete=complete)
    preamble = None
    if n >= 132 and buf[128:132] == b"DICM":
        if buf[132:134] != b"\x02\x00" and _dataset_across_dicm(buf):
            scanner.warn("bytes 128-131 read 'DICM', but no file meta group follows and a "
                         "dataset starts at offset 0 and runs past them: read from offset 0",
                         128)
            pos = 0
        else:
            preamble, pos = bytes(buf[:128]), 132
    elif buf[:4] == b"DICM":
        pos = 4
    else:
        pos = 0
    meta = Dataset(buf=buf)
    ds = syntax = None
    try:
        if n - pos >= 8 and buf[pos:pos + 2] == b"\x02\x00":
            meta_end = _meta_group_end(buf, pos)
            if meta_end >= n and not complete:
                raise NeedMoreData
            pos = scanner.parse_dataset(meta, pos, meta_end, EXPLICIT_LE, 0, stop_tag=_META_END)
        elif pos == 0:
            if _detect_encoding(buf, 0) is None:
                if not complete and _plausible_group(buf, 0):
                    raise NeedMoreData  # the first element may only look wrong cut at the prefix
                raise NotDicomError("no 'DICM' prefix, and the data does not start with a "
                                    "DICOM data element", offset=0)

        syntax, data, pos = _transfer_syntax(meta, buf, pos, limits, scanner)
        enc = ENCODINGS[syntax.explicit_vr, syntax.little_endian]
        if not syntax.deflated:
            enc = _check_encoding(data, pos, enc, scanner)
        ds = Dataset(buf=data, little_endian=enc.little_endian, explicit_vr=enc.explicit_vr,
                     offset=pos)
        if data is not buf:  # inflated: a buffer of its own, read whole
            inflated = Scanner(data, limits, stop_before_pixels=stop_before_pixels,
                               max_tag=max_tag, wanted=wanted)
            inflated.element_count = scanner.element_count
            inflated.pending = scanner.pending
            scanner = inflated
        end = scanner.parse_dataset(ds, pos, len(data), enc, 0, top_level=True)
    except DicomError as exc:
        exc.partial = _partial(ds, meta, syntax, preamble, scanner)
        raise
    # Read: whatever lies in the buffer now (sequences parsed later) lies wholly in it, so
    # meeting the end of the data from here on is a real truncation, even in a prefix.
    scanner.complete = True
    scanner.emit_warnings()
    _frame(ds, meta, syntax, preamble)
    ds.__dict__["stopped_at"] = _element_header(data, end, enc) if end < len(data) else None
    return ds


def _frame(ds: Dataset, meta: Dataset, syntax: TransferSyntax | None,
           preamble: bytes | None) -> None:
    d = ds.__dict__
    d["file_meta"] = meta
    d["transfer_syntax"] = syntax
    d["preamble"] = preamble


def _partial(ds: Dataset | None, meta: Dataset, syntax: TransferSyntax | None,
             preamble: bytes | None, scanner: Scanner) -> Dataset | None:
    """What a read stopped by an error had read: the dataset so far, its meta group and
    transfer syntax as far as they were read; None when not one element was read."""
    scanner.settle(meta, _unordered(meta), None)
    if ds is None:
        if not len(meta):
            return None
        ds = Dataset(buf=meta._buf)
    else:
        scanner.settle(ds, _unordered(ds), scanner.wanted)
        if not len(ds) and not len(meta):
            return None
    _frame(ds, meta, syntax, preamble)
    return ds


def _unordered(ds: Dataset) -> bool:
    tags = list(ds._elements)
    return tags != sorted(tags)


def _dataset_across_dicm(buf: memoryview) -> bool:
    """Whether a dataset starts at offset 0 and its elements run past bytes 128-131.

    A dataset without preamble whose bytes 128-131 happen to read "DICM" (inside
    a value): the element headers from offset 0 are plausible (ascending tags, a
    VR in explicit VR, lengths that fit), and none starts at offset 128, where a
    preamble's DICM would be.  A preamble of zeros fails at once (its second
    "element" repeats the tag of the first).
    """
    enc = _detect_encoding(buf, 0)
    if enc is None:
        return False
    n = len(buf)
    pos, last = 0, -1
    while pos < 132:
        if pos == 128 or n - pos < 8:
            return False
        if enc.explicit_vr:
            g, e, vr, length = enc.header(buf, pos)
        else:
            g, e, length = enc.header(buf, pos)
            vr = None
        tag = g << 16 | e
        if tag <= last:
            return False
        if vr is None:
            vpos = pos + 8
        elif vr in _LONG_VR_BYTES:
            if n - pos < 12:
                return False
            length, vpos = enc.u32(buf, pos + 8)[0], pos + 12
        elif vr in _VR_BYTES:
            vpos = pos + 8
        else:
            return False
        if length == 0xFFFFFFFF:  # a sequence: the walk goes no further
            return last >= 0  # (a dataset seldom starts with one; a preamble might)
        if length > n - vpos:
            return False
        last, pos = tag, vpos + length
    return True


def _element_header(buf: memoryview, pos: int, enc: Encoding) -> tuple[int, str, int, int] | None:
    """(tag, VR, length, value offset) of the element at ``pos``, where a read stopped
    (stop_before_pixels, tags=): where the Pixel Data lies without reading it. None when
    the header is not wholly in the buffer (a prefix cut inside it). In implicit VR the VR
    is the dictionary's, as written there ("OB or OW" for the Pixel Data)."""
    if len(buf) - pos < 8:
        return None
    if not enc.explicit_vr:
        g, e, length = enc.header(buf, pos)
        return g << 16 | e, dictionary.vr_for(g << 16 | e), length, pos + 8
    g, e, vrb, length = enc.header(buf, pos)
    tag = g << 16 | e
    if vrb in _LONG_VR_BYTES:
        if len(buf) - pos < 12:
            return None
        return tag, bytes(vrb).decode(), enc.u32(buf, pos + 8)[0], pos + 12
    if vrb in _VR_BYTES:
        return tag, bytes(vrb).decode(), length, pos + 8
    return tag, dictionary.vr_for(tag), enc.u32(buf, pos + 4)[0], pos + 8  # read as implicit


def _meta_group_end(buf: memoryview, pos: int) -> int:
    """Where the file meta group (the run of group 0002 elements from ``pos``) ends.

    Found by walking the element headers rather than trusting the group
    length (0002,0000), which writers get wrong often enough.  A header that
    does not parse ends the walk; the scanner reports it in detail.
    """
    n = len(buf)
    while n - pos >= 8:
        group, element, vr, length = _HEADER(buf, pos)
        if group != 2:
            break
        if vr in _LONG_VR_BYTES:
            if n - pos < 12:
                return n
            length = _U32(buf, pos + 8)[0]
            pos += 12
        elif vr in _VR_BYTES:
            pos += 8
        else:  # no VR: read as the scanner will (dcmtk's reading, else implicit VR)
            reading = explicit_reading(buf, pos, n, EXPLICIT_LE, group << 16 | element, vr,
                                       length)
            length, pos = reading if reading is not None else (_U32(buf, pos + 4)[0], pos + 8)
        if length == 0xFFFFFFFF or length > n - pos:
            return n
        pos += length
    return pos


def _transfer_syntax(meta: Dataset, buf: memoryview, pos: int, limits: Limits,
                     scanner: Scanner) -> tuple[TransferSyntax, memoryview, int]:
    """The transfer syntax of the dataset, and the (possibly inflated) data it applies to."""
    record = meta._elements.get(_TRANSFER_SYNTAX_UID)
    if type(record) is tuple and record[0] == "UI":  # as read: no need to make an Element
        _, length, offset = record
        uid = bytes(buf[offset:offset + length]).decode("ascii", "replace")
    else:
        uid = meta.get(_TRANSFER_SYNTAX_UID)
        if isinstance(uid, list):
            uid = uid[0] if uid else None
    uid = uid.strip("\0 ") if isinstance(uid, str) else None
    syntax = dictionary.transfer_syntax(uid) if uid else None
    if syntax is not None:
        if syntax.deflated:
            if not scanner.complete:
                raise NeedMoreData  # deflate needs the whole stream
            return syntax, _inflate(buf[pos:], limits, pos), 0
        return syntax, buf, pos
    detected = _detect_encoding(buf, pos)
    if detected is None:
        if not scanner.complete:
            raise NeedMoreData
        if pos >= len(buf):
            detected = EXPLICIT_LE  # a meta group alone: an empty dataset
        else:
            raise NotDicomError("the dataset does not start with a DICOM data element",
                                offset=pos)
    if uid:
        scanner.warn(f"unknown transfer syntax {uid!r}; read as {detected!r}", pos)
        name = f"Unknown transfer syntax {uid}"
    else:
        if len(meta):
            scanner.warn(f"the meta group names no transfer syntax; read as {detected!r}", pos)
        uid = _SYNTAX_FOR_ENCODING.get((detected.explicit_vr, detected.little_endian), "")
        known = dictionary.transfer_syntax(uid) if uid else None
        if known is not None:
            return known, buf, pos
        name = "Implicit VR Big Endian (not a DICOM transfer syntax)"
    return TransferSyntax(uid=uid, name=name, keyword="", explicit_vr=detected.explicit_vr,
                          little_endian=detected.little_endian, deflated=False,
                          encapsulated=False, retired=False), buf, pos


def _inflate(data: memoryview, limits: Limits, offset: int) -> memoryview:
    """Inflate a deflated dataset (raw deflate, PS3.5 A.5), never past the size cap."""
    cap = limits.inflate_cap(len(data))
    for wbits in (-15, 15):  # raw deflate as the standard says; zlib-wrapped as some write
        inflater = zlib.decompressobj(wbits)
        out = bytearray()  # grown in steps: never a second copy of the whole output
        pending = data
        try:
            while len(out) <= cap:
                step = min(_INFLATE_STEP, cap + 1 - len(out))
                chunk = inflater.decompress(pending, step)
                out += chunk
                pending = inflater.unconsumed_tail
                if inflater.eof or not chunk or (not pending and len(chunk) < step):
                    break  # the stream ended, or nothing more comes out: every loop advances
        except zlib.error as exc:
            error = str(exc)  # not the exception: its traceback would hold this frame
            continue
        if len(out) > cap or pending:
            raise LimitExceededError(f"deflated dataset inflates past the limit of {cap} bytes",
                                     offset=offset)
        return memoryview(out)
    raise MalformedElementError(f"deflated dataset cannot be inflated: {error}", offset=offset)


def _plausible_group(buf: memoryview, pos: int) -> bool:
    """Whether the first two bytes could start a data element (a small group number, or
    FFFE) in either byte order: what a prefix of a non-DICOM file is rejected on, so that
    rejecting a large junk file never reads all of it."""
    b0, b1 = buf[pos], buf[pos + 1]
    return b1 == 0 or b0 == 0 or (b0 == 0xFE and b1 == 0xFF)


def _detect_encoding(buf: memoryview, pos: int) -> Encoding | None:
    """The encoding that makes the element at ``pos`` plausible, or None.

    Little endian unless the group's first byte is zero and its second is not
    (groups are small numbers); explicit VR when bytes 4-5 spell a VR, or
    when they are no VR (two spaces, NULs) but the 2-byte length after them
    leads to a well-formed second element (the scanner reads such an element
    as dcmtk does); else implicit VR, if the 32-bit length fits.
    """
    if len(buf) - pos < 8:
        return None
    b0, b1 = buf[pos], buf[pos + 1]
    little = not (b0 == 0 and b1 != 0)
    group = b0 | b1 << 8 if little else b0 << 8 | b1
    if group >= 0x0100 and group != 0xFFFE:
        return None
    explicit = ENCODINGS[True, little]
    vrb = bytes(buf[pos + 4:pos + 6])
    if vrb in _VR_BYTES:
        return explicit
    g, e, _, short_length = explicit.header(buf, pos)
    if explicit_reading(buf, pos, len(buf), explicit, g << 16 | e, vrb, short_length,
                        strict=True) is not None:
        return explicit
    length = int.from_bytes(buf[pos + 4:pos + 8], "little" if little else "big")
    if length != 0xFFFFFFFF and length > len(buf) - pos - 8:
        return None
    return ENCODINGS[False, little]


def _check_encoding(buf: memoryview, pos: int, declared: Encoding, scanner: Scanner
                    ) -> Encoding:
    """The declared encoding, unless the first element plainly uses the other VR form.

    Writers that declare explicit VR and write implicit (or the reverse) are
    common enough that every major reader checks the first element.  (An
    explicit first element whose VR bytes are no VR stays explicit when its
    2-byte length leads to a well-formed element: see _detect_encoding.)
    """
    if len(buf) - pos < 8:
        return declared
    spelled_vr = bytes(buf[pos + 4:pos + 6]) in _VR_BYTES
    if spelled_vr == declared.explicit_vr:
        return declared
    detected = _detect_encoding(buf, pos)
    if detected is None or detected.explicit_vr == declared.explicit_vr:
        return declared
    actual = ENCODINGS[detected.explicit_vr, declared.little_endian]
    scanner.warn(f"the transfer syntax says {declared!r} but the dataset is written in "
                 f"{actual!r}; read as written", pos)
    return actual
