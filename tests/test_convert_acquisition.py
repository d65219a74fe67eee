"""PhaseEncodingDirection and SliceTiming of ``rawdicom convert``'s sidecars: each vendor
rule on synthetic headers, and the real series of ../shared/realdata against the sidecars
dcm2niix wrote (its Ref folders), compared in the patient frame: a direction as the world
vector of its voxel axis and sign, a slice's time at the slice's depth along the normal
(dcm2niix flips the row axis and may store slices in another order)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from csa_builders import Spec, csa, siemens_dataset
from rawdicom.convert.acquisition import phase_encoding, slice_timing

ROOT = Path(__file__).resolve().parents[1]
REALDATA = next((p for p in (ROOT.parent / "shared" / "realdata", Path("/work/shared/realdata"))
                 if p.is_dir()), None)


# ---------------------------------------------------------------- synthetic vendor rules

def _image(**values: Any) -> SimpleNamespace:
    frame = values.pop("frame", None)
    return SimpleNamespace(frame=frame, get=lambda name, default=None: values.get(name, default))


@pytest.mark.parametrize("direction, positive, expected", [
    ("COL", "1", "j"), ("COL", "0", "j-"), ("ROW", "1", "i"), ("ROW", "0", "i-")])
def test_siemens_csa_polarity_in_the_unflipped_voxel_frame(direction, positive, expected):
    header = siemens_dataset(csa([Spec("PhaseEncodingDirectionPositive", "IS", [positive])]))
    first = _image(in_plane_phase_encoding_direction=direction, mr_acquisition_type="2D")
    assert phase_encoding(first, header) == ({"PhaseEncodingDirection": expected}, None)


def test_no_polarity_stated_gives_the_axis_only():
    first = _image(in_plane_phase_encoding_direction="COL")
    assert phase_encoding(first, siemens_dataset(csa([])))[0] == {"PhaseEncodingAxis": "j"}
    assert phase_encoding(first, None)[0] == {"PhaseEncodingAxis": "j"}  # GE, Philips
    assert phase_encoding(_image(), None)[0] == {}


def test_a_3d_acquisition_that_is_not_epi_gets_no_direction():
    header = siemens_dataset(csa([Spec("PhaseEncodingDirectionPositive", "IS", ["1"])]))
    first = _image(in_plane_phase_encoding_direction="ROW", mr_acquisition_type="3D")
    assert phase_encoding(first, header)[0] == {"PhaseEncodingAxis": "i"}  # as dcm2niix
    header.EchoTrainLength = 48
    assert phase_encoding(first, header)[0] == {"PhaseEncodingDirection": "i"}


def _stack(times: list[list[str]], slots: list[int], maker: str = "SIEMENS", tr: float = 2000.0
           ) -> tuple[SimpleNamespace, SimpleNamespace]:
    volumes = [[_image(acquisition_time=t, manufacturer=maker, modality="MR",
                       repetition_time=tr) for t in v] for v in times]
    stack = SimpleNamespace(volumes=volumes, instances=[i for v in volumes for i in v])
    return stack, SimpleNamespace(slice_index=slots, shape=(len(slots), 4, 4))


def test_classic_siemens_slice_times_in_nifti_slice_order():
    # images in depth order; image k at slot slots[k]; interleaved acquisition
    times = ["120000.500000", "120000.000000", "120000.750000", "120000.250000"]
    stack, geometry = _stack([times, [t.replace("1200", "1202") for t in times]], [3, 2, 1, 0])
    timing, why = slice_timing(stack, geometry, None)
    assert timing == [0.25, 0.75, 0.0, 0.5] and why == ""


def test_slice_times_from_the_second_volume_when_the_first_differs():
    first = ["120000.000000", "120000.100000", "120000.200000"]  # single-band, as XA writes
    second = ["120002.000000", "120002.500000", "120002.000000"]
    stack, geometry = _stack([first, second], [0, 1, 2])
    timing, why = slice_timing(stack, geometry, None)
    assert timing == [0.0, 0.5, 0.0] and "second volume" in why


def test_slice_times_left_out_with_the_reason():
    same = ["120000.000000"] * 3
    stack, geometry = _stack([same], [0, 1, 2])
    assert slice_timing(stack, geometry, None) == (
        None, "SliceTiming left out: every slice has the same acquisition time")
    slow = ["120000.000000", "120003.000000", "120001.000000"]  # spans more than TR 2 s
    timing, why = slice_timing(*_stack([slow], [0, 1, 2]), None)
    assert timing is None and "Repetition Time" in why
    missing = ["120000.000000", None, "120001.000000"]
    timing, why = slice_timing(*_stack([missing], [0, 1, 2]), None)
    assert timing is None and "no acquisition time" in why
    header = siemens_dataset()
    header.SoftwareVersions = "syngo MR XA60"
    timing, why = slice_timing(*_stack([["120000.0", "120000.5"]], [0, 1]), header)
    assert timing is None and "one volume of Siemens XA" in why


def test_other_vendors_state_no_slice_timing():
    times = ["120000.500000", "120000.000000"]
    assert slice_timing(*_stack([times], [0, 1], maker="GE MEDICAL SYSTEMS"), None) == (None, "")


def test_mosaic_times_from_the_csa_header_by_tile(tmp_path):
    from mr_builders import write_mosaics
    import rawdicom
    from rawdicom.convert import convert
    paths, _ = write_mosaics(tmp_path / "in", count=4, volumes=2)
    times = ["0", "500", "250", "750"]  # ms, per tile
    for path in paths:
        ds = rawdicom.read(path)
        ds.set(0x00291010, csa([Spec("NumberOfImagesInMosaic", "US", ["4"]),
                                Spec("SliceNormalVector", "FD", [
                                    str(v) for v in json.loads(json.dumps(_normal(ds)))]),
                                Spec("MosaicRefAcqTimes", "FD", times),
                                Spec("PhaseEncodingDirectionPositive", "IS", ["0"])]), "OB")
        ds.InPlanePhaseEncodingDirection = "ROW"
        rawdicom.write(ds, path)
    convert(tmp_path / "in", tmp_path / "out", format="nii", engine="serial")
    [side] = [json.loads(p.read_text()) for p in (tmp_path / "out").rglob("*.json")]
    assert side["PhaseEncodingDirection"] == "i-"
    # tiles are written in slice order along the normal: slot k holds tile k
    assert side["SliceTiming"] == [0.0, 0.5, 0.25, 0.75]


def _normal(ds: Any) -> list[float]:
    o = [float(v) for v in ds.ImageOrientationPatient]
    return list(np.cross(o[:3], o[3:]))


# ---------------------------------------------------------------- against dcm2niix's Refs

# (set, SeriesNumber) -> why SliceTiming differs from dcm2niix's, and the largest difference
SLICE_TIMING = {
    ("dcm_qa_fmap", n): ("Siemens GRE field maps (E11): dcm2niix rebuilds the times from "
                         "the protocol (steps of 1/64 s); each file's Acquisition Time, and "
                         "the CSA TimeAfterStart, which agree, give rawdicom's", 0.04)
    for n in (2, 3, 4, 5)}
# (set) -> why rawdicom writes no SliceTiming where dcm2niix does
NO_SLICE_TIMING = {
    "dcm_qa_12bit": "syngo VB12 mosaics without MosaicRefAcqTimes: dcm2niix derives the "
                    "times from the protocol's slice order; rawdicom leaves them out and "
                    "says why in the manifest",
}


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    if REALDATA is None:
        pytest.skip("../shared/realdata is not there")
    from rawdicom.convert import convert
    out = {}
    for name in ("dcm_qa_fmap", "dcm_qa_xa60", "dcm_qa_12bit"):
        target = tmp_path_factory.mktemp(name)
        convert(REALDATA / name / "In", target, format="nii", workers=2)
        out[name] = target
    return out


def _rows(out: Path) -> list[dict[str, Any]]:
    from rawdicom.convert.manifest import read_rows
    return [r for r in read_rows(str(out)) if r["status"] == "converted"]


def _match(name: str, ref: Path, out: Path) -> tuple[dict[str, Any], Path, dict[str, Any]]:
    """Our sidecar, NIfTI and manifest row holding the Ref NIfTI's values."""
    from test_convert_dcm2niix import matches
    number = json.loads(ref.read_text())["SeriesNumber"]
    for row in _rows(out):
        if row["series_number"] != number:
            continue
        for o in row["outputs"]:
            if o["kind"] == "nifti" and matches(out / o["path"], ref.with_suffix(".nii")):
                side = out / (o["path"][:-4] + ".json")
                return json.loads(side.read_text()), out / o["path"], row
    raise AssertionError(f"{name} {ref.name}: no output of ours holds its values")


def _direction(code: str, affine: np.ndarray) -> np.ndarray:
    axis = "ijk".index(code[0])
    v = affine[:3, axis] * (-1 if code.endswith("-") else 1)
    return v / np.linalg.norm(v)


def _timing_by_depth(timing: list[float], affine: np.ndarray, normal: np.ndarray
                     ) -> dict[float, float]:
    return {round(float((affine @ [0, 0, k, 1])[:3] @ normal), 1): t
            for k, t in enumerate(timing)}


@pytest.mark.parametrize("name", ["dcm_qa_fmap", "dcm_qa_xa60", "dcm_qa_12bit"])
def test_acquisition_fields_equal_dcm2niix_refs(name, converted):
    nibabel = pytest.importorskip("nibabel")
    checked = 0
    for ref in sorted((REALDATA / name / "Ref").glob("*.json")):
        theirs = json.loads(ref.read_text())
        if "PhaseEncodingDirection" not in theirs and "SliceTiming" not in theirs:
            continue
        ours, nii, row = _match(name, ref, converted[name])
        a, b = nibabel.load(nii).affine, nibabel.load(ref.with_suffix(".nii")).affine
        if "PhaseEncodingDirection" in theirs:
            assert np.allclose(_direction(ours["PhaseEncodingDirection"], a),
                               _direction(theirs["PhaseEncodingDirection"], b),
                               atol=1e-3), ref
        if "SliceTiming" not in theirs:
            continue
        if name in NO_SLICE_TIMING:
            assert "SliceTiming" not in ours
            assert any("MosaicRefAcqTimes" in n for n in row["notes"])
            checked += 1
            continue
        normal = np.cross(a[:3, 0], a[:3, 1])
        normal /= np.linalg.norm(normal)
        mine = _timing_by_depth(ours["SliceTiming"], a, normal)
        other = _timing_by_depth(theirs["SliceTiming"], b, normal)
        assert mine.keys() == other.keys(), ref
        largest = max(abs(mine[d] - other[d]) for d in mine)
        listed = SLICE_TIMING.get((name, theirs["SeriesNumber"]))
        assert largest <= (listed[1] if listed else 1e-3), (ref.name, largest)
        checked += 1
    assert checked


def test_a_damaged_optional_header_value_leaves_the_field_out_not_the_stack():
    from rawdicom.errors import ValueDecodeError

    class Damaged:  # a header whose every value fails to decode
        def get(self, keyword: str) -> Any:
            raise ValueDecodeError(f"{keyword}: not a number", offset=100, tag=0x00180091)

        def __contains__(self, tag: Any) -> bool:
            return False
    first = _image(in_plane_phase_encoding_direction="COL", mr_acquisition_type="3D")
    assert phase_encoding(first, Damaged())[0] == {"PhaseEncodingAxis": "j"}
    times = ["120000.0", "120000.5"]
    stack, geometry = _stack([times], [0, 1])
    assert slice_timing(stack, geometry, Damaged()) == ([0.0, 0.5], "")
