"""The geometric analysis of a stack is plain Python (``geometry.stack_grid``): it finds what
the numpy analysis it replaced found (tests/geometry_reference.py), on the real scanner
series of ../shared/realdata, on the example study and on synthetic irregular stacks; and
``rawdicom tree``, ``Stack.diagnostics`` and a Collection print where numpy cannot be
imported.

Same diagnostics means: the same kinds, slices and messages, and the same measured values
and tolerances to 1e-12 relative. Not bit for bit: the reference's depths came from numpy's
matrix product (BLAS, whose order of summation and use of fused multiply-adds depend on the
CPU), the pure analysis sums the three products left to right; the two differ in the last
bit or two (7e-15 mm on the example study), which no message shows.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import geometry_reference as reference
import rawdicom
from rawdicom.model.geometry import GeometryError, stack_grid
from rawdicom.model.instance import Instance
from rawdicom.model.stacks import split_stacks
from series_builders import write_series

ROOT = Path(__file__).resolve().parent.parent
REALDATA = next((p for p in (ROOT.parent / "shared" / "realdata", Path("/work/shared/realdata"))
                 if p.is_dir()), None)
STUDY = ROOT / "rawdicom" / "examples" / "study"


def assert_same(images, **tolerances) -> str:
    """The pure analysis of ``images`` equals the reference's; returns the kinds found."""
    try:
        old = reference.stack_geometry(images, **tolerances)
    except (GeometryError, ValueError) as exc:
        with pytest.raises(type(exc)) as info:
            stack_grid(images, **tolerances)
        assert str(info.value) == str(exc)
        assert getattr(info.value, "diagnostics", ()) == getattr(exc, "diagnostics", ())
        return type(exc).__name__
    new = stack_grid(images, **tolerances)
    assert len(new.diagnostics) == len(old.diagnostics)
    for a, b in zip(new.diagnostics, old.diagnostics):
        assert (a.kind, a.slices, _signless_zeros(a.message)) == (
            b.kind, b.slices, _signless_zeros(b.message))
        for mine, theirs in ((a.measured, b.measured), (a.tolerance, b.tolerance)):
            assert mine == theirs or mine == pytest.approx(theirs, rel=1e-12)
    assert (new.shape, new.slice_index, new.regular, new.tilted) == (
        old.shape, old.slice_index, old.regular, old.tilted)
    assert new.spacing == pytest.approx(old.spacing, rel=1e-12)
    assert new.origin == tuple(old.origin)
    for mine, theirs in ((new.affine, old.affine), (new.direction, old.direction),
                         (new.positions, old.positions), (new.depths, old.depths)):
        assert np.allclose(np.array(mine), theirs, rtol=1e-12, atol=1e-9)
    return ",".join(sorted(old.kinds())) or "clean"


def _signless_zeros(message: str) -> str:
    """A zero printed with a sign (``-0.00`` or ``+0.00``: a value of the order of 1e-17,
    whose sign the last bit of a sum decides) as ``0.00``."""
    return re.sub(r"[-+]?\b(0\.0+)(?![0-9])", r"\1", message)


def stacks_under(root: Path) -> list:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        collection = rawdicom.scan(root, workers=1)
    return [stack for series in collection.series for stack in series.stacks()]


def images_of(stack) -> list:
    volumes = getattr(stack, "volumes", None)
    return volumes[0] if volumes else stack.instances


@pytest.mark.skipif(REALDATA is None, reason="../shared/realdata is not beside the repository")
@pytest.mark.parametrize("name", ["dcm_qa_fmap", "dcm_qa_xa60", "dcm_qa_12bit"])
def test_the_real_series_give_the_same_diagnostics(name):
    found = [assert_same(images_of(s)) for s in stacks_under(REALDATA / name) if images_of(s)]
    assert found


def test_the_example_study_gives_the_same_diagnostics():
    found = [assert_same(images_of(s)) for s in stacks_under(STUDY)]
    assert found == ["single_slice", "clean", "clean"]


def _records(rotation, positions, **extra):
    r, c = rotation[:, 0], rotation[:, 1]
    return [{"sop_instance_uid": f"1.{k}", "path": f"f{k}", "frames": None, "rows": 4,
             "columns": 3, "pixel_spacing": [0.7, 0.9],
             "image_orientation_patient": [*r, *c], "image_position_patient": list(p), **extra}
            for k, p in enumerate(positions)]


def _rotation(a, b, c):
    ca, sa, cb, sb, cc, sc = (math.cos(a), math.sin(a), math.cos(b), math.sin(b), math.cos(c),
                              math.sin(c))
    rz = np.array([[ca, -sa, 0], [sa, ca, 0], [0, 0, 1]])
    ry = np.array([[cb, 0, sb], [0, 1, 0], [-sb, 0, cb]])
    rx = np.array([[1, 0, 0], [0, cc, -sc], [0, sc, cc]])
    return rz @ ry @ rx


angles = st.floats(-math.pi, math.pi, allow_nan=False)


def synthetic(a=0.3, b=-0.7, c=1.1, n=8, step=2.0, shear=(0.0, 0.0), missing=(), duplicate=None,
              jitter=None, drift=None, skew=0.0, vendor=None, spacing=True) -> set[str]:
    """A rotated stack with missing slices, a duplicate, a jittered slice (non-uniform
    spacing), a slice off the line (drift), a tilt (shear), cosines that are not orthonormal,
    a vendor position apart from the standard one, no Pixel Spacing: both analyses of it
    compared (:func:`assert_same`), the kinds found returned.

    The lengths are scaled by irrational factors near 1 so that the simple values hypothesis
    favours never sit exactly on a tolerance or on a rounding boundary of a message (5 steps
    of 1.0137 mm are 5.0685 mm, printed to three decimals), where the last bit of a sum
    decides either way; the loose tolerance is checked only with steps well above it (with
    steps below it, slices merge into duplicates, and gaps of 3 merged steps over a median
    of 2 are a tie for rounding)."""
    step, jitter, drift = step * math.sqrt(1.03), jitter and (
        jitter[0], jitter[1] * math.sqrt(1.06)), drift and (drift[0], drift[1] * math.sqrt(0.97))
    rotation = _rotation(a, b, c)
    r, col = rotation[:, 0], rotation[:, 1]
    normal = np.cross(r, col)
    origin = np.array([12.5, -30.0, 7.0])
    offset = shear[0] * r + shear[1] * col
    depth = [k * step for k in range(n) if k not in missing or k == n - 1]
    if jitter and jitter[0] < len(depth):
        depth[jitter[0]] += jitter[1]
    positions = [origin + d * (normal + offset) for d in depth]
    if drift and drift[0] < len(positions):
        positions[drift[0]] = positions[drift[0]] + drift[1] * r
    if duplicate is not None and duplicate < len(positions):
        positions.append(positions[duplicate] + 0.05 * col)
    records = _records(rotation, positions)
    for k, record in enumerate(records):
        record["image_orientation_patient"][3] += skew
        if vendor is not None and k % 2:
            record["vendor_image_position_patient"] = list(np.array(positions[k]) + vendor * r)
        if not spacing:
            del record["pixel_spacing"]
    kinds: set[str] = set()
    for stack in split_stacks([Instance(rec) for rec in records]):
        kinds.update(assert_same(stack.instances).split(","))
        if step > 2.5 * 0.4567:
            assert_same(stack.instances, position_tolerance=0.4567, orientation_tolerance=1e-2)
    return kinds


@settings(max_examples=150, deadline=None)
@given(a=angles, b=angles, c=angles, n=st.integers(1, 14), step=st.floats(0.3, 8.0),
       shear=st.tuples(st.floats(-0.4, 0.4), st.floats(-0.4, 0.4)),
       missing=st.sets(st.integers(1, 12), max_size=3),
       duplicate=st.one_of(st.none(), st.integers(0, 13)),
       jitter=st.one_of(st.none(), st.tuples(st.integers(0, 13), st.floats(-1.5, 1.5))),
       drift=st.one_of(st.none(), st.tuples(st.integers(0, 13), st.floats(-2, 2))),
       skew=st.sampled_from([0.0, 0.0, 0.02]), vendor=st.sampled_from([None, 0.1, 1.5]),
       spacing=st.sampled_from([True, True, False]))
def test_synthetic_irregular_stacks_give_the_same_diagnostics(**kw):
    synthetic(**kw)


def test_every_kind_in_synthetic_stacks():
    kinds = set()
    for kw in ({}, {"missing": (3,)}, {"jitter": (4, 0.7)}, {"shear": (0.1, 0.2)},
               {"drift": (3, 1.3)}, {"duplicate": 2}, {"skew": 0.02}, {"vendor": 1.5},
               {"spacing": False}, {"n": 1}, {"n": 2}):
        kinds |= synthetic(**kw)
    assert kinds == {"clean", "missing_slices", "non_uniform_spacing", "gantry_tilt",
                     "in_plane_drift", "duplicate_position", "non_orthonormal_cosines",
                     "vendor_position_mismatch", "missing_pixel_spacing", "single_slice",
                     "two_slices"}


def test_positions_and_orientations_that_make_no_grid_raise_alike():
    rotation = np.eye(3)
    for records in (
            _records(rotation, [(0, 0, 0), (0, 0, 2)], image_orientation_patient=[1, 0, 0] * 2),
            _records(rotation, [(0, 0, 4), (0, 0, 2), (0, 0, 0)]),  # against the normal
            [{k: v for k, v in rec.items() if k != "image_position_patient"}
             for rec in _records(rotation, [(0, 0, 0)])], []):
        assert assert_same([Instance(rec) for rec in records]) in ("GeometryError",
                                                                    "ValueError")


def _tree_lines(folder: Path, hide_numpy: bool) -> str:
    code = textwrap.dedent(f"""
        import sys
        if {hide_numpy}:
            sys.modules["numpy"] = None
        import warnings
        import rawdicom
        from rawdicom.cli.tree import lines
        warnings.simplefilter("ignore")
        collection = rawdicom.scan({str(folder)!r}, workers=1)
        print("\\n".join(lines("folder", collection)))
        print(collection)
        for series in collection.series:
            for stack in series.stacks():
                print(series.series_number, stack.regular, [str(d) for d in stack.diagnostics])
        if {hide_numpy}:
            try:
                collection.series[0].stacks()[0].geometry
            except ImportError as exc:
                print(exc)
            assert "numpy" not in [m for m in sys.modules if sys.modules[m] is not None]
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_tree_and_diagnostics_without_numpy(tmp_path):
    """A folder of the example study and two irregular series (a missing slice; a tilt
    without its header, off by 0.5 mm on one slice): the same lines with numpy and without."""
    folder = tmp_path / "folder"
    write_series(folder / "gap", [(0.0, 0.0, z) for z in (0, 2, 4, 8, 10)], series_number=7)
    write_series(folder / "tilt", [(0.0, 0.3 * k, 2.0 * k + (0.5 if k == 3 else 0))
                                   for k in range(6)], series_number=8)
    for path in STUDY.rglob("*"):
        if path.is_file():
            target = folder / "study" / path.relative_to(STUDY)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    with_numpy = _tree_lines(folder, False)
    without = _tree_lines(folder, True)
    assert without.startswith(with_numpy)
    assert without[len(with_numpy):] == ("rawdicom's geometry and volumes need numpy: pip "
                                         "install rawdicom[volume]\n")
    assert "! missing_slices: 1 slice(s) missing between (0.000, 0.000, 4.000) and " \
           "(0.000, 0.000, 8.000)" in without
    assert "! non_uniform_spacing: slice gaps from" in without
    assert "! single_slice" in without and "axial, tilted 12.0 degrees" in without
