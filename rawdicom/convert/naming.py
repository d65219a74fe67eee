"""Output names from a template of DICOM keywords, made safe the way organize makes names.

``{PatientID}/{StudyDate}_{SeriesNumber}_{SeriesDescription}``: ``/`` separates folder
levels, the last level names the files of a series (``.nii.gz``, ``.json``, ...). Keywords are
the record's fields under their DICOM keyword (``{SeriesNumber}``) or their snake_case name
(``{series_number}``); they go through organize's :class:`~rawdicom.model.layout.Layout`, so
every value passes its allow-list (no separator, no ``..``, no device name, bounded length)
and :class:`~rawdicom.model.layout.PathPlanner` gives two series that would share a name
distinct ones (the second gets ``-<hash of its SeriesInstanceUID>``), names from an earlier
run kept. Names never leave the output folder; that files are never overwritten is the
publisher's part (``os.link``, see :mod:`.manifest`).
"""

from __future__ import annotations

import re
import string
from typing import Any, Mapping, Sequence

from ..model.layout import Layout, PathPlanner, safe_component
from ..model.record import snake_case

__all__ = ["DEFAULT_NAME", "plan_series", "series_layout", "suffixed"]

DEFAULT_NAME = "{PatientID}/{StudyDate}_{SeriesNumber}_{SeriesDescription}"
_NIFTI = re.compile(r"\.nii(\.gz)?$")


def series_layout(template: str) -> Layout:
    """The template as a Layout over record fields; its last level keyed by the series UID
    (two series never share a name). ValueError for a field that is not a record's."""
    template = _NIFTI.sub("", template or DEFAULT_NAME)
    try:
        parsed = [list(string.Formatter().parse(level)) for level in template.split("/")]
    except ValueError as exc:
        raise ValueError(f"name template {template!r}: {exc}") from None
    levels = []
    for level in parsed:
        text = ""
        for literal, field, spec, conversion in level:
            text += literal.replace("{", "{{").replace("}", "}}")
            if field is not None:
                text += "{" + snake_case(field) + (f"!{conversion}" if conversion else "") \
                    + (f":{spec}" if spec else "") + "}"
        levels.append(text)
    keys = [()] * (len(levels) - 1) + [("series_instance_uid",)]
    try:
        return Layout("/".join(levels), keys=keys)
    except ValueError as exc:
        raise ValueError(f"name template {template!r}: {exc}") from None


def plan_series(layout: Layout, records: Sequence[Mapping[str, Any]],
                prior: Mapping[tuple[tuple[str, ...], str], str] | None = None
                ) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """Per series (its first record), its path components and group hashes per level."""
    return PathPlanner(layout, prior).plan(records)


def suffixed(name: str, suffix: str) -> str:
    """``name`` + ``_suffix`` (a stack of several, ``sheared``, ``resampled``), still safe."""
    return safe_component(f"{name}_{suffix}") if suffix else name
