"""The one per-frame lookup (rawdicom.functional_groups): each attribute of an enhanced
frame from the functional group macro PS3.3 C.7.6.16 puts it in, the frame's own item over
the shared one, never from a private item (issue 21, item 1).

The regression: Philips enhanced MR adds to each Per-Frame Functional Groups item a private
sequence (2005,140F) under "Philips MR Imaging DD 005" repeating legacy attributes, among
them an Image Position (Patient) half a pixel (the corner of the first voxel) away from the
Plane Position Sequence's; read last, it used to win, and every Philips enhanced volume was
shifted by half a pixel without a word. The files here are shaped like those: the standard
macros, plus the private creator and sequence with a shifted position and a different
rescale.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pytest

import rawdicom
from mr_builders import ENHANCED_MR, OBLIQUE, positions, tile
from rawdicom import Dataset
from rawdicom.model.record import frame_records
from series_builders import ct_slice
from volume_builders import stacks_of, world

IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
PHILIPS_MR_005 = "Philips MR Imaging DD 005"
ROWS, COLUMNS = 6, 5
SPACING = (2.0, 2.5)  # between rows, between columns


def item(**values: Any) -> Dataset:
    ds = Dataset()
    for keyword, value in values.items():
        ds.set(keyword, value)
    return ds


def corner(position: Sequence[float], orientation: Sequence[float] = OBLIQUE) -> list[float]:
    """Where Philips' private position puts a frame: half a pixel back along the rows and
    columns from the centre of its first voxel."""
    r, c = orientation[:3], orientation[3:]
    return [p - 0.5 * SPACING[1] * r[i] - 0.5 * SPACING[0] * c[i]
            for i, p in enumerate(position)]


def philips_enhanced(path: Path, *, slices: int = 4, transfer_syntax: str = EXPLICIT_LE,
                     legacy_slope: float = 99.0) -> list[list[float]]:
    """An Enhanced MR file as Philips writes one; returns the standard frame positions.

    Shared: Pixel Measures, Plane Orientation, Pixel Value Transformation (slope 2,
    intercept -1). Per frame: Frame Content, Plane Position, MR Image Frame Type, and the
    private (2005,0014) creator with its (2005,140F) sequence holding the legacy Image
    Position (Patient) (the corner) and Rescale Slope ``legacy_slope``.
    """
    base = ct_slice(modality="MR", sop_class_uid=ENHANCED_MR, position=None, orientation=None,
                    spacing=None, rows=ROWS, columns=COLUMNS, slope=None, intercept=None,
                    image_type=("ORIGINAL", "PRIMARY", "M_FFE", "M"), series_number=801)
    shared = item(
        PixelMeasuresSequence=[item(PixelSpacing=list(SPACING), SliceThickness=3.0,
                                    SpacingBetweenSlices=3.0)],
        PlaneOrientationSequence=[item(ImageOrientationPatient=list(OBLIQUE))],
        PixelValueTransformationSequence=[item(RescaleSlope=2.0, RescaleIntercept=-1.0,
                                               RescaleType="US")])
    standard = positions(slices, OBLIQUE, step=3.0)
    frames, data = [], []
    for k in range(slices):
        legacy = item(ImagePositionPatient=corner(standard[k]), RescaleSlope=legacy_slope,
                      RescaleIntercept=0.0, PixelSpacing=list(SPACING))
        frame = item(
            FrameContentSequence=[item(DimensionIndexValues=[1, k + 1], StackID="1",
                                       InStackPositionNumber=k + 1)],
            PlanePositionSequence=[item(ImagePositionPatient=standard[k])],
            MRImageFrameTypeSequence=[item(FrameType=["ORIGINAL", "PRIMARY", "M_FFE", "M"])])
        frame.set(0x20050014, PHILIPS_MR_005, "LO")
        frame.set(0x2005140F, [legacy], "SQ")
        frames.append(frame)
        data.append(tile(0, k, ROWS, COLUMNS).tobytes())
    base.set("NumberOfFrames", slices)
    base.set("SharedFunctionalGroupsSequence", [shared])
    base.set("PerFrameFunctionalGroupsSequence", frames)
    base.set("PixelData", b"".join(data), "OW")
    path.parent.mkdir(parents=True, exist_ok=True)
    rawdicom.write(base, path, transfer_syntax=transfer_syntax)
    return standard


@pytest.mark.parametrize("transfer_syntax", [EXPLICIT_LE, IMPLICIT_LE])
def test_philips_private_position_never_moves_the_volume(tmp_path, transfer_syntax):
    standard = philips_enhanced(tmp_path / "in" / "IM_0001", transfer_syntax=transfer_syntax)
    [stack] = stacks_of(tmp_path / "in")
    volume = stack.volume()
    assert volume.shape == (4, ROWS, COLUMNS)
    for k in range(4):  # every slice's first voxel is the Plane Position Sequence's
        assert np.allclose(world(volume.affine, (k, 0, 0)), standard[k], atol=1e-6)
    # the rescale of the Pixel Value Transformation macro, not the private item's slope 99
    expected = tile(0, np.arange(4)[:, None, None], ROWS, COLUMNS).astype(np.float64) * 2 - 1
    assert np.array_equal(volume.array, expected)
    [diag] = [d for d in volume.diagnostics if d.kind == "vendor_position_mismatch"]
    assert diag.slices == (0, 1, 2, 3)
    assert diag.measured == pytest.approx(np.hypot(0.5 * SPACING[0], 0.5 * SPACING[1]))
    assert "-0.50 columns, -0.50 rows" in diag.message and "the standard's is used" in diag.message


def test_frame_records_read_each_attribute_from_its_macro(tmp_path):
    path = tmp_path / "IM_0001"
    standard = philips_enhanced(path)
    problems: list[str] = []
    frames = frame_records(rawdicom.read(path, stop_before_pixels=True), problems)
    assert not problems and len(frames) == 4
    for k, frame in enumerate(frames):
        assert frame["image_position_patient"] == pytest.approx(standard[k])
        assert frame["vendor_image_position_patient"] == pytest.approx(corner(standard[k]))
        assert frame["image_orientation_patient"] == pytest.approx(list(OBLIQUE))
        assert (frame["rescale_slope"], frame["rescale_intercept"]) == (2.0, -1.0)
        assert frame["rescale_type"] == "US"
        assert frame["pixel_spacing"] == list(SPACING)
        assert frame["in_stack_position_number"] == k + 1
        assert frame["frame_type"] == ["ORIGINAL", "PRIMARY", "M_FFE", "M"]


def test_the_pixel_layer_reads_the_same_macro(tmp_path):
    path = tmp_path / "IM_0001"
    philips_enhanced(path)
    ds = rawdicom.read(path)
    hu = rawdicom.hounsfield(ds)
    stored = rawdicom.pixel_array(ds)
    assert np.array_equal(hu, stored.astype(np.float64) * 2 - 1)


def test_a_frame_own_item_overrides_the_shared_one_and_private_items_never_count(tmp_path):
    base = ct_slice(modality="MR", sop_class_uid=ENHANCED_MR, position=None, orientation=None,
                    spacing=None, rows=2, columns=2)
    base.set("SharedFunctionalGroupsSequence", [item(
        PixelMeasuresSequence=[item(PixelSpacing=[1.0, 1.0], SliceThickness=5.0)],
        PlaneOrientationSequence=[item(ImageOrientationPatient=[1.0, 0, 0, 0, 1.0, 0])],
        CardiacSynchronizationSequence=[item(NominalCardiacTriggerDelayTime=40.0)])])
    own = item(PixelMeasuresSequence=[item(PixelSpacing=[0.5, 0.5])],
               PlanePositionSequence=[item(ImagePositionPatient=[0.0, 0.0, 0.0])])
    # frame 2: its position only in a private item and outside its macro (Frame Content)
    stray = item(FrameContentSequence=[item(ImagePositionPatient=[9.0, 9.0, 9.0])])
    stray.set(0x20050014, PHILIPS_MR_005, "LO")
    stray.set(0x2005140F, [item(ImagePositionPatient=[7.0, 7.0, 7.0])], "SQ")
    base.set("PerFrameFunctionalGroupsSequence", [own, stray])
    base.set("NumberOfFrames", 2)
    base.set("PixelData", bytes(16), "OW")
    rawdicom.write(base, tmp_path / "f.dcm")
    first, second = frame_records(rawdicom.read(tmp_path / "f.dcm"))
    assert first["pixel_spacing"] == [0.5, 0.5]  # the frame's own Pixel Measures item
    assert first["slice_thickness"] is None  # ... whole: the shared item is not merged in
    assert second["pixel_spacing"] == [1.0, 1.0] and second["slice_thickness"] == 5.0
    assert first["nominal_cardiac_trigger_delay_time"] == 40.0
    assert second["image_position_patient"] is None
    assert second["vendor_image_position_patient"] == [7.0, 7.0, 7.0]
    assert "vendor_image_position_patient" not in first


def test_a_functional_group_that_is_no_sequence_is_a_problem_not_a_crash(tmp_path):
    base = ct_slice(modality="MR", sop_class_uid=ENHANCED_MR, position=None, rows=2, columns=2)
    frame = item(FrameContentSequence=[item(InStackPositionNumber=1)])
    frame.set("PlanePositionSequence", 7, "US")  # a macro written with another VR
    base.set("PerFrameFunctionalGroupsSequence", [frame])
    base.set("NumberOfFrames", 1)
    base.set("PixelData", bytes(8), "OW")
    rawdicom.write(base, tmp_path / "f.dcm")
    problems: list[str] = []
    [record] = frame_records(rawdicom.read(tmp_path / "f.dcm"), problems)
    assert record["image_position_patient"] is None and record["in_stack_position_number"] == 1
    assert problems and "(0020,9113)" in problems[0] and "sequence" in problems[0]


def test_the_lookup_and_the_records_need_no_numpy(tmp_path):
    path = tmp_path / "IM_0001"
    philips_enhanced(path)
    code = ("import sys; sys.modules['numpy'] = None\n"
            "import rawdicom\n"
            "from rawdicom.model.record import instance_record\n"
            f"record = instance_record(rawdicom.read({str(path)!r}, stop_before_pixels=True))\n"
            "assert len(record['frames']) == 4, record['problems']\n"
            "assert 'numpy' not in [m for m in sys.modules if sys.modules[m] is not None]\n")
    root = Path(__file__).resolve().parent.parent
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root,
                   env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})


def test_the_groups_of_a_dataset_are_read_once_until_it_changes(tmp_path):
    from rawdicom.functional_groups import groups_of
    path = tmp_path / "IM_0001"
    philips_enhanced(path)
    ds = rawdicom.read(path)
    first = groups_of(ds)
    assert groups_of(ds) is first  # the pixel layer asks once per frame
    ds.set("PerFrameFunctionalGroupsSequence", list(first.per_frame[:2]))
    again = groups_of(ds)
    assert again is not first and len(again.per_frame) == 2
