"""NIfTI-1 files (``.nii``, ``.nii.gz``) written from a volume's array as it lies in memory.

Why not nibabel here: importing it costs about 0.3 s in each worker process, more than
converting a small series, and the header is one fixed 348-byte record. nibabel remains the
oracle the tests read every file back with.

A rawdicom volume is (slices, rows, columns), C order (volumes first for 4-D): its bytes are
already NIfTI's voxel order (i = column fastest, then row, then slice, then time), so the
array's own buffer is written after the header, through :mod:`.pgzip` for ``.nii.gz``,
without a copy. The affine given is the NIfTI one, (i, j, k) -> RAS mm. The sform holds it
(code 1, scanner); the qform too (code 1) unless it is sheared (gantry tilt), which a
quaternion cannot express (code 0, as ``Volume.to_nifti``).
"""

from __future__ import annotations

import math
import struct
import sys
from typing import Any, BinaryIO

from .pgzip import write_gzip

__all__ = ["write_nifti", "DATATYPES"]

#: numpy dtype name -> (NIfTI datatype code, bits per voxel)
DATATYPES = {"uint8": (2, 8), "int16": (4, 16), "int32": (8, 32), "float32": (16, 32),
             "float64": (64, 64), "int8": (256, 8), "uint16": (512, 16), "uint32": (768, 32),
             "int64": (1024, 64), "uint64": (1280, 64)}
_FORMAT = "<i10s18sihBB8h3f4h8ff2fhBB4f2i80s24s2h6f12f16s4s"
_UNITS_MM_SEC = 2 | 8
_VOX_OFFSET = 352  # the header and a 4-byte extension flag (no extension)
assert struct.calcsize(_FORMAT) == 348


def _quaternion(rotation: list[list[float]]) -> tuple[float, float, float]:
    """(b, c, d) of a proper rotation matrix (nifti1_io's mat44_to_quatern)."""
    (r11, r12, r13), (r21, r22, r23), (r31, r32, r33) = rotation
    a = r11 + r22 + r33 + 1.0
    if a > 0.5:
        a = 0.5 * math.sqrt(a)
        return 0.25 * (r32 - r23) / a, 0.25 * (r13 - r31) / a, 0.25 * (r21 - r12) / a
    xd, yd, zd = 1.0 + r11 - (r22 + r33), 1.0 + r22 - (r11 + r33), 1.0 + r33 - (r11 + r22)
    if xd > 1.0:
        b = 0.5 * math.sqrt(xd)
        c, d, a = 0.25 * (r12 + r21) / b, 0.25 * (r13 + r31) / b, 0.25 * (r32 - r23) / b
    elif yd > 1.0:
        c = 0.5 * math.sqrt(yd)
        b, d, a = 0.25 * (r12 + r21) / c, 0.25 * (r23 + r32) / c, 0.25 * (r13 - r31) / c
    else:
        d = 0.5 * math.sqrt(zd)
        b, c, a = 0.25 * (r13 + r31) / d, 0.25 * (r23 + r32) / d, 0.25 * (r21 - r12) / d
    return (-b, -c, -d) if a < 0 else (b, c, d)


def header(shape: tuple[int, ...], dtype: str, affine: Any, *, slope: float | None = None,
           intercept: float | None = None, time_step: float | None = None,
           description: str = "") -> bytes:
    """The 348-byte header and the 4-byte extension flag. ``shape`` is NIfTI's (x, y, z[, t])."""
    code, bits = DATATYPES[dtype]
    m = [[float(affine[r][c]) for c in range(4)] for r in range(4)]
    zooms = [math.sqrt(sum(m[r][c] ** 2 for r in range(3))) for c in range(3)]
    unit = [[m[r][c] / (zooms[c] or 1.0) for c in range(3)] for r in range(3)]
    gram = [[sum(unit[r][a] * unit[r][b] for r in range(3)) for b in range(3)] for a in range(3)]
    orthogonal = all(abs(gram[a][b] - (a == b)) < 1e-6 for a in range(3) for b in range(3))
    det = (unit[0][0] * (unit[1][1] * unit[2][2] - unit[1][2] * unit[2][1])
           - unit[0][1] * (unit[1][0] * unit[2][2] - unit[1][2] * unit[2][0])
           + unit[0][2] * (unit[1][0] * unit[2][1] - unit[1][1] * unit[2][0]))
    qfac = -1.0 if det < 0 else 1.0
    if orthogonal:
        rotation = [[unit[r][0], unit[r][1], qfac * unit[r][2]] for r in range(3)]
        quatern = _quaternion(rotation)
    else:
        quatern = (0.0, 0.0, 0.0)
    dims = [len(shape), *shape] + [1] * (7 - len(shape))
    pixdim = [qfac, *zooms, time_step or 0.0] + [0.0] * 3
    values = (348, b"", b"", 0, 0, ord("r"), 0, *dims, 0.0, 0.0, 0.0, 0, code, bits, 0,
              *pixdim, float(_VOX_OFFSET),
              math.nan if slope is None else slope, 0.0 if intercept is None else intercept,
              0, 0, _UNITS_MM_SEC, 0.0, 0.0, 0.0, 0.0, 0, 0,
              description.encode("ascii", "replace")[:79], b"",
              1 if orthogonal else 0, 1, *quatern, m[0][3], m[1][3], m[2][3],
              *m[0], *m[1], *m[2], b"", b"n+1\0")
    return struct.pack(_FORMAT, *values) + b"\0\0\0\0"


def write_nifti(out: BinaryIO, array: Any, affine: Any, *, compress: bool, level: int = 6,
                threads: int = 1, **kw: Any) -> int:
    """Write ``array`` ((t,) slices, rows, columns; C order) as NIfTI-1 to ``out``; ``kw``:
    slope, intercept, time_step (s), description (see :func:`header`). Returns bytes written."""
    if array.dtype.byteorder == ">" or (array.dtype.byteorder == "=" and sys.byteorder == "big"):
        array = array.astype(array.dtype.newbyteorder("<"))
    if not array.flags.c_contiguous:
        array = array.copy(order="C")
    head = header(tuple(reversed(array.shape)), array.dtype.name, affine, **kw)
    data = memoryview(array).cast("B") if array.size else memoryview(b"")
    if compress:
        return write_gzip(out, [head, data], level=level, threads=threads)
    return out.write(head) + out.write(data)
