"""rawdicom.scan + stacks vs the leanest pydicom and dicomsdl loops doing the same job, one run.

    python benchmarks/bench_scan.py                    # 10,000 files, generated once
    python benchmarks/bench_scan.py --files 2000 --repeat 3 --profile

The folder is generated once into ``--dir`` (default /tmp/rawdicom-bench-scan/FILES; about
0.5 MiB a file) and reused: 512x512 int16 CT slices with a realistic header (about 130
elements, 2.8 KiB: dates, times, names, institution, acquisition parameters, three
sequences, GE-like private groups 0009/0019/0021/0043 with their creators), five series of
two patients, shuffled extension-less names in two levels of folders.

The job, for every tool: list the folder, read every file's header, group the files by
patient, study and series, and order each series' slices along the slice normal. The
references are the leanest correct loops a user would write for that job (issue 22), so the
ratios compare rawdicom with what it replaces, not with a strawman:

* ``rawdicom-1`` / ``rawdicom-2``: ``rawdicom.scan(folder, workers=1 or 2)``, then
  ``series.stacks()`` for every series (each series split into regular grids, each stack's
  slices ordered along its normal). rawdicom does more than the references: its record holds
  the 70 fields of ``rawdicom.model.record.FIELDS`` (not 5), the split also separates
  orientations, sizes, spacings and repeated positions, duplicates and unreadable files are
  set aside;
* ``pydicom``: ``pydicom.dcmread(path, specific_tags=TAGS, stop_before_pixels=True)``, the
  values of TAGS taken into a dict ``{keyword: ds.get(keyword)}`` with the path;
* ``dicomsdl`` (C++): ``dicomsdl.open(path).getValues(TAGS)`` zipped into the same dict
  (dicomsdl's ``open`` loads the whole file, pixel data included);
* ``dicomsdl-header``: the same with ``dicomsdl.open(path, load_until=0x7FE00000)``,
  dicomsdl's own header-only read (it stops before the Pixel Data, so reads less);

TAGS = PatientID, StudyInstanceUID, SeriesInstanceUID, ImageOrientationPatient,
ImagePositionPatient: what grouping and ordering need. The three reference loops then share
``_order``: dicts keyed (PatientID, StudyInstanceUID, SeriesInstanceUID) -> list of
records, each list sorted by ImagePositionPatient . normal, the normal being the cross
product of the series' first ImageOrientationPatient.

Timings are taken in rounds (every job once per round, so that each meets the same
machine), the best of ``--repeat`` rounds counting, with a warm file cache. Printed for
each job: files/s (wall clock), and files per CPU-second (CPU of this process and of the
scan's finished worker processes, from getrusage: what the job costs whatever else the
machine runs), then the ratios both ways; for ``rawdicom-2``, what it takes on two free
cores: the CPU of its busiest process (each process on a core of its own; this process
also builds the Collection and the stacks alone), measured, not CPU / 2. Then where
rawdicom-1's CPU goes (scan, stacks). Targets (issue 22): scan with stacks >= 1x the
dicomsdl loop and >= 10x the pydicom loop, wall clock on 2 cores.

For instruction counts (deterministic, whatever the load), ``--count N --workers W`` runs
rawdicom's job alone on the first N files, for ``valgrind --tool=callgrind``.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import pstats
import random
import resource
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import rawdicom  # noqa: E402
from rawdicom import Dataset  # noqa: E402

DEFAULT_DIR = Path("/tmp/rawdicom-bench-scan")
ROWS = COLUMNS = 512


# -- inputs -------------------------------------------------------------------------------
def _uid(*parts: Any) -> str:
    import hashlib
    return "2.25." + str(int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:16],
                                        "big"))


def _item(**values: Any) -> Dataset:
    ds = Dataset()
    for keyword, value in values.items():
        ds.set(keyword, value)
    return ds


def header(patient: int, series: int, index: int) -> Dataset:
    """One slice's header: the attributes a CT scanner writes, in realistic sizes."""
    study_uid = _uid("study", patient)
    series_uid = _uid("series", patient, series)
    sop_uid = _uid("sop", patient, series, index)
    z = -300.0 + 1.25 * index
    ds = Dataset()
    values: dict[str, Any] = {
        "SpecificCharacterSet": "ISO_IR 100", "ImageType": ["ORIGINAL", "PRIMARY", "AXIAL"],
        "InstanceCreationDate": "20260102", "InstanceCreationTime": "101530.123456",
        "SOPClassUID": "1.2.840.10008.5.1.4.1.1.2", "SOPInstanceUID": sop_uid,
        "StudyDate": "20260102", "SeriesDate": "20260102", "AcquisitionDate": "20260102",
        "ContentDate": "20260102", "StudyTime": "101010.000000", "SeriesTime": "101210.000000",
        "AcquisitionTime": "101300.512000", "ContentTime": "101300.512000",
        "AccessionNumber": f"A{patient:07d}", "Modality": "CT", "Manufacturer": "GE MEDICAL SYSTEMS",
        "InstitutionName": "General Hospital of Somewhere",
        "InstitutionAddress": "1 Long Street, Some City, 12345, Country",
        "ReferringPhysicianName": "Referrer^Robert^^Dr", "StationName": "CTSTATION01",
        "StudyDescription": "CT CHEST ABDOMEN PELVIS WITH CONTRAST",
        "SeriesDescription": f"Series {series} 1.25mm STANDARD",
        "InstitutionalDepartmentName": "Radiology", "PerformingPhysicianName": "Performer^Paula",
        "OperatorsName": "Operator^Otto", "ManufacturerModelName": "Revolution CT",
        "PatientName": f"Patient^Number{patient}^^Mr", "PatientID": f"PID{patient:06d}",
        "PatientBirthDate": "19600101", "PatientSex": "M", "PatientAge": "066Y",
        "PatientSize": 1.80, "PatientWeight": 82.5, "ContrastBolusAgent": "OMNIPAQUE 350",
        "BodyPartExamined": "CHEST", "ScanOptions": "HELICAL MODE", "SliceThickness": 1.25,
        "KVP": 120.0, "DataCollectionDiameter": 500.0, "SoftwareVersions": "revo_ct_22.1",
        "ProtocolName": "5.1 CHEST ABD PELVIS", "ReconstructionDiameter": 380.0,
        "DistanceSourceToDetector": 1086.0, "DistanceSourceToPatient": 626.0,
        "GantryDetectorTilt": 0.0, "TableHeight": 160.5, "RotationDirection": "CW",
        "ExposureTime": 500, "XRayTubeCurrent": 250, "Exposure": 5, "FilterType": "BODY FILTER",
        "GeneratorPower": 30000, "FocalSpots": [1.2], "ConvolutionKernel": "STANDARD",
        "PatientPosition": "FFS", "RevolutionTime": 0.5, "SingleCollimationWidth": 0.625,
        "TotalCollimationWidth": 40.0, "TableSpeed": 79.37, "TableFeedPerRotation": 39.37,
        "SpiralPitchFactor": 0.984, "CTDIvol": 9.84,
        "StudyInstanceUID": study_uid, "SeriesInstanceUID": series_uid, "StudyID": "4242",
        "SeriesNumber": series, "AcquisitionNumber": 1, "InstanceNumber": index + 1,
        "ImagePositionPatient": [-190.0, -190.0, z],
        "ImageOrientationPatient": [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
        "FrameOfReferenceUID": _uid("for", patient), "PositionReferenceIndicator": "SN",
        "SliceLocation": z, "SamplesPerPixel": 1, "PhotometricInterpretation": "MONOCHROME2",
        "Rows": ROWS, "Columns": COLUMNS, "PixelSpacing": [0.742188, 0.742188],
        "BitsAllocated": 16, "BitsStored": 16, "HighBit": 15, "PixelRepresentation": 1,
        "WindowCenter": [40.0, 400.0],
        "WindowWidth": [400.0, 1500.0], "RescaleIntercept": -1024.0, "RescaleSlope": 1.0,
        "RescaleType": "HU", "WindowCenterWidthExplanation": ["SOFT", "BONE"],
    }
    for keyword, value in values.items():
        ds.set(keyword, value)
    ds.set("ProcedureCodeSequence", [_item(CodeValue="CTCAP", CodingSchemeDesignator="L",
                                           CodeMeaning="CT chest abdomen pelvis")])
    ds.set("ReferencedPerformedProcedureStepSequence", [_item(
        ReferencedSOPClassUID="1.2.840.10008.3.1.2.3.3",
        ReferencedSOPInstanceUID=_uid("pps", patient))])
    ds.set("RequestAttributesSequence", [_item(RequestedProcedureID=f"RP{patient}",
                                               ScheduledProcedureStepID=f"SPS{patient}",
                                               RequestedProcedureDescription="CT CAP")])
    private = [  # (tag, VR, value): GE-like private groups with their creators
        (0x00090010, "LO", "GEMS_IDEN_01"), (0x00091001, "LO", "CT_LIGHTSPEED"),
        (0x00091002, "SH", "CT01"), (0x00091004, "SH", "Revolution"),
        (0x00190010, "LO", "GEMS_ACQU_01"), (0x0019100F, "DS", "1234.5"),
        (0x00191011, "SS", 2), (0x00191018, "LO", "0.000000"), (0x0019101A, "LO", "4.40"),
        (0x00191023, "DS", "39.37"), (0x00191024, "DS", "1.25"), (0x00191025, "SS", 1),
        (0x00191027, "DS", "0.5"), (0x0019102C, "DS", "250"), (0x0019102E, "DS", "21.0"),
        (0x0019103E, "DS", "984"), (0x00191042, "SS", 0), (0x00191043, "SS", 0),
        (0x00191047, "SS", 4), (0x0019105E, "SL", 888), (0x0019106A, "SS", 1),
        (0x00210010, "LO", "GEMS_RELA_01"), (0x00211003, "SS", 1),
        (0x00211035, "SS", 1), (0x00211036, "SS", 2), (0x00211091, "SS", 0),
        (0x00211092, "FL", 0.0), (0x00211093, "FL", 0.0),
        (0x00430010, "LO", "GEMS_PARM_01"), (0x00431010, "US", 200),
        (0x00431012, "SS", [14, 14, 14]), (0x00431016, "SS", 0), (0x00431018, "OB", b"\0" * 6),
        (0x0043101E, "DS", "0.742188"), (0x00431027, "SH", "/1.0:1"),
        (0x00431028, "OB", bytes(range(64))), (0x00431031, "DS", ["-0.5", "0.5"]),
    ]
    ds.set("PixelPaddingValue", -2000, "SS")
    for tag, vr, value in private:
        ds.set(tag, value, vr)
    return ds


def generate(folder: Path, count: int) -> list[Path]:
    """``count`` files (cached: a folder holding them already is reused). A folder this
    benchmark did not make (no marker of a run beside it) is refused, never written into:
    ``bench_real.py`` times existing folders."""
    marker = folder.parent / f"{folder.name}.complete-{count}"
    if marker.exists():
        return sorted(p for p in folder.rglob("*") if p.is_file() and p.name[0] != ".")
    made = any(folder.parent.glob(f"{folder.name}.complete-*"))
    if folder.is_dir() and any(folder.iterdir()) and not made:
        raise SystemExit(f"{folder}: a folder this benchmark did not generate; it writes "
                         "only into its own (time existing folders with bench_real.py)")
    folder.mkdir(parents=True, exist_ok=True)
    pixels = bytes(random.Random(0).getrandbits(8) for _ in range(4096)) * (ROWS * COLUMNS * 2
                                                                          // 4096)
    rng = random.Random(1)
    per_series = max(1, count // 5)
    paths = []
    for i in range(count):
        patient, series = (i // per_series) % 2, i // per_series
        ds = header(patient, series, i % per_series)
        ds.set("PixelData", pixels, "OW")
        sub = folder / f"{rng.getrandbits(4):X}" / f"{rng.getrandbits(4):X}"
        sub.mkdir(parents=True, exist_ok=True)
        path = sub / f"{rng.getrandbits(48):012X}"
        rawdicom.write(ds, path)
        paths.append(path)
    marker.touch()
    return sorted(paths)


# -- the jobs --------------------------------------------------------------------------------
def _list(folder: Path) -> list[str]:
    out = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        out += [os.path.join(root, f) for f in files if not f.startswith(".")]
    return sorted(out)


TAGS = ["PatientID", "StudyInstanceUID", "SeriesInstanceUID", "ImageOrientationPatient",
        "ImagePositionPatient"]


def _order(records: list[dict[str, Any]]) -> dict[tuple[Any, ...], list[dict[str, Any]]]:
    """The references' grouping: series keyed by (patient, study, series), each sorted
    along the normal of its first slice's orientation (slices without geometry last)."""
    series: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for r in records:
        series.setdefault((r["PatientID"], r["StudyInstanceUID"], r["SeriesInstanceUID"]),
                          []).append(r)
    for members in series.values():
        iop = members[0]["ImageOrientationPatient"]
        if not iop or len(iop) != 6:
            continue
        rx, ry, rz, cx, cy, cz = (float(v) for v in iop)
        nx, ny, nz = ry * cz - rz * cy, rz * cx - rx * cz, rx * cy - ry * cx

        def depth(r: dict[str, Any]) -> float:
            p = r["ImagePositionPatient"]
            return float(p[0]) * nx + float(p[1]) * ny + float(p[2]) * nz if p else float("inf")
        members.sort(key=depth)
    return series


def job_rawdicom(folder: Path, workers: int) -> int:
    """scan, then every series' stacks: the files found, in stacks."""
    collection = rawdicom.scan(folder, workers=workers)
    return sum(len(stack) for series in collection.series for stack in series.stacks())


def job_pydicom(folder: Path) -> int:
    import pydicom
    records = []
    for path in _list(folder):
        ds = pydicom.dcmread(path, specific_tags=TAGS, stop_before_pixels=True)
        record = {keyword: ds.get(keyword) for keyword in TAGS}
        record["path"] = path
        records.append(record)
    return sum(len(s) for s in _order(records).values())


def job_dicomsdl(folder: Path, header_only: bool = False) -> int:
    import dicomsdl
    records = []
    for path in _list(folder):
        ds = dicomsdl.open(path, load_until=0x7FE00000) if header_only else dicomsdl.open(path)
        record = dict(zip(TAGS, ds.getValues(TAGS)))
        record["path"] = path
        records.append(record)
    return sum(len(s) for s in _order(records).values())


def check_same_order(folder: Path) -> None:
    """Before timing: rawdicom's stacks and the pydicom loop's series hold the same files in
    the same order (so the jobs compared do the same work)."""
    import pydicom
    collection = rawdicom.scan(folder, workers=1)
    ours = sorted([str(i.record["path"]) for i in stack]
                  for series in collection.series for stack in series.stacks())
    records = []
    for path in _list(folder):
        ds = pydicom.dcmread(path, specific_tags=TAGS, stop_before_pixels=True)
        records.append({keyword: ds.get(keyword) for keyword in TAGS} | {"path": path})
    theirs = sorted([r["path"] for r in members] for members in _order(records).values())
    assert ours == theirs, "rawdicom's stacks and the pydicom loop's series differ"


def _cpu() -> tuple[float, float]:
    """CPU seconds of this process, and of its finished children (the scan's workers)."""
    own, children = (resource.getrusage(who) for who in (resource.RUSAGE_SELF,
                                                          resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def timed(fn: Callable[[], int]) -> tuple[float, float, float, int]:
    """(wall seconds, CPU seconds, CPU seconds of the busiest process, result) of one run.
    The busiest process's CPU is what the run takes on free cores, one per process: this
    process (which reads too, then builds the Collection and the stacks alone) or its
    worker, whichever worked longer."""
    gc.collect()
    (own0, children0), t0 = _cpu(), time.perf_counter()
    result = fn()
    wall = time.perf_counter() - t0
    own1, children1 = _cpu()
    own, children = own1 - own0, children1 - children0
    return wall, own + children, max(own, children), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--dir", type=Path, default=None,
                        help=f"where the folder is generated and kept (default {DEFAULT_DIR}/FILES; "
                        "never an existing folder of other files: see bench_real.py)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip", default="", help="comma-separated jobs not to run "
                        "(pydicom, dicomsdl, dicomsdl-header, rawdicom-1, rawdicom-2)")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile hot spots of rawdicom.scan(workers=1)")
    parser.add_argument("--count", type=int, default=None, metavar="N",
                        help="only rawdicom's job (scan + stacks, --workers) on the first N "
                        "files of the folder, nothing printed: a target for valgrind "
                        "--tool=callgrind (instructions per file: the difference of two N "
                        "over their difference)")
    parser.add_argument("--workers", type=int, default=1, help="with --count")
    args = parser.parse_args()
    folder = args.dir or DEFAULT_DIR / str(args.files)
    t0 = time.perf_counter()
    paths = generate(folder, args.files)
    if args.count is not None:
        chosen = sorted(map(str, paths))[:args.count]
        collection = rawdicom.scan(chosen, workers=args.workers)
        found = sum(len(stack) for series in collection.series for stack in series.stacks())
        assert found == len(chosen), (found, len(chosen))
        return
    first = rawdicom.read(paths[0], stop_before_pixels=True)
    print(f"{len(paths)} files in {folder} ({time.perf_counter() - t0:.1f} s to list/generate); "
          f"header: {first.stopped_at[3]} bytes before the pixel data, {len(first)} elements "
          f"({sum(1 for _ in first.walk())} with the sequences' items), "
          f"{sum(el.is_private for el in first)} private")
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} "
          f"on {os.cpu_count()} cores")
    warnings.simplefilter("ignore")
    for path in paths:  # warm the file cache (the header pages)
        with open(path, "rb") as f:
            f.read(8192)
    check_same_order(folder)
    print("same files in the same order: rawdicom's stacks and the pydicom loop's series")
    jobs: list[tuple[str, Callable[[], int]]] = [
        ("rawdicom-1", lambda: job_rawdicom(folder, 1)),
        ("rawdicom-2", lambda: job_rawdicom(folder, 2)),
        ("pydicom", lambda: job_pydicom(folder)),
        ("dicomsdl", lambda: job_dicomsdl(folder)),
        ("dicomsdl-header", lambda: job_dicomsdl(folder, True)),
    ]
    skip = set(filter(None, args.skip.split(",")))
    jobs = [(name, fn) for name, fn in jobs if name not in skip]
    # Rounds: every job once per round, so that each meets the same machine (shared
    # machines change load by the minute); the best round of each job counts.
    runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name, _ in jobs}
    for round_ in range(args.repeat):
        for name, fn in jobs:
            seconds, cpu, busiest, count = timed(fn)
            assert count == len(paths), (name, count)
            runs[name].append((seconds, cpu, busiest))
            print(f"  round {round_ + 1} {name:16s} {seconds:7.2f} s  CPU {cpu:7.2f} s  "
                  f"(load {os.getloadavg()[0]:.1f})", flush=True)
    results: dict[str, float] = {}
    cpus: dict[str, float] = {}
    for name, _ in jobs:
        seconds = min(w for w, _, _ in runs[name])
        cpu = min(c for _, c, _ in runs[name])
        results[name], cpus[name] = seconds, cpu
        print(f"{name:16s} {seconds:8.2f} s  {len(paths) / seconds:9.0f} files/s   "
              f"CPU {cpu:7.2f} s  {len(paths) / cpu:7.0f} files per CPU-second")
    for name in ("rawdicom-1", "rawdicom-2"):
        if name not in results:
            continue
        for other in ("pydicom", "dicomsdl", "dicomsdl-header"):
            if other in results:
                print(f"{name} vs {other}: {results[other] / results[name]:.2f}x wall, "
                      f"{cpus[other] / cpus[name]:.2f}x per CPU-second")
    if "rawdicom-2" in cpus:
        # What 2 free cores give: each process on its own core, the run as long as the
        # busiest process's CPU (this one: its share of the reading, the Collection, the
        # stacks; the worker: its share).
        projected = min(b for _, _, b in runs["rawdicom-2"])
        print(f"rawdicom-2 on 2 free cores (CPU of the busiest process): {projected:.2f} s, "
              f"{len(paths) / projected:.0f} files/s; " + ", ".join(
                  f"{cpus[o] / projected:.2f}x {o}" for o in ("pydicom", "dicomsdl",
                                                              "dicomsdl-header") if o in cpus))
    if "rawdicom-1" in results:  # where rawdicom's CPU goes: the scan, then the stacks
        scans, splits = [], []
        for _ in range(args.repeat):
            gc.collect()
            c0 = time.process_time()
            collection = rawdicom.scan(folder, workers=1)
            c1 = time.process_time()
            for series in collection.series:
                series.stacks()
            scans.append(c1 - c0)
            splits.append(time.process_time() - c1)
        print(f"rawdicom-1 split (CPU, best of {args.repeat}): scan {1e6 * min(scans) / len(paths):.0f}"
              f" us/file, stacks {1e6 * min(splits) / len(paths):.0f} us/file")
    print(f"load after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        job_rawdicom(folder, 1)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
