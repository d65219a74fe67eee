"""The Siemens CSA header: ``(0029,xx10)`` (image) and ``(0029,xx20)`` (series).

Siemens MR files keep the mosaic layout, slice normal, b-value and gradient
direction, slice timing and the whole acquisition protocol in two private OB
values under the private creator ``SIEMENS CSA HEADER``.  Their format is
Siemens' own and undocumented; what is known (from SPM's
``spm_dicom_headers.m``, nibabel's ``csareader`` and GDCM) is:

- everything is little endian, whatever the transfer syntax;
- CSA2 begins with ``SV10\\x04\\x03\\x02\\x01``; CSA1 (older software) has no
  such mark.  Both then hold ``n_tags`` (uint32) and an unused uint32 (77);
- each element: a 64-byte NUL-terminated name, ``vm`` (int32), a 4-byte VR,
  ``syngodt`` (int32), ``n_items`` (int32), an int32 that is 77 or 205;
- each item: four int32, then the item's bytes padded to a multiple of 4.
  The length is the second int32 in CSA2; in CSA1 it is the first minus the
  ``n_items`` of the header's first element, and a negative result ends
  that element's items (SPM's rule);
- every value is text, even for FD or US: the VR says how to read it. An
  empty item ends the values of a numeric element; items past ``vm`` are
  padding. Text values are kept as the header holds them, up to their first
  NUL (a protocol's trailing newline, an empty item: as nibabel reads them).

Anonymisers and old PACS often drop the private creator (0029,00xx) while
keeping the headers: :func:`csa_element` then recognises a header by its
content (:func:`looks_like_csa`) in the places Siemens writes it, and says
so (``CsaHeader.without_creator``).

The parser checks every count and length against the bytes that remain and
raises :class:`~rawdicom.errors.MalformedElementError` with the byte offset
(in the file, when the header comes from a dataset) and the CSA element's
name.  Counts are capped at 1000 like nibabel's: real headers hold about a
hundred elements of a few items each.
"""

from __future__ import annotations

import struct
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Union

from ..errors import DicomWarning, MalformedElementError
from .ascconv import parse_ascconv

if TYPE_CHECKING:
    from ..dataset import Dataset, Element

__all__ = ["CREATOR", "CsaElement", "CsaHeader", "csa_element", "csa_header", "parse_csa",
           "looks_like_csa", "MAX_TAGS", "MAX_ITEMS"]

CREATOR = "SIEMENS CSA HEADER"
MAX_TAGS = 1000
MAX_ITEMS = 1000

Value = Union[int, float, str]

_BLOCK_OFFSET = {"image": 0x10, "series": 0x20}
_CSA2_MARK = b"SV10"
_HEADER = struct.Struct("<2I")            # n_tags, unused
_ELEMENT = struct.Struct("<64si4s3i")     # name, vm, vr, syngodt, n_items, 77/205
_ITEM = struct.Struct("<4i")
_NAME_BYTES = bytes(range(0x21, 0x7F))  # what an element name is made of
_INT_VRS = frozenset(("IS", "SL", "UL", "US", "SS"))
_FLOAT_VRS = frozenset(("DS", "FD", "FL"))


@dataclass(frozen=True)
class CsaElement:
    """One CSA element as declared: ``offset`` is where its 84-byte header starts."""

    name: str
    vr: str
    vm: int
    syngodt: int
    values: list[Value]
    offset: int


class CsaHeader(dict):  # type: ignore[type-arg]  (dict[str, list[Value]] at runtime)
    """A parsed CSA header: an ordered mapping name -> list of values.

    ``layout`` is ``"CSA1"`` or ``"CSA2"``; ``elements`` keeps what each
    element declared (VR, VM, offset) for callers that need more than the
    values.  The accessors below are the fields that stacking mosaics and
    diffusion series need; each gives ``None`` when the element is absent
    or empty, and raises MalformedElementError when it holds something else
    than the numbers it should.
    """

    def __init__(self, layout: str, elements: list[CsaElement], *, tag: int | None = None,
                 base: int = 0) -> None:
        super().__init__((el.name, el.values) for el in elements)
        self.layout = layout
        self.elements = {el.name: el for el in elements}
        self._tag = tag
        self._base = base
        #: True when the header was found by its content, its private creator missing.
        self.without_creator = False

    def _error(self, name: str, message: str) -> MalformedElementError:
        el = self.elements.get(name)
        return MalformedElementError(f"CSA element {name!r}: {message}", tag=self._tag,
                                     offset=self._base + el.offset if el is not None else None)

    def _numbers(self, name: str, count: int | None) -> list[int | float] | None:
        values = self.get(name)
        if not values:
            return None
        for value in values:
            if isinstance(value, str):
                raise self._error(name, f"{value[:40]!r} is not a number")
        if count is not None and len(values) != count:
            raise self._error(name, f"{len(values)} values where {count} are expected")
        return list(values)

    def _scalar(self, name: str) -> int | float | None:
        numbers = self._numbers(name, None)
        return numbers[0] if numbers else None

    def _floats(self, name: str, count: int | None) -> list[float] | None:
        numbers = self._numbers(name, count)
        if numbers is None:
            return None
        try:
            return [float(n) for n in numbers]
        except OverflowError:  # an IS/SL value of hundreds of digits
            raise self._error(name, "a value is too large for a float") from None

    def _vector(self, name: str) -> tuple[float, float, float] | None:
        numbers = self._floats(name, 3)
        if numbers is None:
            return None
        x, y, z = numbers
        return x, y, z

    @property
    def number_of_images_in_mosaic(self) -> int | None:
        """Slices tiled in a mosaic image (image header); None for an ordinary image."""
        value = self._scalar("NumberOfImagesInMosaic")
        if value is None:
            return None
        if isinstance(value, float):  # declared DS or FD: only a whole number is a count
            if not value.is_integer():
                raise self._error("NumberOfImagesInMosaic", f"{value!r} is not a slice count")
            value = int(value)
        if value < 0:
            raise self._error("NumberOfImagesInMosaic", f"{value!r} is not a slice count")
        return value

    @property
    def slice_normal_vector(self) -> tuple[float, float, float] | None:
        """The normal of the slices, in the patient coordinate system (image header)."""
        return self._vector("SliceNormalVector")

    @property
    def b_value(self) -> int | float | None:
        """The diffusion weighting in s/mm² (image header)."""
        return self._scalar("B_value")

    @property
    def diffusion_gradient_direction(self) -> tuple[float, float, float] | None:
        """The diffusion gradient's unit vector (image header; absent for b = 0)."""
        return self._vector("DiffusionGradientDirection")

    @property
    def mosaic_ref_acq_times(self) -> list[float] | None:
        """Each mosaic slice's acquisition time in ms from the volume's start (image header)."""
        return self._floats("MosaicRefAcqTimes", None)

    def protocol(self) -> dict[str, int | float | str] | None:
        """The ASCCONV part of the protocol (series header): key -> value.

        Read from ``MrPhoenixProtocol`` (syngo MR B-series and later) or
        ``MrProtocol`` (older); ``None`` when the header holds neither.
        """
        for name in ("MrPhoenixProtocol", "MrProtocol"):
            values = self.get(name)
            if values and isinstance(values[0], str):
                return parse_ascconv(values[0])
        return None


class _Cursor:
    """A read position in the CSA bytes that never reads past their end."""

    def __init__(self, data: bytes, base: int, tag: int | None) -> None:
        self.data = data
        self.pos = 0
        self.base = base
        self.tag = tag

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def error(self, message: str, name: str | None = None, at: int | None = None
              ) -> MalformedElementError:
        where = f"CSA element {name!r}" if name else "CSA header"
        return MalformedElementError(f"{where}: {message}", tag=self.tag,
                                     offset=self.base + (self.pos if at is None else at))

    def unpack(self, shape: struct.Struct, what: str, name: str | None = None) -> tuple[Any, ...]:
        if shape.size > self.remaining():
            raise self.error(f"{what} needs {shape.size} bytes, {self.remaining()} remain "
                             f"of {len(self.data)}", name)
        values = shape.unpack_from(self.data, self.pos)
        self.pos += shape.size
        return values

    def take(self, length: int, what: str, name: str) -> bytes:
        if length < 0:
            raise self.error(f"{what} has a negative length ({length})", name)
        if length > self.remaining():
            raise self.error(f"{what} length {length} runs past the end of the CSA data "
                             f"({self.remaining()} bytes remain of {len(self.data)})", name)
        chunk = self.data[self.pos:self.pos + length]
        self.pos = min(len(self.data), self.pos + length + (-length) % 4)  # 4-byte padding
        return chunk


def parse_csa(data: bytes | bytearray | memoryview, *, offset: int = 0,
              tag: int | None = None, names: frozenset[str] | None = None) -> CsaHeader:
    """Parse the bytes of a CSA header (CSA1 or CSA2) into a :class:`CsaHeader`.

    ``offset`` and ``tag`` only make error messages point into the file the
    bytes come from (``csa_header`` passes the element's). ``names``: only these
    elements are kept and their values read; every other element is still walked,
    with every check on its counts and lengths (the same errors), but its values are
    not decoded. The scan asks for the four a mosaic or diffusion record needs, of the
    fifty to a hundred a real image header holds.
    """
    cursor = _Cursor(bytes(data), offset, tag)
    layout = "CSA2" if cursor.data[:4] == _CSA2_MARK else "CSA1"
    if layout == "CSA2":
        cursor.pos = min(8, len(cursor.data))  # "SV10" and 04 03 02 01, that nobody reads
    n_tags, _unused = cursor.unpack(_HEADER, "the element count")
    if not 1 <= n_tags <= MAX_TAGS:
        raise cursor.error(f"element count {n_tags} is outside 1..{MAX_TAGS}", at=cursor.pos - 8)
    if n_tags * _ELEMENT.size > cursor.remaining():
        raise cursor.error(f"{n_tags} elements need at least {n_tags * _ELEMENT.size} bytes, "
                           f"{cursor.remaining()} remain", at=cursor.pos - 8)
    elements: list[CsaElement] = []
    first_n_items = 0
    for index in range(n_tags):
        at = cursor.pos
        raw_name, vm, raw_vr, syngodt, n_items, _mark = cursor.unpack(
            _ELEMENT, f"the header of element {index}")
        name = _name(raw_name, cursor, at)
        if vm < 0:
            raise cursor.error(f"negative value multiplicity {vm}", name, at)
        if not 0 <= n_items <= MAX_ITEMS:
            raise cursor.error(f"item count {n_items} is outside 0..{MAX_ITEMS}", name, at)
        if n_items * _ITEM.size > cursor.remaining():
            raise cursor.error(f"{n_items} items need at least {n_items * _ITEM.size} bytes, "
                               f"{cursor.remaining()} remain", name, at)
        if index == 0:
            first_n_items = n_items
        if names is not None and name not in names:
            _skip_items(cursor, layout, name, n_items, first_n_items)
            continue
        vr = raw_vr.split(b"\0", 1)[0].decode("latin-1").strip()
        values = _items(cursor, layout, name, vr, vm, n_items, first_n_items)
        elements.append(CsaElement(name, vr, vm, syngodt, values, at))
    return CsaHeader(layout, elements, tag=tag, base=offset)


def _name(raw: bytes, cursor: _Cursor, at: int) -> str:
    """The element's name: printable ASCII up to the first NUL (garbage may follow it)."""
    end = raw.find(b"\0")
    if end < 0:
        raise cursor.error("element name has no NUL within its 64 bytes", at=at)
    name = raw[:end]
    if not name or name.translate(None, _NAME_BYTES):  # a byte outside 0x21..0x7E left
        raise cursor.error(f"element name {name[:64]!r} is not a name", at=at)
    return name.decode("ascii")


def _items(cursor: _Cursor, layout: str, name: str, vr: str, vm: int, n_items: int,
           first_n_items: int) -> list[Value]:
    """The values of one element, its items read and their bytes skipped."""
    numeric = vr in _INT_VRS or vr in _FLOAT_VRS
    n_values = vm or n_items
    values: list[Value] = []
    for number in range(n_items):
        words = cursor.unpack(_ITEM, f"item {number}", name)
        if layout == "CSA2":
            length = words[1]
        else:
            length = words[0] - first_n_items
            if length < 0:  # CSA1: SPM and nibabel stop reading this element's items here
                if number < n_values and not numeric:
                    values.append("")
                break
        chunk = cursor.take(length, f"item {number}", name)
        if number >= n_values:
            continue  # past the value multiplicity: padding items
        text = chunk.split(b"\0", 1)[0].decode("latin-1")
        if not numeric:
            values.append(text)  # as the header holds it (a protocol ends in a newline)
        elif not text.strip():
            n_values = number  # an empty item ends a numeric element's values
        else:
            values.append(_number(text.strip(), vr, name, cursor))
    return values


def _skip_items(cursor: _Cursor, layout: str, name: str, n_items: int,
                first_n_items: int) -> None:
    """The items of an element not asked for: walked past with the checks of
    :func:`_items` (where one fails, the cursor's own check raises the same error), their
    bytes neither copied nor decoded."""
    data, pos, end = cursor.data, cursor.pos, len(cursor.data)
    csa2 = layout == "CSA2"
    for number in range(n_items):
        if _ITEM.size > end - pos:
            cursor.pos = pos
            cursor.unpack(_ITEM, f"item {number}", name)  # raises
        words = _ITEM.unpack_from(data, pos)
        pos += _ITEM.size
        length = words[1] if csa2 else words[0] - first_n_items
        if length < 0 and not csa2:
            break  # CSA1: the element's items end here (see _items)
        if length < 0 or length > end - pos:
            cursor.pos = pos
            cursor.take(length, f"item {number}", name)  # raises
        pos = min(end, pos + length + (-length) % 4)
    cursor.pos = pos


def _number(text: str, vr: str, name: str, cursor: _Cursor) -> Value:
    """An item's text as the number its VR declares; the text, with a warning, if not one."""
    try:
        return int(text) if vr in _INT_VRS else float(text)
    except ValueError:
        warnings.warn(f"CSA element {name!r} ({vr}): {text[:40]!r} is not a number; kept as text",
                      DicomWarning, stacklevel=4)
        return text


def looks_like_csa(data: bytes | bytearray | memoryview) -> bool:
    """Whether bytes are a CSA header, judged by their content alone: CSA2's ``SV10``
    mark, or (CSA1, which has none) an element count of 1..MAX_TAGS, the unused word 77
    and a first element whose name, VR, item count and 77/205 mark are what a CSA
    element holds. Used where the private creator that would say so is missing."""
    head = bytes(data[:8 + _HEADER.size + _ELEMENT.size])
    if head[:4] == _CSA2_MARK:
        return True
    if len(head) < _HEADER.size + _ELEMENT.size:
        return False
    n_tags, unused = _HEADER.unpack_from(head)
    raw_name, vm, raw_vr, _syngodt, n_items, mark = _ELEMENT.unpack_from(head, _HEADER.size)
    name = raw_name.split(b"\0", 1)[0]
    vr = raw_vr.split(b"\0", 1)[0]
    return (1 <= n_tags <= MAX_TAGS and unused == 77 and b"\0" in raw_name and bool(name)
            and all(0x20 < b < 0x7F for b in name) and len(vr) == 2 and vr.isalpha()
            and vm >= 0 and 0 <= n_items <= MAX_ITEMS and mark in (77, 205))


def csa_element(ds: "Dataset", kind: str = "image") -> "Element | None":
    """The element holding the CSA header of ``kind`` ("image" or "series"), or None.

    The block is found from the dataset's own private creator elements
    ``(0029,0010)``..``(0029,00FF)``, compared after stripping padding, so
    it does not depend on any dictionary and works for OB, UN and implicit VR.
    Without such a creator, the first ``(0029,xx10)`` (image) or ``(0029,xx20)``
    (series) of a block that no creator reserved is taken when its bytes are a
    CSA header (:func:`looks_like_csa`).
    """
    return _csa_element(ds, kind)[0]


def _csa_element(ds: "Dataset", kind: str) -> "tuple[Element | None, bool]":
    """(the element, whether it was found without its creator)."""
    if kind not in _BLOCK_OFFSET:
        raise ValueError(f"kind must be 'image' or 'series', not {kind!r}")
    creator = CREATOR.encode()
    reserved = set()
    for tag in ds.keys():
        if 0x00290010 <= tag <= 0x002900FF:
            reserved.add(tag & 0xFF)
            if bytes(ds[tag].raw).strip(b" \0") == creator:
                target = 0x00290000 | (tag & 0xFF) << 8 | _BLOCK_OFFSET[kind]
                if target in ds:
                    return ds[target], False
    for tag in ds.keys():
        if (tag >> 16 == 0x0029 and tag & 0xFF == _BLOCK_OFFSET[kind]
                and 0x10 <= (tag >> 8) & 0xFF and (tag >> 8) & 0xFF not in reserved):
            element = ds[tag]
            if element.vr in ("OB", "UN", "OW", "??", "") and looks_like_csa(element.raw):
                return element, True
    return None, False


def csa_header(ds: "Dataset", kind: str = "image") -> CsaHeader | None:
    """The parsed CSA header of ``kind`` ("image" or "series") of a dataset.

    ``None`` when the dataset has no such element or it is empty (not a
    Siemens file, or an anonymiser removed it): absence is common and not
    an error. A header found without its private creator has
    ``without_creator`` set. Malformed bytes raise MalformedElementError with
    the offset in the file and the element's tag.
    """
    el, without_creator = _csa_element(ds, kind)
    if el is None:
        return None
    raw = el.raw
    if not raw:
        return None
    header = parse_csa(raw, offset=max(el.offset, 0), tag=el.tag)
    header.without_creator = without_creator
    return header
