"""``rawdicom convert`` beside dcm2niix (/usr/bin/dcm2niix) on the same folders: the real
scanner series of ../shared/realdata and the project's own CT and MR series.

For every series: the same number of NIfTI files, or a disagreement listed below with its
reason; every dcm2niix NIfTI matched by one of ours holding the same values at the same
physical points (each sampled voxel of theirs mapped through both affines; a 3-D file of
theirs may be one volume of a 4-D file of ours); ``.bval`` equal and ``.bvec`` the same
patient-frame vectors (FSL's rule applied to each file's own affine); the sidecar fields
both write equal, but for the differences listed with their reasons.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rawdicom.convert import convert
from rawdicom.convert.manifest import read_rows
from mr_builders import write_dwi, write_mosaics
from mr_compare import bvec_to_lps

nibabel = pytest.importorskip("nibabel")
DCM2NIIX = shutil.which("dcm2niix")
ROOT = Path(__file__).resolve().parents[1]
REALDATA = next((p for p in (ROOT.parent / "shared" / "realdata", Path("/work/shared/realdata"))
                 if p.is_dir()), None)

# (folder, SeriesNumber) -> why the counts of NIfTI files differ.
COUNTS = {
    ("dcm_qa_fmap", 2): "GE B0 map: field map (Hz) and magnitude share every key rawdicom "
                        "splits on: one 4-D file of 2 volumes; dcm2niix knows GE's image kind",
    ("dcm_qa_fmap", 3): "as series 2", ("dcm_qa_fmap", 6): "as series 2",
    ("dcm_qa_xa60", 99): "phoenix/report images without Image Position or Orientation: "
                         "refused (no geometry), dcm2niix skips them too",
    ("own", 1): "a localizer (one CT scout): refused, as the manifest says; dcm2niix "
                "converts it as a one-slice volume",
    ("own", 2): "its files are Deflated Explicit VR Little Endian, which dcm2niix cannot "
                "read (it warns and skips them)",
}
# (folder, SeriesNumber, field) -> why one series' sidecar field differs.
SIDECAR_SERIES = {
    ("own", 40, "RepetitionTime"): "generated DWI: Repetition Time 2000 ms but volumes 1 s "
                                   "apart in Acquisition Time; dcm2niix writes the time "
                                   "between volumes, rawdicom the header's",
}
# (folder, SeriesNumber) -> (the reference file the values are checked against instead, why).
VALUES = {
    ("dcm_qa_12bit", 4): ("Ref/4.nii", "12-bit signed with set high bits: this dcm2niix "
                          "(v1.0.20220720) does not sign-extend from High Bit 11 and gives "
                          "0..4095; the standard, the dataset's README and its Ref (a newer "
                          "dcm2niix) give -2048..2047, as rawdicom"),
}
# Sidecar fields written differently on purpose, with the reason.
SIDECAR = {
    "Manufacturer": "dcm2niix writes its own short vendor name (Siemens, GE, Philips); "
                    "rawdicom the header's value, as BIDS defines the field",
    "ImageType": "dcm2niix appends words of its own (PHASE, REAL, FIELDMAPHZ) to the "
                 "header's values; rawdicom writes the header's",
}
FIELDS = ("Modality", "Manufacturer", "ManufacturersModelName", "SeriesDescription",
          "ProtocolName", "SeriesNumber", "AcquisitionTime", "ImageType", "SliceThickness",
          "SpacingBetweenSlices", "EchoTime", "EchoNumber", "RepetitionTime", "FlipAngle",
          "InversionTime", "MagneticFieldStrength", "ConvolutionKernel", "KVP",
          "XRayExposure", "PhaseEncodingAxis")


def _need() -> None:
    if DCM2NIIX is None:
        if os.environ.get("CI"):
            pytest.fail("dcm2niix is required under CI")
        pytest.skip("dcm2niix not installed")


def theirs(folder: Path, out: Path) -> dict[tuple[int, str], list[Path]]:
    """dcm2niix's NIfTI files per (SeriesNumber, SeriesInstanceUID)."""
    out.mkdir(parents=True)
    subprocess.run([DCM2NIIX, "-z", "n", "-b", "y", "-ba", "n", "-p", "n", "-f", "%s_%j", "-o", str(out),
                    str(folder)], check=True, capture_output=True)
    found: dict[tuple[int, str], list[Path]] = {}
    for nii in sorted(out.glob("*.nii")):
        number, uid = nii.stem.split("_")[:2]
        found.setdefault((int(number), uid), []).append(nii)
    return found


def ours(folder: Path, out: Path) -> dict[tuple[int, str], list[dict[str, Any]]]:
    """rawdicom's NIfTI outputs (not the resampled copies) per series, with their rows."""
    report = convert(folder, out, format="nii", workers=2)
    assert not any(r["status"] == "failed" for r in report.rows), report
    found: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for row in read_rows(str(out)):
        key = (row["series_number"], row["series_instance_uid"])
        found.setdefault(key, [])
        for output in row["outputs"]:
            if output["kind"] == "nifti":
                found[key].append({"row": row, "path": out / output["path"]})
    return found


def _values(image: Any, t: int | None) -> np.ndarray:
    data = np.asanyarray(image.dataobj).astype(np.float64)
    return data if t is None else data[..., t]


def matches(mine: Path, other: Path) -> bool:
    """Whether every sampled voxel of ``other`` equals ``mine`` at its world point (any
    volume of ``mine`` for a 3-D ``other``; volume by volume when both are 4-D)."""
    a, b = nibabel.load(mine), nibabel.load(other)
    shape = b.shape[:3]
    ijk = np.stack(np.meshgrid(*[np.arange(n) for n in shape], indexing="ij"), -1).reshape(-1, 3)
    ijk = ijk[:: max(1, len(ijk) // 4000)]
    world = np.c_[ijk, np.ones(len(ijk))] @ b.affine.T
    at = world @ np.linalg.inv(a.affine).T
    index = np.rint(at[:, :3]).astype(int)
    if not np.allclose(at[:, :3], index, atol=0.05) or \
            not np.all((index >= 0) & (index < np.array(a.shape[:3]))):
        return False
    data_a, data_b = np.asanyarray(a.dataobj), np.asanyarray(b.dataobj)
    got = data_a[index[:, 0], index[:, 1], index[:, 2]]
    want = data_b[ijk[:, 0], ijk[:, 1], ijk[:, 2]]
    close = lambda x, y: np.allclose(x, y, rtol=1e-4, atol=1e-3)  # noqa: E731
    if got.ndim == want.ndim:
        return got.shape == want.shape and close(got, want)
    if got.ndim == 2 and want.ndim == 1:
        return any(close(got[:, t], want) for t in range(got.shape[1]))
    return False


def compare(name: str, folder: Path, tmp: Path) -> list[str]:
    """The disagreements found (each a line), those listed above left out."""
    problems = []
    mine, other = ours(folder, tmp / "ours"), theirs(folder, tmp / "theirs")
    for key in sorted(set(mine) | set(other), key=str):
        listed = (name, key[0]) in COUNTS
        if len(mine.get(key, [])) != len(other.get(key, [])) and not listed:
            problems.append(f"{name} series {key[0]}: {len(mine.get(key, []))} NIfTI vs "
                            f"{len(other.get(key, []))}")
        for path in other.get(key, []):
            reference = VALUES.get((name, key[0]))
            oracle = folder.parent / reference[0] if reference else path
            candidates = [m for m in mine.get(key, []) if matches(m["path"], oracle)]
            if not candidates:
                if not listed:
                    problems.append(f"{name} {path.name}: no file of ours has its values")
                continue
            problems += _extras(name, key[0], candidates[0], path)
    return problems


def _extras(name: str, number: int, mine: dict[str, Any], path: Path) -> list[str]:
    """bval/bvec and sidecar differences of one matched pair."""
    problems = []
    stem, their_stem = str(mine["path"])[:-4], str(path)[:-4]
    if os.path.exists(their_stem + ".bval"):
        if not os.path.exists(stem + ".bval"):
            return [f"{name} {path.name}: no .bval of ours"]
        b_ours = np.loadtxt(stem + ".bval")
        b_theirs = np.loadtxt(their_stem + ".bval")
        if not np.allclose(b_ours, b_theirs, atol=1):
            problems.append(f"{name} {path.name}: bval {b_ours} vs {b_theirs}")
        v_ours = bvec_to_lps(np.loadtxt(stem + ".bvec").reshape(3, -1),
                             nibabel.load(mine["path"]).affine)
        v_theirs = bvec_to_lps(np.loadtxt(their_stem + ".bvec").reshape(3, -1),
                               nibabel.load(path).affine)
        if not np.allclose(v_ours, v_theirs, atol=2e-3):
            problems.append(f"{name} {path.name}: bvec differ")
    side_ours = json.loads(Path(stem + ".json").read_text())
    side_theirs = json.loads(Path(their_stem + ".json").read_text())
    for field in FIELDS:
        if field in SIDECAR or (name, number, field) in SIDECAR_SERIES or \
                field not in side_ours or field not in side_theirs:
            continue
        a, b = side_ours[field], side_theirs[field]
        if field == "AcquisitionTime":  # dcm2niix: 4 decimals, seconds not zero-padded
            a, b = _seconds(a), _seconds(b)
        rtol = 0.0 if field == "AcquisitionTime" else 1e-4
        same = (np.allclose(a, b, rtol=rtol, atol=1e-3 if rtol == 0 else 1e-6)
                if isinstance(a, (int, float))
                and isinstance(b, (int, float)) else a == b)
        if not same:
            problems.append(f"{name} {path.name}: {field} {a!r} vs {b!r}")
    return problems


def _seconds(text: str) -> float:
    hours, minutes, seconds = text.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


@pytest.mark.parametrize("name", ["dcm_qa_12bit", "dcm_qa_fmap", "dcm_qa_xa60"])
def test_realdata_against_dcm2niix(name: str, tmp_path: Path) -> None:
    _need()
    if REALDATA is None:
        pytest.skip("../shared/realdata is not there")
    assert compare(name, REALDATA / name / "In", tmp_path) == []


def test_own_series_against_dcm2niix(tmp_path: Path) -> None:
    """The example study (CT, a localizer, an oblique series) and generated MR: a Siemens
    DWI and a mosaic fMRI series."""
    _need()
    source = tmp_path / "src"
    shutil.copytree(ROOT / "rawdicom" / "examples" / "study", source / "study")
    write_dwi(source / "dwi", "siemens", slices=4, series_number=40)
    write_mosaics(source / "mosaic", count=9, volumes=4, series_number=41)
    problems = compare("own", source, tmp_path)
    assert problems == []
