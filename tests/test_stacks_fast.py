"""The fast stack split (keys memoized per distinct header value, depths computed once per
image) gives what the per-image, per-comparison split gave (tests/stacks_reference.py):
the same stacks in the same order, with the same keys, reasons, notes, images in the same
order and the same diagnostics; on the real series of ../shared/realdata, on series the
tests write, and on records drawn at random around the edges (orientations and spacings
within and just past the tolerances, repeated positions told apart by Acquisition Number
or Trigger Time, broken values, multi-frame records)."""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import pytest

import rawdicom
import stacks_reference
from rawdicom.model.instance import Instance
from rawdicom.model.stacks import split_stacks
from series_builders import axial_positions, write_series

ROOT = Path(__file__).resolve().parents[1]
REALDATA = next((p for p in (ROOT.parent / "shared" / "realdata", Path("/work/shared/realdata"))
                 if p.is_dir()), None)


def _image(inst: Any) -> tuple[Any, ...]:
    return (inst.record.get("path"), inst.frame, inst.get("mosaic_tile"))


def describe(stacks: list[Any]) -> list[tuple[Any, ...]]:
    """Everything a caller sees of a split, in order (floats by repr: NaN == NaN here)."""
    out = []
    for s in stacks:
        volumes = getattr(s, "volumes", None)
        out.append((type(s).__name__, repr(s.key), s.reason, s.note, len(s),
                    [_image(i) for i in s.instances],
                    None if volumes is None else [[_image(i) for i in v] for v in volumes],
                    repr(s.diagnostics)))
    return out


def same_split(instances: list[Instance], **tolerances: Any) -> None:
    fast = describe(split_stacks(list(instances), **tolerances))
    slow = describe(stacks_reference.split_stacks(list(instances), **tolerances))
    assert fast == slow


@pytest.mark.skipif(REALDATA is None, reason="../shared/realdata is not beside the repository")
@pytest.mark.parametrize("set_name", ["dcm_qa_fmap", "dcm_qa_xa60", "dcm_qa_12bit"])
def test_real_series_split_as_before(set_name: str) -> None:
    collection = rawdicom.scan(REALDATA / set_name / "In", workers=1)
    assert collection.series
    for series in collection.series:
        same_split(series.instances)
        same_split(series.instances, position_tolerance=0.0, orientation_tolerance=0.0)


def test_written_series_split_as_before(tmp_path: Path) -> None:
    positions = axial_positions(6, spacing=2.0)
    write_series(tmp_path / "a", positions * 2, seed=3,
                 per_slice=lambda k: {"extra": {"AcquisitionNumber": 1 + k // 6}})
    write_series(tmp_path / "b", positions, names="shuffled", seed=4,
                 extra={"InstanceNumber": None})
    for series in rawdicom.scan(tmp_path, workers=1).series:
        same_split(series.instances)


_AXIAL = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]


def _noisy(values: list[float], rng: random.Random, scale: float) -> list[float]:
    return [v + rng.choice((0.0, 0.0, scale, -scale, scale * 1.5)) for v in values]


def _value(rng: random.Random, good: Any, broken: list[Any]) -> Any:
    return good if rng.random() < 0.85 else rng.choice(broken)


def _random_records(rng: random.Random) -> list[dict[str, Any]]:
    count = rng.randint(1, 40)
    slices = rng.randint(1, max(1, count // rng.choice((1, 2, 3))))
    base_z = rng.uniform(-100, 100)
    records = []
    for k in range(count):
        z = base_z + 1.5 * (k % slices) + rng.choice((0.0, 0.0, 0.0, 1e-4, 0.02, 0.7))
        orientation = _noisy(_AXIAL, rng, rng.choice((1e-5, 1e-4, 1e-3, 0.02)))
        record = {
            "path": f"/x/{rng.randint(0, 10 ** 6):07d}",
            "sop_instance_uid": rng.choice((f"1.2.{k}", f"1.2.{k % 5}", None)),
            "instance_number": _value(rng, rng.randint(1, 50), [None, "7", 3.0, True]),
            "series_number": _value(rng, 4, [5, None, 4.0]),
            "frame_of_reference_uid": _value(rng, "1.2.3", ["1.2.4", None]),
            "image_position_patient": _value(rng, [-100.0, -120.0, z], [
                None, [0.0, 0.0], ["a", "b", "c"], [math.nan, 0.0, z], [1e300, 0.0, z],
                [-100, -120, int(z)], [0.0, -0.0, z]]),
            "image_orientation_patient": _value(rng, orientation, [
                None, [0.0, 1.0, 0.0, 0.0, 0.0, -1.0], [1, 0, 0, 0, 1, 0], ["x"] * 6,
                [math.inf] + _AXIAL[1:], [-0.0, 1.0, 0.0, 0.0, 0.0, -1.0]]),
            "pixel_spacing": _value(rng, _noisy([0.7, 0.7], rng, rng.choice((1e-5, 1e-3))),
                                    [None, [0.7], [0, 0.7], ["0.7", "0.7"]]),
            "rows": _value(rng, 64, [None, 32]),
            "columns": 64,
            "image_type": _value(rng, ["ORIGINAL", "PRIMARY", "AXIAL"], [
                None, ["DERIVED", "SECONDARY"], "ORIGINAL", [" original ", "primary"],
                [1, 2], [1.0, 2.0], [True, 2], [0.0], [-0.0]]),
            "echo_numbers": _value(rng, [1], [None, [2], 1, [1, 2]]),
            "echo_time": _value(rng, 2.5, [None, 5.0, "2.5", math.nan, 2]),
            "temporal_position_identifier": _value(rng, None, [1, 2]),
            "diffusion_b_value": _value(rng, None, [0.0, 1000.0]),
            "diffusion_gradient_orientation": _value(rng, None, [[1.0, 0.0, 0.0],
                                                                 [0.0, 1.0, 0.0], [1, 0]]),
            "acquisition_number": rng.choice((1, 1, 2, 3, None, "2")),
            "trigger_time": rng.choice((None, None, 10.0, 20.0, 20)),
            "stack_id": _value(rng, None, ["1", "2"]),
            "number_of_frames": None,
            "frames": None,
        }
        if rng.random() < 0.08:  # an enhanced file: frames with their own values
            frames = []
            for f in range(rng.randint(1, 4)):
                frames.append({"image_position_patient": [0.0, 0.0, z + 1.5 * f],
                               "image_orientation_patient": rng.choice((None, orientation)),
                               "pixel_spacing": None, "frame_type": rng.choice((
                                   None, ["ORIGINAL", "PRIMARY"], [2])),
                               "frame_index": f})
            record["frames"] = frames
        records.append(record)
    return records


@pytest.mark.parametrize("seed", range(300))
def test_random_records_split_as_before(seed: int) -> None:
    rng = random.Random(seed)
    instances = [Instance(r) for r in _random_records(rng)]
    tolerances = rng.choice(({}, {"position_tolerance": 0.5}, {"orientation_tolerance": 0.0},
                             {"spacing_tolerance": 1e-2}, {"orientation_tolerance": -1.0},
                             {"position_tolerance": math.nan}))
    same_split(instances, **tolerances)


def test_unhashable_values_split_as_before() -> None:
    """Records not made by a scan may hold anything: a dict where a number is expected is
    keyed by its repr, as before, without the memo."""
    records = [{"path": f"/p/{k}", "instance_number": k, "echo_time": {"a": 1},
                "image_position_patient": [0.0, 0.0, float(k)], "image_orientation_patient":
                _AXIAL, "pixel_spacing": [[0.5], 0.5], "image_type": [["A"]]} for k in range(4)]
    same_split([Instance(r) for r in records])
