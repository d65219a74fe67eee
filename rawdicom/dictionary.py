"""The DICOM data dictionary: tag -> VR, VM, keyword, name; UIDs; transfer syntaxes.

The tables are generated from the standard by tools/gen_dictionary.py and shipped as package data in
``rawdicom._dictionaries``. They are read on the first lookup, not at import, so ``import rawdicom``
stays cheap for programs that never ask for a name.

Resolution order for a tag: the standard's own entry; then private tags (odd groups other than
0001-0007 and FFFF); then group lengths (gggg,0000); then repeating-group masks such as (60xx,3000),
most specific mask first; otherwise unknown.

Private data elements are named by the private creator that reserved their block
(PS3.5 7.8.1), so ``lookup_private(tag, creator)`` looks them up in a table generated from GDCM's
private dictionary (``private.tsv``), loaded apart from the standard's on its first use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from importlib.resources import files
from pathlib import Path

__all__ = [
    "Entry", "UIDEntry", "TransferSyntax", "parse_tag", "lookup", "tag_for", "keyword_for", "vr_for",
    "uid", "transfer_syntax", "transfer_syntaxes", "elements", "is_private", "lookup_private",
    "creator_tag",
]


@dataclass(frozen=True, slots=True)
class Entry:
    """One data element's dictionary entry.

    ``vr`` is as the standard writes it: "US or SS" for context-dependent VRs, "See Note 2" for the
    item delimiters, "" for a few retired elements. ``kind`` says how the tag was resolved:
    "standard", "repeating" (through a mask such as 60xx), "group_length", "private_creator", "private".
    ``creator`` is the private creator of an entry from the private dictionary (else ""); its
    ``keyword`` is derived from the vendor's name and, unlike a standard keyword, not unique.
    """

    tag: int
    vr: str
    vm: str
    keyword: str
    name: str
    retired: bool
    kind: str
    creator: str = ""


@dataclass(frozen=True, slots=True)
class UIDEntry:
    """One row of the UID registry (PS3.6 table A-1)."""

    uid: str
    name: str
    keyword: str
    type: str
    retired: bool


@dataclass(frozen=True, slots=True)
class TransferSyntax:
    """A transfer syntax with the encoding rules the reader needs (from PS3.5 Annex A)."""

    uid: str
    name: str
    keyword: str
    explicit_vr: bool
    little_endian: bool
    deflated: bool  # the whole data set is deflated (not: each pixel frame)
    encapsulated: bool  # Pixel Data is a sequence of fragments
    retired: bool


_PRIVATE_CREATOR = "Private Creator"
# "0020,000E", "(0020,000E)", "0020000E", and as Python writes them: "0x0020000E",
# "(0x0020, 0x000E)".
_TAG_TEXT = re.compile(r"\(?\s*(?:0[xX])?([0-9A-Fa-f]{4})\s*,\s*(?:0[xX])?([0-9A-Fa-f]{4})\s*\)?"
                       r"|(?:0[xX])?([0-9A-Fa-f]{8})")
# Real VRs are two capital letters, possibly "X or Y"; anything else ("See Note 2", "") reads as UN.
_READABLE_VR = re.compile(r"[A-Z]{2}( or [A-Z]{2})*")


class _Tables:
    """Everything loaded from the .tsv files; built once, then only read."""

    def __init__(self) -> None:
        self.exact: dict[int, Entry] = {}
        self.vr: dict[int, str] = {}  # exact tags only, already made readable: the hot path
        self.keyword: dict[int, str] = {}
        self.by_keyword: dict[str, int] = {}
        # (and-mask, value) of each repeating family, most specific first; value -> entry
        self.masks: list[tuple[int, dict[int, Entry]]] = []
        self.uids: dict[str, UIDEntry] = {}
        self.syntaxes: dict[str, TransferSyntax] = {}

        repeating = []
        for tag_text, vr, vm, keyword, name, retired in _rows("elements.tsv"):
            if "x" in tag_text:
                repeating.append((tag_text, vr, vm, keyword, name, retired))
                continue
            tag = int(tag_text, 16)
            self.exact[tag] = Entry(tag, vr, vm, keyword, name, retired == "1", "standard")
            self.vr[tag] = vr if _READABLE_VR.fullmatch(vr) else "UN"
            self.keyword[tag] = keyword
            if keyword:
                self.by_keyword[keyword] = tag
        masks: dict[int, dict[int, Entry]] = {}
        for tag_text, vr, vm, keyword, name, retired in repeating:
            and_mask = int("".join("0" if c == "x" else "F" for c in tag_text), 16)
            tag = self._first_instance(tag_text)
            masks.setdefault(and_mask, {})[tag & and_mask] = Entry(tag, vr, vm, keyword, name, retired == "1",
                                                                   "repeating")
            if keyword:
                self.by_keyword[keyword] = tag
        self.masks = sorted(masks.items(), key=lambda item: -item[0].bit_count())
        for uid_text, name, keyword, kind, retired in _rows("uids.tsv"):
            self.uids[uid_text] = UIDEntry(uid_text, name, keyword, kind, retired == "1")
        for row in _rows("transfer_syntaxes.tsv"):
            self.syntaxes[row[0]] = TransferSyntax(row[0], row[1], row[2], *(flag == "1" for flag in row[3:]))

    def _first_instance(self, tag_text: str) -> int:
        """The tag that stands for a repeating family: x read as 0 (60xx3000 -> 0x60003000), unless
        that tag means something else ((0028,0400) is Transform Label, not 04x0; (1010,0000) is a group
        length), then the next digit (0x00280410)."""
        for digit in "0123456789ABCDEF":
            tag = int(tag_text.replace("x", digit), 16)
            if tag not in self.exact and tag & 0xFFFF and not is_private(tag):
                return tag
        raise ValueError(f"no free tag in repeating family {tag_text}")

    def repeating(self, tag: int) -> Entry | None:
        """The entry of the most specific mask family that matches ``tag``."""
        for and_mask, family in self.masks:
            entry = family.get(tag & and_mask)
            if entry is not None:
                return entry
        return None


_tables: _Tables | None = None


def _table_text(filename: str) -> str:
    """A generated table's text, from wherever rawdicom runs.

    Installed (wheel, editable, Pyodide) the tables are the package ``rawdicom._dictionaries``.
    In a plain checkout used without installing (the repository root on ``sys.path``) that
    package does not exist, and the tables are the top-level ``dictionaries/`` folder beside
    the ``rawdicom/`` folder.
    """
    try:
        return files("rawdicom._dictionaries").joinpath(filename).read_text(encoding="utf-8")
    except ModuleNotFoundError:
        checkout = Path(__file__).resolve().parent.parent / "dictionaries" / filename
        return checkout.read_text(encoding="utf-8")


def _rows(filename: str) -> list[list[str]]:
    """Data rows of a generated table: skip the comment line and the header."""
    return [line.split("\t") for line in _table_text(filename).splitlines()[2:]]


def _load() -> _Tables:
    """Build the tables on first use (a race only builds them twice; the result is the same)."""
    global _tables
    if _tables is None:
        _tables = _Tables()
    return _tables


def _private_table() -> dict[tuple[str, str], list[str]]:
    """private.tsv keyed by (creator, tag as written: "0019xx0C", or "60xxxx00" for a group mask).

    Keyed by text, so loading is one split per line (it is done on the first private lookup).
    """
    table = {}
    for line in _table_text("private.tsv").splitlines()[2:]:
        row = line.split("\t")
        table[row[0], row[1]] = row
    return table


_private: dict[tuple[str, str], list[str]] | None = None


def creator_tag(tag: int) -> int | None:
    """The tag of the private creator that reserves ``tag``'s block: (gggg,BBee) -> (gggg,00BB).

    None for a tag no creator can reserve: not private, or outside the blocks 10-FF.
    """
    if not is_private(tag) or tag & 0xFFFF < 0x1000:
        return None
    return (tag & 0xFFFF0000) | (tag >> 8 & 0xFF)


def lookup_private(tag: int | tuple[int, int] | str, creator: str) -> Entry | None:
    """The private dictionary's entry for the data element ``tag`` under ``creator``, or None.

    Private elements are keyed by their creator's string, their group and the low byte of their
    element: the block byte is whichever the creator was given in (gggg,0010)-(gggg,00FF). The
    creator is compared as written, after removing leading and trailing spaces and NULs (its
    padding). The first call loads the table (about 10,000 entries).
    """
    tag = parse_tag(tag)
    if creator_tag(tag) is None:
        return None
    global _private
    if _private is None:
        _private = _private_table()
    creator = creator.strip(" \0")
    row = (_private.get((creator, f"{tag >> 16:04X}xx{tag & 0xFF:02X}"))
           or _private.get((creator, f"{tag >> 24:02X}xxxx{tag & 0xFF:02X}")))
    if row is None:
        return None
    _, _, vr, vm, keyword, name = row
    return Entry(tag, vr, vm, keyword, name, False, "private", creator)


def is_private(tag: int) -> bool:
    """Odd groups are private, except 0001, 0003, 0005, 0007 and FFFF, which the standard forbids."""
    group = tag >> 16
    return bool(group & 1) and group not in (0x0001, 0x0003, 0x0005, 0x0007, 0xFFFF)


def parse_tag(tag: int | tuple[int, int] | str) -> int:
    """Any spelling of a tag as an int: 0x0020000E, (0x20, 0xE), "0020,000E", "(0020,000E)",
    "0020000E", "0x0020000E", "(0x0020,0x000E)" or a keyword ("SeriesInstanceUID").

    Bad input is a programmer's error, not a file's: ValueError for a malformed tag, KeyError for an
    unknown keyword, TypeError for anything else.
    """
    if type(tag) is str:  # keywords first: the common case
        found = (_tables or _load()).by_keyword.get(tag)
        if found is not None:
            return found
    if isinstance(tag, bool):
        raise TypeError(f"not a tag: {tag!r}")
    if isinstance(tag, int):
        if not 0 <= tag <= 0xFFFFFFFF:
            raise ValueError(f"tag out of range: {tag:#x}")
        return tag
    if isinstance(tag, tuple):
        if len(tag) != 2 or not all(isinstance(p, int) and 0 <= p <= 0xFFFF for p in tag):
            raise ValueError(f"not a (group, element) pair: {tag!r}")
        return tag[0] << 16 | tag[1]
    if isinstance(tag, str):
        match = _TAG_TEXT.fullmatch(tag.strip())
        if match:
            return int(match[3] or match[1] + match[2], 16)
        found = tag_for(tag.strip())
        if found is None:
            raise KeyError(f"unknown tag or keyword: {tag!r}")
        return found
    raise TypeError(f"not a tag: {tag!r}")


def lookup(tag: int | tuple[int, int] | str) -> Entry | None:
    """The dictionary entry for a tag, or None for a standard tag the dictionary does not know.

    Repeating groups resolve to the real tag ((6002,3000) -> OverlayData with tag 0x60023000); group
    lengths, private creators and other private tags get synthesized entries. Never raises for an int.
    """
    tag = parse_tag(tag)
    tables = _tables or _load()
    entry = tables.exact.get(tag)
    if entry is not None:
        return entry
    element = tag & 0xFFFF
    if is_private(tag):
        if element == 0:
            return Entry(tag, "UL", "1", "", "Private Group Length", False, "group_length")
        if 0x10 <= element <= 0xFF:
            return Entry(tag, "LO", "1", "", _PRIVATE_CREATOR, False, "private_creator")
        return Entry(tag, "UN", "1", "", "Private tag data", False, "private")
    if element == 0:
        return Entry(tag, "UL", "1", "", "Group Length", True, "group_length")
    entry = tables.repeating(tag)
    return None if entry is None else replace(entry, tag=tag)


def tag_for(keyword: str) -> int | None:
    """The tag of a keyword; for a repeating family, its first instance (OverlayData -> 0x60003000)."""
    return (_tables or _load()).by_keyword.get(keyword)


def keyword_for(tag: int) -> str:
    """The keyword of a tag, "" if it has none (private, unknown, group length)."""
    tables = _tables or _load()
    keyword = tables.keyword.get(tag)
    if keyword is not None:
        return keyword
    entry = None if is_private(tag) or not tag & 0xFFFF else tables.repeating(tag)
    return "" if entry is None else entry.keyword


def vr_for(tag: int) -> str:
    """The VR to use for ``tag`` when the data carries none (implicit VR).

    "UN" for unknown and private tags, "LO" for private creators, "UL" for group lengths, "UN" where
    the standard lists no VR (item delimiters); multi-valued VRs as written ("US or SS"), for the
    caller to settle from context. Called once per element, so the common case is one dict lookup.
    """
    tables = _tables or _load()
    vr = tables.vr.get(tag)
    if vr is not None:
        return vr
    element = tag & 0xFFFF
    if element == 0:
        return "UL"
    if is_private(tag):
        return "LO" if 0x10 <= element <= 0xFF else "UN"
    entry = tables.repeating(tag)
    return "UN" if entry is None or not _READABLE_VR.fullmatch(entry.vr) else entry.vr


def uid(text: str) -> UIDEntry | None:
    """The registry entry of a UID, ignoring the NUL or space padding of a UI value."""
    return (_tables or _load()).uids.get(text.rstrip("\0 "))


def transfer_syntax(uid: str) -> TransferSyntax | None:
    """The transfer syntax with this UID (padding ignored), None if not a known one."""
    return (_tables or _load()).syntaxes.get(uid.rstrip("\0 "))


def transfer_syntaxes() -> list[TransferSyntax]:
    """Every known transfer syntax, in UID order."""
    return list((_tables or _load()).syntaxes.values())


def elements() -> list[Entry]:
    """Every dictionary entry, in tag order.

    Repeating families appear once, kind "repeating", with the tag of their first instance (x read as
    0, so 60xx3000 -> 0x60003000, unless the standard uses that tag for something else: 0028,04x0 ->
    0x00280410), so that ``lookup(entry.tag) == entry`` holds for every entry.
    """
    tables = _tables or _load()
    entries = list(tables.exact.values())
    entries += [entry for _mask, family in tables.masks for entry in family.values()]
    return sorted(entries, key=lambda entry: entry.tag)
