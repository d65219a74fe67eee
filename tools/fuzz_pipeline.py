"""A seeded fuzzer of everything above the reader: the upper-layer twin of tools/fuzz.py.

The reader's fuzzer proves that any bytes end in a Dataset or a DicomError. This one proves
the layers built on it (scan, hierarchy, stacks, geometry, volumes, NIfTI, the index, DICOM
JSON, DICOMDIR, organize, explain, every command) keep the same promise on whole series:

* seed series: the test builders' series (CT, enhanced CT, 4-D MR, diffusion of three
  vendors, Siemens mosaics with CSA headers, enhanced MR, a DICOMDIR file-set), the example
  study, and small slices of ``../shared/realdata/`` (GE, Philips, Siemens, XA enhanced);
* a case is a pure function of (seed, index): it picks a seed series and 1-4 mutations of
  the header values that drive grouping, geometry, frames, vendor fields and JSON (junk text,
  NaN/inf/1e308, huge integers, zero and parallel vectors, multi-values, wrong VRs,
  inconsistent Rows/Columns/NumberOfFrames/SamplesPerPixel, huge mosaic counts, truncated
  and random CSA headers, duplicate UIDs with different content; re-encoded by the writer)
  or of the raw bytes (tools/fuzz.py's mutations), writes the folder, and runs every
  library operation on it plus a sample of the command line's subcommands;
* every operation runs in a forked child with a memory limit (RLIMIT_AS) and a timeout, and
  an audit hook that notes every file opened outside the case's folder and its output folder;
  a command runs as a subprocess under the same limits.

Outcomes: ``ok``; ``error`` (a DicomError or a documented ValueError subclass, or a command's
exit status 1 or 2 with no traceback); ``defect``: any other exception, MemoryError, a hang
(a timeout that repeats with four times the time), a crash, a traceback on a command's stderr,
an exit status outside 0/1/2, a file opened outside the given folders, a file missing from
scan's or the index's accounting, a NaN geometry called regular. Each defect prints the
command that reproduces it (and ``--save`` keeps its folder).

    python tools/fuzz_pipeline.py --count 1000 --seed 1 --out fuzz-pipeline-out
    python tools/fuzz_pipeline.py --seed 1 --start 417 --count 1 --ops volume --verbose
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterable

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tools"), str(REPO / "tests")]

import rawdicom  # noqa: E402
from rawdicom import Dataset  # noqa: E402

SeedSeries = tuple[str, list[tuple[str, bytes]]]  # (name, [(relative path, bytes)])


def shared_folder() -> Path:
    """``../shared`` beside the repository, else /work/shared."""
    beside = REPO.parent / "shared"
    return beside if beside.is_dir() else Path("/work/shared")


# -- seed series ----------------------------------------------------------------------------
def _folder_files(folder: Path) -> list[tuple[str, bytes]]:
    return [(str(p.relative_to(folder)), p.read_bytes())
            for p in sorted(folder.rglob("*")) if p.is_file()]


def _builder_seeds(scratch: Path) -> list[SeedSeries]:
    """The test builders' series, written once into ``scratch``."""
    import mr_builders as mr
    import series_builders as sb

    made: list[tuple[str, Callable[[Path], Any]]] = [
        ("ct", lambda d: sb.write_series(d, n=4)),
        ("ct-tilted", lambda d: sb.write_series(
            d, sb.axial_positions(4, spacing=2.0, normal=(0.0, 0.2079, 0.9781)),
            orientation=(1.0, 0.0, 0.0, 0.0, 0.9781, -0.2079))),
        ("enhanced-ct", lambda d: sb.enhanced_ct(d / "enh", sb.axial_positions(4))),
        ("fourd", lambda d: mr.write_4d(d, slices=3, volumes=3)),
        ("dwi-siemens", lambda d: mr.write_dwi(d, "siemens", slices=2)),
        ("dwi-ge", lambda d: mr.write_dwi(d, "ge", slices=2)),
        ("dwi-philips", lambda d: mr.write_dwi(d, "philips", slices=2)),
        ("mosaic", lambda d: mr.write_mosaics(d, count=4, volumes=2,
                                              count_in=("0019", "csa", "protocol"),
                                              normal_in="protocol")),
        ("enhanced-mr", lambda d: mr.enhanced_mr(d / "enh", slices=2, times=2)),
        ("collection", lambda d: sb.write_collection(d)),
        ("dicomdir", _dicomdir_seed),
    ]
    seeds = []
    for name, make in made:
        folder = scratch / name
        if not folder.is_dir():
            part = scratch / f".{name}.part"
            shutil.rmtree(part, ignore_errors=True)
            part.mkdir(parents=True)
            try:
                make(part)
            except ImportError:  # pydicom (the DICOMDIR writer) is a test dependency only
                shutil.rmtree(part)
                continue
            part.rename(folder)
        seeds.append((name, _folder_files(folder)))
    return seeds


def _dicomdir_seed(folder: Path) -> None:
    """A small File-set with its DICOMDIR, written by pydicom's FileSet (an independent
    writer)."""
    import pydicom
    from pydicom.fileset import FileSet

    import series_builders as sb
    paths = sb.write_series(folder / "src", n=3)
    fs = FileSet()
    for path in paths:
        fs.add(pydicom.dcmread(path))
    fs.write(folder / "media")
    shutil.rmtree(folder / "src")


def _example_seeds() -> list[SeedSeries]:
    """The example study: its localizer, and five slices of each CT series."""
    from rawdicom.cli.example import study_path
    by_series: dict[Any, list[tuple[Any, str, bytes]]] = {}
    for path in sorted(Path(study_path()).iterdir()):
        data = path.read_bytes()
        ds = rawdicom.read(data, stop_before_pixels=True)
        by_series.setdefault(ds.get("SeriesNumber"), []).append(
            (ds.get("InstanceNumber") or 0, path.name, data))
    files = []
    for number, members in sorted(by_series.items(), key=lambda kv: str(kv[0])):
        members.sort()
        files += [(name, data) for _, name, data in members[:5]]
    return [("example", files)]


def _realdata_seeds(limit: int = 4) -> list[SeedSeries]:
    """``limit`` consecutive files of each real series folder; each enhanced file alone."""
    root = shared_folder() / "realdata"
    seeds: list[SeedSeries] = []
    if not root.is_dir():
        return seeds
    for folder in sorted(p for p in root.rglob("*") if p.is_dir() and "In" in p.parts):
        files = sorted(p for p in folder.iterdir() if p.is_file())
        if not files:
            continue
        name = "real:" + str(folder.relative_to(root))
        if folder.name.startswith("XA6"):  # enhanced multi-frame files, one object each
            for path in files[:6]:
                seeds.append((f"{name}/{path.name}", [(path.name, path.read_bytes())]))
        else:
            seeds.append((name, [(p.name, p.read_bytes()) for p in files[:limit]
                                 if p.stat().st_size < 1 << 20]))
    return [s for s in seeds if s[1]]


def seed_series(scratch: Path) -> list[SeedSeries]:
    """Every seed series, in a stable order."""
    return _builder_seeds(scratch) + _example_seeds() + _realdata_seeds()


# -- header mutations -----------------------------------------------------------------------
# The attributes that drive grouping, geometry, frames, pixels and vendor fields.
DRIVERS = (
    "Rows", "Columns", "NumberOfFrames", "SamplesPerPixel", "BitsAllocated", "BitsStored",
    "HighBit", "PixelRepresentation", "PlanarConfiguration", "PhotometricInterpretation",
    "ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing", "SliceThickness",
    "SpacingBetweenSlices", "RescaleSlope", "RescaleIntercept", "WindowCenter", "WindowWidth",
    "SOPInstanceUID", "SeriesInstanceUID", "StudyInstanceUID", "PatientID", "SOPClassUID",
    "FrameOfReferenceUID", "InstanceNumber", "SeriesNumber", "AcquisitionNumber",
    "AcquisitionTime", "TemporalPositionIdentifier", "NumberOfTemporalPositions", "EchoNumbers",
    "EchoTime", "TriggerTime", "DiffusionBValue", "DiffusionGradientOrientation", "ImageType",
    "Modality", "GantryDetectorTilt", "SliceLocation", "StackID", "InStackPositionNumber",
    "SpecificCharacterSet", "Manufacturer", "PixelData",
)
# Private vendor fields: Siemens mosaic count, b-value, gradient; GE b-value; Philips b-value
# and gradient; the CSA headers.
VENDOR_TAGS = (0x0019100A, 0x0019100C, 0x0019100E, 0x00431039, 0x001910BB, 0x20011003,
               0x200510B0, 0x00291010, 0x00291020)
CSA_TAGS = (0x00291010, 0x00291020)

_TEXT_VRS = ("AE AS CS DA DS DT IS LO LT PN SH ST TM UC UI UR UT").split()
_NUMBERS = ("0", "-0", "1", "-1", "2", "3.5", "1e7", "-1e7", "1e308", "-1e308", "1e-320",
            "nan", "NaN", "inf", "-inf", "+Infinity", "46341", "65535", "65536", "2147483648",
            "4294967296", "18446744073709551616", "9" * 400, "-" + "9" * 400, "1e400")
_JUNK = ("", " ", "abc", "1.5 mm", "\\", "\\\\\\", "1,5", "0x10", "\u00e9t\u00e9", "MOSAIC",
         "ORIGINAL\\PRIMARY\\M\\ND\\MOSAIC", "DERIVED\\SECONDARY", "1.2.3", "1.2.3.4.5.6.7.8",
         "\x1b$B", "\x00\x00", "\xff\xfe")
_VECTORS = ("0\\0\\0\\0\\0\\0", "1\\0\\0\\1\\0\\0", "1\\0\\0\\-1\\0\\0", "1\\0\\0", "1\\0\\0\\0\\1",
            "1\\0\\0\\0\\1\\0\\0", "nan\\nan\\nan", "1e308\\1e308\\1e308\\1e308\\1e308\\1e308",
            "0\\0\\1e7", "0\\0\\-1e7", "1\\2", "0\\0", "-1\\-1", "1e-320\\1e-320")
_BINARY_INTS = (0, 1, 2, 3, 7, 8, 12, 16, 32, 64, 255, 256, 32767, 32768, 46341, 65535)
_FLOATS = (0.0, -0.0, 1.0, -1.0, 1e7, 1e308, -1e308, 5e-324, float("nan"), float("inf"),
           float("-inf"))
_BINARY = {"US": "H", "SS": "h", "UL": "I", "SL": "i", "FL": "f", "FD": "d", "AT": "I",
           "UV": "Q", "SV": "q"}


def _text_value(rng: random.Random, old: bytes) -> bytes:
    """Hostile text: a number, junk, a vector, the old value repeated or cut."""
    kind = rng.random()
    if kind < 0.35:
        parts = [rng.choice(_NUMBERS) for _ in range(rng.choice((1, 1, 1, 2, 3, 6, 9)))]
        text = "\\".join(parts)
    elif kind < 0.55:
        text = rng.choice(_VECTORS)
    elif kind < 0.75:
        text = rng.choice(_JUNK)
    elif kind < 0.9 and old:
        return b"\\".join([old.rstrip(b" \x00")] * rng.choice((2, 3, 7)))
    else:
        return old[:rng.randrange(len(old) + 1)] if old else b"9" * 70
    return text.encode("latin-1", "replace")


def _binary_value(rng: random.Random, vr: str) -> list[Any]:
    count = rng.choice((1, 1, 1, 2, 3, 6))
    if vr in ("FL", "FD"):
        return [rng.choice(_FLOATS) for _ in range(count)]
    bits = 8 * struct.calcsize(_BINARY[vr])
    signed = vr in ("SS", "SL", "SV")
    low, high = (-(1 << bits - 1), (1 << bits - 1) - 1) if signed else (0, (1 << bits) - 1)
    pool = [v for v in _BINARY_INTS + (high, low, high // 2 + 1) if low <= v <= high]
    return [rng.choice(pool) for _ in range(count)]


def _set_hostile(rng: random.Random, ds: Dataset, tag: int) -> str:
    """Give ``ds[tag]`` a hostile value (maybe with a wrong VR); returns what was done."""
    el = ds[tag] if tag in ds else None
    vr = el.vr if el is not None and " or " not in el.vr else rawdicom.dictionary.vr_for(tag)
    vr = vr.split(" or ")[0]
    try:
        old = bytes(el.raw) if el is not None and el.vr != "SQ" else b""
    except Exception:  # noqa: BLE001 - an element whose bytes cannot be had: start empty
        old = b""
    roll = rng.random()
    if roll < 0.12:  # a wrong VR: the same text under another VR
        new_vr = rng.choice(("LO", "UN", "OB", "UT", "CS", "DS", "IS", "SH", "ST"))
        ds.set(tag, _text_value(rng, old or b"1\\2\\3"), new_vr)
        return f"{vr}->{new_vr}"
    if roll < 0.2 and vr != "SQ":
        new_vr = rng.choice(("US", "FD", "UL", "SL", "FL", "AT"))
        ds.set(tag, _binary_value(rng, new_vr), new_vr)
        return f"{vr}->{new_vr}"
    if roll < 0.25:
        ds.set(tag, None, vr if vr != "SQ" else "UN")
        return "empty"
    if vr in _BINARY:
        ds.set(tag, _binary_value(rng, vr), vr)
        return "binary"
    if vr in ("OB", "OW", "UN", "OF", "OD", "OL", "OV"):
        data = bytearray(old or bytes(16))
        cut = rng.random()
        if cut < 0.4:
            del data[rng.randrange(len(data) + 1):]
        elif cut < 0.7:
            data = bytearray(rng.randbytes(rng.choice((0, 1, 3, 16, 64, 600))))
        else:
            for _ in range(rng.randint(1, 16)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        ds.set(tag, bytes(data), vr if vr != "OW" or len(data) % 2 == 0 else "OB")
        return "bytes"
    if vr == "SQ":
        items = list(el.value or []) if el is not None else []
        if items and rng.random() < 0.5:
            ds.set(tag, items[:rng.randrange(len(items))] or [Dataset()], "SQ")
            return "fewer items"
        ds.set(tag, _text_value(rng, b"1\\2"), "LO")
        return "SQ->LO"
    ds.set(tag, _text_value(rng, old), vr)
    return "text"


def _datasets(ds: Dataset, depth: int = 3) -> Iterable[Dataset]:
    """``ds`` and its items, to ``depth`` levels of sequences."""
    yield ds
    if depth == 0:
        return
    for el in ds:
        if el.vr == "SQ":
            try:
                items = el.value or []
            except rawdicom.DicomError:
                continue
            for item in items[:40]:
                yield from _datasets(item, depth - 1)


def _csa_mutation(rng: random.Random, ds: Dataset, tag: int) -> str:
    """A CSA header cut short, made random, or with its numbers made huge or junk."""
    raw = bytes(ds[tag].raw)
    roll = rng.random()
    if roll < 0.3:
        new = raw[:rng.randrange(len(raw) + 1)]
        what = "csa truncated"
    elif roll < 0.45:
        new = rng.randbytes(rng.choice((4, 16, 200, len(raw))))
        what = "csa random"
    else:
        numbers = list(re.finditer(rb"(?<![A-Za-z_])-?\d+(\.\d+)?", raw))
        if not numbers:
            return "csa unchanged"
        new = raw
        for match in rng.sample(numbers, min(len(numbers), rng.randint(1, 6))):
            value = rng.choice(_NUMBERS).encode()
            if rng.random() < 0.5:  # keep the length: binary CSA counts stay aligned
                value = (value + b" " * len(match.group()))[:len(match.group())]
            new = new[:match.start()] + value + new[match.end():]
            if len(new) != len(raw):
                break
        what = "csa numbers"
    ds.set(tag, new + b"\0" * (len(new) % 2), "OB")
    return what


def mutate_dataset(rng: random.Random, ds: Dataset) -> str:
    """One hostile change to the attributes that drive the model; returns what it was."""
    roll = rng.random()
    csa = [t for t in CSA_TAGS if t in ds]
    if csa and roll < 0.15:
        return _csa_mutation(rng, ds, rng.choice(csa))
    if roll < 0.3:  # inside the functional groups (or any sequence item)
        items = list(_datasets(ds))[1:]
        if items:
            item = rng.choice(items)
            tags = [el.tag for el in item if el.vr != "SQ"] or \
                [rawdicom.dictionary.parse_tag("ImagePositionPatient")]
            tag = rng.choice(tags)
            return f"item {tag:08X} " + _set_hostile(rng, item, tag)
    if roll < 0.4:
        tag = rng.choice(VENDOR_TAGS)
        if tag in CSA_TAGS and tag in ds:
            return _csa_mutation(rng, ds, tag)
        if tag >> 16 == 0x0019 and 0x00190010 not in ds:
            ds.set(0x00190010, "SIEMENS MR HEADER", "LO")
        return f"{tag:08X} " + _set_hostile(rng, ds, tag)
    keyword = rng.choice(DRIVERS)
    tag = rawdicom.dictionary.parse_tag(keyword)
    if keyword == "PixelData" and tag in ds:
        raw = bytes(ds[tag].raw) if ds[tag].encapsulated is None else b""
        if raw:
            cut = rng.choice((0, 1, len(raw) // 2, len(raw) - 2, len(raw) + 64))
            data = raw[:cut] if cut <= len(raw) else raw + bytes(64)
            ds.set(tag, data + b"\0" * (len(data) % 2), ds[tag].vr)
            return f"PixelData {len(raw)}->{len(data)} bytes"
    if rng.random() < 0.1 and tag in ds and tag != 0x7FE00010:
        del ds[tag]
        return f"{keyword} removed"
    return f"{keyword} " + _set_hostile(rng, ds, tag)


def _encode(ds: Dataset, original: bytes) -> bytes:
    """The mutated dataset's bytes, in the file's own transfer syntax when the writer can."""
    syntax = ds.transfer_syntax.uid if ds.transfer_syntax is not None else None
    try:
        return rawdicom.to_bytes(ds, syntax)
    except Exception:  # noqa: BLE001 - e.g. a value the writer refuses: try the default syntax
        return rawdicom.to_bytes(ds)


# -- cases ----------------------------------------------------------------------------------
def make_case(seeds: list[SeedSeries], seed: int, index: int) -> tuple[str, list[tuple[str, bytes]],
                                                                        list[str]]:
    """Case ``index`` of the run with ``seed``: (seed series name, files, mutations done)."""
    import fuzz

    rng = random.Random(f"pipeline:{seed}:{index}")
    name, files = rng.choice(seeds)
    files = list(files)
    done: list[str] = []
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(files))
        path, data = files[at]
        roll = rng.random()
        if roll < 0.08 and len(files) > 1:  # a duplicate SOPInstanceUID with other content
            other = rng.randrange(len(files))
            try:
                ds = rawdicom.read(files[other][1])
                uid = rawdicom.read(data, stop_before_pixels=True).get("SOPInstanceUID")
                if uid is not None:
                    ds.SOPInstanceUID = uid
                files.append((path + ".dup", _encode(ds, data)))
                done.append(f"{path}: duplicate UID with another file's content")
                continue
            except Exception:  # noqa: BLE001 - an unreadable file: mutate its bytes instead
                pass
        if roll < 0.12:
            files.append((path + ".copy", data))
            done.append(f"{path}: identical copy")
            continue
        if roll < 0.35:
            buf = bytearray(data)
            mutation = rng.choice(fuzz._MUTATIONS)
            if buf:
                mutation(rng, buf, [d for _, d in files])
            files[at] = (path, bytes(buf))
            done.append(f"{path}: bytes {mutation.__name__}")
            continue
        try:
            ds = rawdicom.read(data)
            what = mutate_dataset(rng, ds)
            files[at] = (path, _encode(ds, data))
            done.append(f"{path}: {what}")
        except Exception as exc:  # noqa: BLE001 - a value the writer refuses: noted, skipped
            done.append(f"{path}: mutation not written ({type(exc).__name__})")
    return name, files, done


def write_case(folder: Path, files: list[tuple[str, bytes]]) -> None:
    for relative, data in files:
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


# -- operations (each run in a forked child) ------------------------------------------------
class Defect(Exception):
    """A broken promise that raised nothing: a lost file, a NaN geometry called regular."""


def _files(folder: Path) -> list[str]:
    return sorted(str(p) for p in folder.rglob("*") if p.is_file())


def _documented() -> tuple[type[BaseException], ...]:
    """The library's errors: DicomError, GeometryError, and any ValueError subclass that
    rawdicom exports (from_json's error)."""
    from rawdicom.model.geometry import GeometryError
    exported = [getattr(rawdicom, name, None) for name in rawdicom.__all__]
    return (rawdicom.DicomError, GeometryError, *(
        e for e in exported if isinstance(e, type) and issubclass(e, ValueError)))


DOCUMENTED = _documented()


def _expected(exc: BaseException) -> bool:
    """A library error: a DicomError or a documented ValueError subclass."""
    return isinstance(exc, DOCUMENTED)


def _attempt(fn: Callable[[], Any], errors: list[BaseException]) -> Any:
    """``fn()``, or None after an expected error (kept, so the operation reports it)."""
    try:
        return fn()
    except BaseException as exc:
        if not _expected(exc):
            raise
        errors.append(exc)
        return None


def op_scan(folder: Path, out: Path, errors: list[BaseException], workers: int = 1) -> None:
    coll = rawdicom.scan(folder, workers=workers)
    str(coll)
    repr(coll)
    seen = {i.record.get("path") for i in coll.instances}
    for dup in coll.duplicates:
        seen.update(dup.paths)
    seen.update(coll.skipped)
    seen.update(p for p, _ in coll.failed)
    seen.update(coll.dicomdirs)
    missing = set(_files(folder)) - seen
    if missing:
        raise Defect(f"scan lost {len(missing)} files: {sorted(missing)[:3]}")


def op_scan_processes(folder: Path, out: Path, errors: list[BaseException]) -> None:
    op_scan(folder, out, errors, workers=2)


def _stacks(folder: Path) -> list[Any]:
    coll = rawdicom.scan(folder, workers=1)
    return [(series, series.stacks()) for series in coll.series]


def op_stacks(folder: Path, out: Path, errors: list[BaseException]) -> None:
    import math
    for series, stacks in _stacks(folder):
        str(series), repr(series)
        for stack in stacks:
            repr(stack)
            geometry = _attempt(lambda: stack.geometry, errors)
            diagnostics = _attempt(lambda: stack.diagnostics, errors)
            for diag in diagnostics or ():
                str(diag)
            if stack.regular and geometry is not None:
                numbers = [float(v) for row in geometry.affine for v in row]
                if not all(math.isfinite(v) for v in numbers):
                    raise Defect("a geometry with a non-finite affine is called regular")


def op_volume(folder: Path, out: Path, errors: list[BaseException], resample: bool = False,
              nifti: bool = False) -> None:
    for series, stacks in _stacks(folder):
        if not resample:
            _attempt(lambda: series.volume(), errors)
        for k, stack in enumerate(stacks[:3]):
            volume = _attempt(lambda: stack.volume(resample=resample, threads=1), errors)
            if volume is not None and nifti:
                _attempt(lambda: volume.to_nifti(out / f"v{k}.nii.gz"), errors)


def op_volume_resample(folder: Path, out: Path, errors: list[BaseException]) -> None:
    op_volume(folder, out, errors, resample=True)


def op_to_nifti(folder: Path, out: Path, errors: list[BaseException]) -> None:
    op_volume(folder, out, errors, nifti=True)


def op_index_record(folder: Path, out: Path, errors: list[BaseException]) -> None:
    from rawdicom.index import STATUSES, record
    for path in _files(folder):
        row = record(path)
        if row.get("status") not in STATUSES:
            raise Defect(f"index.record gave status {row.get('status')!r} for {path}")
        data = Path(path).read_bytes()
        record(data)


def _index_build(folder: Path, out: Path, errors: list[BaseException], target: str) -> None:
    from rawdicom import index
    files = _files(folder)
    summary = index.build(folder, str(out / target), engine="serial")
    str(summary)
    rows = index.read_rows(str(out / target))
    paths = {r.get("path") for r in rows}
    missing = set(files) - paths
    if missing or len(rows) != len(files):
        raise Defect(f"index.build to {target}: {len(rows)} rows for {len(files)} files, "
                     f"missing {sorted(missing)[:3]}")
    index.read_rows(str(out / target), "frames")


def op_index_sqlite(folder: Path, out: Path, errors: list[BaseException]) -> None:
    _index_build(folder, out, errors, "index.sqlite")


def op_index_parquet(folder: Path, out: Path, errors: list[BaseException]) -> None:
    _index_build(folder, out, errors, "index.parquet")


def op_json(folder: Path, out: Path, errors: list[BaseException]) -> None:
    from rawdicom.dicomjson import dumps, from_json, loads, to_json
    for path in _files(folder):
        ds = _attempt(lambda: rawdicom.read(path), errors)
        if ds is None:
            continue
        obj = _attempt(lambda: to_json(ds), errors)
        if obj is None:
            continue
        text = dumps(obj)
        again = _attempt(lambda: from_json(loads(text)), errors)
        if again is not None:
            data = _attempt(lambda: rawdicom.to_bytes(again), errors)
            if data is not None:
                rawdicom.write(rawdicom.read(data), out / "again.dcm")


def _hostile_json(rng: random.Random, obj: Any, depth: int = 0) -> Any:
    """A JSON value changed somewhere: types swapped, keys dropped, values made odd."""
    odd = (None, 1, -1, 1e308, "x", "", [], {}, [None], {"vr": "SQ"}, [1.5], ["a" * 70],
           {"Alphabetic": 1}, {"vr": "ZZ", "Value": [1]}, True)
    if isinstance(obj, dict) and obj and rng.random() < 0.7:
        key = rng.choice(list(obj))
        roll = rng.random()
        if roll < 0.2:
            obj.pop(key)
        elif roll < 0.5:
            obj[key] = rng.choice(odd)
        else:
            obj[key] = _hostile_json(rng, obj[key], depth + 1)
        return obj
    if isinstance(obj, list) and obj and rng.random() < 0.7:
        at = rng.randrange(len(obj))
        obj[at] = _hostile_json(rng, obj[at], depth + 1) if rng.random() < 0.6 \
            else rng.choice(odd)
        return obj
    return rng.choice(odd)


def op_json_hostile(folder: Path, out: Path, errors: list[BaseException]) -> None:
    from rawdicom.dicomjson import from_json, to_json
    files = _files(folder)
    rng = random.Random(folder.name)
    for path in files[:3]:
        ds = _attempt(lambda: rawdicom.read(path, stop_before_pixels=True), errors)
        obj = _attempt(lambda: to_json(ds), errors) if ds is not None else None
        if obj is None:
            continue
        for _ in range(5):
            hostile = _hostile_json(rng, json.loads(json.dumps(obj)))
            again = _attempt(lambda: from_json(hostile), errors)
            if again is not None:
                _attempt(lambda: rawdicom.to_bytes(again), errors)


def op_dicomdir(folder: Path, out: Path, errors: list[BaseException]) -> None:
    from rawdicom.model.dicomdir import read_dicomdir
    for path in _files(folder):
        if os.path.basename(path).upper().startswith("DICOMDIR"):
            coll = _attempt(lambda: read_dicomdir(path), errors)
            if coll is not None:
                str(coll)


def op_organize(folder: Path, out: Path, errors: list[BaseException]) -> None:
    report = rawdicom.organize(folder, out / "organized", workers=1)
    str(report)
    if {e.source for e in report.entries} != set(_files(folder)):
        raise Defect("organize did not account for every file")
    if report.missing:
        raise Defect(f"organize: {len(report.missing)} DICOM sources missing from the target")


def op_explain(folder: Path, out: Path, errors: list[BaseException]) -> None:
    from rawdicom.explain import explain, format_entries
    for path in _files(folder)[:3]:
        explanation = _attempt(lambda: explain(Path(path).read_bytes()), errors)
        if explanation is not None:
            for _ in format_entries(explanation):
                pass


def op_convert(folder: Path, out: Path, errors: list[BaseException]) -> None:
    from rawdicom.convert import convert
    report = convert(folder, out / "nifti", engine="serial")
    str(report)


OPERATIONS: dict[str, Callable[[Path, Path, list[BaseException]], None]] = {
    "scan": op_scan, "scan_processes": op_scan_processes, "stacks": op_stacks,
    "volume": op_volume, "volume_resample": op_volume_resample, "to_nifti": op_to_nifti,
    "index_record": op_index_record, "index_sqlite": op_index_sqlite,
    "index_parquet": op_index_parquet, "json": op_json, "json_hostile": op_json_hostile,
    "dicomdir": op_dicomdir, "organize": op_organize, "explain": op_explain,
    "convert": op_convert,
}
# Operations run on a sample of the cases only (they cost more than the others).
SAMPLED = {"scan_processes": 0.1, "index_parquet": 0.5}


# -- the command line -----------------------------------------------------------------------
def _first_file(folder: Path) -> str:
    files = _files(folder)
    return files[0] if files else str(folder)


CLI: dict[str, Callable[[Path, Path], list[str]]] = {
    "tree": lambda d, o: ["tree", str(d)],
    "tree_json": lambda d, o: ["tree", "--json", str(d)],
    "info_file": lambda d, o: ["info", _first_file(d)],
    "info_dir": lambda d, o: ["info", str(d)],
    "dump": lambda d, o: ["dump", _first_file(d)],
    "dump_json": lambda d, o: ["dump", "--json", _first_file(d)],
    "json": lambda d, o: ["json", _first_file(d)],
    "explain": lambda d, o: ["explain", _first_file(d)],
    "png_file": lambda d, o: ["png", _first_file(d), str(o / "f.png")],
    "png_dir": lambda d, o: ["png", str(d), str(o / "d.png")],
    "png_sheet": lambda d, o: ["png", "--sheet", str(d), str(o / "s.png")],
    "hist_file": lambda d, o: ["hist", _first_file(d)],
    "hist_dir": lambda d, o: ["hist", str(d)],
    "volume": lambda d, o: ["volume", str(d), str(o / "v.nii.gz")],
    "volume_resample": lambda d, o: ["volume", "--resample", str(d), str(o / "r.nii.gz")],
    "organize": lambda d, o: ["organize", str(d), str(o / "organized")],
    "convert": lambda d, o: ["convert", str(d), str(o / "nifti")],
    "index": lambda d, o: ["index", "--engine", "serial", str(d), str(o / "i.sqlite")],
    "tag": lambda d, o: ["tag", Path(_first_file(d)).name[:12]],
}


# -- running one operation in a child ------------------------------------------------------
def _allowed_roots(folder: Path, out: Path) -> tuple[str, ...]:
    """Where a child may open files: its folders, the interpreter's and the system's."""
    roots = {os.path.realpath(p) for p in (folder, out, sys.prefix, sys.base_prefix,
                                            sys.exec_prefix, REPO / "rawdicom",
                                            REPO / "dictionaries")}
    roots.update(os.path.realpath(p) for p in sys.path if p and os.path.isdir(p)
                 and not os.path.realpath(p).startswith(os.path.realpath(tempfile.gettempdir())))
    try:  # the generated tables, wherever the installed package keeps them
        from importlib.resources import files
        roots.add(os.path.realpath(str(files("rawdicom._dictionaries"))))
    except (ImportError, TypeError):
        pass
    roots.update(("/usr", "/lib", "/lib64", "/etc", "/proc", "/sys", "/dev"))
    roots.discard(os.path.realpath(REPO))  # the repository root itself is not a licence
    # but the package metadata an editable install leaves there is: importlib.metadata
    # reads its entry points when a library (fsspec, nibabel...) looks up its plugins.
    roots.update(os.path.realpath(p) for p in REPO.glob("*.egg-info"))
    return tuple(sorted(r.rstrip("/") + "/" for r in roots))


def _watch_opens(roots: tuple[str, ...], outside: list[str]) -> Callable[[], None]:
    """An audit hook noting every existing file (not a folder: a library's shutil.rmtree of
    its own temporary folder opens it) opened outside ``roots``; returns the function that
    ends the watch (before the fuzzer reads source files to format a traceback)."""
    watching = [True]

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if not watching[0] or event != "open" or not args or isinstance(args[0], int) \
                or args[0] is None:
            return
        try:
            path = os.path.realpath(os.fsdecode(args[0]))
        except Exception:  # noqa: BLE001
            return
        if not (path + "/").startswith(roots) and os.path.isfile(path) and len(outside) < 10:
            outside.append(path)
    sys.addaudithook(hook)
    return lambda: watching.__setitem__(0, False)


def _innermost(tb: Any) -> str:
    """The innermost frame of rawdicom's own code in a traceback: where the defect is."""
    where = ""
    for frame in traceback.extract_tb(tb):
        if "/rawdicom/" in frame.filename:
            where = f"{Path(frame.filename).relative_to(REPO)}:{frame.name}"
    return where


def _child(op: str, folder: Path, out: Path, memory: int, write_fd: int) -> None:
    """Run one operation under the limits; write its outcome as JSON to ``write_fd``."""
    result: dict[str, Any]
    outside: list[str] = []
    try:
        if memory:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        stop_watching = _watch_opens(_allowed_roots(folder, out), outside)
        warnings.simplefilter("ignore")
        errors: list[BaseException] = []
        try:
            OPERATIONS[op](folder, out, errors)
            stop_watching()
            result = {"outcome": "error" if errors else "ok",
                      "name": type(errors[0]).__name__ if errors else ""}
        except BaseException as exc:  # noqa: BLE001 - classifying every outcome is the point
            stop_watching()
            if _expected(exc):
                result = {"outcome": "error", "name": type(exc).__name__}
            else:
                kind = "memory" if isinstance(exc, MemoryError) else "exception"
                result = {"outcome": "defect", "kind": kind, "name": type(exc).__name__,
                          "where": _innermost(exc.__traceback__),
                          "detail": "".join(traceback.format_exception(
                              type(exc), exc, exc.__traceback__))[-4000:]}
        if outside:
            result = {"outcome": "defect", "kind": "outside", "name": "opened outside",
                      "where": op, "detail": "\n".join(outside)}
        payload = json.dumps(result).encode()
    except BaseException:  # noqa: BLE001 - even the report failed (memory): say so briefly
        payload = b'{"outcome": "defect", "kind": "memory", "name": "MemoryError"}'
    try:
        os.write(write_fd, payload)
    finally:
        os._exit(0)


def _address_space() -> int:
    """This process's virtual memory now (bytes): the base the child's limit adds to."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def run_op(op: str, folder: Path, out: Path, *, timeout: float, memory: int) -> dict[str, Any]:
    """One library operation in a forked child."""
    read_fd, write_fd = os.pipe()
    limit = _address_space() + memory if memory else 0
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _child(op, folder, out, limit, write_fd)
    os.close(write_fd)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    timed_out = False
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        ready, _, _ = select.select([read_fd], [], [], left)
        if ready:
            chunk = os.read(read_fd, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    os.close(read_fd)
    if timed_out:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    if timed_out:
        return {"outcome": "defect", "kind": "timeout", "name": "timeout", "where": op,
                "detail": f"no answer within {timeout} s"}
    try:
        return json.loads(b"".join(chunks))
    except ValueError:
        return {"outcome": "defect", "kind": "crash", "name": f"status {status}", "where": op,
                "detail": f"the child ended with wait status {status} and no report"}


_TRACEBACK = re.compile(r"^Traceback \(most recent call last\)", re.M)


def _cli_limits(memory: int) -> Callable[[], None]:
    def limit() -> None:
        if memory:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    return limit


# ``python -m rawdicom`` with an audit hook that names on stderr every existing file (not a
# folder: shutil.rmtree opens those) opened outside FUZZ_ALLOWED (the case's folders, the interpreter's, the system's).
_CLI_WRAPPER = """
import os, runpy, sys
roots = tuple(os.environ.pop("FUZZ_ALLOWED").split(os.pathsep))
def hook(event, args):
    if event == "open" and args and isinstance(args[0], (str, bytes)):
        path = os.path.realpath(os.fsdecode(args[0]))
        if not (path + "/").startswith(roots) and os.path.isfile(path):
            os.write(2, ("FUZZ-OUTSIDE " + path + "\\n").encode())
sys.addaudithook(hook)
sys.argv[0] = "rawdicom"
runpy.run_module("rawdicom", run_name="__main__", alter_sys=True)
"""
_OUTSIDE = re.compile(r"^FUZZ-OUTSIDE (.*)$", re.M)


def run_cli(name: str, folder: Path, out: Path, *, timeout: float, memory: int
            ) -> dict[str, Any]:
    """One command as a subprocess (``python -m rawdicom``, watched for files opened
    outside its folders), under the same limits."""
    argv = CLI[name](folder, out)
    env = dict(os.environ, PYTHONPATH=str(REPO), OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
               PYTHONWARNINGS="ignore", FUZZ_ALLOWED=os.pathsep.join(_allowed_roots(folder, out)))
    try:
        proc = subprocess.run([sys.executable, "-c", _CLI_WRAPPER, *argv], cwd=out, env=env,
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout,
                              preexec_fn=_cli_limits(memory + (1 << 30) if memory else 0))
    except subprocess.TimeoutExpired:
        return {"outcome": "defect", "kind": "timeout", "name": "timeout", "where": f"cli {name}",
                "detail": f"no exit within {timeout} s"}
    return cli_outcome(name, proc.returncode, proc.stderr.decode("utf-8", "replace"))


def cli_outcome(name: str, status: int, stderr: str) -> dict[str, Any]:
    """A command's outcome from its exit status and stderr: a traceback (without --debug)
    or a status outside 0/1/2 is a defect, and so is a file opened outside its folders."""
    outside = _OUTSIDE.findall(stderr)
    if outside:
        return {"outcome": "defect", "kind": "outside", "name": "opened outside",
                "where": f"cli {name}", "detail": "\n".join(outside[:10])}
    if _TRACEBACK.search(stderr) or "MemoryError" in stderr:
        last = stderr.strip().splitlines()[-1] if stderr.strip() else ""
        where = re.findall(r'File ".*?/(rawdicom/[^"]+)", line \d+, in (\w+)', stderr)
        return {"outcome": "defect", "kind": "traceback", "name": last.split(":")[0][:60],
                "where": f"cli {name} " + (":".join(where[-1]) if where else ""),
                "detail": stderr[-4000:]}
    if status not in (0, 1, 2):
        return {"outcome": "defect", "kind": "status", "name": f"exit {status}",
                "where": f"cli {name}", "detail": stderr[-4000:]}
    return {"outcome": "ok" if status == 0 else "error",
            "name": "" if status == 0 else f"exit {status}"}


# -- the run --------------------------------------------------------------------------------
def _choose(rng: random.Random, ops: list[str], cli: list[str], cli_per_case: int
            ) -> list[str]:
    chosen = [op for op in ops if rng.random() < SAMPLED.get(op, 1.0)]
    chosen += ["cli:" + c for c in rng.sample(cli, min(cli_per_case, len(cli)))]
    return chosen


def run(*, seed: int, start: int, count: int, ops: list[str], cli: list[str],
        cli_per_case: int = 1, timeout: float = 30.0, cli_timeout: float = 90.0,
        memory: int = 1536 << 20, out: Path, save: bool = False, verbose: bool = False,
        scratch: Path | None = None, deadline: float | None = None,
        progress: bool = False, skip: Iterable[int] = ()) -> dict[str, Any]:
    """Fuzz cases ``start`` .. ``start + count - 1`` (but those in ``skip``); returns the
    counts and the defects."""
    out.mkdir(parents=True, exist_ok=True)
    warnings.simplefilter("ignore")  # the mutations make files that warn as they are read
    seeds = seed_series(scratch or out / "seeds")
    import rawdicom.pixels  # noqa: F401  (imported before the forks: each child has them)
    import rawdicom.index  # noqa: F401
    import rawdicom.model.volume  # noqa: F401
    import rawdicom.dicomjson  # noqa: F401
    import rawdicom.explain  # noqa: F401
    import rawdicom.model.organize  # noqa: F401
    import rawdicom.model.dicomdir  # noqa: F401
    import rawdicom.convert  # noqa: F401
    for optional in ("nibabel", "pyarrow", "sqlite3"):
        try:
            __import__(optional)
        except ImportError:
            pass
    counts: dict[str, Counter[str]] = {}
    classes: Counter[str] = Counter()
    defects: list[dict[str, Any]] = []
    began = time.monotonic()
    cases = operations = 0
    work = Path(tempfile.mkdtemp(prefix="fuzz-pipeline-"))
    try:
        for index in range(start, start + count):
            if index in set(skip):
                continue
            if deadline is not None and time.time() > deadline:
                break
            name, files, mutations = make_case(seeds, seed, index)
            folder = work / f"case-{index}"
            shutil.rmtree(folder, ignore_errors=True)
            write_case(folder, files)
            rng = random.Random(f"ops:{seed}:{index}")
            for op in _choose(rng, ops, cli, cli_per_case):
                target = work / f"out-{index}-{op.replace(':', '-')}"
                target.mkdir()
                if op.startswith("cli:"):
                    result = run_cli(op[4:], folder, target, timeout=cli_timeout, memory=memory)
                else:
                    result = run_op(op, folder, target, timeout=timeout, memory=memory)
                if result.get("kind") == "timeout":  # a busy machine, or a real hang?
                    shutil.rmtree(target)
                    target.mkdir()
                    result = (run_cli(op[4:], folder, target, timeout=4 * cli_timeout,
                                      memory=memory) if op.startswith("cli:") else
                              run_op(op, folder, target, timeout=4 * timeout, memory=memory))
                shutil.rmtree(target, ignore_errors=True)
                operations += 1
                counts.setdefault(op, Counter())[result["outcome"]] += 1
                if result["outcome"] == "defect":
                    signature = f"{op} {result.get('kind')} {result.get('name')} " \
                                f"{result.get('where', '')}"
                    classes[signature] += 1
                    repro = (f"python tools/fuzz_pipeline.py --seed {seed} --start {index} "
                             f"--count 1 --ops {op} --verbose")
                    defect = {"case": index, "op": op, "seed_series": name,
                              "mutations": mutations, "signature": signature,
                              "reproduce": repro, "detail": result.get("detail", "")}
                    defects.append(defect)
                    if save:
                        keep = out / "defects" / f"seed{seed}-{index}"
                        if not keep.exists():
                            write_case(keep / "folder", files)
                        (keep / f"{op.replace(':', '-')}.txt").write_text(
                            json.dumps(defect, indent=2))
                    if verbose or progress:
                        print(f"DEFECT case {index} ({name}; {'; '.join(mutations)}): "
                              f"{signature}\n  reproduce: {repro}", file=sys.stderr, flush=True)
                    if verbose:
                        print(result.get("detail", ""), file=sys.stderr)
                elif verbose:
                    print(f"case {index} ({name}; {'; '.join(mutations)}) {op}: "
                          f"{result['outcome']} {result.get('name', '')}", file=sys.stderr)
            shutil.rmtree(folder, ignore_errors=True)
            cases += 1
            if progress and cases % 50 == 0:
                rate = operations / (time.monotonic() - began)
                print(f"{cases} cases, {operations} operations, {rate:.1f}/s, "
                      f"{len(defects)} defects", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    elapsed = time.monotonic() - began
    return {"seed": seed, "start": start, "cases": cases, "operations": operations,
            "seconds": round(elapsed, 1),
            "operations_per_second": round(operations / elapsed, 2) if elapsed else None,
            "seed_series": len(seeds),
            "counts": {op: dict(c) for op, c in sorted(counts.items())},
            "defect_classes": dict(classes.most_common()), "defects": defects}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100, help="cases to run")
    parser.add_argument("--start", type=int, default=0, help="index of the first case")
    parser.add_argument("--seed", type=int, default=0, help="the run's random seed")
    parser.add_argument("--ops", default=",".join(OPERATIONS),
                        help="library operations (comma-separated; 'cli:NAME' for a command)")
    parser.add_argument("--cli", default=",".join(CLI), help="commands to sample from")
    parser.add_argument("--cli-per-case", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per operation")
    parser.add_argument("--memory", type=int, default=1536,
                        help="MiB of address space per operation, above the parent's")
    parser.add_argument("--minutes", type=float, default=None, help="stop after this long")
    parser.add_argument("--out", type=Path, default=Path("fuzz-pipeline-out"))
    parser.add_argument("--scratch", type=Path, default=None,
                        help="where the builders' seed series are kept between runs")
    parser.add_argument("--save", action="store_true", help="keep each defect's folder")
    parser.add_argument("--verbose", action="store_true", help="every outcome, and tracebacks")
    args = parser.parse_args(argv)
    ops = [o for o in args.ops.split(",") if o and not o.startswith("cli:")]
    cli = [o[4:] for o in args.ops.split(",") if o.startswith("cli:")]
    per_case = args.cli_per_case
    if cli:  # commands named in --ops: exactly those, every case
        per_case = len(cli)
    elif args.ops == parser.get_default("ops"):
        cli = [c for c in args.cli.split(",") if c]
    for name in ops:
        if name not in OPERATIONS:
            parser.error(f"unknown operation {name!r}; known: {', '.join(OPERATIONS)}")
    for name in cli:
        if name not in CLI:
            parser.error(f"unknown command {name!r}; known: {', '.join(CLI)}")
    deadline = time.time() + 60 * args.minutes if args.minutes else None
    summary = run(seed=args.seed, start=args.start, count=args.count, ops=ops, cli=cli,
                  cli_per_case=per_case, timeout=args.timeout, memory=args.memory << 20,
                  out=args.out, save=args.save, verbose=args.verbose, scratch=args.scratch,
                  deadline=deadline, progress=True)
    summary["command"] = " ".join([os.path.basename(sys.executable), *sys.argv])
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2))
    brief = {k: v for k, v in summary.items() if k != "defects"}
    print(json.dumps(brief, indent=2))
    return 1 if summary["defects"] else 0


if __name__ == "__main__":
    sys.exit(main())
