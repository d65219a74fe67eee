"""An instance (one file, or one frame of an enhanced multi-frame file) seen through its record."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Mapping

__all__ = ["Instance"]

# A file's own instance has no frame values: one empty mapping for all (read-only).
_NO_VALUES: Mapping[str, Any] = MappingProxyType({})


class Instance:
    """One image of the model: a file's record, or one frame of an enhanced multi-frame file.

    Attributes are the record's keys (``instance.image_position_patient``,
    ``instance.sop_instance_uid``, ``instance.path``). For a frame of a multi-frame file,
    ``frame`` is its 0-based index and the frame's own values (position, orientation,
    spacing, rescale, dimension indices) take precedence over the file's; ``frame`` is None
    for a single-frame file. ``record`` is the plain dict underneath (what
    ``Collection.to_records()`` gives back).
    """

    __slots__ = ("record", "frame", "_frame_values")

    def __init__(self, record: dict[str, Any], frame: int | None = None) -> None:
        self.record = record
        self.frame = frame
        frames = record.get("frames") if frame is not None else None
        self._frame_values: Mapping[str, Any] = frames[frame] if frames else _NO_VALUES

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        values = self._frame_values
        if name in values and values[name] is not None:
            return values[name]
        try:
            return self.record[name]
        except KeyError:
            if name in values:
                return None
            raise AttributeError(f"Instance has no attribute {name!r}") from None

    def get(self, name: str, default: Any = None) -> Any:
        """The value of ``name`` (frame first, then file), or ``default`` when absent or None."""
        value = self._frame_values.get(name)
        if value is None:
            value = self.record.get(name)
        return default if value is None else value

    def frames(self) -> list["Instance"]:
        """The frames of a multi-frame file as instances; ``[self]`` for a single-frame file."""
        frames = self.record.get("frames")
        if self.frame is not None or not frames:
            return [self]
        return [Instance(self.record, index) for index in range(len(frames))]

    def __repr__(self) -> str:
        where = f" frame {self.frame}" if self.frame is not None else ""
        return f"<Instance {self.record.get('sop_instance_uid')}{where} {self.record.get('path')}>"
