"""Paths as the text SQLite and Parquet store, lossless for file names that are not UTF-8.

A POSIX file name is bytes. Python hands a byte that is not UTF-8 to the program as a lone
surrogate (U+DC80-U+DCFF, PEP 383's ``surrogateescape``), which neither SQLite's binding
nor Arrow accepts as text: one such name used to abort a whole build. So the ``path``
column holds:

* the path itself, for every path that is valid text and does not start with ``"``
  (all ordinary names: the column reads, sorts and matches as before);
* otherwise the path quoted the way Git quotes names it cannot print (``core.quotePath``):
  ``"`` + the path with ``\\`` written ``\\\\``, ``"`` written ``\\"`` and each byte that
  is not UTF-8 written ``\\xHH`` + ``"``. ``/data/caf\\xe9.dcm`` between quotes is the
  file whose name holds the Latin-1 byte E9. A path that starts with ``"`` is quoted too,
  so that no stored text is ambiguous.

:func:`rawdicom.index.read_rows` gives the path back as Python names it (the same ``str``
that ``os.listdir`` gives, ``os.fsencode`` of which is the original bytes); in SQL,
``path LIKE '"%'`` finds the quoted ones. Other text columns (an error message naming such
a file, a warning) are stored readable, their undecodable bytes as ``\\xHH``, not meant to
be read back as paths.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["stored_path", "path_from_store", "storable_text"]

_QUOTE = '"'
_ESCAPE = re.compile(r'\\(x[0-9A-Fa-f]{2}|\\|")')


def _is_text(value: str) -> bool:
    """Whether ``value`` encodes to UTF-8 (no lone surrogate)."""
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def stored_path(path: str | None) -> str | None:
    """The text stored for ``path`` (see the module docstring)."""
    if path is None or (not path.startswith(_QUOTE) and _is_text(path)):
        return path
    out = []
    for char in path:
        if char == "\\" or char == _QUOTE:
            out.append("\\" + char)
        elif "\udc80" <= char <= "\udcff":  # an undecodable byte, as surrogateescape gives it
            out.append(f"\\x{ord(char) - 0xDC00:02x}")
        elif "\ud800" <= char <= "\udfff":  # any other lone surrogate (not from a file name)
            out.extend(f"\\x{b:02x}" for b in char.encode("utf-8", "surrogatepass"))
        else:
            out.append(char)
    return _QUOTE + "".join(out) + _QUOTE


def path_from_store(text: str | None) -> str | None:
    """The path whose stored text is ``text`` (the inverse of :func:`stored_path`)."""
    if text is None or len(text) < 2 or not (text.startswith(_QUOTE) and text.endswith(_QUOTE)):
        return text

    def unescape(match: re.Match[str]) -> str:
        code = match.group(1)
        if code[0] != "x":
            return code
        return bytes([int(code[1:], 16)]).decode("utf-8", "surrogateescape")

    return _ESCAPE.sub(unescape, text[1:-1])


def storable_text(value: Any) -> Any:
    """A text value (or a list of them) as valid text: lone surrogates as ``\\xHH``."""
    if type(value) is str:
        if _is_text(value):
            return value
        return value.encode("utf-8", "surrogateescape" if _escaped_only(value) else
                            "surrogatepass").decode("utf-8", "backslashreplace")
    if type(value) is list:
        return [storable_text(v) for v in value]
    return value


def _escaped_only(value: str) -> bool:
    """Whether every lone surrogate of ``value`` stands for a byte (U+DC80-U+DCFF)."""
    return all(not ("\ud800" <= c <= "\udfff") or "\udc80" <= c <= "\udcff" for c in value)
