"""The ASCCONV section of a Siemens protocol: ``key = value`` lines to a flat dict.

The series CSA header's ``MrPhoenixProtocol`` (or ``MrProtocol``) holds the
acquisition protocol; its part between ``### ASCCONV BEGIN ... ###`` and
``### ASCCONV END ###`` is one assignment per line::

    sSliceArray.lSize                        = 48
    sSliceArray.asSlice[0].sPosition.dSag    = -2.83333333
    tProtocolName                            = ""ep2d_diff""
    ucScanRegionPosValid                     = 0x1

Keys are kept as written (``sSliceArray.asSlice[0].sPosition.dSag``), so a
caller asks for exactly the key it knows.  Values: decimal and ``0x`` hex
integers -> int, decimals -> float, quoted text (``""x""`` inside a CSA
value, ``"x"`` in a protocol file) -> str.  A line that is none of these is
skipped: the parser reads untrusted text line by line with no evaluation
(nibabel hands the section to Python's ``ast``), so garbage costs time
linear in its length and never raises.
"""

from __future__ import annotations

import re

__all__ = ["parse_ascconv"]

_BEGIN = "### ASCCONV BEGIN"
_END = "### ASCCONV END ###"
_KEY = re.compile(r"[A-Za-z_]\w*(?:\[\d+\])*(?:\.[A-Za-z_]\w*(?:\[\d+\])*)*")
_INT = re.compile(r"[+-]?\d+")
_HEX = re.compile(r"0[xX][0-9A-Fa-f]+")
_FLOAT = re.compile(r"[+-]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?")
MAX_KEY = 256  # real keys are under 80 characters


def parse_ascconv(text: str) -> dict[str, int | float | str]:
    """The assignments of the first ASCCONV section of ``text``, in order.

    An empty dict when there is no section; a section without its END line
    is read to the end of the text (a truncated protocol keeps what it has).
    """
    start = text.find(_BEGIN)
    if start < 0:
        return {}
    body_start = text.find("\n", start)
    if body_start < 0:
        return {}
    end = text.find(_END, body_start)
    body = text[body_start + 1:end if end >= 0 else len(text)]
    result: dict[str, int | float | str] = {}
    for line in body.splitlines():
        key, sep, rest = line.partition("=")
        key = key.strip()
        if not sep or len(key) > MAX_KEY or not _KEY.fullmatch(key):
            continue
        value = _value(rest.strip())
        if value is not None:
            result[key] = value
    return result


def _value(text: str) -> int | float | str | None:
    """One right-hand side: a quoted string, a hex or decimal integer, a decimal; else None."""
    for quote in ('""', '"'):
        if text.startswith(quote):
            close = text.find(quote, len(quote))
            return text[len(quote):close] if close >= 0 else None
    token = text.split("#", 1)[0].strip()  # a trailing comment (syngo MR XA writes some)
    try:
        if _HEX.fullmatch(token):
            return int(token, 16)
        if _INT.fullmatch(token):
            return int(token)
        if _FLOAT.fullmatch(token):
            return float(token)
    except ValueError:  # more digits than int() converts (sys.get_int_max_str_digits)
        return None
    return None
