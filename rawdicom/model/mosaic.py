"""Siemens mosaics: one classic image holding N slices tiled in one frame.

An image whose ImageType contains ``MOSAIC`` is expanded into N virtual slices
(:class:`MosaicSlice`, instances whose position, Rows and Columns are the tile's) once the
series is split into stacks of files (``fourd.regroup``), so the geometry and 4-D code see
slices as for any other series; the pixels are cut from the frame when the volume is read
(:func:`read_tiles`).

The count N, in order of preference: (0019,xx0A) under ``SIEMENS MR HEADER``, the CSA
image header's ``NumberOfImagesInMosaic`` (both in the record: ``mosaic_images``), the CSA
series header's protocol ``sSliceArray.lSize`` (read from the file here, only when the
record has no count: anonymisers strip the first two). Without any, the image stays 2-D
and its stack says "mosaic without NumberOfImagesInMosaic" (dcm2niix guesses there).

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
           "NO_COUNT"]

NO_COUNT = "mosaic without NumberOfImagesInMosaic"
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
def series_protocol(path: str) -> dict[str, Any] | None:
    """The ASCCONV protocol of a file's CSA series header (read from the file), or None."""
    import rawdicom
    from ..vendor.siemens import csa_header
    try:
        header = csa_header(rawdicom.read(path, tags=_CSA_SERIES), "series")
        return header.protocol() if header is not None else None
    except (DicomError, OSError):
        return None


def _protocol_vector(protocol: dict[str, Any], name: str, index: int = 0
                     ) -> tuple[float, float, float] | None:
    prefix = f"sSliceArray.asSlice[{index}].{name}."
    keys = [prefix + axis for axis in ("dSag", "dCor", "dTra")]
    if not any(k in protocol for k in keys):
        return None
    try:
        return tuple(float(protocol.get(k, 0.0)) for k in keys)  # type: ignore[return-value]
    except (TypeError, ValueError):
        return None


def protocol_positions(protocol: dict[str, Any]) -> list[tuple[float, float, float]]:
    """The slice centres the protocol lists (LPS mm: dSag, dCor, dTra are x, y, z)."""
    try:
        count = int(protocol.get("sSliceArray.lSize", 0))
    except (TypeError, ValueError):
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
    except (TypeError, ValueError):
        reversed_ = False
    return (-n[0], -n[1], -n[2]) if reversed_ else n


def expand(inst: Instance) -> list[Instance]:
    """A mosaic's virtual slices, in tile order; any other image's frames; a mosaic that
    cannot be cut (no count, tiles not dividing the frame) as it is."""
    if inst.frame is not None or inst.record.get("frames") or not is_mosaic(inst):
        return inst.frames()
    count = inst.get("mosaic_images")
    protocol = None
    if not count:
        protocol = series_protocol(str(inst.get("path")))
        try:
            count = int(protocol.get("sSliceArray.lSize", 0)) if protocol else 0
        except (TypeError, ValueError):
            count = 0
    rows, columns = inst.get("rows"), inst.get("columns")
    if not count or count < 1 or not isinstance(rows, int) or not isinstance(columns, int):
        return [inst]
    grid = math.ceil(math.sqrt(count))
    # Values that did not decode (a DS that is no number stays text) leave the mosaic whole.
    orientation = finite_floats(inst.get("image_orientation_patient"), 6)
    position = finite_floats(inst.get("image_position_patient"), 3)
    spacing = finite_floats(inst.get("pixel_spacing"), 2)
    if rows % grid or columns % grid or not orientation or not position or not spacing:
        return [inst]
    tile_rows, tile_columns = rows // grid, columns // grid
    r, c = orientation[:3], orientation[3:]
    row_spacing, column_spacing = spacing
    shift_r = (columns - tile_columns) / 2 * column_spacing  # along the row direction
    shift_c = (rows - tile_rows) / 2 * row_spacing  # along the column direction
    origin = [p + r[i] * shift_r + c[i] * shift_c for i, p in enumerate(position)]
    normal = unit_vector(inst.get("csa_slice_normal") or ())
    step = positive_float(inst.get("spacing_between_slices"))
    if normal is None or not step:
        protocol = protocol or series_protocol(str(inst.get("path")))
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
        "mosaic_frame_rows": rows, "mosaic_frame_columns": columns})
        for k in range(count)]


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
    """The stored values of a mosaic slice's file, its first N tiles: (N, rows, columns).

    A native little endian file is read straight from its Pixel Data offset (known from
    the header scan, ``volume.is_native_frame``); anything else through ``rawdicom.pixel_array``.
    """
    import numpy as np
    import rawdicom
    grid, count = inst.get("mosaic_grid"), inst.get("mosaic_slices")
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
    tiles = frame.reshape(grid, tile_rows, grid, tile_columns).swapaxes(1, 2)
    return tiles.reshape(grid * grid, tile_rows, tile_columns)[:count]
