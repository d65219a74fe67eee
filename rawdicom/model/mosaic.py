"""Siemens mosaics: one classic image holding N slices tiled in one frame.

An image whose ImageType contains ``MOSAIC`` is expanded into N virtual slices
(:class:`MosaicSlice`, instances whose position, Rows and Columns are the tile's) once the
series is split into stacks of files (``fourd.regroup``), so the geometry and 4-D code see
slices as for any other series; the pixels are cut from the frame when the volume is read
(:func:`read_tiles`).

The count N, in order of preference: (0019,xx0A) under ``SIEMENS MR HEADER``, the CSA
image header's ``NumberOfImagesInMosaic`` (both in the record: ``mosaic_images``), the CSA
series header's protocol ``sSliceArray.lSize`` (read from the file here, only when the
record has no count: anonymisers strip the first two), which the stack then says in a
``mosaic_count_from_protocol`` diagnostic. Without any, the image stays 2-D and its stack
says "mosaic without NumberOfImagesInMosaic" (dcm2niix guesses there). A CSA header found
without its private creator (``rawdicom.vendor.siemens.looks_like_csa``) is used, and a
``csa_without_creator`` diagnostic says so (:func:`diagnostics`).

The count is checked before anything is built from it: at most :data:`MAX_SLICES`, at
least one pixel per tile, and a native frame's bytes all present; a mosaic that fails is
left 2-D with the reason in its ``mosaic_not_cut`` diagnostic (:func:`not_cut`).

The frame holds ceil(sqrt(N))² tiles in row-major order; the first N are slices. A frame
whose Rows or Columns the grid does not divide is left 2-D with a ``mosaic_not_cut``
diagnostic (nibabel's test file 0.dcm, 48 images in 256x256: dcm2niix cuts 36x36 tiles
and leaves 4 pixels over, nibabel computes a fractional tile size and cannot reshape). Slice 0's
first voxel is not the mosaic's Image Position (Patient), which is that of the whole frame's
first voxel with the tile size: it is shifted by ((mosaic columns − tile columns) / 2)
column spacings along the row direction and ((mosaic rows − tile rows) / 2) row spacings
along the column direction (the shift nibabel's ``MosaicWrapper.image_position`` and
dcm2niix apply). Slice k is k slice spacings further along the CSA ``SliceNormalVector``
(its sign gives the order of the tiles; the cross product of the cosines cannot), else along
the protocol's ``sSliceArray.asSlice[0].sNormal`` negated when the protocol numbers the
slices in reverse (``sSliceArray.ucImageNumbSag/Cor/Tra``: the first tile is then the last
slice along the normal). The slice spacing is Spacing Between Slices, else the distance of
the protocol's first two slice positions, else Slice Thickness.
:func:`protocol_check` compares the result with the protocol's slice positions.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Sequence

from ..errors import DicomError
from .header_values import finite_floats, positive_float, unit_vector
from .instance import Instance
from .volume import is_native_frame, mask_high_bits, stored_dtype

__all__ = ["MosaicSlice", "is_mosaic", "expand", "read_tiles", "protocol_check",
           "series_header", "series_protocol",
           "diagnostics", "not_cut", "NO_COUNT", "MAX_SLICES"]

NO_COUNT = "mosaic without NumberOfImagesInMosaic"
#: The most slices a mosaic may hold (real ones: up to a few hundred); a larger count is
#: taken as broken rather than building that many slices.
MAX_SLICES = 1024
_UNDEFINED = 0xFFFFFFFF
_CSA_SERIES = tuple(0x00290000 | b for b in range(0x10, 0x100)) + tuple(
    0x00290000 | b << 8 | 0x20 for b in range(0x10, 0x100))


class MosaicSlice(Instance):
    """One tile of a mosaic as an image: the file's record with the tile's position, Rows,
    Columns and ``mosaic_tile`` (its index in the frame), ``mosaic_grid`` (tiles per side),
    ``mosaic_slices`` (N)."""

    __slots__ = ()

    def __init__(self, record: dict[str, Any], values: dict[str, Any]) -> None:
        super().__init__(record)
        self._frame_values = values

    def __repr__(self) -> str:
        return f"<MosaicSlice {self._frame_values['mosaic_tile']} of {self.record.get('path')}>"


def is_mosaic(inst: Instance) -> bool:
    return any(str(t).upper() == "MOSAIC" for t in inst.get("image_type") or ())


@functools.lru_cache(maxsize=256)
def series_header(path: str) -> tuple[dict[str, Any] | None, bool]:
    """(the ASCCONV protocol of a file's CSA series header, whether that header was found
    without its private creator); (None, False) without one."""
    import rawdicom
    from ..vendor.siemens import csa_header
    try:
        header = csa_header(rawdicom.read(path, tags=_CSA_SERIES), "series")
        if header is None:
            return None, False
        return header.protocol(), header.without_creator
    except (DicomError, OSError):
        return None, False


def series_protocol(path: str) -> dict[str, Any] | None:
    """The ASCCONV protocol of a file's CSA series header (read from the file), or None."""
    return series_header(path)[0]


def _protocol_vector(protocol: dict[str, Any], name: str, index: int = 0
                     ) -> tuple[float, float, float] | None:
    prefix = f"sSliceArray.asSlice[{index}].{name}."
    keys = [prefix + axis for axis in ("dSag", "dCor", "dTra")]
    if not any(k in protocol for k in keys):
        return None
    try:
        out = tuple(float(protocol.get(k, 0.0)) for k in keys)
    except (TypeError, ValueError, OverflowError):  # an int of hundreds of digits
        return None
    return out if all(math.isfinite(v) for v in out) else None  # type: ignore[return-value]


def protocol_positions(protocol: dict[str, Any]) -> list[tuple[float, float, float]]:
    """The slice centres the protocol lists (LPS mm: dSag, dCor, dTra are x, y, z)."""
    try:
        count = int(protocol.get("sSliceArray.lSize", 0))
    except (TypeError, ValueError, OverflowError):  # 1e999 in the text is an infinite float
        return []
    out = []
    for i in range(min(count, 1024)):
        p = _protocol_vector(protocol, "sPosition", i)
        out.append(p if p is not None else (0.0, 0.0, 0.0))
    return out


def _protocol_normal(protocol: dict[str, Any]) -> tuple[float, float, float] | None:
    n = unit_vector(_protocol_vector(protocol, "sNormal") or ())
    if n is None:
        return None
    axis = max(range(3), key=lambda i: abs(n[i]))
    reversed_ = protocol.get("sSliceArray.ucImageNumb" + ("Sag", "Cor", "Tra")[axis])
    try:
        reversed_ = bool(int(reversed_)) if reversed_ is not None else False
    except (TypeError, ValueError, OverflowError):
        reversed_ = False
    return (-n[0], -n[1], -n[2]) if reversed_ else n


def _count(inst: Instance) -> tuple[int | None, str]:
    """(N, where it was found: "header" or "protocol"), or (None, why there is none)."""
    count: Any = inst.get("mosaic_images")
    source = "header"
    if not count:
        protocol = series_protocol(str(inst.get("path")))
        count = protocol.get("sSliceArray.lSize") if protocol else None
        source = "protocol"
        if count is None:
            return None, NO_COUNT
    if isinstance(count, float) and count.is_integer():
        count = int(count)
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= MAX_SLICES:
        shown = str(count) if len(str(count)) <= 20 else str(count)[:20] + "..."
        return None, f"slice count {shown} (from the {source}) is outside 1..{MAX_SLICES}"
    return count, source


def _tiling(inst: Instance) -> tuple[int, int, str] | str:
    """(N, tiles per side, where N was found) of a mosaic, or why it cannot be cut: the
    count is checked against the frame and the pixels present before anything is built."""
    count, source = _count(inst)
    if count is None:
        return source
    rows, columns = inst.get("rows"), inst.get("columns")
    if not isinstance(rows, int) or not isinstance(columns, int) or rows < 1 or columns < 1:
        return f"Rows x Columns {rows!r}x{columns!r} is no frame"
    grid = math.isqrt(count - 1) + 1  # ceil(sqrt(N)) without floats
    if rows % grid or columns % grid:
        return (f"Rows x Columns {rows}x{columns} not divisible into its {grid}x{grid} tile "
                "grid")
    length, bits = inst.get("pixel_data_length"), inst.get("bits_allocated")
    if (isinstance(length, int) and length != _UNDEFINED and isinstance(bits, int)
            and inst.get("transfer_syntax_uid") in _NATIVE and bits > 0
            and length < rows * columns * (inst.get("samples_per_pixel") or 1) * bits // 8):
        return f"the pixel data holds {length} bytes, less than one {rows}x{columns} frame"
    if (not finite_floats(inst.get("image_orientation_patient"), 6)
            or not finite_floats(inst.get("image_position_patient"), 3)
            or not finite_floats(inst.get("pixel_spacing"), 2)):
        return "no position, orientation or pixel spacing"
    return count, grid, source


_NATIVE = frozenset(("1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2",
                     "1.2.840.10008.1.2.1.99"))


def expand(inst: Instance) -> list[Instance]:
    """A mosaic's virtual slices, in tile order; any other image's frames; a mosaic that
    cannot be cut (see :func:`not_cut`) as it is."""
    if inst.frame is not None or inst.record.get("frames") or not is_mosaic(inst):
        return inst.frames()
    tiling = _tiling(inst)
    if isinstance(tiling, str):
        return [inst]
    count, grid, count_source = tiling
    rows, columns = inst.get("rows"), inst.get("columns")
    orientation = finite_floats(inst.get("image_orientation_patient"), 6)
    position = finite_floats(inst.get("image_position_patient"), 3)
    spacing = finite_floats(inst.get("pixel_spacing"), 2)
    if not (orientation and position and spacing):  # checked by _tiling
        return [inst]
    tile_rows, tile_columns = rows // grid, columns // grid
    r, c = orientation[:3], orientation[3:]
    row_spacing, column_spacing = spacing
    shift_r = (columns - tile_columns) / 2 * column_spacing  # along the row direction
    shift_c = (rows - tile_rows) / 2 * row_spacing  # along the column direction
    origin = [p + r[i] * shift_r + c[i] * shift_c for i, p in enumerate(position)]
    normal = unit_vector(inst.get("csa_slice_normal") or ())
    step = positive_float(inst.get("spacing_between_slices"))
    protocol = None
    if normal is None or not step:
        protocol = series_protocol(str(inst.get("path")))
    if normal is None and protocol:
        normal = _protocol_normal(protocol)
    source = "csa" if inst.get("csa_slice_normal") else ("protocol" if normal else "cross")
    if normal is None:
        normal = (r[1] * c[2] - r[2] * c[1], r[2] * c[0] - r[0] * c[2], r[0] * c[1] - r[1] * c[0])
    if not step and protocol:
        positions = protocol_positions(protocol)
        if len(positions) > 1:
            step = math.dist(positions[0], positions[1])
    step = step or positive_float(inst.get("slice_thickness")) or 1.0
    return [MosaicSlice(inst.record, {
        "image_position_patient": [origin[i] + k * step * normal[i] for i in range(3)],
        "rows": tile_rows, "columns": tile_columns, "mosaic_tile": k, "mosaic_grid": grid,
        "mosaic_slices": count, "mosaic_normal_source": source,
        "mosaic_count_source": count_source,
        "mosaic_frame_rows": rows, "mosaic_frame_columns": columns})
        for k in range(count)]


def not_cut(inst: Instance, slices: tuple[int, ...]) -> Any:
    """The Diagnostic of a mosaic file that :func:`expand` left whole, with the reason:
    ``mosaic_without_count`` when no count was found anywhere, else ``mosaic_not_cut``."""
    from .geometry import Diagnostic
    reason = _tiling(inst)
    if reason == NO_COUNT:
        return Diagnostic("mosaic_without_count", slices, None, None,
                          NO_COUNT + ": left 2-D (the count is in neither (0019,xx0A), the "
                          "CSA image header nor the protocol)")
    return Diagnostic("mosaic_not_cut", slices, None, None,
                      f"mosaic of {inst.get('mosaic_images') or 'an unknown number of'} "
                      f"images: {reason}: left 2-D")


def diagnostics(inst: Instance, slices: tuple[int, ...] = ()) -> list[Any]:
    """What a mosaic file's cut rests on that its headers do not say plainly: a CSA header
    found without its private creator, a count found only in the protocol."""
    from .geometry import Diagnostic
    out = []
    image_tag = inst.get("csa_without_creator")
    protocol, series_without_creator = (
        series_header(str(inst.get("path"))) if inst.get("path") else (None, False))
    missing = ([f"image header {image_tag}"] if image_tag else []) + (
        ["series header (0029,xx20)"] if series_without_creator and protocol else [])
    if missing:
        out.append(Diagnostic(
            "csa_without_creator", slices, None, None,
            f"Siemens CSA {' and '.join(missing)} read without its private creator "
            "(0029,00xx) 'SIEMENS CSA HEADER' (removed by an anonymiser?): recognised by "
            "its content"))
    if inst.get("mosaic_count_source") == "protocol":
        count = inst.get("mosaic_slices")
        out.append(Diagnostic(
            "mosaic_count_from_protocol", slices, float(count), None,
            f"NumberOfImagesInMosaic is in neither (0019,xx0A) nor the CSA image header: "
            f"the {count} slices are the protocol's sSliceArray.lSize"))
    return out


def protocol_check(slices: Sequence[Instance], tolerance: float) -> str | None:
    """A message when the slices of one mosaic file lie elsewhere along the normal than
    the protocol's slice positions (None when they agree, or there is no protocol)."""
    first = slices[0]
    protocol = series_protocol(str(first.get("path")))
    positions = protocol_positions(protocol) if protocol else []
    if len(positions) != len(slices):
        return None if not positions else (
            f"the protocol lists {len(positions)} slices, the mosaic holds {len(slices)}")
    o = [float(v) for v in first.get("image_orientation_patient")]
    r, c = o[:3], o[3:]
    n = (r[1] * c[2] - r[2] * c[1], r[2] * c[0] - r[0] * c[2], r[0] * c[1] - r[1] * c[0])
    ours = sorted(sum(a * b for a, b in zip(s.get("image_position_patient"), n)) for s in slices)
    theirs = sorted(sum(a * b for a, b in zip(p, n)) for p in positions)
    worst = max(abs(a - b) for a, b in zip(ours, theirs))
    if worst > tolerance:
        return (f"slice positions along the normal differ from the protocol's by up to "
                f"{worst:.3g} mm (tolerance {tolerance:g} mm)")
    return None


def read_tiles(inst: Instance) -> Any:
    """The stored values of a mosaic slice's file, its tiles as a view of the frame read:
    (grid, rows, grid, columns), tile k at ``[k // grid, :, k % grid, :]`` (no copy: the
    caller copies each tile once, to where it goes).

    A native little endian file is read straight from its Pixel Data offset (known from
    the header scan, ``volume.is_native_frame``); anything else through ``rawdicom.pixel_array``.
    """
    import numpy as np
    import rawdicom
    grid = inst.get("mosaic_grid")
    tile_rows, tile_columns = inst.get("rows"), inst.get("columns")
    rows, columns = inst.get("mosaic_frame_rows"), inst.get("mosaic_frame_columns")
    path = str(inst.get("path"))
    frame_record = Instance({**inst.record})  # the file as it is: mosaic Rows, Columns
    if is_native_frame(frame_record):
        dtype = stored_dtype(frame_record)
        frame = np.fromfile(path, dtype=dtype, count=rows * columns,
                            offset=inst.get("pixel_data_offset"))
        if frame.size != rows * columns:
            raise ValueError(f"{path}: the pixel data ends after {frame.size} values")
        frame = frame.reshape(rows, columns)
        mask_high_bits(frame, inst.get("bits_stored") or dtype.itemsize * 8)
    else:
        frame = rawdicom.pixel_array(rawdicom.read(path))
    if frame.shape != (rows, columns):
        raise ValueError(f"{path}: pixels of shape {frame.shape}, not {rows}x{columns}")
    return frame[:grid * tile_rows, :grid * tile_columns].reshape(
        grid, tile_rows, grid, tile_columns)
