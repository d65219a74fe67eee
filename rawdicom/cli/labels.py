"""Names a user can read and type for the studies and series of a folder.

A folder often holds several studies of one patient on one day, each with a Series 1 and
a Series 2: the date, the description and the Series Number do not tell them apart. A study
is then also named by the end of its Study Instance UID (the shortest end, at least four
characters, that no other study of the folder shares), and a series is selected with
``--series STUDY/SERIES``: the end (or start) of a Study Instance UID, then a Series Number
or the end (or start) of a Series Instance UID. ``--series N`` and a whole UID work when they
are unambiguous; otherwise the error lists, one per line, what to type for each candidate.

Header values are shown as text: a multi-valued one (an Accession Number ``PR\\US``) with
the backslash DICOM separates values with.
"""

from __future__ import annotations

from typing import Any, Sequence

from . import common

__all__ = ["text", "uid_ends", "study_label", "select_series", "series_selector"]

_MIN_END = 4


def text(value: Any) -> str:
    """A header value as one line of text: lists joined by backslashes, None as ""."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return "\\".join(text(v) for v in value)
    return str(value)


def uid_ends(uids: Sequence[str | None]) -> dict[str, str]:
    """For each UID, its shortest end (``_MIN_END`` characters or more) no other UID has."""
    known = [u for u in dict.fromkeys(uids) if u]
    out = {}
    for uid in known:
        size = min(_MIN_END, len(uid))
        while size < len(uid) and any(o != uid and o.endswith(uid[-size:]) for o in known):
            size += 1
        out[uid] = uid[-size:]
    return out


def _time(value: Any) -> str:
    """HHMMSS(.ffffff) as HH:MM(:SS); other text as it is."""
    t = text(value).strip()
    if len(t) >= 4 and t[:4].isdigit():
        return f"{t[:2]}:{t[2:4]}" + (f":{t[4:6]}" if len(t) >= 6 and t[4:6] != "00" else "")
    return t


def study_label(study: Any, ends: dict[str, str]) -> str:
    """``20160309 10:15 "CT CHEST" accession A1 [...4711]``: date, time, description,
    accession, and the UID end when the folder has more than one study."""
    parts = [text(study.study_date) or "(no date)"]
    if study.study_time:
        parts.append(_time(study.study_time))
    if study.study_description:
        parts.append(f'"{text(study.study_description)}"')
    if study.accession_number:
        parts.append(f"accession {text(study.accession_number)}")
    if len(ends) > 1 and study.study_instance_uid in ends:
        parts.append(f"[...{ends[study.study_instance_uid]}]")
    return " ".join(parts)


def series_selector(study: Any, series: Any, study_ends: dict[str, str],
                    series_ends: dict[str, str]) -> str:
    """What to give ``--series`` to select ``series`` and nothing else."""
    uid = series.series_instance_uid
    numbers = [s.series_number for s in study.series]
    if series.series_number is not None and numbers.count(series.series_number) == 1:
        own = str(series.series_number)
    else:
        own = series_ends.get(uid, "") if uid else ""
    if len(study_ends) > 1 and study.study_instance_uid in study_ends:
        return f"{study_ends[study.study_instance_uid]}/{own}"
    return own


def _matches(uid: str | None, text_: str) -> bool:
    """A whole UID, or its start or end of at least four characters."""
    if not uid or not text_:
        return False
    return uid == text_ or (len(text_) >= _MIN_END and (uid.startswith(text_)
                                                        or uid.endswith(text_)))


def select_series(collection: Any, selector: str) -> Any:
    """The one series ``selector`` names (see the module's docstring), or a Usage error
    listing the candidates, one per line, each with what to type to select it."""
    studies = collection.studies
    study_ends = uid_ends([st.study_instance_uid for st in studies])
    study_part, _, series_part = selector.rpartition("/")
    if study_part:
        chosen = [st for st in studies if _matches(st.study_instance_uid, study_part)]
        if not chosen:
            raise common.Usage(f"--series {selector}: no study's UID starts or ends with "
                               f"{study_part!r}{_listing(studies, study_ends)}")
    else:
        chosen = studies
    found = [(st, s) for st in chosen for s in st.series
             if str(s.series_number) == series_part
             or _matches(s.series_instance_uid, series_part)]
    if len(found) == 1:
        return found[0][1]
    what = f"is ambiguous ({len(found)} series)" if found else "matches no series"
    candidates = found or [(st, s) for st in chosen for s in st.series]
    raise common.Usage(f"--series {selector} {what}; give one of:"
                       f"{_listing([st for st in studies], study_ends, candidates)}")


def _listing(studies: list[Any], study_ends: dict[str, str],
             candidates: list[tuple[Any, Any]] | None = None) -> str:
    """One line per candidate series: what to type, then its study and description."""
    if candidates is None:
        candidates = [(st, s) for st in studies for s in st.series]
    lines = []
    for study in dict.fromkeys(st for st, _ in candidates):
        series_ends = uid_ends([s.series_instance_uid for s in study.series])
        for st, s in candidates:
            if st is not study:
                continue
            chosen = series_selector(study, s, study_ends, series_ends)
            lines.append(f"\n  --series {chosen:<12}  study {study_label(study, study_ends)}: "
                         f"series {s.series_number if s.series_number is not None else '?'} "
                         f"{text(s.modality) or '-'} {text(s.series_description)}".rstrip())
    return "".join(lines)
