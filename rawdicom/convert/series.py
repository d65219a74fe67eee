"""One series to its NIfTI files: the work of one task, in a worker process or in this one.

The series is split into stacks by the model (``split_stacks``: every split has its reason,
4-D and mosaics joined); each stack is either converted or refused with the reason a user
can act on, never silently repaired:

* refused: a localizer, a single image, colour, no geometry (no position/orientation), an
  irregular grid (non-uniform spacing, in-plane drift: ``Stack.volume(resample=True)``
  would interpolate, a converter should not decide that alone), missing images of a 4-D
  set, missing slices (unless ``missing="fill"``: float32 with NaN there, said in the
  manifest and the sidecar);
* converted: 3-D or 4-D, in the narrowest exact type (:func:`scaling`), with its sidecar,
  ``.bval``/``.bvec`` for diffusion; a tilted (sheared) stack twice: ``_sheared`` (the
  pixels as acquired, a sheared affine) and ``_resampled`` (interpolated onto an orthogonal
  grid, which every NIfTI reader loads);
* failed: a file whose pixels cannot be read, with the error; the other stacks go on.

Outputs are written under a staging folder (``staging``, private to this attempt), named as
they will be published; the task returns one manifest row per stack, and the committer
(:mod:`.manifest`) publishes them. A task may run twice (a Dask worker lost): each attempt
stages apart, and only one row per stack is ever committed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Sequence

from ..errors import DicomError
from ..model.layout import short_hash
from .naming import suffixed
from .sidecar import read_header, sidecar, source_files

__all__ = ["Options", "SeriesTask", "convert_series", "stack_id", "scaling"]


@dataclass(frozen=True)
class Options:
    """How stacks are written: ``extension`` ``.nii.gz`` or ``.nii``; ``missing`` ``refuse``
    or ``fill``; gzip ``level`` and ``threads``; pixel-reading ``read_threads``."""

    extension: str = ".nii.gz"
    missing: str = "refuse"
    level: int = 6
    threads: int = 1
    read_threads: int | None = None
    version: str = ""


@dataclass
class SeriesTask:
    """A series to convert: its records, its planned folders and name, the stacks already
    done (skipped), and where this attempt stages its files (a local folder, or a folder at
    an fsspec URL reached with ``storage_options``)."""

    records: list[dict[str, Any]]
    folders: tuple[str, ...]
    name: str
    planned: tuple[str, ...]
    keys: tuple[str, ...]
    staging: str
    done: frozenset[str] = frozenset()
    options: Options = field(default_factory=Options)
    storage_options: dict[str, Any] | None = None


def stack_id(series_uid: Any, stack: Any) -> str:
    """A stack's identity across runs: its series and the images it holds, each as
    (SOP Instance UID, frame or -1, mosaic tile or -1)."""
    images = sorted((str(i.get("sop_instance_uid")), -1 if i.frame is None else i.frame,
                     _tile(i)) for i in stack.instances)
    return short_hash([series_uid, images], 20)


def _tile(inst: Any) -> int:
    """A mosaic slice's tile index, -1 for any other image (read where a MosaicSlice keeps
    it: one dictionary look-up, not two attribute searches per image of a 4-D series)."""
    tile = inst.get("mosaic_tile")
    return -1 if tile is None else tile


def distinct_images(instances: Sequence[Any]) -> list[Any]:
    """One image per file and frame: the slices of a mosaic share their file's header
    values (rescale, samples, colour), so 7,200 mosaic slices are 200 checks."""
    seen: dict[tuple[int, Any], Any] = {}
    for inst in instances:
        seen.setdefault((id(inst.record), inst.frame), inst)
    return list(seen.values())


def scaling(instances: Sequence[Any]) -> tuple[str, float | None, float | None]:
    """How values are stored: ``("modality", None, None)`` when every Rescale Slope and
    Intercept is an integer (the rescaled values, exact, in the narrowest integer type);
    ``("stored", slope, intercept)`` when all images share one slope and intercept that a
    NIfTI header's float32 holds exactly (stored integers, ``scl_slope``/``scl_inter``);
    ``("float", None, None)`` otherwise (rescaled values in float32)."""
    import numpy as np
    from ..model.header_values import rescale
    pairs = {rescale(i, True) for i in instances}
    if all(s.is_integer() and b.is_integer() for s, b in pairs):
        return "modality", None, None
    if len(pairs) == 1:
        slope, intercept = next(iter(pairs))
        if float(np.float32(slope)) == slope and float(np.float32(intercept)) == intercept \
                and slope != 0:
            return "stored", slope, intercept
    return "float", None, None


def _diagnostics(diags: Sequence[Any]) -> list[dict[str, Any]]:
    return [{"kind": d.kind, "message": d.message,
             **({"measured": d.measured} if d.measured is not None else {})} for d in diags]


def _is_localizer(stack: Any) -> bool:
    values = stack.instances[0].get("image_type") or []
    return any(str(v).strip().upper() == "LOCALIZER" for v in values)


def _refusal(stack: Any, missing: str, images: Sequence[Any]) -> tuple[str | None, list[Any]]:
    """Why the stack is not converted (None: it is), and its diagnostics; ``images``: the
    stack's :func:`distinct_images`."""
    from ..model.fourd import MRStack
    from ..model.geometry import GeometryError
    from ..model.volume import is_colour
    diags = list(stack.diagnostics)
    if isinstance(stack, MRStack) and not stack.volumes:
        return "missing images: " + "; ".join(str(d) for d in diags), diags
    samples = {i.get("samples_per_pixel", 1) for i in images}
    if samples != {1} or any(is_colour(i) for i in images):  # RGB24: not written yet
        return f"colour (Samples per Pixel {sorted(samples)}): not a grayscale volume", diags
    if _is_localizer(stack):
        return "a localizer (Image Type LOCALIZER)", diags
    volumes = getattr(stack, "volumes", None)
    slices = len(volumes[0]) if volumes else len(stack)
    if slices < 2 and not (volumes and len(volumes) > 1):
        return "a single image: no volume", diags
    try:
        geometry = stack.geometry
    except GeometryError as exc:
        return f"no geometry: {exc}", diags
    if not geometry.regular:
        blocking = "; ".join(str(d) for d in geometry.diagnostics
                             if d.kind in ("non_uniform_spacing", "in_plane_drift"))
        return f"an irregular grid ({blocking or 'see diagnostics'})", diags
    if geometry.missing_slices and missing != "fill":
        return (f"missing slices {list(geometry.missing_slices)} of {geometry.shape[0]} "
                "(--missing fill writes them as NaN)"), diags
    return None, diags


def _time_step(stack: Any) -> float | None:
    from ..model.header_values import finite_number
    tr = finite_number(stack.instances[0].get("repetition_time"))
    return tr / 1000.0 if tr is not None and tr > 0 else None


def _write(path: str, volume: Any, array: Any, options: Options, *, slope: float | None = None,
           intercept: float | None = None, time_step: float | None = None) -> dict[str, Any]:
    from .nifti import write_nifti
    affine = volume.affine_ras[:, [2, 1, 0, 3]]
    with open(path, "wb") as f:
        write_nifti(f, array, affine, compress=options.extension == ".nii.gz",
                    level=options.level, threads=options.threads, slope=slope,
                    intercept=intercept, time_step=time_step if array.ndim == 4 else None,
                    description="rawdicom")
    info: dict[str, Any] = {"shape": list(reversed(array.shape)), "dtype": array.dtype.name}
    if slope is not None:
        info.update(scl_slope=slope, scl_inter=intercept)
    return info


def narrowest(array: Any) -> Any:
    """An integer array in the narrowest integer type that holds its values (Bits Stored
    allows -32768 - 1024 for a signed 16-bit CT, so the model gives int32; the values
    themselves nearly always fit int16). A copy only where the type changes."""
    import numpy as np
    if array.dtype.kind not in "iu" or array.size == 0 or array.dtype.itemsize <= 2:
        return array
    lo, hi = int(array.min()), int(array.max())
    for dtype in (np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32):
        info = np.iinfo(dtype)
        if info.min <= lo and hi <= info.max and np.dtype(dtype).itemsize < array.dtype.itemsize:
            return array.astype(dtype)
    return array


_INT32 = range(-(1 << 31), 1 << 31)  # the values of the int32 fallback below


def _stored_rescaled(stack: Any, options: Options, images: Sequence[Any] | None = None
                     ) -> tuple[Any, Any, Any, Any, Any] | None:
    """Where every image shares one integer Rescale Slope and Intercept (a CT series:
    1 and -1024) and is stored in 16 bits: the stored values read straight into a volume
    of that type and rescaled there, in place, when the rescaled values fit it (as they
    nearly always do); else kept, exact, with ``scl_slope``/``scl_inter``. No int32 volume
    (the type Bits Stored alone would need), no narrowing copy: peak memory the output.
    (volume, array, slope, intercept, how its filled slices are scaled); None where the
    images differ in their rescale or are not 16-bit (decided before any pixel is read).
    ``images``: the stack's :func:`distinct_images`, when the caller has them."""
    import numpy as np
    from ..model.header_values import rescale
    from ..model.volume import modular_scalar, output_dtype
    if images is None:
        images = distinct_images(stack.instances)
    pairs = {rescale(i, True) for i in images}
    stored = output_dtype(images, False)
    if len(pairs) != 1 or stored.kind not in "iu" or stored.itemsize != 2:
        return None
    slope, intercept = next(iter(pairs))
    limits = np.iinfo(stored)
    ends = (limits.min * int(slope) + int(intercept), limits.max * int(slope) + int(intercept))
    if min(ends) not in _INT32 or max(ends) not in _INT32:
        return None  # rescaled values 32 bits may not hold (a header's 1e30): the general path
    volume = stack.volume(hounsfield=False, threads=options.read_threads)
    array = volume.array
    fill = ("stored", slope, intercept)
    if volume.filled_slices or (slope, intercept) == (1.0, 0.0) or array.size == 0:
        return volume, array, None, None, fill  # filled slices: float32, scaled by fill
    lo, hi = int(array.min()), int(array.max())
    low, high = sorted((lo * int(slope) + int(intercept), hi * int(slope) + int(intercept)))
    for dtype in (np.int8, np.uint8, np.int16, np.uint16):  # narrowest's order
        info = np.iinfo(dtype)
        if info.min <= low and high <= info.max:
            # modulo 2**16, exact where the result fits: stored uint16 0..4095 with
            # intercept -1024 becomes int16 -1024..3071 in the same bytes
            if slope != 1.0:
                np.multiply(array, modular_scalar(slope, array.dtype), out=array)
            np.add(array, modular_scalar(intercept, array.dtype), out=array)
            signed = array.view(np.int16 if info.min < 0 else np.uint16)
            out = signed if np.dtype(dtype).itemsize == 2 else signed.astype(dtype)
            return volume, out, None, None, fill
    if float(np.float32(slope)) == slope and float(np.float32(intercept)) == intercept:
        return volume, array, slope, intercept, fill
    return volume, np.multiply(array, int(slope), dtype=np.int32) + np.int32(int(intercept)), \
        None, None, fill  # an integer rescale float32 cannot hold: int32 values


def _filled(volume: Any, mode: tuple[str, float | None, float | None]) -> Any:
    """The array as float32 with NaN in the slices no image filled (``missing="fill"``)."""
    import numpy as np
    array = volume.array.astype(np.float32)
    if mode[0] == "stored":
        array *= np.float32(mode[1])
        array += np.float32(mode[2])
    for slot in volume.filled_slices:
        array[..., slot, :, :] = np.nan
    return array


def _convert(stack: Any, task: SeriesTask, stem: str, base: dict[str, Any],
             diags: list[Any], images: Sequence[Any]) -> dict[str, Any]:
    """Write one stack's files into the staging folder; its manifest row. ``images``: the
    stack's :func:`distinct_images`."""
    from ..model import diffusion
    options = task.options
    mode = scaling(images)
    direct = _stored_rescaled(stack, options, images) if mode[0] == "modality" else None
    if direct is not None:
        volume, array, slope, intercept, mode = direct
    else:
        volume = stack.volume(hounsfield=mode[0] != "stored", threads=options.read_threads)
        array, slope, intercept = narrowest(volume.array), mode[1], mode[2]
    geometry = volume.geometry
    notes: list[str] = []
    if volume.filled_slices:
        array, slope, intercept = _filled(volume, mode), None, None
        notes.append(f"missing slices {list(volume.filled_slices)} written as NaN (float32)")
    tilted = bool(geometry.tilted)
    outputs: list[dict[str, Any]] = []
    diag_rows = _diagnostics(volume.diagnostics or diags)
    header = read_header(str(stack.instances[0].get("path")))
    acquired, why = acquisition_fields(stack, geometry, header)
    notes += why
    kinds = [("sheared" if tilted else "", volume, array, slope, intercept)]
    if tilted:
        notes.append("gantry tilt: _sheared holds the pixels as acquired (sheared affine), "
                     "_resampled the same interpolated onto an orthogonal grid")
        resampled = stack.volume(hounsfield=True, resample=True, threads=options.read_threads)
        kinds.append(("resampled", resampled, resampled.array, None, None))
    for suffix, vol, arr, s, b in kinds:
        name = suffixed(stem, suffix)
        nifti = name + options.extension
        info = _write(os.path.join(task.staging, nifti), vol, arr, options, slope=s,
                      intercept=b, time_step=_time_step(stack))
        outputs.append({"kind": "nifti_resampled" if suffix == "resampled" else "nifti",
                        "name": nifti, **info})
        side = sidecar(stack, series_instance_uid=base["series_instance_uid"],
                       reason=base["reason"], diagnostics=diag_rows, notes=notes,
                       version=options.version, header=header,
                       acquired={k: v for k, v in acquired.items()  # not of resampled slices
                                 if suffix != "resampled" or k != "SliceTiming"})
        _write_json(os.path.join(task.staging, name + ".json"), side)
        outputs.append({"kind": "sidecar", "name": name + ".json"})
        b_values = getattr(vol, "b_values", None)
        if b_values and any(v is not None for v in b_values) and arr.ndim == 4:
            vectors = diffusion.fsl_vectors(vol.gradients, vol.direction, vol.affine_ras)
            diffusion.write_fsl(os.path.join(task.staging, name), b_values, vectors)
            outputs += [{"kind": "bval", "name": name + ".bval"},
                        {"kind": "bvec", "name": name + ".bvec"}]
    return {**base, "status": "converted", "why": None, "diagnostics": diag_rows,
            "notes": notes, "outputs": outputs}


def acquisition_fields(stack: Any, geometry: Any, header: Any
                       ) -> tuple[dict[str, Any], list[str]]:
    """PhaseEncodingDirection/Axis and SliceTiming where the headers state them; the
    reasons of what is left out (see :mod:`.acquisition`)."""
    from .acquisition import phase_encoding, slice_timing
    fields, why = phase_encoding(stack.instances[0], header)
    notes = [why] if why else []
    timing, reason = slice_timing(stack, geometry, header)
    if timing is not None:
        fields["SliceTiming"] = timing
    if reason:
        notes.append(reason)
    return fields, notes


def _write_json(path: str, data: dict[str, Any]) -> None:
    import json
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, ensure_ascii=False)
        f.write("\n")


def _part(name: str, value: Any, common: set[str]) -> str:
    """A short name for one key's value (dcm2niix's habit: ``e2`` for the second echo)."""
    if isinstance(value, tuple) and len(value) == 1:
        value = value[0]
    if name == "echo_numbers" and isinstance(value, int):
        return f"e{value}"
    if name in ("echo_time", "effective_echo_time") and isinstance(value, (int, float)):
        return f"te{value:g}"
    if name == "series_number" and isinstance(value, int):
        return f"s{value}"
    if name == "image_type" and isinstance(value, tuple):
        return "-".join(str(v).lower() for v in value if str(v) not in common)
    if name in ("vendor_image_kind", "coil", "stack_id") and value is not None:
        return f"{'' if name == 'vendor_image_kind' else name.split('_')[0]}{value}".lower()
    return ""


def stack_suffixes(stacks: Sequence[Any]) -> list[str]:
    """A name suffix per stack of a series: nothing for a series of one stack, else what
    sets each apart (``e1``/``e2``, ``m``/``p``, ``s3``...), else ``stack<n>``; distinct."""
    if len(stacks) < 2:
        return [""] * len(stacks)
    keys = [dict(s.key) for s in stacks]
    names = list(dict.fromkeys(n for k in keys for n in k))
    differing = [n for n in names if len({repr(k.get(n)) for k in keys}) > 1]
    types = [set(map(str, k.get("image_type") or ())) for k in keys]
    common = set.intersection(*types) if types else set()
    out = []
    for index, key in enumerate(keys):
        parts = [_part(n, key.get(n), common) for n in differing]
        out.append("_".join(p for p in parts if p) or f"stack{index + 1}")
    if len(set(out)) < len(out):
        return [f"stack{i + 1}" for i in range(len(stacks))]
    return out


def convert_series(task: SeriesTask) -> list[dict[str, Any]]:
    """Every stack of one series not yet done: its manifest row (files staged). A staging
    folder at a URL (an fsspec output) is filled from a local temporary folder."""
    if "://" not in task.staging:  # a local folder (rawdicom.index not imported)
        return _convert_series(task)
    import shutil
    import tempfile
    from dataclasses import replace
    from ..index.storage import Folder, is_url
    if not is_url(task.staging):  # file:// names a local folder
        return _convert_series(replace(task, staging=task.staging[len("file://"):]))
    local = tempfile.mkdtemp(prefix="rawdicom-convert-")
    try:
        rows = _convert_series(replace(task, staging=local))
        folder = Folder(task.staging, task.storage_options)
        for name in sorted(os.listdir(local)):
            folder.fs.put_file(os.path.join(local, name), folder.join(name))
        return rows
    finally:
        shutil.rmtree(local, ignore_errors=True)


def _convert_series(task: SeriesTask) -> list[dict[str, Any]]:
    from ..model.instance import Instance
    from ..model.stacks import split_stacks
    instances = [Instance(r) for r in task.records]
    first = task.records[0]
    series_uid = first.get("series_instance_uid")
    stacks = split_stacks(instances)
    suffixes = stack_suffixes(stacks)
    rows = []
    for index, stack in enumerate(stacks):
        sid = stack_id(series_uid, stack)
        if sid in task.done:
            continue
        stem = suffixed(task.name, suffixes[index])
        base = {"stack_id": sid, "series_instance_uid": series_uid,
                # the stack's own values: files of one series may disagree (a SeriesNumber
                # per variant), and the stack is what the line is about
                "series_number": stack.instances[0].get("series_number"),
                "series_description": stack.instances[0].get("series_description"),
                "modality": stack.instances[0].get("modality"), "stack": index + 1,
                "stacks": len(stacks), "reason": stack.reason, "images": len(stack),
                "files": len(source_files(stack)),
                "first_file": str(stack.instances[0].get("path")),
                "folders": list(task.folders), "planned": list(task.planned),
                "keys": list(task.keys)}
        try:
            images = distinct_images(stack.instances)  # once: three checks walk them
            why, diags = _refusal(stack, task.options.missing, images)
            if why is not None:
                rows.append({**base, "status": "refused", "why": why,
                             "diagnostics": _diagnostics(diags), "notes": [], "outputs": []})
                continue
            os.makedirs(task.staging, exist_ok=True)
            rows.append(_convert(stack, task, stem, base, diags, images))
        except (DicomError, OSError, ValueError) as exc:
            rows.append({**base, "status": "failed", "why": f"{type(exc).__name__}: {exc}",
                         "diagnostics": [], "notes": [], "outputs": []})
    return rows
