"""Generate rawdicom's data dictionary tables from the DICOM standard's own files.

Usage: python tools/gen_dictionary.py [--standard DIR] [--out DIR] [--docbook-only]

Why generated, not hand-written: the standard changes several times a year, and a table copied by hand
drifts silently. Sources (see ../shared/standard/README.md):

* ``attributes.json`` (PS3.6 2024b, Innolitics' parse): data elements, the newest edition we have.
* ``part06.xml`` (PS3.6 DocBook; 2013 here, any edition works): tables 6-1/7-1/8-1 (data elements,
  used alone with ``--docbook-only``) and A-1 (UID registry).
* ``tools/sources/uids_since_2013.tsv``: UIDs registered after 2013, hand-written with their sources.
* ``part05.xml`` (PS3.5 DocBook): Annex A, which says how each transfer syntax encodes a data set.
* ``gdcm/privatedicts.xml``: GDCM's private dictionary (BSD licence, ``gdcm/Copyright.txt``, copied
  beside the table), for the private data elements the standard does not define.

The output is sorted and carries no timestamp, so regenerating from the same sources reproduces
the committed files byte for byte.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parents[1]
DEFAULT_STANDARD = REPO.parent / "shared" / "standard"
DEFAULT_OUT = REPO / "dictionaries"
SUPPLEMENT = REPO / "tools" / "sources" / "uids_since_2013.tsv"

DOCBOOK = "{http://docbook.org/ns/docbook}"
XML_ID = "{http://www.w3.org/XML/1998/namespace}id"
ZWSP = "\u200b"  # NEMA's line-break hint inside UIDs, tags, names and keywords: never data
SHY = "\u00ad"  # soft hyphen, the same kind of hint: 2013 table A-1 has it in three UIDs (1.<SHY>2.840...)

ELEMENT_TABLES = ("table_6-1", "table_7-1", "table_8-1")
TRANSFER_SYNTAX = "Transfer Syntax"
UID_ROOT = "1.2.840.10008."

# Registered as "Transfer Syntax" in PS3.6 but not data set encodings: PS3.5 Annex A does not define
# them (RFC 2557 MIME encapsulation and XML encoding belong to PS3.10/PS3.19, both since retired).
NOT_DATASET_ENCODINGS = {"1.2.840.10008.1.2.6.1", "1.2.840.10008.1.2.6.2"}

# Annex A sections whose text states no encoding mechanically, so the rule is written here:
# - A.3: retired in 2006, the current text only says "see PS3.5 2016b"; it was explicit VR big endian.
# - A.8-A.10: SMPTE ST 2110 flows; the DICOM-RTV metadata (PS3.22) is explicit VR little endian and
#   the video/audio travels outside the data set, so nothing is encapsulated.
# Flags: (explicit_vr, little_endian, deflated, encapsulated).
SECTION_RULES = {
    "A.3": (True, False, False, False),
    "A.8": (True, True, False, False),
    "A.9": (True, True, False, False),
    "A.10": (True, True, False, False),
}
# Retired JPEG processes are no longer named in the current Annex A; the 2013 text listed them in A.4.1.
RETIRED_FALLBACK = (("Explicit VR Big Endian", "A.3"), ("JPEG ", "A.4.1"))


def clean(text: str) -> str:
    """Cell text without zero-width spaces or soft hyphens and with whitespace collapsed."""
    return " ".join(text.replace(ZWSP, "").replace(SHY, "").split())


def load_docbook(path: Path) -> ET.Element:
    """Parse a NEMA DocBook file, repairing the one known defect of PS3.6 2013 (a literal "<200b>")."""
    return ET.fromstring(path.read_text(encoding="utf-8").replace("<200b>", ZWSP))


def table_rows(root: ET.Element, table_id: str) -> tuple[list[str], list[list[str]]]:
    """Header names and cell texts of a DocBook table, so columns are found by name, not position."""
    table = next(t for t in root.iter(DOCBOOK + "table") if t.get(XML_ID) == table_id)
    header = [clean("".join(c.itertext())) for c in table.find(f"{DOCBOOK}thead/{DOCBOOK}tr")]
    rows = [[clean("".join(td.itertext())) for td in tr.findall(DOCBOOK + "td")]
            for tr in table.iterfind(f"{DOCBOOK}tbody/{DOCBOOK}tr")]
    return header, rows


def normalize_tag(tag: str) -> str:
    """'(60XX,3000)' or '(60xx,3000)' -> '60xx3000': hex uppercase, mask digits as lowercase x."""
    digits = tag.strip("()").replace(",", "").upper().replace("X", "x")
    if not re.fullmatch(r"[0-9A-Fx]{8}", digits):
        raise ValueError(f"not a tag: {tag!r}")
    return digits


def elements_from_json(path: Path) -> list[tuple[str, str, str, str, str, str]]:
    """Rows (tag, vr, vm, keyword, name, retired) from Innolitics' attributes.json."""
    return [(normalize_tag(e["tag"]), e["valueRepresentation"], e["valueMultiplicity"], e["keyword"],
             e["name"], "1" if e["retired"] == "Y" else "0")
            for e in json.loads(path.read_text(encoding="utf-8"))]


def elements_from_docbook(root: ET.Element) -> list[tuple[str, str, str, str, str, str]]:
    """The same rows from PS3.6 tables 6-1, 7-1 and 8-1; the sixth column starts with RET if retired."""
    rows = []
    for table_id in ELEMENT_TABLES:
        header, cells = table_rows(root, table_id)
        col = {name: header.index(name) for name in ("Tag", "Name", "Keyword", "VR", "VM")}
        for c in cells:
            retired = "1" if c[len(col)].startswith("RET") else "0"
            rows.append((normalize_tag(c[col["Tag"]]), c[col["VR"]], c[col["VM"]], c[col["Keyword"]],
                         c[col["Name"]], retired))
    return rows


def derive_keyword(name: str) -> str:
    """A UID keyword for editions without the column (2013), CamelCase like the standard's keywords.

    The standard (since 2016) keys UIDs by keyword; its rule is CamelCase of the name with
    punctuation removed, minus the ": Default Transfer Syntax for ..." remark. Some current keywords
    are abbreviations chosen by hand (JPEGBaseline8Bit); those cannot be derived and differ here.
    """
    name = name.split(":")[0].replace("&", "and")
    words = re.sub(r"[^0-9A-Za-z ]+", " ", name).split()
    return "".join(w[0].upper() + w[1:] for w in words)


def uids_from_docbook(root: ET.Element) -> list[tuple[str, str, str, str, str]]:
    """Rows (uid, name, keyword, type, retired) of PS3.6 table A-1 (keyword column used if present)."""
    header, cells = table_rows(root, "table_A-1")
    col = {h.removeprefix("UID ").strip(): i for i, h in enumerate(header)}
    rows = []
    for c in cells:
        name = c[col["Name"]]
        retired = name.endswith("(Retired)")
        name = name.removesuffix("(Retired)").strip()
        keyword = c[col["Keyword"]] if "Keyword" in col else derive_keyword(name)
        rows.append((c[col["Value"]], name, keyword, c[col["Type"]], "1" if retired else "0"))
    return rows


def uids_from_supplement(path: Path) -> list[tuple[str, str, str, str, str]]:
    """Rows of tools/sources/uids_since_2013.tsv (uid, name, type, retired, source) in registry form."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    header = lines[0].split("\t")
    rows = []
    for line in lines[1:]:
        r = dict(zip(header, line.split("\t")))
        rows.append((r["uid"], r["name"], derive_keyword(r["name"]), r["type"], r["retired"]))
    return rows


class Section(NamedTuple):
    """One PS3.5 Annex A section: what its own text says, and where else it points."""

    title: str
    text: str
    parent: str  # label of the enclosing section, "" for top level
    refs: tuple[str, ...]  # Annex A sections it cross-references ("first encoded according to A.2")


def annex_a_sections(root: ET.Element) -> dict[str, Section]:
    """Annex A section label -> Section, from PS3.5.

    The parent comes from the label (A.4.11 -> A.4), not the XML nesting, which is uneven in 2026c.
    """
    chapter = next(c for c in root.iter(DOCBOOK + "chapter") if c.get(XML_ID) == "chapter_A")
    sections: dict[str, Section] = {}
    for sec in chapter.iter(DOCBOOK + "section"):
        label = sec.get("label", "")
        own = [child for child in sec if child.tag != DOCBOOK + "section"]
        refs = tuple(x.get("linkend", "").removeprefix("sect_") for child in own
                     for x in child.iter(DOCBOOK + "xref") if x.get("linkend", "").startswith("sect_A."))
        parent = label.rpartition(".")[0]
        sections[label] = Section(clean(sec.findtext(DOCBOOK + "title", "")),
                                  " ".join(clean("".join(child.itertext())) for child in own),
                                  parent if "." in parent else "", refs)
    return sections


def section_text(label: str, sections: dict[str, Section], seen: set[str]) -> str:
    """Title and text of a section, its parents and the sections it refers to: all its rules."""
    if not label or label in seen or label not in sections:
        return ""
    seen.add(label)
    sec = sections[label]
    return " ".join([sec.title, sec.text, section_text(sec.parent, sections, seen),
                     *(section_text(ref, sections, seen) for ref in sec.refs)])


def section_flags(label: str, sections: dict[str, Section]) -> tuple[bool, bool, bool, bool]:
    """Encoding flags (explicit_vr, little_endian, deflated, encapsulated) of an Annex A section.

    Read from the phrases every data set encoding section uses ("encoded with Explicit VR", "shall be
    in Little Endian", "The entire byte stream is then compressed using the Deflate algorithm"),
    following its parents and cross-references; SECTION_RULES where the text says nothing.
    """
    if label in SECTION_RULES:
        return SECTION_RULES[label]
    text = section_text(label, sections, set())
    explicit = "encoded with Explicit VR" in text
    implicit = "encoded with Implicit VR" in text
    little = "shall be in Little Endian" in text
    if explicit == implicit or not little:
        raise SystemExit(f"PS3.5 {label}: cannot read the encoding from the text; add a SECTION_RULES entry")
    deflated = re.search(r'entire byte stream is then compressed using the "?Deflate', text) is not None
    encapsulated = label.startswith("A.4.")  # A.4 is "Transfer Syntaxes for Encapsulation of ..."
    return explicit, little, deflated, encapsulated


def transfer_syntax_sections(root: ET.Element) -> tuple[dict[str, str], dict[str, Section]]:
    """UID -> the first Annex A section (document order) that names it, and the sections themselves."""
    sections = annex_a_sections(root)
    where: dict[str, str] = {}
    for label, sec in sections.items():
        for uid in re.findall(r"1\.2\.840\.10008\.1\.2(?:\.\d+)*", sec.text):
            where.setdefault(uid, label)
    return where, sections


def transfer_syntaxes(uids: list[tuple[str, str, str, str, str]], part05: ET.Element) -> list[tuple[str, ...]]:
    """Rows (uid, name, keyword, explicit_vr, little_endian, deflated, encapsulated, retired)."""
    where, sections = transfer_syntax_sections(part05)
    rows = []
    for uid, name, keyword, kind, retired in uids:
        if kind != TRANSFER_SYNTAX or uid in NOT_DATASET_ENCODINGS:
            continue
        label = where.get(uid) or next((sec for prefix, sec in RETIRED_FALLBACK
                                        if retired == "1" and name.startswith(prefix)), None)
        if label is None:
            raise SystemExit(f"transfer syntax {uid} ({name}) is not in PS3.5 Annex A; add a rule")
        flags = ["1" if f else "0" for f in section_flags(label, sections)]
        rows.append((uid, name, keyword, *flags, retired))
    return rows


def uid_sort_key(row: tuple[str, ...]) -> tuple[int, ...]:
    """Numeric component order: 1.2.4.50 before 1.2.4.100."""
    return tuple(int(part) for part in row[0].split("."))


def write_table(path: Path, columns: list[str], rows: list[tuple[str, ...]], sources: str) -> None:
    """Tab-separated UTF-8 with LF endings, a comment line naming the sources, then the header."""
    for row in rows:
        if any("\t" in cell or "\n" in cell for cell in row):
            raise SystemExit(f"{path.name}: cell with tab or newline in {row}")
    lines = [f"# generated by tools/gen_dictionary.py from {sources}; do not edit", "\t".join(columns)]
    lines += ["\t".join(row) for row in rows]
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8"))


# GDCM writes a choice of VRs with an underscore.
GDCM_VR_CHOICES = {"US_SS": "US or SS", "OB_OW": "OB or OW"}
GDCM_VRS = frozenset("AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM "
                     "UC UI UL UN UR US UT UV".split())
FORBIDDEN_PRIVATE_GROUPS = frozenset(("0001", "0003", "0005", "0007", "FFFF"))


def private_keyword(name: str) -> str:
    """A keyword-like form of a GDCM name: CamelCase words, ASCII letters, digits and underscores.

    "Number of Images in Mosaic" -> "NumberOfImagesInMosaic", "B_value" stays "B_value"; a name that
    is only "?" (GDCM: not known) has none. Not unique: vendors reuse names.
    """
    words = re.sub(r"[^0-9A-Za-z_ ]+", " ", name).split()
    return "".join(w[0].upper() + w[1:] for w in words)


def private_key(group: str, element: str) -> tuple[str | None, str]:
    """A GDCM entry's (group, element) as a table tag "0019xx0C" / "60xxxx00", or None and why not.

    GDCM keys private elements by group, creator and the element's low byte: its PrivateTag keeps
    8 bits of the element. So "xx0c" and a full number "000c" both mean byte 0C of whatever block
    the creator reserved. "10xx" names every element of one block, no single element (GDCM uses it
    for the creator element itself, which is always LO): unusable. A group "60xx" means every odd
    group 6001-60FF. Even groups and 0001-0007 are not private (PS3.5 7.1, 7.8.1).
    """
    group, element = group.upper().replace("X", "x"), element.upper().replace("X", "x")
    if re.fullmatch(r"[0-9A-F]{2}xx", group):
        pass
    elif not re.fullmatch(r"[0-9A-F]{4}", group):
        raise SystemExit(f"privatedicts.xml: group {group!r} has a form this tool does not know")
    elif group in FORBIDDEN_PRIVATE_GROUPS:
        return None, "group 0001-0007 or FFFF: the standard allows no private elements there (PS3.5 7.1)"
    elif not int(group, 16) & 1:
        return None, "even group: not a private group (PS3.5 7.8.1)"
    if re.fullmatch(r"[0-9A-F]{2}xx", element):
        return None, f"element {element}: a whole block (GDCM's note on the creator element), no element byte"
    match = re.fullmatch(r"(?:xx|[0-9A-F]{2})([0-9A-F]{2})", element)
    if match is None:
        raise SystemExit(f"privatedicts.xml: element {element!r} has a form this tool does not know")
    return f"{group}xx{match[1]}", ""


def private_entries(path: Path) -> tuple[list[tuple[str, ...]], collections.Counter[str]]:
    """Rows (creator, tag, vr, vm, keyword, name) of GDCM's privatedicts.xml, and the entries left
    out by reason.

    Entries GDCM itself commented out are counted, not used. A "?" name (GDCM: unknown) becomes "".
    VR "UN" (GDCM: unknown) is kept: the entry still names the element.
    """
    parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True))
    root = ET.fromstring(path.read_text(encoding="utf-8"), parser=parser)
    skipped: collections.Counter[str] = collections.Counter()
    rows: dict[tuple[str, str], tuple[str, ...]] = {}
    for node in root:
        if node.tag is ET.Comment:
            commented = (node.text or "").count("<entry")
            if commented:
                skipped["commented out in GDCM's file"] += commented
            continue
        if node.tag != "entry":
            raise SystemExit(f"privatedicts.xml: unexpected <{node.tag}>")
        a = node.attrib
        creator = a["owner"]
        tag, why = private_key(a["group"], a["element"])
        if tag is None:
            skipped[why] += 1
            continue
        vr = GDCM_VR_CHOICES.get(a["vr"], a["vr"])
        if vr not in GDCM_VRS and vr not in GDCM_VR_CHOICES.values():
            raise SystemExit(f"privatedicts.xml: unknown VR {a['vr']!r} for {creator} {tag}")
        name = clean(a["name"])
        name = "" if name == "?" else name
        row = (creator, tag, vr, clean(a["vm"]), private_keyword(name), name)
        if (creator, tag) in rows:
            same = rows[creator, tag] == row
            skipped["repeats an earlier entry's key" + (" (same values)" if same else
                                                          " (other values: the first is kept)")] += 1
            continue
        rows[creator, tag] = row
    return sorted(rows.values(), key=lambda r: (r[0], r[1])), skipped


def gdcm_provenance(folder: Path) -> str:
    """Where the GDCM files came from: the commit their README names and the file's digest."""
    readme = (folder / "README.md").read_text(encoding="utf-8")
    commit = re.search(r"commit\s+([0-9a-f]{40})", readme)
    if commit is None:
        raise SystemExit(f"{folder / 'README.md'}: no GDCM commit named")
    digest = hashlib.sha256((folder / "privatedicts.xml").read_bytes()).hexdigest()
    return f"GDCM (github.com/malaterre/GDCM commit {commit[1]}), privatedicts.xml sha256 {digest}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--standard", type=Path, default=DEFAULT_STANDARD, help="dir with the sources")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the .tsv tables go")
    parser.add_argument("--docbook-only", action="store_true",
                        help="elements from part06.xml instead of attributes.json, no UID supplement")
    args = parser.parse_args(argv)

    part06 = load_docbook(args.standard / "part06.xml")
    part05 = load_docbook(args.standard / "part05.xml")
    edition6 = clean(part06.findtext(DOCBOOK + "subtitle", ""))
    edition5 = clean(part05.findtext(DOCBOOK + "subtitle", ""))

    if args.docbook_only:
        elements, element_source = elements_from_docbook(part06), f"part06.xml ({edition6})"
        uids, uid_source = uids_from_docbook(part06), f"part06.xml table A-1 ({edition6})"
    else:
        elements = elements_from_json(args.standard / "attributes.json")
        element_source = "attributes.json (PS3.6 2024b, innolitics/dicom-standard)"
        uids = uids_from_docbook(part06) + uids_from_supplement(SUPPLEMENT)
        uid_source = f"part06.xml table A-1 ({edition6}) and tools/sources/uids_since_2013.tsv"
    if len({r[0] for r in uids}) != len(uids):
        raise SystemExit("duplicate UID in the registry sources")

    elements.sort(key=lambda r: (r[0].replace("x", "0"), r[0]))
    uids.sort(key=uid_sort_key)
    args.out.mkdir(parents=True, exist_ok=True)
    write_table(args.out / "elements.tsv", ["tag", "vr", "vm", "keyword", "name", "retired"],
                elements, element_source)
    write_table(args.out / "uids.tsv", ["uid", "name", "keyword", "type", "retired"], uids, uid_source)
    write_table(args.out / "transfer_syntaxes.tsv",
                ["uid", "name", "keyword", "explicit_vr", "little_endian", "deflated", "encapsulated",
                 "retired"],
                transfer_syntaxes(uids, part05), f"{uid_source}; properties from part05.xml Annex A ({edition5})")

    gdcm = args.standard / "gdcm"
    private, skipped = private_entries(gdcm / "privatedicts.xml")
    unused = "; ".join(f"{n} {why}" for why, n in sorted(skipped.items(), key=lambda kv: (-kv[1], kv[0])))
    write_table(args.out / "private.tsv", ["creator", "tag", "vr", "vm", "keyword", "name"], private,
                f"{gdcm_provenance(gdcm)}, BSD licence in GDCM-Copyright.txt; {len(private)} entries, "
                f"{sum(skipped.values())} not used ({unused})")
    (args.out / "GDCM-Copyright.txt").write_bytes((gdcm / "Copyright.txt").read_bytes())
    names_only = sum(1 for row in private if row[2] == "UN")
    print(f"private.tsv: {len(private)} entries ({names_only} with VR UN: GDCM knows the name, not the VR); "
          f"not used: {sum(skipped.values())}", file=sys.stderr)
    for why, n in sorted(skipped.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  {n:5}  {why}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
