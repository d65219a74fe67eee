"""Folder layouts for organize: record fields -> safe, readable, distinct relative paths.

A header is attacker-controlled text: a PatientName of ``../../x``, ``/etc/passwd``,
``a\\..\\b``, NUL bytes, ``CON`` or 10,000 characters must never become a path that leaves
the target folder, fails on another operating system, or silently merges two patients.
So every value goes through an **allow-list**, never a list of bad characters to remove:

* NFKC first (fullwidth ``／`` becomes ``/`` *before* the filter sees it, ``COM¹`` becomes
  ``COM1``), then only Unicode letters, decimal digits, combining marks after a letter, and
  ``- _ .`` are kept; every other character (separators, controls, NUL, spaces, emoji,
  bidirectional overrides, invisible fillers) becomes ``_``; runs of ``_`` and of ``.``
  collapse to one;
* a component never starts with ``.`` or ``_`` (no hidden files, no ``.``/``..``; names
  starting with ``_`` are organize's own: the manifest, ``_other``) and never ends with ``.``
  or a space (Windows drops them); Windows device names (CON, PRN, AUX, NUL, COM0-9,
  LPT0-9, also as ``CON.txt``) get a ``_`` after the stem;
* one field gives at most FIELD_CHARS characters, one component at most COMPONENT_CHARS
  characters and COMPONENT_BYTES bytes of UTF-8 (ext4 allows 255 bytes, Windows 255 UTF-16
  units), so a suffix always fits;
* a missing value becomes ``unknown``; a value with nothing left after the filter becomes
  ``unknown-<hash of the raw value>``, so two such values stay apart.

A layout is a format string over record fields, one ``/``-separated template per folder
level, the last one naming the file. Each level groups files by the *raw* values of the
fields it names, or, when the level has key fields, by those alone: the default layout keys
its levels by (PatientID, IssuerOfPatientID), StudyInstanceUID, SeriesInstanceUID and
SOPInstanceUID, the identifiers of the information model, so two series with the same number
and description stay in two folders, one patient whose name is spelled two ways stays in one,
and a group's name shows the values of its first file (in path order).
:class:`PathPlanner` gives each distinct group in a folder a distinct name, compared case-insensitively after normalisation (macOS and Windows
file systems fold case): the first group in sorted order keeps the readable name, the
others get ``-<hash of the group's values>``. Names given by an earlier run (read back from
its manifest) are kept, so an interrupted or incremental run puts each group where the
first run did.
"""

from __future__ import annotations

import hashlib
import json
import re
import string
import unicodedata
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from .record import record_fields

__all__ = ["DEFAULT_LAYOUT", "Layout", "PathPlanner", "safe_value", "safe_component",
           "fold", "short_hash", "with_suffix", "FIELD_CHARS", "COMPONENT_CHARS",
           "COMPONENT_BYTES"]

FIELD_CHARS = 64
COMPONENT_CHARS = 100
COMPONENT_BYTES = 200
PLACEHOLDER = "unknown"

_PUNCTUATION = frozenset("-_.")
# Letters that render as nothing: allowed by category, refused here.
_INVISIBLE = frozenset("\u115f\u1160\u3164\uffa0\u17b4\u17b5")
_RESERVED = frozenset(["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "CLOCK$"]
                      + [f"{p}{d}" for p in ("COM", "LPT") for d in "0123456789"])
_RUNS = re.compile(r"_{2,}")
_DOTS = re.compile(r"\.{2,}")
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,8}$")
# Fields a layout may name: the record's scalar and list values (not its nested frames).
_LAYOUT_FIELDS = frozenset(record_fields()) - {"frames", "problems"}


def short_hash(value: Any, length: int = 8) -> str:
    """A short, stable hex digest of any plain value (its canonical JSON)."""
    text = json.dumps(value, sort_keys=True, default=repr, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:length]


def _allowed(ch: str, previous: str) -> bool:
    if ch in _PUNCTUATION:
        return True
    if ch in _INVISIBLE:
        return False
    category = unicodedata.category(ch)
    if category[0] == "L" or category == "Nd":
        return True
    # A combining mark only on a letter (Devanagari vowel signs, decomposed accents).
    return category[0] == "M" and previous != "" and previous not in _PUNCTUATION


def _filter(text: str) -> str:
    out: list[str] = []
    previous = ""
    for ch in unicodedata.normalize("NFKC", text):
        keep = ch if _allowed(ch, previous) else "_"
        out.append(keep)
        previous = keep
    return _DOTS.sub(".", _RUNS.sub("_", "".join(out)))


def _text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "-".join(_text(v) for v in value)
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def safe_value(value: Any, spec: str = "") -> str:
    """One field's value as allow-listed text of at most FIELD_CHARS characters.

    ``spec`` is the field's format spec in the layout (``{series_number:03d}``), applied
    when it suits the value and ignored when it does not (a hostile value must not make
    the layout raise)."""
    if value is None or value == "" or value == []:
        return PLACEHOLDER
    text = None
    if spec:
        try:
            text = format(value, spec)
        except (TypeError, ValueError):
            text = None
    cleaned = _filter(_text(value) if text is None else text).strip("._-")[:FIELD_CHARS]
    cleaned = cleaned.rstrip(".")
    return cleaned or f"{PLACEHOLDER}-{short_hash(_text(value), 6)}"


def _fit(text: str, chars: int, max_bytes: int) -> str:
    text = text[:chars]
    while len(text.encode("utf-8")) > max_bytes:
        text = text[:-1]
    return text


def safe_component(text: str, extension: str = "") -> str:
    """A whole path component from already filtered text: no leading ``.``/``_``, no
    trailing ``.``/space, no Windows device name, bounded in characters and bytes.

    ``extension`` (``.dcm``) is kept whole at the end whatever the stem's length."""
    stem = _filter(text).lstrip("._").rstrip(". ")
    room_chars = COMPONENT_CHARS - len(extension)
    room_bytes = COMPONENT_BYTES - len(extension.encode("utf-8"))
    stem = _fit(stem, room_chars, room_bytes).rstrip(". ")
    if not stem:
        stem = f"{PLACEHOLDER}-{short_hash(text, 6)}"
    if stem.split(".")[0].upper() in _RESERVED:
        head, dot, tail = stem.partition(".")
        stem = _fit(f"{head}_{dot}{tail}", room_chars, room_bytes).rstrip(". ")
    return stem + extension


def with_suffix(name: str, suffix: str, extension: str = "") -> str:
    """``name`` with ``-suffix`` before its extension, shortened so the result still fits."""
    stem = name[: len(name) - len(extension)] if extension and name.endswith(extension) else name
    tail = f"-{suffix}{extension}"
    stem = _fit(stem, COMPONENT_CHARS - len(tail), COMPONENT_BYTES - len(tail.encode("utf-8")))
    return stem.rstrip(". ") + tail


def fold(name: str) -> str:
    """The key under which two names are the same file on a case-insensitive,
    normalising file system (NTFS, APFS, HFS+)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


@dataclass(frozen=True)
class _Level:
    parts: tuple[tuple[str, str | None, str], ...]  # (literal, field or None, format spec)
    fields: tuple[str, ...]
    keys: tuple[str, ...]
    extension: str


class Layout:
    """A folder layout: ``/``-separated templates over record fields (``{patient_id}``,
    ``{series_number:03d}``), the last naming the file.

    ``keys`` gives, per level, the fields that set groups apart (the default keys the
    patient level by PatientID and IssuerOfPatientID, the study level by StudyInstanceUID
    and so on); a level without keys groups files by the raw values of the fields it names. Templates are validated: only record fields, no attribute or index access, no
    conversions, literal text from the allow-list, no empty, ``.`` or ``..`` level, no level
    starting with ``.`` or ``_``.
    """

    def __init__(self, template: str, keys: Sequence[Sequence[str]] | None = None) -> None:
        if not isinstance(template, str) or not template:
            raise ValueError("a layout is a non-empty format string")
        texts = template.split("/")
        if keys is None:
            keys = [()] * len(texts)
        if len(keys) != len(texts):
            raise ValueError(f"layout has {len(texts)} levels but {len(keys)} key lists")
        self.template = template
        self.levels = tuple(self._level(text, tuple(k), i == len(texts) - 1)
                            for i, (text, k) in enumerate(zip(texts, keys)))

    @staticmethod
    def _level(text: str, keys: tuple[str, ...], last: bool) -> _Level:
        if text in ("", ".", ".."):
            raise ValueError(f"layout level {text!r} is empty, '.' or '..'")
        if text[0] in "._":
            raise ValueError(f"layout level {text!r} starts with '.' or '_' (reserved)")
        parts = []
        try:
            parsed = list(string.Formatter().parse(text))
        except ValueError as exc:
            raise ValueError(f"layout level {text!r}: {exc}") from None
        for literal, field, spec, conversion in parsed:
            if literal and _filter(literal) != literal:
                raise ValueError(f"layout literal {literal!r} has characters outside "
                                 "letters, digits and '-_.'")
            if field is not None:
                if conversion is not None or field not in _LAYOUT_FIELDS or "{" in (spec or ""):
                    raise ValueError(f"layout field {{{field}}} is not a plain record field "
                                     "(see rawdicom.model.record.record_fields())")
                if any(int(n) > FIELD_CHARS for n in re.findall(r"\d+", spec or "")):
                    raise ValueError(f"layout format spec {spec!r}: widths above {FIELD_CHARS}")
            parts.append((literal, field, spec or ""))
        for key in keys:
            if key not in _LAYOUT_FIELDS:
                raise ValueError(f"layout key {key!r} is not a record field")
        extension = ""
        if last and parts and parts[-1][1] is None:
            match = _EXTENSION.search(parts[-1][0])
            if match:
                extension = match.group(0)
                literal = parts[-1][0][: match.start()]
                parts[-1] = (literal, None, "")
        fields = tuple(f for _, f, _ in parts if f is not None)
        return _Level(tuple(parts), fields, keys, extension)

    def name(self, level: int, record: Mapping[str, Any]) -> str:
        """The safe readable name of ``record`` at ``level`` (before collision suffixes)."""
        spec = self.levels[level]
        text = "".join(literal + (safe_value(record.get(field), fmt) if field else "")
                       for literal, field, fmt in spec.parts)
        return safe_component(text, spec.extension)

    def identity(self, level: int, record: Mapping[str, Any]) -> list[Any]:
        """What sets a group apart at ``level``: the raw values of its keys, or of its
        fields when it has no keys."""
        spec = self.levels[level]
        return [record.get(field) for field in spec.keys or spec.fields]

    def __repr__(self) -> str:
        return f"Layout({self.template!r})"


DEFAULT_LAYOUT = Layout(
    "{patient_id}_{patient_name}/{study_date}_{study_description}/"
    "{series_number}_{modality}_{series_description}/{instance_number}_{sop_instance_uid}.dcm",
    keys=(("patient_id", "issuer_of_patient_id"), ("study_instance_uid",), ("series_instance_uid",),
          ("sop_instance_uid",)))


def as_layout(layout: "str | Layout | None") -> Layout:
    """The layout argument of organize as a Layout (None: the default)."""
    if layout is None:
        return DEFAULT_LAYOUT
    if isinstance(layout, Layout):
        return layout
    return Layout(layout)


class PathPlanner:
    """Assigns relative paths to records, level by level, so that distinct groups in one
    folder get distinct names (case-insensitively) whatever order the records come in.

    ``prior`` maps (parent components, group hash) -> name, as given by an earlier run; those
    names are kept and count as taken.
    """

    def __init__(self, layout: Layout,
                 prior: Mapping[tuple[tuple[str, ...], str], str] | None = None) -> None:
        self.layout = layout
        self.prior = dict(prior or {})

    def plan(self, records: Sequence[Mapping[str, Any]]) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
        """Per record, (components, group hashes per level), in the records' order."""
        paths: list[tuple[str, ...]] = [()] * len(records)
        hashes: list[list[str]] = [[] for _ in records]
        where = [str(r.get("path") or "") for r in records]
        for level in range(len(self.layout.levels)):
            groups: dict[tuple[tuple[str, ...], str], list[int]] = {}
            for index, record in enumerate(records):
                key = short_hash(self.layout.identity(level, record), 16)
                hashes[index].append(key)
                groups.setdefault((paths[index], key), []).append(index)
            proposed = {group: self._proposed(level, records, members, where)
                        for group, members in groups.items()}
            names = self._names(proposed, self.layout.levels[level].extension)
            for group, members in groups.items():
                for index in members:
                    paths[index] = paths[index] + (names[group],)
        return [(paths[i], tuple(hashes[i])) for i in range(len(records))]

    def _proposed(self, level: int, records: Sequence[Mapping[str, Any]], members: list[int],
                  where: list[str]) -> str:
        """A group's name: from its first file in path order (the least name among files
        with the same path), so the order records come in does not matter."""
        first = min(where[i] for i in members)
        return min(self.layout.name(level, records[i]) for i in members if where[i] == first)

    def _names(self, proposed: dict[tuple[tuple[str, ...], str], str],
               extension: str) -> dict[tuple[tuple[str, ...], str], str]:
        names: dict[tuple[tuple[str, ...], str], str] = {}
        taken: dict[tuple[tuple[str, ...], str], tuple[tuple[str, ...], str]] = {}
        for (parent, key), name in self.prior.items():
            taken.setdefault((parent, fold(name)), (parent, key))
        for group in proposed:
            if group in self.prior:
                names[group] = self.prior[group]
        fresh = sorted((g for g in proposed if g not in names), key=lambda g: (proposed[g], g[1]))
        for group in fresh:
            parent, key = group
            for name in (proposed[group], with_suffix(proposed[group], key[:8], extension),
                         with_suffix(proposed[group], key, extension)):
                owner = taken.get((parent, fold(name)))
                if owner is None or owner == group:
                    break
            else:  # pragma: no cover - needs a 64-bit hash collision
                raise RuntimeError(f"no free name for {proposed[group]!r}")
            names[group] = name
            taken[(parent, fold(name))] = group
        return names
