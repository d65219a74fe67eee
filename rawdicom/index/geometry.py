"""The model's geometry checks run on index rows alone: no file is opened, no pixel read.

An index row carries the instance record's values under the record's own names (lists
stay lists), and a frames row those of one frame, so the rows of a series turn back into
the model's :class:`~rawdicom.model.instance.Instance` objects, and the model's own
``split_stacks`` and ``Stack.geometry`` decide — with the same tolerances, the same
diagnostics — whether the series is one regular 3-D volume, and why not.
"""

from __future__ import annotations

from typing import Any, Iterable

from ..model.instance import Instance
from ..model.record import record_fields
from ..model.stacks import Stack, split_stacks

__all__ = ["SeriesCheck", "check_series", "instances_from_rows"]


def instances_from_rows(rows: Iterable[dict[str, Any]],
                        frames: Iterable[dict[str, Any]] = ()) -> list[Instance]:
    """Instances of the model from instance rows (status ok) and their frames rows."""
    by_path: dict[str, list[dict[str, Any]]] = {}
    for frame in frames:
        by_path.setdefault(frame["path"], []).append(frame)
    out = []
    for row in rows:
        if row.get("status") != "ok":
            continue
        record = {name: row.get(name) for name in record_fields()}
        record.update((k, v) for k, v in row.items() if k not in record)
        own = sorted(by_path.get(row["path"], ()), key=lambda f: f["frame_index"])
        record["frames"] = own or None
        out.append(Instance(record))
    return out


class SeriesCheck:
    """Whether a series' rows form one regular volume: ``regular``, ``reason`` (why not, in
    words), ``stacks`` (the model's Stack objects: ``.reason``, ``.diagnostics``)."""

    def __init__(self, stacks: list[Stack]) -> None:
        self.stacks = stacks
        if not stacks:
            self.regular, self.reason = False, "no image with status ok"
        elif len(stacks) > 1:
            self.regular = False
            self.reason = f"{len(stacks)} stacks: " + "; ".join(s.reason for s in stacks)
        else:
            stack = stacks[0]
            self.regular = stack.regular and len(stack) > 1
            diagnostics = stack.diagnostics
            if self.regular:
                self.reason = "one regular stack" + (
                    " (" + ", ".join(d.kind for d in diagnostics) + ")" if diagnostics else "")
            else:
                self.reason = ", ".join(d.kind for d in diagnostics) or "a single image"

    def __repr__(self) -> str:
        return f"<SeriesCheck regular={self.regular}: {self.reason}>"


def check_series(rows: Iterable[dict[str, Any]], frames: Iterable[dict[str, Any]] = (),
                 **tolerances: Any) -> SeriesCheck:
    """Check the rows of one series (``rawdicom.index.read_rows(out)`` filtered on
    ``series_instance_uid``, and their frames rows for enhanced multi-frame files).

    ``tolerances`` are those of ``rawdicom.model.stacks.split_stacks``
    (``orientation_tolerance``, ``position_tolerance``, ``spacing_tolerance``).
    Needs no numpy: the model's geometry checks are plain Python (``Stack.grid``).
    """
    return SeriesCheck(split_stacks(instances_from_rows(rows, frames), **tolerances))
