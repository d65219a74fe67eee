"""A readable listing of a Dataset, in the manner of dcmdump and pydicom.

One line per element: indentation for sequence depth, tag, VR, name, value.
Long values are abbreviated, bulk data shown by its size, UIDs followed by
their registry name, private elements by their creator and the private
dictionary's name (``(0019,100C) IS [SIEMENS MR HEADER] B_value 1000``).

Imports run one way: this module takes the Dataset it prints and reads it
through its public interface; ``dataset.py`` does not import this module
(``Dataset.dump`` reaches it through an import at call time).
"""

from __future__ import annotations

from typing import Any

from . import dictionary
from .dataset import Dataset, Element
from .errors import DicomError, format_tag

__all__ = ["format_dataset", "format_element", "format_value"]

_BULK_VRS = frozenset(("OB", "OD", "OF", "OL", "OV", "OW", "UN"))
_NAME_WIDTH = 36


def format_value(el: Element, max_value: int = 64) -> str:
    """The value of ``el`` as one short line of text."""
    try:
        if el.vr == "SQ":
            n = len(el.value or ())
            return f"<sequence of {n} item{'s' if n != 1 else ''}>"
        if el.vr in _BULK_VRS or el.encapsulated is not None:
            if el.encapsulated is not None:
                return f"<encapsulated: {len(el.encapsulated.fragments)} fragments, {el.size} bytes>"
            return f"<{el.size} bytes>"
        value = el.value
    except DicomError as exc:
        return f"<unreadable: {exc.reason}>"
    if value is None:
        return ""
    if isinstance(value, list):
        shown = value[:16]
        text = "[" + ", ".join(_scalar(v, el.vr) for v in shown)
        text += (", ...]" if len(value) > len(shown) else "]")
    else:
        text = _scalar(value, el.vr)
    if el.vr == "UI" and isinstance(value, str):
        entry = dictionary.uid(value)
        if entry is not None:
            text += f" ({entry.name})"
    if len(text) > max_value:
        text = text[:max_value - 3] + "..."
    return text


def _scalar(value: Any, vr: str) -> str:
    if vr == "AT" and isinstance(value, int):
        return format_tag(value)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, str):
        return repr(value) if vr not in ("UI",) else value
    return str(value)


def format_dataset(ds: Dataset, max_value: int = 64) -> str:
    """Every element of ``ds``, sequences indented under numbered items, one line each."""
    lines: list[str] = []
    _append(ds, 0, max_value, lines)
    return "\n".join(lines)


def _label(el: Element) -> str:
    """The keyword of a standard element, else its name; "[creator] name" for a private one."""
    if el.private_creator is not None:
        return el.name
    return el.keyword or el.name


def format_element(el: Element, max_value: int = 64, width: int = _NAME_WIDTH) -> str:
    """One element as one line: tag, VR, name (padded to ``width``), value. What
    ``print(ds)`` shows for it, and (``width=0``) ``repr(el)``, as pydicom shows the value."""
    # A private label is kept whole: the creator alone may fill the column.
    name = _label(el) if el.private_creator is not None or not width else _label(el)[:width]
    return (f"{format_tag(el.tag)} {el.vr:2} {name:<{width}} "
            f"{format_value(el, max_value)}").rstrip()


def _append(ds: Dataset, depth: int, max_value: int, lines: list[str]) -> None:
    indent = "  " * depth
    for el in ds:
        lines.append(f"{indent}{format_element(el, max_value)}")
        if el.vr != "SQ":
            continue
        try:
            items = el.value or []
        except DicomError:
            continue  # format_value has shown why
        for number, item in enumerate(items, 1):
            lines.append(f"{indent}  Item {number}")
            _append(item, depth + 2, max_value, lines)
