"""The stack split as it was before it was made fast (issue 22): every key recomputed per
image and per comparison, clusters scanned per image. Kept as the oracle of
tests/test_stacks_fast.py: the fast split must give the same stacks, in the same order,
with the same keys, reasons and notes."""

from __future__ import annotations

import math
from typing import Any, Iterable, Sequence

from rawdicom.model.header_values import GEOMETRY_VALUES, orientation, position
from rawdicom.model.instance import Instance
from rawdicom.model.stacks import (_HARD, _REGROUPS, _SOFT, ORIENTATION_TOLERANCE,
                                   POSITION_TOLERANCE, SPACING_TOLERANCE, Stack, _format,
                                   _hashable, _reasons, normal)

_CLOSE = (("pixel_spacing", "pixel_spacing", 2),
          ("image_orientation_patient", "image_orientation_patient", 6))


def image_identity(inst: Instance) -> tuple[Any, ...]:
    number = inst.get("instance_number")
    return (number if isinstance(number, int) else math.inf, str(inst.get("sop_instance_uid", "")),
            -1 if inst.frame is None else inst.frame, str(inst.get("path", "")))


def _depth(inst: Instance, n: Sequence[float]) -> float:
    p = position(inst.get("image_position_patient"))
    return math.inf if p is None else p[0] * n[0] + p[1] * n[1] + p[2] * n[2]


def _cluster(instances, attribute, size, tolerance):
    representatives, out = [], []
    for inst in instances:
        value = GEOMETRY_VALUES[attribute](inst.get(attribute))
        if value is None:
            out.append(None)
            continue
        for rep in representatives:
            if all(abs(a - b) <= tolerance for a, b in zip(value, rep)):
                out.append(rep)
                break
        else:
            representatives.append(value)
            out.append(value)
    return out


def _repeats_positions(members, tolerance):
    cosines = orientation(members[0].get("image_orientation_patient"))
    if cosines is None:
        return []
    n = normal(cosines)
    ordered = sorted(members, key=lambda i: (_depth(i, n), image_identity(i)))
    runs, run = [], [ordered[0]]
    for inst in ordered[1:]:
        if abs(_depth(inst, n) - _depth(run[0], n)) <= tolerance:
            run.append(inst)
        else:
            if len(run) > 1:
                runs.append(run)
            run = [inst]
    if len(run) > 1:
        runs.append(run)
    return runs


def _soft_split(members, key, tolerance):
    groups = [(key, members)]
    for name, value_of in _SOFT:
        out = []
        for group_key, group in groups:
            runs = _repeats_positions(group, tolerance)
            if any(len({_hashable(value_of(i)) for i in run}) > 1 for run in runs):
                parts: dict[Any, list[Instance]] = {}
                for inst in group:
                    parts.setdefault(_hashable(value_of(inst)), []).append(inst)
                out += [(group_key + ((name, value),), part) for value, part in parts.items()]
            else:
                out.append((group_key, group))
        groups = out
    return groups


def split_stacks(instances: Iterable[Instance], *,
                 orientation_tolerance: float = ORIENTATION_TOLERANCE,
                 position_tolerance: float = POSITION_TOLERANCE,
                 spacing_tolerance: float = SPACING_TOLERANCE) -> list[Stack]:
    images = sorted((f for inst in instances for f in inst.frames()), key=image_identity)
    if not images:
        return []
    close = {name: _cluster(images, attribute, size,
                            spacing_tolerance if name == "pixel_spacing" else orientation_tolerance)
             for name, attribute, size in _CLOSE}
    groups: dict[Any, list[Instance]] = {}
    for index, inst in enumerate(images):
        key = tuple((name, _hashable(value_of(inst))) for name, value_of in _HARD)
        key += tuple((name, close[name][index]) for name, _, _ in _CLOSE)
        groups.setdefault(key, []).append(inst)
    parts = [part for key, members in groups.items()
             for part in _soft_split(members, key, position_tolerance)]
    ordered = []
    for key, members in parts:
        cosines = dict(key).get("image_orientation_patient")
        if cosines is not None:
            n = normal(cosines)
            members.sort(key=lambda i: (_depth(i, n), image_identity(i)))
        ordered.append((key, members))
    ordered.sort(key=lambda item: (-len(item[1]), _format(item[0])))
    stacks = [Stack(members, key, "", position_tolerance=position_tolerance,
                    orientation_tolerance=orientation_tolerance) for key, members in ordered]
    for regroup in _REGROUPS:
        stacks = regroup(stacks, position_tolerance)
    stacks.sort(key=lambda s: -len(s))
    for s, reason in zip(stacks, _reasons([s.key for s in stacks])):
        s.reason = f"{reason}; {s.note}" if s.note else reason
    return stacks
