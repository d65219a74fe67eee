"""The lazy Dataset and its Elements.

Parsing (``scanner.py``) records, for every element, its tag, VR, length and
where its value lies in the source buffer; nothing is decoded then.  An
Element decodes its value the first time ``.value`` is asked for and keeps
the result, so opening thousands of files to sort them touches only the bytes
of the elements actually used.

This module does not import the scanner: a sequence whose items were not
parsed yet carries a small callable (``_lazy``) that the scanner left there.
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

__all__ = ["Context", "Dataset", "Element", "UNDEFINED_LENGTH"]

UNDEFINED_LENGTH = 0xFFFFFFFF
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

    __slots__ = ("buf", "little_endian", "parent", "sources", "_charset", "_le_view")

    def __init__(self, buf: memoryview | bytes | None, little_endian: bool,
                 parent: "Context | None") -> None:
        self.buf = buf
        self.little_endian = little_endian
        self.parent = parent
        self.sources: dict[int, Any] = {}
        self._charset: tuple[str, ...] | None = None
        self._le_view: Context | None = None

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
                 "encapsulated")

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
        return dictionary.keyword_for(self.tag)

    @property
    def name(self) -> str:
        entry = dictionary.lookup(self.tag)
        return entry.name if entry is not None else "Unknown"

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
        return f"Element({format_tag(self.tag)} {self.vr} {self.keyword or self.name})"




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
        d["_ctx"] = Context(buf, little_endian, parent._ctx if parent is not None else None)
        d["offset"] = offset
        d["file_meta"] = None
        d["transfer_syntax"] = None
        d["preamble"] = None
        d["stopped_at"] = None  # set by the reader: see rawdicom.read

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
        return el

    def __getitem__(self, key: Any) -> Element:
        tag = key if type(key) is int else dictionary.parse_tag(key)
        el = self._element(tag)
        if el is None:
            raise KeyError(key)
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
        return [el if type(el) is not tuple else element(tag)
                for tag, el in list(self._elements.items())]

    def __getattr__(self, name: str) -> Any:
        if name[:1].isupper():
            tag = dictionary.tag_for(name)
            if tag is not None:
                el = self._element(tag)
                if el is not None:
                    return el.value
        raise AttributeError(f"Dataset has no element {name!r}")

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
            vr = existing.vr if existing is not None else dictionary.vr_for(tag)
            if " or " in vr:
                vr = vr.split(" or ")[0]
        if vr == "SQ" and value is not None:
            for item in value:
                item._adopt(self)
        el = Element(tag, vr, 0, IN_MEMORY, 0, self._ctx, value)
        self._elements[tag] = el
        if tag < max(self._elements, default=0):
            self.__dict__["_elements"] = dict(sorted(self._elements.items()))
        if tag in CONTEXT_TAGS:
            self._ctx.sources[tag] = el
            self._ctx._charset = None
        return el

    __setitem__ = set

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
