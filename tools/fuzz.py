"""A seeded mutation fuzzer for rawdicom (and, beside it, pydicom).

Every input is a pure function of (seed, index): the index picks a seed file
and 1-4 mutations (bit flips, interesting bytes, truncation, 4-byte length
fields overwritten with huge values, chunk duplication and removal, splices
with another seed, DICOM delimiter tokens).  So a run is reproducible, a
worker makes its own inputs from an index, and any input can be rebuilt.

Each input runs in a worker process with a time limit (the parent kills and
replaces a worker that overruns) and a memory limit (RLIMIT_AS in the
worker).  Outcomes: ok, DicomError, other (any other exception: a bug),
timeout, memory, crash (the worker died).  Every outcome of rawdicom other
than ok and DicomError is saved as a reproducer ``.dcm`` with a ``.txt``
holding the traceback.  ``--pydicom`` runs the same inputs through
``pydicom.dcmread(force=True)`` plus value access and counts its outcomes.

    python tools/fuzz.py SEED_DIR --count 200000 --workers 2 --out fuzz-out [--pydicom]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import struct
import sys
import time
import traceback
import warnings
from collections import Counter
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, Callable

# -- mutations --------------------------------------------------------------------------------
_HUGE = (0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFF0, 0x7FFFFFFF, 0x80000000, 0x00010000, 0x40000000)
_TOKENS = (b"\xfe\xff\x00\xe0\xff\xff\xff\xff",   # item, undefined length
           b"\xfe\xff\x0d\xe0\x00\x00\x00\x00",   # item delimiter
           b"\xfe\xff\xdd\xe0\x00\x00\x00\x00",   # sequence delimiter
           b"SQ\x00\x00\xff\xff\xff\xff", b"UN\x00\x00\xff\xff\xff\xff", b"OB\x00\x00",
           b"\xe0\x7f\x10\x00OB\x00\x00\xff\xff\xff\xff", b"\x08\x00\x05\x00CS",
           b"ISO 2022 IR 87\\ISO 2022 IR 159", b"\x1b$B", b"\x1b(J")
_VRS = [vr.encode() for vr in "OB OD OF OL OV OW SQ UC UN UR UT SV UV AE AS AT CS DA DS DT FL "
                              "FD IS LO LT PN SH SL SS ST TM UI UL US".split()]


def _bit_flips(rng: random.Random, data: bytearray, seeds: list[bytes]) -> None:
    for _ in range(rng.randint(1, 8)):
        pos = rng.randrange(len(data))
        data[pos] ^= 1 << rng.randrange(8)


def _interesting_byte(rng: random.Random, data: bytearray, seeds: list[bytes]) -> None:
    data[rng.randrange(len(data))] = rng.choice((0x00, 0xFF, 0x7F, 0x80, 0x01, 0xFE, 0x20, 0x5C))


def _truncate(rng: random.Random, data: bytearray, seeds: list[bytes]) -> None:
    del data[rng.randrange(len(data)):]


def _huge_length(rng: random.Random, data: bytearray, seeds: list[bytes]) -> None:
    """Overwrite a 4-byte length: after a long-form VR, or anywhere, with a huge value."""
    value = struct.pack("<I" if rng.random() < 0.8 else ">I",
                        rng.choice(_HUGE + (len(data), len(data) - rng.randrange(64) + 32)) &
                        0xFFFFFFFF)
    starts = []
    if rng.random() < 0.7:
        vr = rng.choice(_VRS)
        start = rng.randrange(len(data))
        found = data.find(vr, start)
        if found < 0:
            found = data.find(vr)
        if found >= 0:
            starts.append(found + 4 if vr in _VRS[:13] else found + 2)
    pos = starts[0] if starts else rng.randrange(len(data))
    data[pos:pos + 4] = value


def _duplicate_chunk(rng: random.Random, data: bytearray, seeds: list[bytes]) -> None:
    start = rng.randrange(len(data))
    chunk = data[start:start + rng.choice((4, 8, 12, 16, 64, 256, 4096))]
    at = rng.randrange(len(data) + 1)
    data[at:at] = chunk * rng.randint(1, 4)


def _remove_chunk(rng: random.Random, data: bytearray, seeds: list[bytes]) -> None:
    start = rng.randrange(len(data))
    del data[start:start + rng.choice((1, 2, 4, 8, 12, 16, 64, 256, 4096))]


def _splice(rng: random.Random, data: bytearray, seeds: list[bytes]) -> None:
    other = rng.choice(seeds)
    if other:
        data[rng.randrange(len(data)):] = other[rng.randrange(len(other)):]


def _token(rng: random.Random, data: bytearray, seeds: list[bytes]) -> None:
    at = rng.randrange(len(data) + 1) & ~1
    token = rng.choice(_TOKENS)
    if rng.random() < 0.5:
        data[at:at + len(token)] = token
    else:
        data[at:at] = token


_MUTATIONS: list[Callable[[random.Random, bytearray, list[bytes]], None]] = [
    _bit_flips, _interesting_byte, _truncate, _huge_length, _duplicate_chunk, _remove_chunk,
    _splice, _token]


def make_input(seeds: list[bytes], seed: int, index: int) -> bytes:
    """Input ``index`` of the run with ``seed``: a mutated seed file, always the same bytes."""
    rng = random.Random(f"{seed}:{index}")
    data = bytearray(rng.choice(seeds))
    for _ in range(rng.randint(1, 4)):
        if not data:
            break
        rng.choice(_MUTATIONS)(rng, data, seeds)
    return bytes(data)


# -- targets ----------------------------------------------------------------------------------
def _walk_quietly(ds: Any, expected: type[BaseException]) -> list[Any]:
    """``list(ds.walk())``, or what it yielded before an expected error."""
    seen: list[Any] = []
    try:
        for pair in ds.walk():
            seen.append(pair)
    except expected:
        pass
    return seen


def exercise_rawdicom(data: bytes) -> None:
    """Read, then use everything a caller could: values, walk, str, CSA headers, pixels,
    writing back.

    A DicomError anywhere is an expected outcome; so is ImportError for a missing extra.
    Reading what rawdicom wrote must succeed.
    """
    import rawdicom

    try:
        ds = rawdicom.read(data)
    except rawdicom.DicomError as exc:
        if exc.partial is not None:  # what was read before the defect must be usable too
            for _, el in _walk_quietly(exc.partial, rawdicom.DicomError):
                try:
                    el.value
                except rawdicom.DicomError:
                    pass
        raise
    problems: list[BaseException] = []

    def attempt(action: Callable[[], Any]) -> Any:
        try:
            return action()
        except rawdicom.DicomError as exc:
            problems.append(exc)
            return None

    for meta_or_body in (ds.file_meta, ds):
        if meta_or_body is None:
            continue
        walked = attempt(lambda: list(meta_or_body.walk())) or []
        for _, el in walked:
            el.vr, el.keyword, el.name, el.length
            attempt(lambda: (el.value, el.vm, el.raw))
            if el.encapsulated is not None:
                attempt(lambda: (el.encapsulated.fragments, el.encapsulated.basic_offset_table,
                                 el.encapsulated.frames(1)))
    attempt(lambda: str(ds))
    _exercise_csa(ds, attempt)
    if 0x7FE00010 in ds or 0x7FE00008 in ds or 0x7FE00009 in ds:
        try:
            attempt(lambda: rawdicom.pixel_array(ds))
        except ImportError:
            pass
    written = attempt(lambda: rawdicom.to_bytes(ds))
    if written is not None:
        again = rawdicom.read(written)
        for _, el in again.walk():
            el.value
    if problems:
        problems[0].fuzz_stage = "use"  # type: ignore[attr-defined]  (read fine, a use raised)
        raise problems[0]


def _exercise_csa(ds: Any, attempt: Callable[[Callable[[], Any]], Any]) -> None:
    """The Siemens CSA headers, when the dataset has them: values, accessors, the protocol."""
    from rawdicom.vendor import siemens

    for kind in ("image", "series"):
        header = attempt(lambda: siemens.csa_header(ds, kind))
        if header is None:
            continue
        for accessor in ("number_of_images_in_mosaic", "slice_normal_vector", "b_value",
                         "diffusion_gradient_direction", "mosaic_ref_acq_times"):
            attempt(lambda: getattr(header, accessor))
        header.protocol()


def exercise_pydicom(data: bytes) -> None:
    """pydicom's nearest equivalent: dcmread(force=True), every value, str, pixel_array."""
    import io

    import pydicom

    ds = pydicom.dcmread(io.BytesIO(data), force=True)
    for elem in ds.iterall():
        elem.value
    str(ds)
    if "PixelData" in ds:
        ds.pixel_array


_TARGETS = {"rawdicom": exercise_rawdicom, "pydicom": exercise_pydicom}


def classify(target: str, exc: BaseException | None) -> str:
    """The outcome class of one run: ok, DicomError (or pydicom's own errors), other, memory."""
    if exc is None:
        return "ok"
    if isinstance(exc, MemoryError):
        return "memory"
    if target == "rawdicom":
        import rawdicom
        if isinstance(exc, rawdicom.DicomError):
            return "DicomError"
        if isinstance(exc, ImportError):
            return "ImportError"
        return "other"
    from pydicom.errors import InvalidDicomError
    return "InvalidDicomError" if isinstance(exc, InvalidDicomError) \
        else f"other:{type(exc).__name__}"


# -- workers --------------------------------------------------------------------------------
def _worker(conn: Connection, seed_paths: list[str], seed: int, memory: int) -> None:
    """Serve (target, index) requests: build the input, run the target, reply the outcome."""
    import resource

    seeds = [Path(p).read_bytes() for p in seed_paths]
    import rawdicom  # noqa: F401  (imported before the limit: the limit is for the input)
    import rawdicom.vendor.siemens  # noqa: F401
    try:
        import rawdicom.pixels  # noqa: F401
    except ImportError:
        pass
    if memory:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    warnings.simplefilter("ignore")
    while True:
        try:
            request = conn.recv()
        except EOFError:
            return
        if request is None:
            return
        target, index = request
        data = make_input(seeds, seed, index)
        error: BaseException | None = None
        try:
            _TARGETS[target](data)
        except BaseException as exc:  # noqa: BLE001 - classifying every outcome is the point
            error = exc
        try:
            detail = "" if error is None else "".join(
                traceback.format_exception(type(error), error, error.__traceback__))[-6000:]
            stage = getattr(error, "fuzz_stage", "read") if target == "rawdicom" else "read"
            name = "" if error is None else f"{stage}:{type(error).__name__}"
            conn.send((classify(target, error), name, detail))
        except MemoryError:  # formatting the report needs memory too
            conn.send(("memory", "MemoryError", ""))


class _Slot:
    """One worker process and the request it is running."""

    def __init__(self, ctx: Any, args: tuple[Any, ...], target: str) -> None:
        self.ctx, self.args, self.target = ctx, args, target
        self.request: tuple[str, int] | None = None
        self.started = 0.0
        self._start()

    def _start(self) -> None:
        self.conn, child = self.ctx.Pipe()
        self.process = self.ctx.Process(target=_worker, args=(child, *self.args), daemon=True)
        self.process.start()
        child.close()

    def send(self, request: tuple[str, int]) -> None:
        self.request, self.started = request, time.monotonic()
        self.conn.send(request)

    def restart(self) -> None:
        self.process.kill()
        self.process.join()
        self.conn.close()
        self._start()
        self.request = None

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()


def run(seed_paths: list[Path], *, count: int, seed: int = 0, workers: int = 2,
        timeout: float = 2.0, memory: int = 1 << 30, out: Path | None = None,
        targets: tuple[str, ...] = ("rawdicom",), progress: bool = False,
        start: int = 0) -> dict[str, Any]:
    """Fuzz ``count`` inputs; returns the outcome counts per target and the reproducers saved."""
    ctx = mp.get_context("fork" if sys.platform != "win32" else "spawn")
    paths = [str(p) for p in seed_paths]
    seeds = [p.read_bytes() for p in seed_paths]
    # Each target has its own workers, so that one library's leftovers (heap, threads)
    # never count against the other's outcomes.
    pending = {t: list(range(start + count - 1, start - 1, -1)) for t in targets}
    slots = [_Slot(ctx, (paths, seed, memory), t) for t in targets
             for _ in range(max(1, workers // len(targets)))]
    counts: dict[str, Counter[str]] = {t: Counter() for t in targets}
    errors: dict[str, Counter[str]] = {t: Counter() for t in targets}
    saved: list[str] = []
    began = time.monotonic()
    done = 0

    def record(slot: _Slot, outcome: str, name: str, detail: str) -> None:
        nonlocal done
        target, index = slot.request  # type: ignore[misc]
        slot.request = None
        counts[target][outcome] += 1
        if name:
            errors[target][name] += 1
        done += 1
        if target == "rawdicom" and outcome not in ("ok", "DicomError", "ImportError") \
                and out is not None:
            out.mkdir(parents=True, exist_ok=True)
            stem = out / f"seed{seed}-{index}-{outcome}"
            stem.with_suffix(".dcm").write_bytes(make_input(seeds, seed, index))
            stem.with_suffix(".txt").write_text(f"fuzz.py seed {seed} index {index}: {outcome}\n"
                                                f"{detail}")
            saved.append(str(stem.with_suffix(".dcm")))
        if progress and done % 10000 == 0:
            rate = done / (time.monotonic() - began)
            print(f"{done}/{len(targets) * count} runs, {rate:.0f}/s, "
                  + "; ".join(f"{t}: {dict(c)}" for t, c in counts.items()),
                  file=sys.stderr, flush=True)

    try:
        while any(pending.values()) or any(s.request for s in slots):
            for slot in slots:
                if slot.request is None and pending[slot.target]:
                    slot.send((slot.target, pending[slot.target].pop()))
            busy = [s for s in slots if s.request is not None]
            now = time.monotonic()
            wait_for = max(0.0, min(s.started + timeout - now for s in busy))
            ready = wait([s.conn for s in busy], timeout=wait_for)
            for slot in busy:
                if slot.conn in ready:
                    try:
                        outcome, name, detail = slot.conn.recv()
                    except (EOFError, OSError):
                        code = slot.process.exitcode
                        record(slot, "crash", f"exit {code}", f"worker died: exit code {code}")
                        slot.restart()
                        continue
                    record(slot, outcome, name, detail)
                elif time.monotonic() - slot.started > timeout:
                    record(slot, "timeout", "", f"no answer within {timeout} s")
                    slot.restart()
    finally:
        for slot in slots:
            slot.stop()
    elapsed = time.monotonic() - began
    return {"inputs": count, "seed": seed, "start": start, "seconds": round(elapsed, 1),
            "runs_per_second": round(done / elapsed, 1) if elapsed else None,
            "counts": {t: dict(c) for t, c in counts.items()},
            "exceptions": {t: dict(c.most_common()) for t, c in errors.items()},
            "saved": saved}


def seed_files(folder: Path) -> list[Path]:
    """The seed files of a folder: every regular file, recursively, in a stable order."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.stat().st_size > 0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("seeds", type=Path, help="folder of seed files")
    parser.add_argument("--count", type=int, default=10_000, help="inputs to run")
    parser.add_argument("--start", type=int, default=0, help="index of the first input")
    parser.add_argument("--seed", type=int, default=0, help="the run's random seed")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=2.0, help="seconds per input")
    parser.add_argument("--memory", type=int, default=1024, help="MiB of address space per worker")
    parser.add_argument("--out", type=Path, default=Path("fuzz-out"),
                        help="where reproducers and summary.json go")
    parser.add_argument("--pydicom", action="store_true",
                        help="also run each input through pydicom.dcmread(force=True)")
    parser.add_argument("--suffix", default="", help="only seed files ending so (e.g. .dcm)")
    args = parser.parse_args(argv)
    paths = [p for p in seed_files(args.seeds) if p.name.endswith(args.suffix)]
    if not paths:
        parser.error(f"no seed files in {args.seeds}")
    targets = ("rawdicom", "pydicom") if args.pydicom else ("rawdicom",)
    summary = run(paths, count=args.count, seed=args.seed, workers=args.workers,
                  timeout=args.timeout, memory=args.memory << 20, out=args.out,
                  targets=targets, progress=True, start=args.start)
    summary["command"] = " ".join([os.path.basename(sys.executable), *sys.argv])
    summary["seed_files"] = len(paths)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps({k: v for k, v in summary.items() if k != "saved"}, indent=2))
    bad = {k: v for k, v in summary["counts"]["rawdicom"].items()
           if k not in ("ok", "DicomError", "ImportError")}
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
