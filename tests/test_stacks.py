"""Series -> stacks: which keys split a series, the reason given, the order inside a stack."""

from __future__ import annotations

import math

import pytest

from rawdicom.model.instance import Instance
from rawdicom.model.stacks import split_stacks
from series_builders import (AXIAL, CORONAL, SAGITTAL, axial_positions, enhanced_ct, normal_of,
                             write_series)
from volume_builders import stacks_of


def _depths(stack):
    n = normal_of(stack.instances[0].image_orientation_patient)
    return [sum(a * b for a, b in zip(i.image_position_patient, n)) for i in stack.instances]


def test_order_follows_positions_not_instance_numbers_or_names(tmp_path):
    positions = axial_positions(6, spacing=2.0)
    numbers = [6, 5, 4, 3, 2, 1]  # running against the geometry
    write_series(tmp_path, positions, names="dcm",
                 per_slice=lambda k: {"instance_number": numbers[k]})
    [stack] = stacks_of(tmp_path)
    assert [i.image_position_patient[2] for i in stack.instances] == [p[2] for p in positions]
    assert [i.instance_number for i in stack.instances] == numbers


def test_order_without_instance_numbers_and_shuffled_names(tmp_path):
    positions = axial_positions(5, spacing=3.0, origin=(0, 0, -40))
    order = [3, 0, 4, 1, 2]
    write_series(tmp_path, [positions[k] for k in order], names="shuffled", seed=4,
                 extra={"InstanceNumber": None})
    [stack] = stacks_of(tmp_path)
    assert [i.image_position_patient for i in stack.instances] == [list(p) for p in positions]
    assert all(i.instance_number is None for i in stack.instances)


def test_oblique_orientation_orders_along_the_normal(tmp_path):
    a = math.radians(30)
    orientation = (math.cos(a), math.sin(a), 0.0, 0.0, 0.0, -1.0)
    n = normal_of(orientation)
    positions = axial_positions(5, spacing=2.5, origin=(10, -5, 3), normal=n)
    write_series(tmp_path, positions[::-1], orientation=orientation, seed=2)
    [stack] = stacks_of(tmp_path)
    depths = _depths(stack)
    assert depths == sorted(depths)
    assert depths[1] - depths[0] == pytest.approx(2.5)


def test_localizer_and_second_echo_inside_one_series(tmp_path):
    positions = axial_positions(4, spacing=2.0) * 2 + [(0.0, -50.0, 0.0)]

    def per_slice(k):
        if k == 8:  # a coronal localizer with the same series UID
            return {"orientation": CORONAL, "image_type": ("ORIGINAL", "PRIMARY", "LOCALIZER"),
                    "echo_number": 1}
        return {"echo_number": 1 if k < 4 else 2}

    write_series(tmp_path, positions, modality="MR", per_slice=per_slice)
    stacks = stacks_of(tmp_path)
    assert [len(s) for s in stacks] == [4, 4, 1]
    first, second, localizer = stacks
    assert {i.echo_numbers[0] for i in first} == {1}
    assert {i.echo_numbers[0] for i in second} == {2}
    assert "echo_numbers 1 (other stacks: 2)" in first.reason
    assert "echo_numbers 2 (other stacks: 1)" in second.reason
    assert "image_type ORIGINAL\\PRIMARY\\LOCALIZER" in localizer.reason
    assert "image_orientation_patient" in localizer.reason
    assert all(len(s.geometry.diagnostics) == 0 for s in (first, second))


def test_three_plane_scout_splits_by_orientation(tmp_path):
    planes = [AXIAL, CORONAL, SAGITTAL]
    write_series(tmp_path, [(0, 0, 0)] * 3, per_slice=lambda k: {"orientation": planes[k]},
                 image_type=("ORIGINAL", "PRIMARY", "LOCALIZER"))
    stacks = stacks_of(tmp_path)
    assert len(stacks) == 3
    assert all("image_orientation_patient" in s.reason for s in stacks)
    assert all(s.diagnostics[0].kind == "single_slice" for s in stacks)


def test_orientation_within_tolerance_stays_one_stack(tmp_path):
    noisy = (1.0, 2e-5, 0.0, -2e-5, 1.0, 0.0)
    write_series(tmp_path, axial_positions(4),
                 per_slice=lambda k: {"orientation": noisy if k % 2 else AXIAL})
    assert len(stacks_of(tmp_path)) == 1
    assert len(stacks_of(tmp_path, orientation_tolerance=1e-6)) == 2


def test_derived_mip_and_other_pixel_spacing_split(tmp_path):
    def per_slice(k):
        if k == 5:
            return {"image_type": ("DERIVED", "SECONDARY", "MIP")}
        if k == 6:
            return {"spacing": (0.7, 0.7)}
        return {}

    write_series(tmp_path, axial_positions(7), per_slice=per_slice)
    stacks = stacks_of(tmp_path)
    assert [len(s) for s in stacks] == [5, 1, 1]
    assert any("image_type DERIVED\\SECONDARY\\MIP" in s.reason for s in stacks)
    assert any("pixel_spacing (0.7, 0.7)" in s.reason for s in stacks)


def test_repeated_acquisitions_split_but_numbered_slabs_do_not(tmp_path):
    # two acquisitions over the same positions: Acquisition Number tells them apart
    write_series(tmp_path / "repeat", axial_positions(3) * 2,
                 per_slice=lambda k: {"extra": {"AcquisitionNumber": 1 + k // 3}})
    stacks = stacks_of(tmp_path / "repeat")
    # issue 14: the two position sets are the two volumes of one 4-D stack, in that order
    [stack] = stacks
    assert [[i.acquisition_number for i in v] for v in stack.volumes] == [[1] * 3, [2] * 3]
    # one contiguous volume whose rotations are numbered as acquisitions: one stack
    write_series(tmp_path / "slabs", axial_positions(6),
                 per_slice=lambda k: {"extra": {"AcquisitionNumber": 1 + k // 2}})
    [stack] = stacks_of(tmp_path / "slabs")
    assert len(stack) == 6 and not stack.diagnostics


def test_frame_of_reference_and_size_split(tmp_path):
    def per_slice(k):
        if k == 0:
            return {"frame_of_reference_uid": "1.2.3.4"}
        if k == 1:
            return {"rows": 6}
        return {}

    write_series(tmp_path, axial_positions(5), per_slice=per_slice)
    stacks = stacks_of(tmp_path)
    assert [len(s) for s in stacks] == [3, 1, 1]
    assert any("frame_of_reference_uid '1.2.3.4'" in s.reason for s in stacks)
    assert any("rows_columns (6, 8)" in s.reason for s in stacks)


def test_images_without_position_form_their_own_stack(tmp_path):
    write_series(tmp_path, axial_positions(4),
                 per_slice=lambda k: {"position": None} if k == 3 else {})
    stacks = stacks_of(tmp_path)
    assert [len(s) for s in stacks] == [3, 1]
    assert "geometry 'missing' (other stacks: 'present')" in stacks[1].reason
    assert stacks[1].diagnostics[0].kind == "missing_geometry"
    assert not stacks[1].regular


def test_enhanced_multi_frame_expands_into_frames_split_by_stack_id(tmp_path):
    positions = axial_positions(6, spacing=1.5)
    enhanced_ct(tmp_path / "enh", positions[3:] + positions[:3],
                stack_ids=["1", "1", "1", "2", "2", "2"])
    stacks = stacks_of(tmp_path)
    assert [len(s) for s in stacks] == [3, 3]
    assert [i.frame for i in stacks[0].instances] == [0, 1, 2]
    assert [i.image_position_patient[2] for i in stacks[0]] == [4.5, 6.0, 7.5]
    assert "stack_id '1' (other stacks: '2')" in stacks[0].reason
    assert [i.frame for i in stacks[1].instances] == [3, 4, 5]


def test_result_does_not_depend_on_input_order(tmp_path):
    positions = axial_positions(4) * 2
    write_series(tmp_path, positions, modality="MR",
                 per_slice=lambda k: {"echo_number": 1 + k // 4})
    from rawdicom import scan
    images = scan(tmp_path, workers=1).instances
    a = split_stacks(images)
    b = split_stacks(list(reversed(images)))
    assert [[i.path for i in s] for s in a] == [[i.path for i in s] for s in b]
    assert [s.reason for s in a] == [s.reason for s in b]


def test_plain_records_work_without_files():
    records = [{"sop_instance_uid": f"1.{k}", "image_position_patient": [0, 0, float(-k)],
                "image_orientation_patient": [1, 0, 0, 0, 1, 0], "rows": 2, "columns": 2,
                "pixel_spacing": [1, 1], "path": f"f{k}", "frames": None} for k in range(3)]
    [stack] = split_stacks([Instance(r) for r in records])
    assert [i.path for i in stack] == ["f2", "f1", "f0"]
    assert stack.geometry.shape == (3, 2, 2)


def test_odd_values_in_key_attributes_do_not_break_the_split():
    records = [{"sop_instance_uid": f"1.{k}", "image_position_patient": [0, 0, float(k)],
                "image_orientation_patient": [1, 0, 0, 0, 1, 0], "rows": 2, "columns": 2,
                "pixel_spacing": [1, 1], "path": f"f{k}", "frames": None,
                "echo_time": [10.0, 20.0] if k else b"\x01", "acquisition_number": [1]}
               for k in range(3)]
    stacks = split_stacks([Instance(r) for r in records])
    assert [len(s) for s in stacks] == [2, 1]


def test_stacks_need_no_numpy_geometry_names_the_extra():
    import subprocess
    import sys
    import textwrap
    code = textwrap.dedent("""
        import sys
        sys.modules["numpy"] = None
        from rawdicom.model.instance import Instance
        from rawdicom.model.stacks import split_stacks
        import rawdicom.model.geometry, rawdicom.model.volume
        records = [{"image_position_patient": [0, 0, float(k)], "rows": 2, "columns": 2,
                    "image_orientation_patient": [1, 0, 0, 0, 1, 0], "frames": None}
                   for k in (2, 0, 1)]
        [stack] = split_stacks([Instance(r) for r in records])
        print([i.image_position_patient[2] for i in stack])
        try:
            stack.geometry
        except ImportError as exc:
            print(exc)
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "[0.0, 1.0, 2.0]"
    assert "rawdicom[volume]" in result.stdout
