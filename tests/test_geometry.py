"""Geometry from headers alone: the affine, the spacing, and every diagnostic kind."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rawdicom.model.geometry import GeometryError
from rawdicom.model.instance import Instance
from rawdicom.model.stacks import split_stacks
from series_builders import axial_positions, normal_of, write_series
from volume_builders import stacks_of, world


def _one(tmp_path, positions, **kw):
    write_series(tmp_path, positions, **kw)
    [stack] = stacks_of(tmp_path)
    return stack


def test_unequal_row_and_column_spacing_on_an_oblique_stack(tmp_path):
    a = math.radians(20)
    orientation = (math.cos(a), math.sin(a), 0.0, 0.0, 0.0, -1.0)
    r, c = np.array(orientation[:3]), np.array(orientation[3:])
    n = np.array(normal_of(orientation))
    positions = axial_positions(4, spacing=2.5, origin=(3, -7, 11), normal=n)
    stack = _one(tmp_path, positions, orientation=orientation, spacing=(0.5, 0.8), rows=6,
                 columns=4)
    g = stack.geometry
    assert g.shape == (4, 6, 4)
    assert g.spacing == pytest.approx((2.5, 0.5, 0.8))
    assert g.diagnostics == ()
    # PixelSpacing[0] is the distance between rows: the step along the column cosines
    for k, i, j in [(0, 0, 0), (3, 5, 3), (2, 1, 2)]:
        expected = np.array(positions[k]) + i * 0.5 * c + j * 0.8 * r
        assert world(g.affine, (k, i, j)) == pytest.approx(expected, abs=1e-9)
    assert g.direction[:, 0] == pytest.approx(n)
    assert g.affine.dtype == np.float64
    ras = g.affine_ras
    assert ras[:2] == pytest.approx(-g.affine[:2]) and ras[2:] == pytest.approx(g.affine[2:])


def test_slice_spacing_comes_from_positions_not_slice_thickness(tmp_path):
    stack = _one(tmp_path, axial_positions(5, spacing=1.25), slice_thickness=5.0)
    assert stack.geometry.spacing[0] == pytest.approx(1.25)


def test_missing_slice_keeps_its_place(tmp_path):
    positions = axial_positions(7, spacing=2.0)
    del positions[4]
    del positions[2]
    stack = _one(tmp_path, positions)
    g = stack.geometry
    assert g.regular and g.shape[0] == 7
    assert g.missing_slices == (2, 4)
    missing = [d for d in g.diagnostics if d.kind == "missing_slices"]
    assert [d.slices for d in missing] == [(1, 2), (2, 3)]
    assert missing[0].measured == pytest.approx(4.0)
    assert "(0.000, 0.000, 2.000) and (0.000, 0.000, 6.000)" in missing[0].message
    assert g.slice_index == (0, 1, 3, 5, 6)


def test_non_uniform_spacing(tmp_path):
    stack = _one(tmp_path, [(0, 0, z) for z in (0.0, 2.0, 4.0, 7.0, 9.0)])
    g = stack.geometry
    assert not g.regular and not stack.regular
    [d] = [d for d in g.diagnostics if d.kind == "non_uniform_spacing"]
    assert d.slices == (2, 3)
    assert d.measured == pytest.approx(1.0) and d.tolerance == 0.2


def test_tolerance_is_a_parameter(tmp_path):
    positions = [(0, 0, z) for z in (0.0, 2.0, 4.3, 6.0, 8.0)]
    write_series(tmp_path, positions)
    [strict] = stacks_of(tmp_path)
    [loose] = stacks_of(tmp_path, position_tolerance=0.5)
    assert not strict.regular
    assert loose.regular and loose.geometry.diagnostics == ()


def test_duplicate_positions_are_reported_with_headers_only(tmp_path):
    positions = axial_positions(4) + [(0.0, 0.0, 2.0)]
    stack = _one(tmp_path, positions)
    g = stack.geometry
    [d] = g.diagnostics
    assert d.kind == "duplicate_position" and len(d.slices) == 2
    assert "pixels not compared" in d.message
    assert g.shape[0] == 4 and g.regular
    assert g.slice_index[d.slices[0]] == g.slice_index[d.slices[1]] == 1


def test_in_plane_drift(tmp_path):
    positions = [(0.0, 0.0, 0.0), (0.0, 0.0, 2.0), (1.0, 0.0, 4.0), (0.0, 0.0, 6.0)]
    g = _one(tmp_path, positions).geometry
    [d] = [d for d in g.diagnostics if d.kind == "in_plane_drift"]
    assert d.slices == (2,) and d.measured == pytest.approx(1.0)
    assert not g.regular


def test_non_orthonormal_cosines(tmp_path):
    g = _one(tmp_path, axial_positions(3), orientation=(1.0, 0.0, 0.0, 0.05, 1.0, 0.0)).geometry
    [d] = [d for d in g.diagnostics if d.kind == "non_orthonormal_cosines"]
    assert d.measured == pytest.approx(0.05, rel=0.05)
    assert np.linalg.norm(g.direction, axis=0) == pytest.approx([1, 1, 1])


def test_gantry_tilt_gives_a_sheared_affine_through_every_header_position(tmp_path):
    tilt = math.radians(15)
    # slices 2 mm apart along z, each shifted 2*tan(15 deg) mm in y (posterior) by the tilt
    positions = [(0.0, k * 2.0 * math.tan(tilt), k * 2.0) for k in range(6)]
    stack = _one(tmp_path, positions, extra={"GantryDetectorTilt": 15.0})
    g = stack.geometry
    assert g.tilted and g.regular
    [d] = g.diagnostics
    assert d.kind == "gantry_tilt"
    assert d.measured == pytest.approx(15.0)
    assert "Gantry/Detector Tilt says 15.0 degrees" in d.message
    for k, p in enumerate(positions):  # never forced orthogonal: each slice where it says
        assert world(g.affine, (k, 0, 0)) == pytest.approx(p, abs=1e-9)
    assert g.spacing[0] == pytest.approx(2.0)  # between slice planes, along the normal
    assert g.affine[:3, 0] == pytest.approx([0.0, 2.0 * math.tan(tilt), 2.0])


def test_single_slice_and_two_slices(tmp_path):
    one = _one(tmp_path / "one", [(0, 0, 5)], slice_thickness=3.0)
    [d] = one.geometry.diagnostics
    assert d.kind == "single_slice" and "Slice Thickness" in d.message
    assert one.geometry.spacing[0] == 3.0 and one.geometry.shape[0] == 1
    two = _one(tmp_path / "two", [(0, 0, 5), (0, 0, 8)])
    [d] = two.geometry.diagnostics
    assert d.kind == "two_slices" and d.measured == pytest.approx(3.0)


def test_no_position_raises_a_geometry_error_with_the_diagnostic(tmp_path):
    write_series(tmp_path, [(0, 0, 0)], position=None)
    [stack] = stacks_of(tmp_path)
    with pytest.raises(GeometryError) as info:
        stack.geometry
    assert info.value.diagnostics[0].kind == "missing_geometry"
    with pytest.raises(GeometryError):
        stack.volume()


def test_decreasing_positions_along_the_normal(tmp_path):
    # coronal: row (1, 0, 0) x column (0, 0, -1) = normal (0, 1, 0); positions go -y
    orientation = (1.0, 0.0, 0.0, 0.0, 0.0, -1.0)
    positions = [(0.0, -3.0 * k, 0.0) for k in range(4)]
    g = _one(tmp_path, positions, orientation=orientation).geometry
    assert g.direction[:, 0] == pytest.approx([0, 1, 0])
    assert world(g.affine, (0, 0, 0)) == pytest.approx([0, -9, 0])
    assert world(g.affine, (3, 0, 0)) == pytest.approx([0, 0, 0])


def test_a_small_gap_does_not_make_a_fine_grid_of_missing_slices(tmp_path):
    # 0.3 mm apart is more than the tolerance but far below the step: no regular grid
    g = _one(tmp_path, [(0, 0, z) for z in (0.0, 2.0, 4.0, 4.3, 6.3)]).geometry
    assert not g.regular and "non_uniform_spacing" in g.kinds()
    assert "missing_slices" not in g.kinds()


def _rotation(a, b, c):
    """A rotation matrix from three angles (radians)."""
    ca, sa, cb, sb, cc, sc = (math.cos(a), math.sin(a), math.cos(b), math.sin(b), math.cos(c),
                              math.sin(c))
    rz = np.array([[ca, -sa, 0], [sa, ca, 0], [0, 0, 1]])
    ry = np.array([[cb, 0, sb], [0, 1, 0], [-sb, 0, cb]])
    rx = np.array([[1, 0, 0], [0, cc, -sc], [0, sc, cc]])
    return rz @ ry @ rx


angles = st.floats(-math.pi, math.pi, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(a=angles, b=angles, c=angles, n=st.integers(6, 12), step=st.floats(0.5, 6.0),
       shear=st.tuples(st.floats(-0.5, 0.5), st.floats(-0.5, 0.5)),
       missing=st.sets(st.integers(2, 4), max_size=2), order=st.randoms(use_true_random=False),
       spacing=st.tuples(st.floats(0.2, 2.0), st.floats(0.2, 2.0)))
def test_every_header_position_is_where_the_affine_puts_its_slice(a, b, c, n, step, shear,
                                                                  missing, order, spacing):
    rotation = _rotation(a, b, c)
    r, col = rotation[:, 0], rotation[:, 1]
    normal = np.cross(r, col)
    origin = np.array([12.5, -30.0, 7.0])
    offset = shear[0] * r + shear[1] * col  # in-plane offset per mm along the normal: a tilt
    kept = [k for k in range(n) if k not in missing]  # slices 0, 1 and the last two stay
    records = [{"sop_instance_uid": f"1.{k}", "path": f"f{k}", "frames": None, "rows": 4,
                "columns": 3, "pixel_spacing": list(spacing),
                "image_orientation_patient": [*r, *col],
                "image_position_patient": list(origin + k * step * (normal + offset))}
               for k in kept]
    order.shuffle(records)
    [stack] = split_stacks([Instance(rec) for rec in records])
    g = stack.geometry
    assert g.regular
    assert g.shape == (n, 4, 3)
    for inst, slot in zip(stack.instances, g.slice_index):
        assert world(g.affine, (slot, 0, 0)) == pytest.approx(inst.image_position_patient,
                                                              abs=0.2)
        corner = np.array(inst.image_position_patient) + 3 * spacing[0] * col + 2 * spacing[1] * r
        assert world(g.affine, (slot, 3, 2)) == pytest.approx(corner, abs=0.2)
    assert g.spacing[0] == pytest.approx(step, abs=1e-6)
    assert set(g.missing_slices) == missing
    assert g.tilted == (np.linalg.norm(offset) * step * (n - 1) > 0.2)
