"""Indexing throughput and bytes read: rawdicom.index against the lean pydicom loop, same run.

    python benchmarks/bench_index.py [--files 100000] [--dir PATH] [--remote 200]

Generates ``--files`` CT files (realistic headers: ~90 attributes, a private block, a
referenced-image sequence; 128 x 128 int16 pixel data, 32 KiB, to keep 100,000 files in a
few GB of disk) in 1,000-slice-per-patient series, unless ``--dir`` already holds them.
Then, on the same files with a warm file cache, prints files/s for:

* the reference, the leanest correct loop a user would write for the same index (issue 22):
  ``pydicom.dcmread(p, specific_tags=FIELDS, stop_before_pixels=True)`` (FIELDS: the 70
  keywords of rawdicom's instance record), the values taken into a dict (multi-values as
  lists, other non-numbers as str, which pyarrow needs), the slice normal and the position
  along it added, a file that fails kept as a row with its error's name; then the rows
  written to one Parquet file with ``pyarrow.Table.from_pylist`` + ``pyarrow.parquet.write_table``;
* ``rawdicom.index.build`` with engine ``serial``, ``processes`` (2 workers: this process
  and one started, to Parquet and to SQLite) and ``dask`` (LocalCluster, 2 worker
  processes), each writing a Parquet index;
* ``record`` alone (no sink) in this process.

Imports and first calls are warmed before timing, for every engine alike: the pydicom
loop's and ``serial``'s in this process, the ``processes`` engine's forkserver (started
once per process; it imports this script, as multiprocessing does, and ``rawdicom.index``)
by a small build whose CPU is printed as the engine's one-time start-up. Each timed
``processes`` build still starts its worker processes (each imports pyarrow).

Each line gives files/s (wall clock) and files per CPU-second: CPU of this process, of its
finished children, and of its live descendants with what they reaped (the processes
engine's workers, children of the forkserver; the Dask workers), so that the ratios stay
meaningful on a shared, loaded machine.

Then, over a local HTTP server honouring Range requests, the body bytes fetched per file
by ``rawdicom.index.record(url)`` and by pydicom reading the same URL through fsspec
(``fsspec.open(url)`` with its default block size, ``dcmread(f, stop_before_pixels=True)``),
counted by the server, for ``--remote`` files of 512 x 512 pixels (512 KiB each).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import rawdicom.index as index  # noqa: E402
from rawdicom.model.record import FIELDS  # noqa: E402

warnings.simplefilter("ignore")
SPECIFIC_TAGS = list(FIELDS)
SLICES_PER_SERIES = 250
_SOP = "1.2.826.0.1.3680043.8.498.1.{:012d}"
_SERIES = "1.2.826.0.1.3680043.8.498.2.{:012d}"
_STUDY = "1.2.826.0.1.3680043.8.498.3.{:012d}"


def template(rows: int, columns: int) -> bytes:
    """A CT slice with placeholders of fixed width for what changes from file to file."""
    ds = Dataset()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    meta.MediaStorageSOPInstanceUID = _SOP.format(0)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = "1.2.826.0.1.3680043.8.498.9"
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = _SOP.format(0)
    ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = "20240105"
    ds.StudyTime = ds.SeriesTime = ds.AcquisitionTime = ds.ContentTime = "101530.123456"
    ds.AccessionNumber = "A000000000"
    ds.Modality = "CT"
    ds.Manufacturer = "SIEMENS"
    ds.InstitutionName = "General Hospital"
    ds.ReferringPhysicianName = "Doe^John"
    ds.StationName = "CT01"
    ds.StudyDescription = "CT CHEST W CONTRAST"
    ds.SeriesDescription = "Thorax 1.0 Br40 3"
    ds.ManufacturerModelName = "SOMATOM Definition AS+"
    ds.ReferencedImageSequence = Sequence([Dataset() for _ in range(2)])
    for item in ds.ReferencedImageSequence:
        item.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
        item.ReferencedSOPInstanceUID = _SOP.format(999)
    ds.PatientName = "Patient^Anonymous"
    ds.PatientID = "P000000000"
    ds.PatientBirthDate = "19600101"
    ds.PatientSex = "F"
    ds.PatientAge = "064Y"
    ds.BodyPartExamined = "CHEST"
    ds.ScanOptions = "HELICAL MODE"
    ds.SliceThickness = "1.0"
    ds.KVP = "120"
    ds.DataCollectionDiameter = "500.0"
    ds.SoftwareVersions = "syngo CT 2012B"
    ds.ProtocolName = "ThoraxRoutine"
    ds.ReconstructionDiameter = "350.0"
    ds.DistanceSourceToDetector = "1085.6"
    ds.GantryDetectorTilt = "0.0"
    ds.TableHeight = "160.0"
    ds.RotationDirection = "CW"
    ds.ExposureTime = "500"
    ds.XRayTubeCurrent = "200"
    ds.Exposure = "100"
    ds.FilterType = "0"
    ds.GeneratorPower = "24"
    ds.FocalSpots = "1.2"
    ds.ConvolutionKernel = "B40f"
    ds.PatientPosition = "HFS"
    ds.StudyInstanceUID = _STUDY.format(0)
    ds.SeriesInstanceUID = _SERIES.format(0)
    ds.StudyID = "1"
    ds.SeriesNumber = "3"
    ds.AcquisitionNumber = "1"
    ds.InstanceNumber = "987654"
    ds.ImagePositionPatient = ["-175.000000", "-175.000000", "-0000.00000"]
    ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    ds.FrameOfReferenceUID = _STUDY.format(0)
    ds.PositionReferenceIndicator = ""
    ds.SliceLocation = "-0000.00000"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = rows, columns
    ds.PixelSpacing = ["0.68359375", "0.68359375"]
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.WindowCenter, ds.WindowWidth = ["40", "-600"], ["400", "1200"]
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = "-1024", "1", "HU"
    ds.add_new(0x00190010, "LO", "SIEMENS CT VA0  COAD")
    for e in range(0x1090, 0x10B0):
        ds.add_new(0x00190000 | e, "DS", "1.0")
    ds.add_new(0x00290010, "LO", "SIEMENS CSA HEADER")
    ds.add_new(0x00291010, "OB", bytes(1500))
    ds.PixelData = bytes(rows * columns * 2)
    import io
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def generate(folder: Path, n: int, rows: int = 128, columns: int = 128) -> list[Path]:
    """``n`` files from the template, placeholders replaced (same widths)."""
    data = template(rows, columns)
    paths = []
    for i in range(n):
        series, k = divmod(i, SLICES_PER_SERIES)
        blob = data.replace(_SOP.format(0).encode(), _SOP.format(i).encode())
        blob = blob.replace(_SERIES.format(0).encode(), _SERIES.format(series).encode())
        blob = blob.replace(_STUDY.format(0).encode(), _STUDY.format(series // 4).encode())
        blob = blob.replace(b"P000000000", f"P{series // 4:09d}".encode())
        blob = blob.replace(b"987654", f"{k + 1:6d}".encode())
        blob = blob.replace(b"-0000.00000", f"{-k * 1.0:011.5f}".encode())
        sub = folder / f"p{series // 4:05d}" / f"s{series:05d}"
        sub.mkdir(parents=True, exist_ok=True)
        path = sub / f"{i:08X}"
        path.write_bytes(blob)
        paths.append(path)
    return paths


def pydicom_record(path: str) -> dict:
    """One row of the reference loop: the values of the record's fields read with
    ``specific_tags`` (as plain Python), the slice normal and the position along it."""
    try:
        ds = pydicom.dcmread(path, specific_tags=SPECIFIC_TAGS, stop_before_pixels=True)
    except Exception as exc:  # pydicom raises many kinds
        return {"path": path, "status": type(exc).__name__}
    row = {"path": path, "status": "ok"}
    for keyword in FIELDS:
        value = ds.get(keyword)
        if isinstance(value, pydicom.multival.MultiValue):
            value = [float(v) if isinstance(v, (float, int)) else str(v) for v in value]
        elif value is not None and not isinstance(value, (int, float, str)):
            value = str(value)
        row[keyword] = value
    iop, ipp = row.get("ImageOrientationPatient"), row.get("ImagePositionPatient")
    if iop and ipp:
        r, c = iop[:3], iop[3:]
        n = [r[1] * c[2] - r[2] * c[1], r[2] * c[0] - r[0] * c[2], r[0] * c[1] - r[1] * c[0]]
        row["normal"] = n
        row["slice_position"] = sum(p * q for p, q in zip(ipp, n))
    return row


def pydicom_index(files: list[str], out: Path) -> None:
    """The reference loop: a row per file, then the rows to one Parquet file."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    pq.write_table(pa.Table.from_pylist([pydicom_record(p) for p in files]), str(out))


def _cpu() -> float:
    """CPU seconds of this process, of its finished children and of its live descendants
    and what they reaped (the processes engine's workers are the forkserver's children;
    Dask's workers run throughout)."""
    import psutil
    own, reaped = (resource.getrusage(who) for who in (resource.RUSAGE_SELF,
                                                        resource.RUSAGE_CHILDREN))
    live = 0.0
    for child in psutil.Process().children(recursive=True):
        try:
            times = child.cpu_times()
        except psutil.Error:  # ended meanwhile: counted once reaped
            continue
        # children_*: processes it reaped (the forkserver reaps the pool's workers)
        live += times.user + times.system + times.children_user + times.children_system
    return own.ru_utime + own.ru_stime + reaped.ru_utime + reaped.ru_stime + live


def timed(label: str, n: int, fn) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(files/s by the wall clock, files per CPU-second): on a shared machine the CPU time
    is what the job costs, the wall clock what the contention left it."""
    start, cpu = time.perf_counter(), _cpu()
    fn()
    seconds, cpu = time.perf_counter() - start, _cpu() - cpu
    print(f"  {label:<44} {n / seconds:9.0f} files/s  ({seconds:.1f} s; CPU {cpu:.1f} s, "
          f"{n / cpu:.0f} files per CPU-second)", flush=True)
    return n / seconds, n / cpu


def bench_local(paths: list[Path], work: Path) -> dict[str, tuple[float, float]]:
    files = [str(p) for p in paths]
    n = len(files)
    for p in files:  # warm the file cache for everyone
        with open(p, "rb") as f:
            f.read(65536)
    print(f"local, {n} files (warm cache), {os.cpu_count()} cores, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}:")
    if sys.flags.dont_write_bytecode:
        print("  (PYTHONDONTWRITEBYTECODE is set: every process started compiles what it "
              "imports, which inflates start-up costs)")
    # Imports (pyarrow, pydicom's dictionaries) and first-call costs out of the timings.
    pydicom_index(files[:20], work / "warm.parquet")
    index.build(files[:20], str(work / "warm"), engine="serial", progress=False)
    timed("processes engine start-up (forkserver, once)", 20,
          lambda: index.build(files[:20], str(work / "warm-procs"), engine="processes",
                              workers=2, partition_size=5, progress=False))
    rates = {}
    rates["pydicom"] = timed("pydicom loop (specific_tags) -> Parquet", n,
                             lambda: pydicom_index(files, work / "pydicom.parquet"))
    rates["record"] = timed("rawdicom.index.record loop (no sink)", n,
                            lambda: [index.record(p) for p in files])
    rates["serial"] = timed("build engine=serial -> Parquet", n,
                            lambda: index.build(files, str(work / "serial"), engine="serial",
                                                progress=False))
    rates["serial_sqlite"] = timed("build engine=serial -> SQLite", n,
                                   lambda: index.build(files, str(work / "i.sqlite"),
                                                       engine="serial", progress=False))
    rates["incremental"] = timed("build -> SQLite again (nothing changed)", n,
                                 lambda: index.build(files, str(work / "i.sqlite"),
                                                     engine="serial", progress=False))
    rates["processes"] = timed("build engine=processes (2) -> Parquet", n,
                               lambda: index.build(files, str(work / "procs"),
                                                   engine="processes", workers=2,
                                                   progress=False))
    rates["processes_sqlite"] = timed("build engine=processes (2) -> SQLite", n,
                                      lambda: index.build(files, str(work / "p.sqlite"),
                                                          engine="processes", workers=2,
                                                          progress=False))
    import distributed
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=40) as cluster, \
            distributed.Client(cluster) as client:
        rates["dask"] = timed("build engine=dask (LocalCluster 2) -> Parquet", n,
                              lambda: index.build(files, str(work / "dask"), engine="dask",
                                                  client=client, progress=False))
    for name in ("record", "serial", "serial_sqlite", "processes", "processes_sqlite", "dask"):
        print(f"  {name:<16} / pydicom loop: {rates[name][0] / rates['pydicom'][0]:.1f}x wall, "
              f"{rates[name][1] / rates['pydicom'][1]:.1f}x per CPU-second")
    cpu_cost(files[:400])
    return rates


def cpu_cost(files: list[str], repeat: int = 5) -> None:
    """The per-core cost: CPU time per file, best of ``repeat`` passes over a few hundred
    files (the least disturbed by the other jobs of a shared machine)."""
    def best(fn) -> float:  # type: ignore[no-untyped-def]
        times = []
        for _ in range(repeat):
            start = time.process_time()
            fn()
            times.append(time.process_time() - start)
        return min(times) / len(files)
    ours = best(lambda: [index.record(p) for p in files])
    theirs = best(lambda: [pydicom_record(p) for p in files])
    print(f"CPU per file, best of {repeat} passes over {len(files)} files: record "
          f"{ours * 1e6:.0f} us, pydicom loop {theirs * 1e6:.0f} us ({theirs / ours:.1f}x)")


def bench_remote(folder: Path, n: int) -> None:
    import fsspec

    from http_range_server import RangeServer
    names = []
    data = template(512, 512)
    for i in range(n):
        name = f"r{i:05d}.dcm"
        (folder / name).write_bytes(data.replace(_SOP.format(0).encode(), _SOP.format(i).encode()))
        names.append(name)
    size = len(data)
    with RangeServer(str(folder)) as server:
        rows = [index.record(f"{server.url}/{name}") for name in names]
        ours = sum(server.sent.values()) / n
        requests = sum(server.requests.values()) / n
        header = sum(r["pixel_data_offset"] for r in rows) / n
        server.sent.clear()
        server.requests.clear()
        for name in names:
            with fsspec.open(f"{server.url}/{name}", "rb") as f:
                pydicom.dcmread(f, stop_before_pixels=True)
        theirs = sum(server.sent.values()) / n
        their_requests = sum(server.requests.values()) / n
    print(f"remote, {n} files of {size} bytes over HTTP (Range), header {header:.0f} bytes:")
    print(f"  rawdicom.index.record: {ours:9.0f} bytes/file, {requests:.1f} GET/file "
          f"(header + {ours - header:.0f}; target <= header + 65536)")
    print(f"  pydicom via fsspec:    {theirs:9.0f} bytes/file, {their_requests:.1f} GET/file "
          f"({theirs / ours:.1f}x rawdicom)")
    bench_latency(folder, names)


def bench_latency(folder: Path, names: list[str], delay: float = 0.02) -> None:
    """files/s when every GET waits ``delay`` seconds (object storage: 20-50 ms): one read
    at a time (pydicom's loop, rawdicom with threads=1) against rawdicom's overlapping reads
    (threads=REMOTE_THREADS), one process each. The server runs in a process of its own,
    so that the CPU per file printed is the reader's alone."""
    import subprocess

    import fsspec

    from rawdicom.index.engines import REMOTE_THREADS
    n = len(names)
    print(f"remote, {n} files, every GET waiting {delay * 1000:.0f} ms, one process:")
    server = subprocess.Popen([sys.executable, str(ROOT / "tests" / "http_range_server.py"),
                               str(folder), str(delay)], stdout=subprocess.PIPE, text=True)
    try:
        url = server.stdout.readline().strip()  # type: ignore[union-attr]
        urls = [f"{url}/{name}" for name in names]

        def pydicom_loop() -> None:
            for one_url in urls:
                with fsspec.open(one_url, "rb") as f:
                    pydicom.dcmread(f, stop_before_pixels=True)
        one = timed("pydicom loop via fsspec", n, pydicom_loop)
        with tempfile.TemporaryDirectory() as out:
            timed("rawdicom build, threads=1", n,
                  lambda: index.build(urls, f"{out}/a", engine="serial", threads=1,
                                      progress=False))
            many = timed(f"rawdicom build, threads={REMOTE_THREADS}", n,
                         lambda: index.build(urls, f"{out}/b", engine="serial",
                                             threads=REMOTE_THREADS, progress=False))
        print(f"  threads={REMOTE_THREADS} / pydicom loop: {many[0] / one[0]:.1f}x")
    finally:
        server.kill()
        server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--dir", type=Path, help="keep (and reuse) the generated files here")
    parser.add_argument("--remote", type=int, default=200,
                        help="files fetched over HTTP (0: no remote figures)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-index-"))
    folder = args.dir or tmp / "files"
    try:
        paths = sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []
        if len(paths) < args.files:
            start = time.perf_counter()
            paths = generate(folder, args.files)
            print(f"generated {args.files} files in {time.perf_counter() - start:.0f} s "
                  f"({paths[0].stat().st_size} bytes each)", flush=True)
        bench_local(paths[:args.files], tmp)
        if args.remote > 0:
            remote = tmp / "remote"
            remote.mkdir()
            bench_remote(remote, args.remote)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
