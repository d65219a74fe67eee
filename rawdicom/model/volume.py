"""Stacks to volumes: every slice's pixels in one preallocated array, with its affine.

The array is allocated once, in its final dtype, and each slice is written into its place
(no list of slices then ``np.stack``, which needs twice the memory). The dtype is chosen
from the headers before any pixel is read: with ``hounsfield=True`` each slice's own
Rescale Slope/Intercept is applied (scanners do vary them per slice), and the result is
exact integers in the smallest type that holds every value the slices' Bits Stored allow
once rescaled (int16 for 12-bit CT), or float32 when a slope or intercept is not an
integer. Integer rescaling is done in place in the output type: the arithmetic wraps
modulo 2**bits, and since the final value fits, the wrapped result is the exact one.

Reading: a file in a native little-endian transfer syntax is read straight from its
Pixel Data offset (known from the header scan) into the volume's memory, one
``readinto`` per slice; anything else (compressed, big endian, deflated) goes through
``rawdicom.pixel_array``, the whole file read at this point only. Files are read in a
thread pool (file reads and codecs release the GIL). The frames of an enhanced
multi-frame file are read from one open file (or one decoded dataset), not once per frame.

A file that cannot be read does not abort the volume: its slices are filled with the fill
value and an ``unreadable`` diagnostic (and a warning) names the file and the error.
"""

from __future__ import annotations

import functools
import math
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Protocol, Sequence

from ..errors import DicomError, DicomWarning, LimitExceededError, PixelDataError, \
    TruncatedError
from .geometry import NOT_COMPARED, Diagnostic, Geometry, GeometryError, numpy
from .header_values import rescale
from .instance import Instance

if TYPE_CHECKING:
    import numpy as np


__all__ = ["Volume", "stack_volume", "series_volume", "stored_dtype", "output_dtype",
           "mask_high_bits", "is_native_frame", "nifti_image"]

class StackLike(Protocol):
    """What a volume needs of a stack (``stacks.Stack``, which sits above this module)."""

    instances: list["Instance"]
    reason: str

    @property
    def geometry(self) -> Geometry: ...

    @property
    def regular(self) -> bool: ...

    def volume(self, hounsfield: bool = True, resample: bool = False, **kw: Any) -> "Volume": ...

    def __len__(self) -> int: ...


_NIFTI_MAX_DIM = 32767
_NATIVE_LITTLE_ENDIAN = frozenset(("1.2.840.10008.1.2", "1.2.840.10008.1.2.1"))
_PALETTE = "PALETTE COLOR"
_COLOUR = frozenset(("RGB", "YBR_FULL", "YBR_FULL_422", "YBR_PARTIAL_422", "YBR_PARTIAL_420",
                     "YBR_ICT", "YBR_RCT", _PALETTE))
_PIXEL_DATA = 0x7FE00010
_UNDEFINED = 0xFFFFFFFF


@dataclass(eq=False)
class Volume:
    """A stack's pixels as one array (slices, rows, columns) and where each voxel is.

    affine: 4x4 float64, (slice, row, column) indices -> LPS mm (see geometry.Geometry);
    spacing (slice, row, column) mm; origin: LPS of voxel (0, 0, 0); direction: 3x3, the
    unit vectors of the three index axes as columns. diagnostics: the stack's geometry
    diagnostics, duplicates resolved by comparing their pixels, unreadable files, a
    resampling. filled_slices: slices no image filled (missing or unreadable), holding
    ``fill_value``. geometry: the header geometry of the stack the volume came from.
    colour: True for a series of colour images (RGB, YBR_*, PALETTE COLOR): the array is
    then (slices, rows, columns, 3), RGB, as pydicom gives each image.
    """

    array: "np.ndarray"
    affine: "np.ndarray"
    spacing: tuple[float, float, float]
    origin: tuple[float, float, float]
    direction: "np.ndarray"
    diagnostics: list[Diagnostic]
    frame_of_reference_uid: str | None
    filled_slices: tuple[int, ...]
    fill_value: float
    geometry: Geometry
    colour: bool = False

    @property
    def affine_ras(self) -> "np.ndarray":
        """The affine to RAS millimetres (x and y negated)."""
        return numpy().diag([-1.0, -1.0, 1.0, 1.0]) @ self.affine

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.array.shape)

    def __repr__(self) -> str:
        kinds = ", ".join(sorted({d.kind for d in self.diagnostics})) or "no diagnostics"
        spacing = " x ".join(f"{v:g}" for v in self.spacing)
        return f"<Volume {self.shape} {self.array.dtype}, spacing {spacing} mm, {kinds}>"

    def to_nifti(self, path: str | os.PathLike[str]) -> Path:
        """Write a NIfTI-1 file (``.nii`` or ``.nii.gz``) with nibabel (``rawdicom[nifti]``).

        NIfTI indexes voxels (i, j, k) = (column, row, slice) and maps them to RAS, so the
        array is written transposed (a view: no copy) and the affine's columns permuted
        the same way. The sform holds the affine (code 1, scanner); the qform too unless
        the affine is sheared (gantry tilt), which a quaternion cannot express (code 0).
        A colour volume is written as RGB24 (NIfTI's 8 bits per sample: 16-bit samples
        are scaled to 8 bits, v * 255 / 65535 rounded).
        """
        try:
            import nibabel
        except ImportError as exc:
            raise ImportError("Volume.to_nifti needs nibabel: pip install rawdicom[nifti]"
                              ) from exc
        np = numpy()
        if max(self.array.shape) > _NIFTI_MAX_DIM:  # NIfTI-1's dim[] is int16
            raise LimitExceededError(f"a volume of shape {self.array.shape}: NIfTI-1 holds at "
                                     f"most {_NIFTI_MAX_DIM} voxels along an axis")
        affine = self.affine_ras[:, [2, 1, 0, 3]]
        image = nifti_image(self.nifti_array(), affine)
        image.header.set_xyzt_units("mm")
        image.set_sform(affine, code=1)
        columns = affine[:3, :3] / np.linalg.norm(affine[:3, :3], axis=0)
        orthogonal = np.allclose(columns.T @ columns, np.eye(3), atol=1e-6)
        image.set_qform(affine if orthogonal else None, code=1 if orthogonal else 0)
        nibabel.save(image, os.fspath(path))
        return Path(path)

    def nifti_array(self) -> "np.ndarray":
        """The array as NIfTI lays it out: axes reversed (column, row, slice[, volume]); a
        colour volume's samples as one RGB24 value per voxel."""
        data = _rgb24(self.array) if self.colour else self.array
        return data.transpose(tuple(reversed(range(data.ndim))))


def nifti_image(data: "np.ndarray", affine: "np.ndarray") -> Any:
    """A nibabel ``Nifti1Image`` of ``data`` in its own type. 64-bit integers (a rescale
    with a huge integral slope gives them) are kept exact as NIfTI's INT64/UINT64, which
    nibabel writes only when asked for by name."""
    import nibabel
    wide = data.dtype.kind in "iu" and data.dtype.itemsize == 8
    return nibabel.Nifti1Image(data, affine, dtype=data.dtype if wide else None)


def _rgb24(array: "np.ndarray") -> "np.ndarray":
    """(..., 3) RGB samples as NIfTI RGB24 values (nibabel's structured R, G, B dtype)."""
    np = numpy()
    if array.dtype == np.uint16:
        array = ((array.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    elif array.dtype != np.uint8:
        raise ValueError(f"NIfTI RGB24 holds 8-bit samples, not {array.dtype}")
    rgb = np.dtype([("R", "u1"), ("G", "u1"), ("B", "u1")])
    return np.ascontiguousarray(array).view(rgb)[..., 0]


# ---------------------------------------------------------------- the output type

def getter(inst: Instance) -> Callable[[str], Any]:
    """``inst.get`` without a default (None: absent): for a file's own image (no frame or
    tile values over its record) the record's ``dict.get`` itself, one call less per
    look-up; the checks below run for each of the thousands of images of a 4-D series."""
    return inst.record.get if type(inst) is Instance and inst.frame is None else inst.get


def stored_dtype(inst: "Instance") -> "np.dtype":
    """The little-endian numpy type of an image's stored values (Bits Allocated, Pixel
    Representation); PixelDataError for what no grayscale volume holds."""
    get = getter(inst)
    bits, signed = get("bits_allocated"), get("pixel_representation")
    if signed is None:
        signed = 0
    if bits not in (8, 16, 32) or signed not in (0, 1):
        raise PixelDataError(f"{inst.get('path')}: Bits Allocated {bits}, Pixel Representation "
                             f"{signed}: not a grayscale volume rawdicom builds")
    return _little_endian(bits, signed)


@functools.lru_cache(maxsize=None)
def _little_endian(bits: int, signed: int) -> "np.dtype":
    """The type of (Bits Allocated, Pixel Representation): made once, asked per slice."""
    return numpy().dtype(f"<{'ui'[signed]}{bits // 8}")


def _stored_range(bits: Any, dtype: "np.dtype", path: Any) -> tuple[int, int]:
    """The stored values Bits Stored (None: all bits) and the stored type allow."""
    bits = dtype.itemsize * 8 if bits is None else bits
    if not isinstance(bits, int) or not 1 <= bits <= dtype.itemsize * 8:
        raise PixelDataError(f"{path}: Bits Stored {bits!r} with Bits Allocated "
                             f"{dtype.itemsize * 8}")
    if dtype.kind == "i":
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def output_dtype(instances: Sequence["Instance"], hounsfield: bool) -> "np.dtype":
    """The smallest dtype that holds every rescaled value exactly, float32 if none does."""
    np = numpy()
    lo, hi, stored = math.inf, -math.inf, set()
    kinds = {(rescale(i, hounsfield), stored_dtype(i), i.get("bits_stored")): i.get("path")
             for i in instances}
    for ((slope, intercept), dtype, bits), path in kinds.items():
        a, b = _stored_range(bits, dtype, path)
        if not (slope.is_integer() and intercept.is_integer()):
            return np.dtype(np.float32)
        ends = (a * slope + intercept, b * slope + intercept)
        lo, hi = min(lo, *ends), max(hi, *ends)
        stored.add(dtype.newbyteorder("="))
    candidates = sorted(stored, key=lambda t: t.itemsize) + [
        np.dtype(t) for t in (np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32,
                              np.int64)]
    fitting = [t for t in candidates if np.iinfo(t).min <= lo and hi <= np.iinfo(t).max]
    if not fitting:
        return np.dtype(np.float32)
    return min(fitting, key=lambda t: t.itemsize)  # a stored type first among equals


# ---------------------------------------------------------------- reading slices

def mask_high_bits(arr: "np.ndarray", bits_stored: int) -> None:
    """Clear (unsigned) or sign-extend (signed) the bits above Bits Stored, in place."""
    np = numpy()
    shift = arr.dtype.itemsize * 8 - bits_stored
    if shift <= 0 or arr.size == 0:
        return
    if arr.dtype.kind == "i":
        limit = 1 << (bits_stored - 1)
        if arr.min() >= -limit and arr.max() < limit:
            return
    elif arr.max() < (1 << bits_stored):
        return
    np.left_shift(arr, shift, out=arr)
    np.right_shift(arr, shift, out=arr)


def is_colour(inst: "Instance") -> bool:
    """Whether an image is in colour: RGB or YBR samples, or PALETTE COLOR indices."""
    get = getter(inst)
    photometric = get("photometric_interpretation")
    return (isinstance(photometric, str) and photometric.strip().upper() in _COLOUR) \
        or get("samples_per_pixel") == 3


def is_native_frame(inst: "Instance") -> bool:
    """Whether the frame's bytes are the stored values at a known offset of the file."""
    get = getter(inst)
    offset, length, samples = get("pixel_data_offset"), get("pixel_data_length"), \
        get("samples_per_pixel")
    if (get("transfer_syntax_uid") not in _NATIVE_LITTLE_ENDIAN
            or (samples is not None and samples != 1) or not isinstance(offset, int)
            or not isinstance(length, int) or length == _UNDEFINED or is_colour(inst)):
        return False
    try:
        size = stored_dtype(inst).itemsize
    except PixelDataError:
        return False
    frames = get("number_of_frames")
    counts = (1 if frames is None else frames, get("rows"), get("columns"))
    if not all(isinstance(v, int) and v > 0 for v in counts):  # the decoder will say why
        return False
    return length >= counts[0] * counts[1] * counts[2] * size


class _Writer:
    """Puts stored values into a slice of the output, rescaled (colour: as decoded)."""

    def __init__(self, out: "np.ndarray", hounsfield: bool, colour: bool = False) -> None:
        self.out = out
        self.hounsfield = hounsfield
        self.colour = colour

    def store(self, slot: int, stored: "np.ndarray", inst: "Instance") -> None:
        np = numpy()
        target = self.out[slot]
        if stored.shape != target.shape:
            raise PixelDataError(f"{inst.get('path')}: pixels of shape {stored.shape}, "
                                 f"Rows x Columns {target.shape}", tag=_PIXEL_DATA)
        if self.colour:  # RGB from the pixel layer; colour images have no rescale
            target[...] = stored
            return
        slope, intercept = rescale(inst, self.hounsfield)
        if stored.dtype.kind == "f" and target.dtype.kind != "f":
            raise PixelDataError(f"{inst.get('path')}: float pixel data in a volume of "
                                 f"Bits Allocated {inst.get('bits_allocated')} integers")
        if target.dtype.kind == "f":
            if slope == 1.0 and intercept == 0.0:
                target[...] = stored
            else:  # in float64, rounded once to float32: pydicom's values, rounded
                work = np.multiply(stored, slope, dtype=np.float64)
                work += intercept
                target[...] = work
            return
        target[...] = stored  # wraps where the output is narrower: see rescale_in_place
        self.rescale_in_place(target, slope, intercept)

    @staticmethod
    def rescale_in_place(target: "np.ndarray", slope: float, intercept: float) -> None:
        """Integer rescale in the output type: exact, as the final values fit it."""
        np = numpy()
        if slope != 1.0:
            np.multiply(target, modular_scalar(slope, target.dtype), out=target)
        if intercept != 0.0:
            np.add(target, modular_scalar(intercept, target.dtype), out=target)


def modular_scalar(value: float, dtype: "np.dtype") -> Any:
    """An integer as a scalar of ``dtype``, modulo 2**bits (a negative slope for uint16)."""
    bits = 8 * dtype.itemsize
    v = int(value) % (1 << bits)
    if dtype.kind == "i" and v >= 1 << (bits - 1):
        v -= 1 << bits
    return dtype.type(v)


def _read_native_frames(path: str, jobs: list[tuple[int, "Instance"]], writer: _Writer) -> None:
    """Native little endian frames: straight from the file into the volume where possible."""
    np = numpy()
    with open(path, "rb", buffering=0) as f:
        for slot, inst in jobs:
            dtype = stored_dtype(inst)
            target = writer.out[slot]
            direct = (target.dtype.kind in "iu" and target.dtype.itemsize == dtype.itemsize
                      and (dtype.isnative or dtype.itemsize == 1))
            buffer = target.view(dtype) if direct else np.empty(target.shape, dtype)
            frame_bytes = buffer.nbytes
            offset = inst.pixel_data_offset + (inst.frame or 0) * frame_bytes
            f.seek(offset)
            view = memoryview(buffer).cast("B")
            got = 0
            while got < frame_bytes:
                n = f.readinto(view[got:])
                if not n:
                    raise TruncatedError(f"{path}: frame {inst.frame or 0} ends after {got} of "
                                         f"{frame_bytes} bytes", offset=offset + got,
                                         tag=_PIXEL_DATA)
                got += n
            mask_high_bits(buffer, inst.get("bits_stored") or dtype.itemsize * 8)
            if direct:
                _Writer.rescale_in_place(target, *rescale(inst, writer.hounsfield))
            else:
                writer.store(slot, buffer, inst)


def _decode(ds: Any, jobs: list[tuple[int, "Instance"]], writer: _Writer) -> None:
    """Any other transfer syntax: each frame of the dataset decoded once, by the pixel layer."""
    for slot, inst in jobs:
        writer.store(slot, _decoded(ds, inst), inst)


def _decoded(ds: Any, inst: "Instance") -> "np.ndarray":
    """One frame from the pixel layer: stored values, RGB for YBR, PALETTE COLOR looked up."""
    import rawdicom
    from rawdicom.pixels import apply_palette
    try:
        frame = rawdicom.pixel_array(ds, frame=inst.frame)
    except IndexError:  # the frame comes from a per-frame item the pixels lack
        raise PixelDataError(f"{inst.get('path')}: frame {inst.frame} of "
                             f"{len(inst.record.get('frames') or ())} per-frame items, but "
                             f"Number of Frames is {inst.record.get('number_of_frames')!r}",
                             tag=_PIXEL_DATA) from None
    photometric = inst.get("photometric_interpretation")
    if isinstance(photometric, str) and photometric.strip().upper() == _PALETTE:
        return apply_palette(ds, frame)
    return frame


Failure = tuple[str, list[int], Exception]
_NATIVE_READ = object()  # a task whose frames are read straight from the file (no dataset)


def _map(fn: Callable[[Any], Any], items: list[Any], workers: int) -> list[Any]:
    """``[fn(item) for item in items]``, in a thread pool of ``workers`` when that helps;
    the items handed out in runs (four per thread), not one future each: a 4-D series of
    7,200 small files would spend more on futures than on its reads."""
    if workers > 1 and len(items) > 1:
        size = max(1, len(items) // (4 * workers))
        runs = [items[i:i + size] for i in range(0, len(items), size)]
        try:
            with ThreadPoolExecutor(max_workers=min(workers, len(runs))) as pool:
                return [out for run in pool.map(lambda run: [fn(i) for i in run], runs)
                        for out in run]
        except RuntimeError as exc:  # WebAssembly: no thread can start; read in this one
            if "thread" not in str(exc):
                raise
    return [fn(item) for item in items]


def _fill_slots(slots: Sequence[tuple[int, "Instance"]], out: "np.ndarray", hounsfield: bool,
                threads: int | None) -> list[Failure]:
    """Read every (slot, image) into ``out`` in a thread pool; the files that failed back.

    A task is one file, except a compressed multi-frame file: it is read once, here, and
    its frames are decoded in parallel from that one dataset (its first frame decoded
    here first, so that every lazily decoded element is in place before threads share it).
    """
    import rawdicom
    by_file: dict[str, list[tuple[int, "Instance"]]] = {}
    for slot, inst in slots:
        by_file.setdefault(str(inst.path), []).append((slot, inst))
    writer = _Writer(out, hounsfield, colour=out.ndim == 4)
    workers = min(threads or os.cpu_count() or 1, 8)
    failed: dict[str, Failure] = {}
    tasks: list[tuple[str, list[tuple[int, "Instance"]], Any]] = []
    for path, jobs in by_file.items():
        native = all(is_native_frame(inst) for _, inst in jobs)
        if native or len(jobs) == 1 or workers == 1:
            tasks.append((path, jobs, _NATIVE_READ if native else None))
            continue
        try:
            ds = rawdicom.read(path)
            _decode(ds, jobs[:1], writer)
        except (DicomError, OSError) as exc:
            failed[path] = (path, [slot for slot, _ in jobs], exc)
            continue
        size = -(-(len(jobs) - 1) // workers)
        tasks += [(path, jobs[i:i + size], ds) for i in range(1, len(jobs), size)]

    def run(task: tuple[str, list[tuple[int, "Instance"]], Any]) -> Failure | None:
        path, jobs, ds = task
        try:
            if ds is _NATIVE_READ:
                _read_native_frames(path, jobs, writer)
            elif ds is not None:
                _decode(ds, jobs, writer)
            else:
                _decode(rawdicom.read(path), jobs, writer)
        except (DicomError, OSError) as exc:
            return path, [slot for slot, _ in jobs], exc
        return None

    for failure in _map(run, tasks, workers):
        if failure is not None:
            path, slots_, exc = failure
            known = failed.setdefault(path, (path, [], exc))
            known[1].extend(slots_)
    return list(failed.values())


def fill_time_points(out: "np.ndarray", volumes: Sequence[tuple[int, Sequence["Instance"]]],
                     slice_index: Sequence[int], hounsfield: bool, threads: int | None,
                     fill: float) -> list[Diagnostic]:
    """Time points of a 4-D array read straight into ``out[t]``, all in one thread pool.

    ``volumes``: (t, images) whose image k lies at slot ``slice_index[k]`` of a grid
    already checked (every slot filled once: no missing slice, no duplicate); each slice
    is one ``readinto`` into its place where its bytes are the stored values, without a
    volume, a geometry or a pool per time point. A file that cannot be read leaves its
    slices at ``fill``, with an ``unreadable`` diagnostic, as ``stack_volume`` does.
    """
    per = out.shape[1]
    flat = out.reshape(-1, *out.shape[2:])  # a view: out is C-contiguous
    jobs = [(t * per + slice_index[k], inst) for t, images in volumes
            for k, inst in enumerate(images)]
    failures = _fill_slots(jobs, flat, hounsfield, threads)
    slot_of = dict(enumerate(slice_index))
    diagnostics: list[Diagnostic] = []
    for path, slots, exc in failures:
        for slot in slots:
            flat[slot] = fill
        local = (path, sorted({slot % per for slot in slots}), exc)
        diagnostics += [d for d in _unreadable([local], slot_of, 4) if d not in diagnostics]
    return diagnostics


# ---------------------------------------------------------------- volumes

def _check(stack: StackLike) -> tuple[Geometry, bool]:
    """The stack's geometry, and whether its images are in colour (all, or none)."""
    geometry = stack.geometry
    colour = {is_colour(inst) for inst in stack.instances}
    samples = {inst.get("samples_per_pixel", 1) for inst in stack.instances}
    if len(colour) > 1:
        raise PixelDataError(f"{stack.instances[0].get('path')}: the stack mixes colour and "
                             "grayscale images")
    if samples - {1, 3} or (colour == {False} and samples != {1}):
        raise PixelDataError(f"{stack.instances[0].get('path')}: volumes are built from "
                             f"grayscale or colour images; Samples per Pixel {samples}")
    if min(geometry.shape[1:]) < 1:
        raise PixelDataError(f"{stack.instances[0].get('path')}: Rows x Columns "
                             f"{geometry.shape[1]} x {geometry.shape[2]}")
    return geometry, colour == {True}


def _colour_dtype(stack: StackLike) -> "np.dtype":
    """The type of a colour stack's RGB samples: its first image's, decoded (a palette's
    entries may be 8 or 16 bits whatever Bits Allocated says)."""
    import rawdicom
    first = stack.instances[0]
    return _decoded(rawdicom.read(str(first.path)), first).dtype


def _fill_for(dtype: "np.dtype", fill_value: float | None) -> float:
    np = numpy()
    if fill_value is not None:
        return fill_value
    return math.nan if dtype.kind == "f" else int(np.iinfo(dtype).min)


def _unreadable(failures: list[Failure], slot_of: dict[int, int], stacklevel: int
                ) -> list[Diagnostic]:
    """One ``unreadable`` diagnostic (and a warning pointing at the caller of
    ``Stack.volume``, ``stacklevel`` frames up) per file; ``slot_of``: image -> slot."""
    diags = []
    for path, slots, exc in failures:
        involved = tuple(k for k, s in slot_of.items() if s in slots)
        message = f"{path} could not be read ({exc}); its slice(s) hold the fill value"
        warnings.warn(message, DicomWarning, stacklevel=stacklevel)
        diags.append(Diagnostic("unreadable", involved, None, None, message))
    return diags


def _compare_duplicates(stack: StackLike, geometry: Geometry, out: "np.ndarray",
                        hounsfield: bool, threads: int | None) -> list[Diagnostic]:
    """Duplicate-position diagnostics with their pixels compared to the slice used."""
    np = numpy()
    diags = []
    for diag in geometry.diagnostics:
        if diag.kind != "duplicate_position":
            diags.append(diag)
            continue
        first, others = diag.slices[0], diag.slices[1:]
        scratch = np.empty((len(others), *out.shape[1:]), dtype=out.dtype)
        failed = _fill_slots([(j, stack.instances[k]) for j, k in enumerate(others)],
                             scratch, hounsfield, threads)
        used = out[geometry.slice_index[first]]
        notes = []
        for j, k in enumerate(others):
            if any(j in slots for _, slots, _ in failed):
                notes.append(f"image {k} could not be read")
                continue
            a, b = scratch[j], used
            differ = int(np.count_nonzero((a != b) & ~(np.isnan(a) & np.isnan(b))) if a.dtype.kind
                         == "f" else np.count_nonzero(a != b))
            if differ:
                delta = float(np.nanmax(np.abs(a.astype(np.float64) - b.astype(np.float64))))
                notes.append(f"image {k}: different pixels ({differ} voxels differ, by up to "
                             f"{delta:g})")
            else:
                notes.append(f"image {k}: identical pixels")
        message = diag.message.replace(NOT_COMPARED, "pixels compared: " + "; ".join(notes))
        diags.append(replace(diag, message=message))
    return diags


def stack_volume(stack: StackLike, *, hounsfield: bool = True, resample: bool = False,
                 threads: int | None = None, fill_value: float | None = None,
                 into: "np.ndarray | None" = None) -> Volume:
    """The volume of one stack.

    hounsfield: apply each slice's Rescale Slope/Intercept (modality values: HU for CT);
        False keeps the stored values. resample: interpolate onto an orthogonal, uniform
        grid (float32) when the stack is tilted, non-uniform, drifting or has missing
        slices; without it such irregular stacks (non-uniform spacing, drift) raise
        GeometryError (a ValueError), and tilted ones keep a sheared affine. threads: files
        read at once (default: the cores, at most 8). fill_value: for slices no image fills
        (default NaN for float volumes, the type's minimum for integer ones, 0 for colour).

    A stack of colour images (RGB, YBR_*, PALETTE COLOR) gives a colour Volume: (slices,
    rows, columns, 3) RGB, each image as the pixel layer decodes it (YBR converted,
    palette indices looked up), without rescale; it is not resampled.

    into: an array to fill instead of a new one (a time point of a 4-D volume, so that its
    peak memory is the output plus a slice), used when it has the volume's shape and an
    integer or float type that holds every value (the caller's choice); else ignored.
    """
    np = numpy()
    geometry, colour = _check(stack)
    needs_resample = (not geometry.regular or geometry.tilted or bool(geometry.missing_slices))
    if resample and needs_resample:
        if colour:
            raise GeometryError("colour volumes are not resampled: the stack needs it ("
                                + ", ".join(sorted(geometry.kinds())) + ")")
        return _resampled(stack, geometry, hounsfield, threads, fill_value)
    if not geometry.regular:
        blocking = "; ".join(str(d) for d in geometry.diagnostics
                             if d.kind in ("non_uniform_spacing", "in_plane_drift"))
        raise GeometryError(f"the stack is no regular grid ({blocking}); "
                            "volume(resample=True) interpolates it onto one")
    dtype = _colour_dtype(stack) if colour else output_dtype(stack.instances, hounsfield)
    shape = geometry.shape + ((3,) if colour else ())
    from .allocation import check_bytes, check_grid, check_held
    where = str(stack.instances[0].path)
    check_held(stack.instances)
    check_grid(shape[0], len(set(geometry.slice_index)),
               dtype.itemsize * math.prod(shape[1:]), where)
    check_bytes(shape, dtype.itemsize, where)
    if into is not None and not colour and into.shape == shape and into.dtype.kind in "iuf":
        out, dtype = into, into.dtype
    else:
        out = np.empty(shape, dtype=dtype)
    fill = (fill_value or 0) if colour else _fill_for(dtype, fill_value)
    firsts: dict[int, int] = {}
    for k, slot in enumerate(geometry.slice_index):
        firsts.setdefault(slot, k)
    failures = _fill_slots([(slot, stack.instances[k]) for slot, k in firsts.items()], out,
                           hounsfield, threads)
    filled = set(geometry.missing_slices)
    for _, slots, _ in failures:
        filled.update(slots)
    for slot in filled:
        out[slot] = fill
    diagnostics = _compare_duplicates(stack, geometry, out, hounsfield, threads)
    diagnostics += _unreadable(failures, {k: slot for slot, k in firsts.items()}, 4)
    return Volume(out, geometry.affine.copy(), geometry.spacing, geometry.origin,
                  geometry.direction.copy(), diagnostics,
                  stack.instances[0].get("frame_of_reference_uid"), tuple(sorted(filled)),
                  fill, geometry, colour)


# ---------------------------------------------------------------- resampling

def _shift(arr: "np.ndarray", shift: float, axis: int, fill: float) -> "np.ndarray":
    """``out[i] = arr[i - shift]`` along ``axis``, linear between neighbours, fill outside."""
    np = numpy()
    whole = math.floor(-shift)
    frac = -shift - whole
    if frac < 1e-6:
        frac = 0.0
    elif frac > 1 - 1e-6:
        whole, frac = whole + 1, 0.0
    n = arr.shape[axis]
    out = np.full(arr.shape, fill, dtype=np.float32)
    reach = 1 if frac else 0
    lo, hi = max(0, -whole), min(n, n - whole - reach)  # i with 0 <= i+whole, i+whole+reach < n
    if lo >= hi:
        return out
    take = [slice(None)] * arr.ndim
    put = [slice(None)] * arr.ndim
    put[axis] = slice(lo, hi)
    take[axis] = slice(lo + whole, hi + whole)
    part = arr[tuple(take)].astype(np.float32)
    if frac:
        take[axis] = slice(lo + whole + 1, hi + whole + 1)
        part = part * np.float32(1 - frac) + arr[tuple(take)].astype(np.float32) * np.float32(frac)
    out[tuple(put)] = part
    return out


def _in_plane(slice_: "np.ndarray", rows: float, columns: float, fill: float) -> "np.ndarray":
    return _shift(_shift(slice_, rows, 0, fill), columns, 1, fill)


def _resampled(stack: StackLike, geometry: Geometry, hounsfield: bool, threads: int | None,
               fill_value: float | None) -> Volume:
    """Interpolate the stack onto an orthogonal grid (normal, column and row cosines).

    Every distinct slice is read once (float32); each output slice lies between two
    input slices along the normal and takes their values at its in-plane position
    (bilinear, for the in-plane offsets a tilt or drift gives each input slice),
    weighted linearly by depth.
    """
    np = numpy()
    firsts: dict[int, int] = {}
    for k, slot in enumerate(geometry.slice_index):
        firsts.setdefault(slot, k)
    order = list(firsts.values())  # the first image at each distinct position
    from .allocation import check_bytes, check_grid, check_held
    where = str(stack.instances[0].path)
    check_held(stack.instances)
    check_bytes((len(order), *geometry.shape[1:]), 4, where)
    source = np.empty((len(order), *geometry.shape[1:]), dtype=np.float32)
    failures = _fill_slots(list(enumerate(stack.instances[k] for k in order)), source,
                           hounsfield, threads)
    fill = math.nan if fill_value is None else fill_value
    bad = {slot for _, slots, _ in failures for slot in slots}
    keep = [j for j in range(len(order)) if j not in bad]
    if not keep:
        raise PixelDataError("no slice of the stack could be read")
    depths = geometry.depths[[order[j] for j in keep]]
    positions = geometry.positions[[order[j] for j in keep]]
    n, c, r = geometry.direction[:, 0], geometry.direction[:, 1], geometry.direction[:, 2]
    _, row_spacing, column_spacing = geometry.spacing
    origin = geometry.positions[0]
    offsets = (positions - origin) - np.outer(depths - depths[0], n)
    if len(keep) > 1:
        gaps = np.diff(depths)
        nominal = float(np.median(gaps)) if not geometry.regular else geometry.spacing[0]
        count = max(int(round((depths[-1] - depths[0]) / nominal)) + 1, 2)
        step = float((depths[-1] - depths[0]) / (count - 1))
    else:
        count, step = 1, geometry.spacing[0]
    check_grid(count, len(keep), 4 * geometry.shape[1] * geometry.shape[2],
               f"{where}: the resampled grid")
    check_bytes((count, *geometry.shape[1:]), 4, f"{where}: the resampled grid")
    out = np.empty((count, *geometry.shape[1:]), dtype=np.float32)
    for t in range(count):
        z = depths[0] + t * step
        k = int(np.clip(np.searchsorted(depths, z, side="right") - 1, 0, max(len(keep) - 2, 0)))
        weight = 0.0 if len(keep) == 1 else float((z - depths[k]) / (depths[k + 1] - depths[k]))
        weight = min(max(weight, 0.0), 1.0)
        planes = [(k, 1.0 - weight)] + ([(k + 1, weight)] if weight > 1e-6 else [])
        acc = np.zeros(geometry.shape[1:], dtype=np.float32)
        for j, w in planes:
            # input slice j is offset in-plane by offsets[j]: output (i, l) is its (i - di, l - dl)
            shifted = _in_plane(source[keep[j]], float(offsets[j] @ c) / row_spacing,
                                float(offsets[j] @ r) / column_spacing, math.nan)
            acc += np.float32(w) * shifted
        out[t] = np.where(np.isnan(acc), np.float32(fill), acc)
    affine = np.eye(4)
    affine[:3, 0] = step * n
    affine[:3, 1] = row_spacing * c
    affine[:3, 2] = column_spacing * r
    affine[:3, 3] = origin
    slot_of = {k: j for j, k in enumerate(order)}
    diagnostics = [d for d in geometry.diagnostics]
    diagnostics.append(Diagnostic(
        "resampled", tuple(order), step, None,
        f"{len(keep)} slices interpolated onto an orthogonal grid of {count} slices "
        f"{step:.4f} mm apart (linear along the normal, bilinear in-plane)"))
    diagnostics += _unreadable(failures, slot_of, 5)
    return Volume(out, affine, (step, row_spacing, column_spacing), tuple(float(v) for v in origin),
                  geometry.direction.copy(), diagnostics,
                  stack.instances[0].get("frame_of_reference_uid"), (), fill, geometry)


def series_volume(stacks: Sequence[StackLike], **kw: Any) -> Volume:
    """The volume of a series' largest regular stack; a warning names the stacks left out.

    ``kw`` goes to :func:`stack_volume`. Without a regular stack the largest one is used
    (which needs ``resample=True``).
    """
    if not stacks:
        raise GeometryError("the series has no images")
    chosen = next((s for s in stacks if s.regular), stacks[0])
    left = [s for s in stacks if s is not chosen]
    if left:
        warnings.warn(f"the volume holds {len(chosen)} image(s) ({chosen.reason}); left out: "
                      + "; ".join(f"{len(s)} image(s) with {s.reason}" for s in left),
                      DicomWarning, stacklevel=3)  # the caller of Series.volume()
    return chosen.volume(**kw)
