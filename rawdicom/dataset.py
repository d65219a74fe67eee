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
from typing import TYPE_CHECKING, Any, Callable, Iterator

from . import dictionary
from .charset import DEFAULT_CHARSET, codecs_for
from .errors import DicomError, DicomWarning, ValueDecodeError, format_tag
from .values import decode_value, value_multiplicity

if TYPE_CHECKING:
    from .dictionary import TransferSyntax
    from .encapsulated import EncapsulatedPixelData

__all__ = ["Dataset", "Element", "UNDEFINED_LENGTH"]

UNDEFINED_LENGTH = 0xFFFFFFFF
# Element.offset of a value assigned in memory: it is not (or no longer) in the buffer.
IN_MEMORY = -1

_UNSET: Any = object()

# Tags whose VR the standard leaves to the context ("US or SS", "OB or OW",
# ...); resolved on first access of ``Element.vr``, when the whole dataset
# (Pixel Representation, LUT Descriptor, ...) is known.  Only implicit VR
# streams leave them ambiguous: an explicit stream states the VR.
_PIXEL_REPRESENTATION = 0x00280103
_LUT_DESCRIPTOR = 0x00283002


class Element:
    """One data element: tag, VR, the place of its value, its value on demand.

    ``length`` is the value length as written (``UNDEFINED_LENGTH`` for
    undefined-length sequences and encapsulated pixel data); ``offset`` is
    the byte offset of the value in the dataset's buffer, ``size`` the
    number of value bytes there (for undefined lengths: up to, not including,
    the sequence delimiter).
    """

    __slots__ = ("tag", "_vr", "length", "offset", "size", "_ds", "_value", "_lazy", "_defect",
                 "encapsulated")

    def __init__(self, tag: int, vr: str, length: int, offset: int, size: int,
                 ds: "Dataset | None", value: Any = _UNSET,
                 lazy: Callable[[], Any] | None = None) -> None:
        self.tag = tag
        self._vr = vr
        self.length = length
        self.offset = offset
        self.size = size
        self._ds = ds
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
        if vr == "US or SS":
            rep = self._ds._inherited_int(_PIXEL_REPRESENTATION) if self._ds else None
            return "SS" if rep == 1 else "US"
        if tag == 0x00283006 and self._ds is not None:  # LUT Data: "US or OW"
            desc = self._ds.get(_LUT_DESCRIPTOR)
            first = desc[0] if isinstance(desc, list) and desc else desc
            return "US" if first == 1 else "OW"
        if tag == 0x7FE00010 and self.length == UNDEFINED_LENGTH:
            return "OB"
        # Implicit VR little endian: OB/OW data is OW (PS3.5 A.1); "US or SS or OW" too.
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
    @property
    def raw(self) -> memoryview | bytes:
        """The value's bytes as stored (a zero-copy view for data read from a file)."""
        if self._defect is not None:
            raise self._defect
        ds = self._ds
        if ds is None or ds._buf is None or self.offset == IN_MEMORY:
            if self._value is _UNSET or self._value is None:
                return b""
            from .values import encode_value  # an element built in memory
            if ds is None:
                return encode_value(self.vr, self._value, True, ())
            return encode_value(self.vr, self._value, ds.little_endian, ds.charset)
        return ds._buf[self.offset:self.offset + self.size]

    @property
    def value(self) -> Any:
        value = self._value
        if value is not _UNSET:
            return value
        if self._defect is not None:
            raise self._defect
        if self._lazy is not None:
            value = self._lazy()
            self._lazy = None
        elif self.size == 0:
            value = None
        else:
            ds = self._ds
            assert ds is not None
            vr = self.vr
            charset = ds.charset if vr in _CHARSET_VRS else ()
            try:
                value = decode_value(vr, ds._buf[self.offset:self.offset + self.size],
                                     ds.little_endian, charset)
            except ValueDecodeError as exc:
                raise ValueDecodeError(exc.reason, offset=self.offset, tag=self.tag) from None
        self._value = value
        return value

    @value.setter
    def value(self, value: Any) -> None:
        self._value = value
        self.offset = IN_MEMORY
        self._lazy = None
        self._defect = None
        self.encapsulated = None
        if self._ds is not None:
            self._ds._changed = True

    @property
    def vm(self) -> int:
        if self.vr == "SQ":
            return len(self.value or ())
        return value_multiplicity(self.vr, self.value)

    def __repr__(self) -> str:
        return f"Element({format_tag(self.tag)} {self.vr} {self.keyword or self.name})"


# VRs whose text is decoded with the Specific Character Set (PS3.5 6.1.2.3).
_CHARSET_VRS = frozenset(("SH", "LO", "ST", "LT", "UC", "UT", "PN"))


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
        d["parent"] = parent
        d["offset"] = offset
        d["_charset"] = None
        d["_changed"] = False
        d["file_meta"] = None
        d["transfer_syntax"] = None
        d["preamble"] = None

    # -- mapping ------------------------------------------------------------------
    # ``_elements`` maps tag -> Element, or -> a ``(vr, length, offset)`` record
    # that the scanner stores for a plain value; ``_element`` makes the Element
    # the first time it is used.
    def _element(self, tag: int) -> Element | None:
        el = self._elements.get(tag)
        if type(el) is tuple:
            vr, length, offset = el
            el = self._elements[tag] = Element(tag, vr, length, offset, length, self)
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
        el = self._element(tag)
        return default if el is None else el.value

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
        self.__dict__["_changed"] = True
        if tag == 0x00080005:
            self.__dict__["_charset"] = None

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
                item.__dict__["parent"] = self
        el = Element(tag, vr, 0, IN_MEMORY, 0, self, value)
        self._elements[tag] = el
        if tag < max(self._elements, default=0):
            self.__dict__["_elements"] = dict(sorted(self._elements.items()))
        self.__dict__["_changed"] = True
        if tag == 0x00080005:
            self.__dict__["_charset"] = None
        return el

    __setitem__ = set

    # -- context ------------------------------------------------------------------
    @property
    def charset(self) -> tuple[str, ...]:
        """The Specific Character Set in force here: own (0008,0005), else inherited."""
        cs = self._charset
        if cs is None:
            el = self._element(0x00080005)
            if el is not None:
                # (0008,0005) itself is read in the default repertoire: a broken file
                # giving it a charset-affected VR must not recurse into this property.
                d = self.__dict__
                d["_charset"] = DEFAULT_CHARSET
                try:
                    value = el.value
                finally:
                    d["_charset"] = None
                if isinstance(value, list):
                    value = [v for v in value if isinstance(v, str)]
                elif not isinstance(value, str):
                    if value is not None:
                        warnings.warn(f"{format_tag(0x00080005)} Specific Character Set is not "
                                      "text; the default repertoire is used", DicomWarning,
                                      stacklevel=3)
                    value = None
                cs = codecs_for(value)
            elif self.parent is not None:
                cs = self.parent.charset
            else:
                cs = codecs_for(None)
            self.__dict__["_charset"] = cs
        return cs

    def _inherited_int(self, tag: int) -> int | None:
        """An integer attribute of this dataset or the nearest ancestor that has it."""
        ds: Dataset | None = self
        while ds is not None:
            el = ds._element(tag)
            if el is not None:
                value = el.value
                if isinstance(value, list):
                    value = value[0] if value else None
                if isinstance(value, int):
                    return value
            ds = ds.parent
        return None

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
