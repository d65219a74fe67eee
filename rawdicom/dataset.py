"""The lazy Dataset and its Elements.

Parsing (``scanner.py``) records, for every element, its tag, VR, length and
where its value lies in the source buffer; nothing is decoded then.  An
Element decodes its value the first time ``.value`` is asked for and keeps
the result, so opening thousands of files to sort them touches only the bytes
of the elements actually used.

This module does not import the scanner: a sequence whose items were not
parsed yet carries a small callable (``_lazy``) that the scanner left there,
and a dataset's Context keeps the scanner that read it, for the private
sequences only the private dictionary reveals.

Private data elements read without a VR (implicit VR) or as explicit UN take
their VR from the private dictionary, under the creator that reserved their
block, when the Element is made from the scanner's record (the first time it
is used), not during the scan.  A value that does not fit the VR the
dictionary gives stays UN, with a DicomWarning.
"""

from __future__ import annotations

import warnings
import weakref
from typing import TYPE_CHECKING, Any, Callable, Iterator

from . import dictionary
from .charset import AFFECTED_VRS, DEFAULT_CHARSET, codecs_for
from .errors import DicomError, DicomWarning, ValueDecodeError, format_tag
from .values import decode_value, value_multiplicity

if TYPE_CHECKING:
    from .encapsulated import EncapsulatedPixelData

__all__ = ["Context", "Dataset", "Element", "UNDEFINED_LENGTH", "PRIVATE_UN"]

UNDEFINED_LENGTH = 0xFFFFFFFF
#: The scanner's VR for a private data element read as UN or without a VR: UN unless
#: the private dictionary knows it under its creator (settled in Dataset._adopt_private).
#: It contains " or " so that whatever handles a multi-valued VR handles it too.
PRIVATE_UN = "UN or private"
# Element.offset of a value assigned in memory: it is not (or no longer) in the buffer.
IN_MEMORY = -1

_UNSET: Any = object()

_SPECIFIC_CHARACTER_SET = 0x00080005
# Tags whose VR the standard leaves to the context ("US or SS", "OB or OW",
# ...) are resolved on first access of ``Element.vr`` from these.  Only
# implicit VR streams leave them ambiguous: an explicit stream states the VR.
_PIXEL_REPRESENTATION = 0x00280103
_LUT_DESCRIPTOR = 0x00283002
CONTEXT_TAGS = frozenset((_SPECIFIC_CHARACTER_SET, _PIXEL_REPRESENTATION, _LUT_DESCRIPTOR))
# LUT Descriptor and the Red/Green/Blue Palette Color LUT Descriptors.
_LUT_DESCRIPTORS = frozenset((_LUT_DESCRIPTOR, 0x00281101, 0x00281102, 0x00281103))
# Binary VRs by the size of one value: a length that is not a multiple does not fit.
_VALUE_SIZE = {**dict.fromkeys(("US", "SS", "OW"), 2),
               **dict.fromkeys(("UL", "SL", "FL", "AT", "OF", "OL"), 4),
               **dict.fromkeys(("FD", "SV", "UV", "OD", "OV"), 8)}
_ITEM_TAG_LE = b"\xfe\xff\x00\xe0"


# Specific Character Set values as read -> their charset tuple, for the values that
# need no correction (so no warning is lost by not computing them again).
_WELL_FORMED_CHARSETS: dict[bytes, tuple[str, ...]] = {}


class Context:
    """What the elements of one dataset need to decode, without a reference to it.

    Elements (and sequences not parsed yet) hold their dataset's Context, not
    the Dataset: so a dataset, its elements and its items form no reference
    cycle, and they and the (possibly memory-mapped) file under them are freed
    as soon as the last reference goes, without waiting for the garbage
    collector.  ``sources`` holds the records (or Elements) of the few
    attributes that decide how others decode: the Specific Character Set and
    the two that resolve ambiguous VRs; a Context without its own inherits
    them from ``parent``, the Context of the enclosing dataset.
    """

    __slots__ = ("buf", "little_endian", "parent", "sources", "_charset", "_le_view", "scanner",
                 "depth")

    def __init__(self, buf: memoryview | bytes | None, little_endian: bool,
                 parent: "Context | None") -> None:
        self.buf = buf
        self.little_endian = little_endian
        self.parent = parent
        self.sources: dict[int, Any] = {}
        self._charset: tuple[str, ...] | None = None
        self._le_view: Context | None = None
        # The scanner that read this dataset and its nesting depth (set by the scanner):
        # what parses a private sequence found through the private dictionary.
        self.scanner: Any = None
        self.depth = 0

    def little_endian_view(self) -> "Context":
        """This context for values stored little endian in a big endian dataset.

        A UN value is always little endian (PS3.5 6.2.2); once its VR is known
        it decodes through this view, which inherits everything else from here.
        """
        if self.little_endian:
            return self
        if self._le_view is None:
            self._le_view = Context(self.buf, True, self)
        return self._le_view

    def capture(self, records: dict[int, Any]) -> None:
        """Note where this dataset's context attributes are (called once it is parsed)."""
        for tag in CONTEXT_TAGS:
            record = records.get(tag)
            if record is not None:
                self.sources[tag] = record
        self._charset = None

    def _own(self, tag: int, vr: str) -> Any:
        """This dataset's value of ``tag``, decoded as ``vr`` in the default repertoire.

        The Specific Character Set is always read as plain text: a broken file
        giving it a charset-affected VR must not need the charset to read it.
        """
        source = self.sources.get(tag)
        if source is None:
            return None
        if type(source) is tuple:
            _, length, offset = source
            raw = self.buf[offset:offset + length] if length else b""
        elif source._value is not _UNSET or source._defect is not None:
            return source.value
        else:
            raw, offset = source.raw, source.offset
        if not raw:
            return None
        try:
            return decode_value(vr, raw, self.little_endian, ())
        except ValueDecodeError as exc:
            raise ValueDecodeError(exc.reason, offset=offset, tag=tag) from None

    @property
    def charset(self) -> tuple[str, ...]:
        """The Specific Character Set in force: this dataset's own, else inherited."""
        cs = self._charset
        if cs is None:
            source = self.sources.get(_SPECIFIC_CHARACTER_SET)
            if type(source) is tuple:  # as read: the same few values in every file
                _, length, offset = source
                raw = bytes(self.buf[offset:offset + length])
                cs = _WELL_FORMED_CHARSETS.get(raw)
                if cs is None:
                    cs = self._own_charset()
                    if raw.rstrip(b" \0").split(b"\\") == [t.encode() for t in cs]:
                        if len(_WELL_FORMED_CHARSETS) < 256:
                            _WELL_FORMED_CHARSETS[raw] = cs
            elif source is not None:
                cs = self._own_charset()
            elif self.parent is not None:
                return self.parent.charset  # not cached: the parent's may still change
            else:
                cs = DEFAULT_CHARSET
            self._charset = cs
        return cs

    def _own_charset(self) -> tuple[str, ...]:
        """This dataset's (0008,0005), checked and normalised (warnings for what is wrong)."""
        value = self._own(_SPECIFIC_CHARACTER_SET, "CS")
        if isinstance(value, list):
            value = [v for v in value if isinstance(v, str)]
        elif not isinstance(value, str):
            if value is not None:
                warnings.warn(f"{format_tag(_SPECIFIC_CHARACTER_SET)} Specific Character "
                              "Set is not text; the default repertoire is used",
                              DicomWarning, stacklevel=3)
            value = None
        return codecs_for(value)

    def inherited(self, tag: int, vr: str) -> Any:
        """The first value of ``tag`` here or in the nearest enclosing dataset that has it."""
        ctx: Context | None = self
        while ctx is not None:
            if tag in ctx.sources:
                value = ctx._own(tag, vr)
                return value[0] if isinstance(value, list) and value else value
            ctx = ctx.parent
        return None


class Element:
    """One data element: tag, VR, the place of its value, its value on demand.

    ``length`` is the value length as written (``UNDEFINED_LENGTH`` for
    undefined-length sequences and encapsulated pixel data); ``offset`` is
    the byte offset of the value in the dataset's buffer, ``size`` the
    number of value bytes there (for undefined lengths: up to, not including,
    the sequence delimiter).
    """

    __slots__ = ("tag", "_vr", "length", "offset", "size", "_ctx", "_value", "_lazy", "_defect",
                 "encapsulated", "_private")

    def __init__(self, tag: int, vr: str, length: int, offset: int, size: int,
                 ctx: Context | None, value: Any = _UNSET,
                 lazy: Callable[[], Any] | None = None) -> None:
        self.tag = tag
        self._vr = vr
        self.length = length
        self.offset = offset
        self.size = size
        self._ctx = ctx
        self._value = value
        self._lazy = lazy
        self._defect: DicomError | None = None
        self.encapsulated: EncapsulatedPixelData | None = None
        # A private data element's (creator, VR taken from the private dictionary), once its
        # dataset has looked (Dataset._adopt_private); None before, and for other elements.
        self._private: tuple[str, bool] | None = None

    # -- identity -----------------------------------------------------------------
    @property
    def vr(self) -> str:
        vr = self._vr
        if " or " in vr:
            vr = self._vr = self._resolve_ambiguous_vr(vr)
        return vr

    def _resolve_ambiguous_vr(self, vr: str) -> str:
        """The standard's rules for multi-VR entries (PS3.5 A.1, PS3.3 C.7.6.3, C.11.1.1.1)."""
        tag = self.tag
        ctx = self._ctx
        if vr is PRIVATE_UN:  # never adopted by a dataset: no creator to ask
            return "UN"
        if vr == "US or SS":
            if tag in _LUT_DESCRIPTORS:
                # The entry count and the bit depth are always unsigned; only the first
                # mapped value follows Pixel Representation (PS3.3 C.11.1.1.1), and the
                # pixel layer reads it so. One VR for all three: US, as pydicom.
                return "US"
            rep = ctx.inherited(_PIXEL_REPRESENTATION, "US") if ctx is not None else None
            return "SS" if rep == 1 else "US"
        if tag == 0x00283006 and ctx is not None:  # LUT Data: "US or OW"
            first = ctx._own(_LUT_DESCRIPTOR, "US")
            if isinstance(first, list):
                first = first[0] if first else None
            return "US" if first == 1 else "OW"
        # Implicit VR little endian: OB/OW data is OW (PS3.5 A.1); "US or SS or OW" too.
        # (Encapsulated Pixel Data, the one OB case, gets its VR from the scanner.)
        return "OW"

    @property
    def keyword(self) -> str:
        """The standard's keyword; for a private element, the private dictionary's (not unique:
        vendors reuse names, and ``ds.Keyword`` never finds one)."""
        entry = self._private_entry()
        if entry is not None:
            return entry.keyword
        return "" if self._private else dictionary.keyword_for(self.tag)

    @property
    def name(self) -> str:
        """The standard's name; for a private data element "[creator] name" (the creator as
        written, the name from the private dictionary, "Private tag data" if it has none)."""
        creator = self.private_creator
        if creator is not None:
            entry = self._private_entry()
            return f"[{creator}] {entry.name if entry is not None and entry.name else 'Private tag data'}"
        entry = dictionary.lookup(self.tag)
        return entry.name if entry is not None else "Unknown"

    @property
    def private_creator(self) -> str | None:
        """The creator (padding removed) that reserved a private data element's block, else None."""
        private = self._private
        return private[0] if private and private[0] else None

    def _private_entry(self) -> "dictionary.Entry | None":
        creator = self.private_creator
        return None if creator is None else dictionary.lookup_private(self.tag, creator)

    @property
    def is_private(self) -> bool:
        return bool((self.tag >> 16) & 1)

    @property
    def undefined_length(self) -> bool:
        return self.length == UNDEFINED_LENGTH

    # -- value ----------------------------------------------------------------------
    def _defect_error(self) -> DicomError:
        """A fresh copy of the stored defect, to raise.

        Raising the stored exception itself would attach a traceback whose
        frames refer back to this element: a reference cycle.
        """
        defect = self._defect
        assert defect is not None
        return type(defect)(defect.reason, offset=defect.offset, tag=defect.tag)

    @property
    def raw(self) -> memoryview | bytes:
        """The value's bytes as stored (a zero-copy view for data read from a file)."""
        if self._defect is not None:
            raise self._defect_error()
        ctx = self._ctx
        if ctx is None or ctx.buf is None or self.offset == IN_MEMORY:
            if self._value is _UNSET or self._value is None:
                return b""
            from .values import encode_value  # an element built in memory
            if ctx is None:
                return encode_value(self.vr, self._value, True, ())
            return encode_value(self.vr, self._value, ctx.little_endian, ctx.charset)
        return ctx.buf[self.offset:self.offset + self.size]

    @property
    def value(self) -> Any:
        value = self._value
        if value is not _UNSET:
            return value
        if self._defect is not None:
            raise self._defect_error()
        if self._lazy is not None:
            value = self._lazy()
            self._lazy = None
        elif self.size == 0:
            value = None
        else:  # the common case: a value in the buffer, decoded once
            ctx = self._ctx
            vr = self._vr
            if " or " in vr:
                vr = self.vr
            offset = self.offset
            try:
                value = decode_value(vr, ctx.buf[offset:offset + self.size], ctx.little_endian,
                                     ctx.charset if vr in AFFECTED_VRS else ())
            except ValueDecodeError as exc:
                raise ValueDecodeError(exc.reason, offset=offset, tag=self.tag) from None
        self._value = value
        return value

    @value.setter
    def value(self, value: Any) -> None:
        if self.tag in CONTEXT_TAGS and self._ctx is not None:
            self._ctx._charset = None  # the dataset's context reads this element
        self._value = value
        self.offset = IN_MEMORY
        self._lazy = None
        self._defect = None
        self.encapsulated = None

    @property
    def vm(self) -> int:
        if self.vr == "SQ":
            return len(self.value or ())
        return value_multiplicity(self.vr, self.value)

    def __repr__(self) -> str:
        """``(0020,0010) SH StudyID '1'``: tag, VR, name and value (abbreviated), as
        pydicom's repr shows an element; never raises (a defect is shown as such)."""
        from .printing import format_element
        return format_element(self, width=0)

    __str__ = __repr__




def _missing(tag: int) -> str:
    """A KeyError's text for a tag not in a dataset: ``(0020,000E) SeriesInstanceUID``."""
    entry = dictionary.lookup(tag)
    keyword = entry.keyword if entry is not None else ""
    return f"{format_tag(tag)} {keyword}".rstrip()


def _did_you_mean(name: str) -> str:
    """``: did you mean StudyID?`` for a near miss of a keyword (difflib), else ""."""
    import difflib
    close = difflib.get_close_matches(name, [e.keyword for e in dictionary.elements() if e.keyword],
                                      n=1, cutoff=0.8)
    return f": did you mean {close[0]}?" if close else ""


# What a pydicom user reaches for on a Dataset, and where rawdicom has it.
_PYDICOM_HABITS = {
    "pixel_array": "the pixels are rawdicom.pixel_array(ds) (numpy: pip install "
                   "'rawdicom[pixels]'; compressed data: 'rawdicom[codecs]')",
    "save_as": "write with rawdicom.write(ds, path)",
    "to_json_dict": "the JSON model is rawdicom.to_json(ds)",
    "to_json": "the JSON model is rawdicom.to_json(ds)",
    "decompress": "rawdicom.pixel_array(ds) decodes any transfer syntax; rawdicom.write(ds, "
                  "path, transfer_syntax=...) re-encodes native data",
    "convert_pixel_data": "rawdicom.pixel_array(ds) decodes when asked",
    "is_little_endian": "ds.transfer_syntax tells (.little_endian, .explicit_vr)",
    "is_implicit_VR": "ds.transfer_syntax tells (.little_endian, .explicit_vr)",
    "dir": "the keywords are [el.keyword for el in ds]",
    "walk": "iterate: for el in ds (a sequence's value is a list of Datasets)",
    "data_element": "ds[keyword] gives the Element (ds.Keyword its value)",
    "filename": "a Dataset keeps no path: keep the one given to rawdicom.read",
}


class Dataset:
    """An ordered mapping tag -> Element, with keyword access to values.

    ``ds[key]`` gives the Element (key: int tag, ``(group, element)``,
    ``"0020,000E"`` or a keyword); ``ds.Keyword`` and ``ds.get(key)`` give the
    decoded value.  Iteration is in ascending tag order.
    """

    def __init__(self, *, buf: memoryview | bytes | None = None, little_endian: bool = True,
                 explicit_vr: bool = True, parent: "Dataset | None" = None,
                 offset: int = 0) -> None:
        d = self.__dict__
        d["_elements"] = {}
        d["_buf"] = buf
        d["little_endian"] = little_endian
        d["explicit_vr"] = explicit_vr
        d["_parent"] = weakref.ref(parent) if parent is not None else None
        d["_creators"] = None  # private creator tag -> its text, filled as elements are used
        d["_ctx"] = Context(buf, little_endian, parent._ctx if parent is not None else None)
        d["offset"] = offset
        d["file_meta"] = None
        d["transfer_syntax"] = None
        d["preamble"] = None
        d["stopped_at"] = None  # set by the reader: see rawdicom.read
        d["source_size"] = None  # set by the reader (a header-only read): see rawdicom.read

    # -- mapping ------------------------------------------------------------------
    # ``_elements`` maps tag -> Element, or -> a ``(vr, length, offset)`` record
    # that the scanner stores for a plain value; ``_element`` makes the Element
    # the first time it is used.
    def _element(self, tag: int) -> Element | None:
        el = self._elements.get(tag)
        if type(el) is tuple:
            vr, length, offset = el
            el = self._elements[tag] = Element(tag, vr, length, offset, length, self._ctx)
            if tag in CONTEXT_TAGS:  # the context follows the element from now on
                self._ctx.sources[tag] = el
            elif tag & 0x10000 and tag & 0xF000:  # a private data element (gggg,BBee)
                self._adopt_private(el)
        elif tag & 0x10000 and tag & 0xF000 and el is not None and el._private is None:
            self._adopt_private(el)  # made by the scanner (a sequence, a value cut short, ...)
        return el

    # -- private elements -----------------------------------------------------------
    def _creator(self, tag: int) -> str | None:
        """The text of the private creator ``tag`` of this dataset, padding removed; None if absent.

        Read from its bytes without decoding it as a value: creators are LO in the default
        repertoire (PS3.5 7.8.1) and the dictionary spells them in ASCII.
        """
        record = self._elements.get(tag)
        if record is None:
            return None
        if type(record) is tuple:
            _, length, offset = record
            raw = self._buf[offset:offset + length]
        else:
            try:
                value = record.value if record.offset == IN_MEMORY else record.raw
            except DicomError:
                return None
            if not isinstance(value, (bytes, memoryview)):
                return str(value).strip(" \0") if value is not None else None
            raw = value
        return bytes(raw).decode("latin-1").strip(" \0")

    def _adopt_private(self, el: Element) -> None:
        """Note a private element's creator, and give one read without a VR the dictionary's.

        Each creator is read once per dataset (``_creators``, cleared when one is set or deleted).
        """
        tag = el.tag
        creator_tag = (tag & 0xFFFF0000) | (tag >> 8 & 0xFF)
        creators = self._creators
        if creators is None:
            creators = self.__dict__["_creators"] = {}
        creator = creators.get(creator_tag, _UNSET)
        if creator is _UNSET:
            creator = creators[creator_tag] = (self._creator(creator_tag)
                                               if dictionary.creator_tag(tag) is not None else None)
        from_dictionary = False
        if el._vr is PRIVATE_UN:
            from_dictionary = creator is not None and self._private_vr(el, creator)
            if not from_dictionary:
                el._vr = "UN"
        el._private = (creator or "", from_dictionary)

    def _private_vr(self, el: Element, creator: str) -> bool:
        """Give ``el`` the VR the private dictionary lists under ``creator``; False if it has
        none (unknown element, VR UN) or the value does not fit it (with a DicomWarning)."""
        entry = dictionary.lookup_private(el.tag, creator)
        if entry is None or entry.vr == "UN" or el._defect is not None:
            return False
        vr = el._resolve_ambiguous_vr(entry.vr) if " or " in entry.vr else entry.vr
        size = _VALUE_SIZE.get(vr)
        misfit = None
        if size is not None and el.size % size:
            misfit = f"a length of {el.size} bytes is not a multiple of {size}"
        elif vr == "SQ" and el.size:
            items = self._private_items(el)
            if isinstance(items, str):
                misfit = items
            else:
                el._value = items
        if misfit is not None:
            warnings.warn(f"{format_tag(el.tag)} at offset 0x{el.offset:X}: the private dictionary "
                          f"gives VR {vr} under {creator!r}, but {misfit}; kept as UN",
                          DicomWarning, stacklevel=5)
            return False
        el._vr = vr
        return True

    def _private_items(self, el: Element) -> "list[Dataset] | str":
        """The items of a defined-length private value the dictionary says is a sequence, or why
        not. Its items are implicit VR little endian (it was read so, or as UN: PS3.5 6.2.2);
        parsed now, bounded as the read was, so that a value that is not a sequence stays UN."""
        ctx = self._ctx
        buf = ctx.buf
        if ctx.scanner is None or buf is None or el.offset == IN_MEMORY:
            return "it was not read by a scanner"
        if bytes(buf[el.offset:el.offset + 4]) != _ITEM_TAG_LE:
            return "the value does not start with an item"
        try:
            return ctx.scanner.parse_private_sequence(el.offset, el.offset + el.size, ctx.depth + 1,
                                                      self, el.tag)
        except DicomError as exc:
            return f"its items do not parse ({exc})"

    def __getitem__(self, key: Any) -> Element:
        tag = key if type(key) is int else dictionary.parse_tag(key)
        el = self._element(tag)
        if el is None:
            raise KeyError(_missing(tag))
        return el

    def __contains__(self, key: Any) -> bool:
        try:
            tag = key if type(key) is int else dictionary.parse_tag(key)
        except (KeyError, ValueError):
            return False
        return tag in self._elements

    def get(self, key: Any, default: Any = None) -> Any:
        """The decoded value of ``key``, or ``default`` when the element is absent."""
        tag = key if type(key) is int else dictionary.parse_tag(key)
        el = self._elements.get(tag)
        if el is None:
            return default
        if type(el) is tuple:  # _element, inlined: get() is the hot path of header reading
            vr, length, offset = el
            el = self._elements[tag] = Element(tag, vr, length, offset, length, self._ctx)
            if tag in CONTEXT_TAGS:
                self._ctx.sources[tag] = el
            elif tag & 0x10000 and tag & 0xF000:
                self._adopt_private(el)
        elif tag & 0x10000 and tag & 0xF000 and el._private is None:
            self._adopt_private(el)
        return el.value

    def __len__(self) -> int:
        return len(self._elements)

    def __iter__(self) -> Iterator[Element]:
        return iter(self.elements())

    def keys(self) -> list[int]:
        return list(self._elements)

    def elements(self) -> list[Element]:
        """Every element, in ascending tag order."""
        element = self._element
        return [element(tag) if type(el) is tuple or (tag & 0x10000 and tag & 0xF000) else el
                for tag, el in list(self._elements.items())]

    def __getattr__(self, name: str) -> Any:
        if name[:1].isupper():
            tag = dictionary.tag_for(name)
            if tag is not None:
                el = self._element(tag)
                if el is not None:
                    return el.value
                raise AttributeError(f"Dataset has no element {name} {format_tag(tag)}")
            raise AttributeError(f"{name!r} is no DICOM keyword{_did_you_mean(name)}")
        if name in _PYDICOM_HABITS:
            raise AttributeError(f"Dataset has no attribute {name!r}: in rawdicom, "
                                 f"{_PYDICOM_HABITS[name]}")
        raise AttributeError(f"Dataset has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        if name[:1].isupper() and dictionary.tag_for(name) is not None:
            self.set(name, value)
        else:
            self.__dict__[name] = value

    def __delattr__(self, name: str) -> None:
        tag = dictionary.tag_for(name)
        if tag is None or tag not in self._elements:
            raise AttributeError(name)
        del self[tag]

    def __delitem__(self, key: Any) -> None:
        tag = key if type(key) is int else dictionary.parse_tag(key)
        del self._elements[tag]
        if tag & 0x10000 and not tag & 0xF000:
            self.__dict__["_creators"] = None  # perhaps a creator: read them again
        if tag in CONTEXT_TAGS:
            self._ctx.sources.pop(tag, None)
            self._ctx._charset = None

    def set(self, key: Any, value: Any, vr: str | None = None) -> Element:
        """Set (add or replace) an element's value; the VR comes from the dictionary by default.

        ``None`` makes an empty value.  A list of Datasets makes a sequence.
        """
        tag = key if type(key) is int else dictionary.parse_tag(key)
        if vr is None:
            existing = self._element(tag)
            vr = existing.vr if existing is not None else self._dictionary_vr(tag)
            if " or " in vr:
                vr = vr.split(" or ")[0]
        if vr == "SQ" and value is not None:
            for item in value:
                item._adopt(self)
        el = Element(tag, vr, 0, IN_MEMORY, 0, self._ctx, value)
        if tag & 0x10000:
            if tag & 0xF000:
                self._adopt_private(el)
            else:
                self.__dict__["_creators"] = None  # perhaps a creator: read them again
        self._elements[tag] = el
        if tag < max(self._elements, default=0):
            self.__dict__["_elements"] = dict(sorted(self._elements.items()))
        if tag in CONTEXT_TAGS:
            self._ctx.sources[tag] = el
            self._ctx._charset = None
        return el

    __setitem__ = set

    def _dictionary_vr(self, tag: int) -> str:
        """The VR of a new element: the standard's, or the private dictionary's under the
        creator this dataset has for the tag's block (UN if none)."""
        creator_tag = dictionary.creator_tag(tag)
        creator = self._creator(creator_tag) if creator_tag is not None else None
        entry = dictionary.lookup_private(tag, creator) if creator else None
        return entry.vr if entry is not None else dictionary.vr_for(tag)

    # -- context ------------------------------------------------------------------
    @property
    def parent(self) -> "Dataset | None":
        """The dataset whose sequence holds this one (None at the top, or once it is gone)."""
        ref = self._parent
        return ref() if ref is not None else None

    def _adopt(self, parent: "Dataset") -> None:
        """Become an item of ``parent``: inherit its context (charset, pixel representation)."""
        self.__dict__["_parent"] = weakref.ref(parent)
        self._ctx.parent = parent._ctx
        self._ctx._charset = None

    @property
    def charset(self) -> tuple[str, ...]:
        """The Specific Character Set in force here: own (0008,0005), else inherited."""
        return self._ctx.charset

    # -- walking and printing ------------------------------------------------------
    def walk(self) -> Iterator[tuple[int, Element]]:
        """Every element, depth first into sequences, with its nesting depth."""
        stack: list[tuple[int, Iterator[Element]]] = [(0, iter(self))]
        while stack:
            depth, it = stack[-1]
            el = next(it, None)
            if el is None:
                stack.pop()
                continue
            yield depth, el
            if el.vr == "SQ":
                for item in reversed(el.value or []):
                    stack.append((depth + 1, iter(item)))

    def dump(self, *, max_value: int = 64) -> str:
        """A dcmdump-like listing: tag, VR, name, value; sequences indented."""
        from .printing import format_dataset
        return format_dataset(self, max_value=max_value)

    def __str__(self) -> str:
        return self.dump()

    def __repr__(self) -> str:
        return f"<Dataset with {len(self)} elements>"
