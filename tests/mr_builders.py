"""MR series as scanners write them, for the 4-D / mosaic / diffusion tests and benchmark.

Built on series_builders.ct_slice (modality MR) and csa_builders (CSA headers). Pixel
values encode where they belong: ``value(t, k, r, c)`` = t*1000 + k*64 + r*8 + c for volume
t, slice k (along the normal), row r, column c (8x8 tiles), so a misplaced voxel shows.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from csa_builders import Spec, csa, protocol_text
from rawdicom import write
from series_builders import ct_slice, file_names, normal_of

OBLIQUE = (0.9659258, 0.2588190, 0.0, -0.2588190, 0.9659258, 0.0)  # 15 degrees about z
ENHANCED_MR = "1.2.840.10008.5.1.4.1.1.4.1"
# Six non-collinear unit directions (a common DTI scheme).
DIRECTIONS = [(1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0),
              (0.70710678, 0.70710678, 0.0), (0.70710678, 0.0, 0.70710678),
              (0.0, 0.70710678, 0.70710678)]


def value(t: int, k: int, r: int, c: int) -> int:
    return t * 1000 + k * 64 + r * 8 + c


def tile(t: int, k: int, rows: int = 8, columns: int = 8) -> np.ndarray:
    r, c = np.mgrid[0:rows, 0:columns]
    return (t * 1000 + k * 64 + r * 8 + c).astype(np.int16)


def positions(n: int, orientation: Sequence[float] = OBLIQUE, step: float = 3.0,
              origin: Sequence[float] = (-12.0, -20.0, 5.0)) -> list[list[float]]:
    nrm = normal_of(orientation)
    return [[origin[i] + k * step * nrm[i] for i in range(3)] for k in range(n)]


def write_4d(folder: str | Path, *, slices: int = 4, volumes: int = 10,
             orientation: Sequence[float] = OBLIQUE,
             per_volume: Callable[[int], dict[str, Any]] | None = None,
             skip: Sequence[tuple[int, int]] = (), seed: int = 0,
             reversed_numbers: bool = False, rows: int = 8, columns: int = 8,
             pixels: Callable[[int, int], np.ndarray] | None = None, **kw: Any) -> list[Path]:
    """A classic (one file per slice) MR series of ``volumes`` x ``slices``; Acquisition
    Number t+1 and Acquisition Time per volume; Instance Numbers in acquisition order (as
    scanners write them) or, ``reversed_numbers``, running against it; ``per_volume(t)``
    adds attributes (``extra``) to volume t's files; ``skip``: (t, k) not written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    pos = positions(slices, orientation)
    names = file_names(slices * volumes, "shuffled", seed)
    paths = []
    for t in range(volumes):
        for k in range(slices):
            if (t, k) in skip:
                continue
            extra = {"AcquisitionNumber": t + 1, "AcquisitionTime": f"1200{t:02d}.000000",
                     "RepetitionTime": 2000.0, "EchoTime": 30.0,
                     "SpacingBetweenSlices": 3.0, "SliceThickness": 3.0}
            args = dict(kw)
            extra.update(args.pop("extra", {}))
            if per_volume:
                extra.update(per_volume(t))
            index = t * slices + k
            ds = ct_slice(modality="MR", position=pos[k], orientation=orientation,
                          spacing=(2.0, 2.0), k=index, rows=rows, columns=columns,
                          pixels=pixels(t, k) if pixels else tile(t, k),
                          instance_number=slices * volumes - index if reversed_numbers
                          else index + 1, extra=extra, **args)
            path = folder / names[index]
            write(ds, path)
            paths.append(path)
    return paths


# ---------------------------------------------------------------- diffusion conventions

def diffusion_extra(vendor: str, b: float, g: Sequence[float] | None,
                    orientation: Sequence[float] = OBLIQUE) -> dict[str, Any]:
    """The attributes one vendor writes for a b-value and an LPS gradient direction."""
    g = tuple(g) if g is not None else (0.0, 0.0, 0.0)
    if vendor == "standard":
        out: dict[str, Any] = {"DiffusionBValue": ("FD", float(b))}
        if b:
            out["DiffusionGradientOrientation"] = ("FD", [float(v) for v in g])
        return out
    if vendor == "siemens":
        return {"Manufacturer": "SIEMENS", 0x00190010: ("LO", "SIEMENS MR HEADER"),
                0x0019100C: ("IS", str(int(b))), 0x0019100E: ("FD", [float(v) for v in g])}
    if vendor == "ge":
        r, c = orientation[:3], orientation[3:]
        nrm = normal_of(orientation)
        # GE's logical frame (frequency X, phase Y, slice Z) of a head-first-supine series
        # with COL phase encoding and axial slices, as dcm2niix and real .bvec files read
        # it: LPS = -X row - Y column + Z normal, so X = -row.g, Y = -column.g, Z = normal.g
        logical = [sum(a * b_ for a, b_ in zip(axis, g)) for axis in (r, c, nrm)]
        logical[0], logical[1] = -logical[0], -logical[1]
        return {"Manufacturer": "GE MEDICAL SYSTEMS", "InPlanePhaseEncodingDirection": "COL",
                "PatientPosition": "HFS", 0x00190010: ("LO", "GEMS_ACQU_01"),
                0x001910BB: ("DS", f"{logical[0]:.6f}"), 0x001910BC: ("DS", f"{logical[1]:.6f}"),
                0x001910BD: ("DS", f"{logical[2]:.6f}"),
                0x00430010: ("LO", "GEMS_PARM_01"),
                0x00431039: ("IS", [str(int(b) + 1000000000), "8", "0", "0"])}
    if vendor == "philips":
        return {"Manufacturer": "Philips Medical Systems", 0x2001100B: ("CS", "TRANSVERSAL"),
                0x20010010: ("LO", "Philips Imaging DD 001"), 0x20011003: ("FL", float(b)),
                0x20050010: ("LO", "Philips MR Imaging DD 001"),
                0x200510B0: ("FL", float(g[0])), 0x200510B1: ("FL", float(g[1])),
                0x200510B2: ("FL", float(g[2]))}
    raise ValueError(vendor)


def dwi_scheme() -> list[tuple[float, tuple[float, float, float] | None]]:
    """b=0 then six directions at b=1000."""
    return [(0.0, None)] + [(1000.0, d) for d in DIRECTIONS]


def write_dwi(folder: str | Path, vendor: str, *, slices: int = 3, **kw: Any) -> list[Path]:
    """b=0 and six directions as ``vendor`` writes them; Philips and the standard's also
    number the volumes in Temporal Position Identifier (which dcm2niix needs there)."""
    scheme = dwi_scheme()

    def extra(t: int) -> dict[str, Any]:
        out = diffusion_extra(vendor, *scheme[t])
        if vendor in ("philips", "standard"):
            out["TemporalPositionIdentifier"] = t + 1
        return out
    return write_4d(folder, slices=slices, volumes=len(scheme), per_volume=extra, **kw)


# ---------------------------------------------------------------- mosaics

def mosaic_image_csa(count: int | None, normal: Sequence[float] | None,
                     b: float | None = None, g: Sequence[float] | None = None) -> bytes:
    specs = [Spec("EchoLinePosition", "IS", ["4"])]
    if count is not None:
        specs.append(Spec("NumberOfImagesInMosaic", "US", [str(count)]))
    if normal is not None:
        specs.append(Spec("SliceNormalVector", "FD", [f"{v:.8f}" for v in normal]))
    if b is not None:
        specs.append(Spec("B_value", "IS", [str(int(b))]))
    if g is not None:
        specs.append(Spec("DiffusionGradientDirection", "FD", [f"{v:.8f}" for v in g]))
    return csa(specs)


def mosaic_series_csa(slice_centres: Sequence[Sequence[float]], normal: Sequence[float],
                      reversed_: bool = False) -> bytes:
    lines = [f"sSliceArray.lSize                        = {len(slice_centres)}"]
    for i, p in enumerate(slice_centres):
        for axis, v in zip(("dSag", "dCor", "dTra"), p):
            lines.append(f"sSliceArray.asSlice[{i}].sPosition.{axis} = {v:.6f}")
        for axis, v in zip(("dSag", "dCor", "dTra"), normal):
            if v:
                lines.append(f"sSliceArray.asSlice[{i}].sNormal.{axis} = {v:.8f}")
    if reversed_:
        axis = ("Sag", "Cor", "Tra")[max(range(3), key=lambda a: abs(normal[a]))]
        lines.append(f"sSliceArray.ucImageNumb{axis}              = 0x1")
    return csa([Spec("MrPhoenixProtocol", "UN", [protocol_text(lines)])])


def write_mosaics(folder: str | Path, *, count: int = 9, volumes: int = 1,
                  orientation: Sequence[float] = OBLIQUE, step: float = 3.0,
                  tile_size: int = 8, descending: bool = False,
                  count_in: Sequence[str] = ("0019", "csa"), normal_in: str = "csa",
                  diffusion: Sequence[tuple[float, Any]] | None = None,
                  names: Any = "shuffled", pixels: Callable[[int, int], np.ndarray] | None = None,
                  series_number: int = 5) -> tuple[list[Path], list[list[float]]]:
    """Siemens mosaic files (one per volume) of ``count`` slices in a ceil(sqrt)^2 grid.

    The slices' true first-voxel positions are returned with the paths. ``descending``:
    the first tile is the last slice along the cosines' normal (the CSA normal then points
    the other way). ``count_in``: where the count is written ("0019", "csa", "protocol").
    ``normal_in``: "csa", "protocol" or "none".
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    grid = math.ceil(math.sqrt(count))
    rows = columns = grid * tile_size
    nrm = normal_of(orientation)
    slice_normal = tuple(-v for v in nrm) if descending else nrm
    origin = [-30.0, -40.0, 10.0]
    # true first-voxel position of tile k (tile order)
    truth = [[origin[i] + k * step * slice_normal[i] for i in range(3)] for k in range(count)]
    r, c = orientation[:3], orientation[3:]
    shift = (columns - tile_size) / 2 * 2.0
    ipp = [truth[0][i] - r[i] * shift - c[i] * shift for i in range(3)]
    half = (tile_size - 1) / 2 * 2.0
    centres = [[p[i] + r[i] * half + c[i] * half for i in range(3)] for p in truth]
    paths = []
    file_list = file_names(volumes, names)
    for t in range(volumes):
        frame = np.zeros((rows, columns), np.int16)
        for k in range(count):
            y, x = divmod(k, grid)
            frame[y * tile_size:(y + 1) * tile_size, x * tile_size:(x + 1) * tile_size] = \
                pixels(t, k) if pixels else tile(t, k, tile_size, tile_size)
        b, g = diffusion[t] if diffusion else (None, None)
        extra: dict[str, Any] = {
            "Manufacturer": "SIEMENS", "AcquisitionNumber": t + 1,
            "AcquisitionTime": f"1200{t:02d}.000000", "SpacingBetweenSlices": step,
            "SliceThickness": step, "RepetitionTime": 2000.0, "EchoTime": 30.0,
            0x00290010: ("LO", "SIEMENS CSA HEADER"),
            0x00291010: ("OB", mosaic_image_csa(count if "csa" in count_in else None,
                                                slice_normal if normal_in == "csa" else None,
                                                b, g)),
        }
        if "protocol" in count_in or normal_in == "protocol":
            extra[0x00291020] = ("OB", mosaic_series_csa(
                centres, nrm, reversed_=descending) if normal_in == "protocol" else
                mosaic_series_csa(centres, slice_normal))
        if "0019" in count_in:
            extra[0x00190010] = ("LO", "SIEMENS MR HEADER")
            extra[0x0019100A] = ("US", count)
        if b is not None:
            extra.setdefault(0x00190010, ("LO", "SIEMENS MR HEADER"))
            extra[0x0019100C] = ("IS", str(int(b)))
            if g is not None:
                extra[0x0019100E] = ("FD", [float(v) for v in g])
        ds = ct_slice(modality="MR", position=ipp, orientation=orientation, spacing=(2.0, 2.0),
                      rows=rows, columns=columns, k=t, pixels=frame, series_number=series_number,
                      image_type=("ORIGINAL", "PRIMARY", "M", "ND", "MOSAIC"),
                      instance_number=t + 1, extra=extra)
        path = folder / file_list[t]
        write(ds, path)
        paths.append(path)
    return paths, truth


def strip_private_creators(paths: Sequence[Path], syntax: str | None = None,
                           groups: Sequence[int] = (0x0029,)) -> None:
    """Remove the private creators (gggg,0010-00FF) of ``groups`` and keep the elements they
    reserved, as anonymisers and old PACS do; each file rewritten in ``syntax`` (implicit VR
    loses the VRs too), its own by default."""
    from rawdicom import read
    for path in paths:
        ds = read(path)
        for tag in [t for t in ds.keys() if t >> 16 in groups and 0x10 <= t & 0xFFFF <= 0xFF]:
            del ds[tag]
        write(ds, path, transfer_syntax=syntax)


# ---------------------------------------------------------------- enhanced MR

def enhanced_mr(path: str | Path, *, slices: int = 3, times: int = 4,
                orientation: Sequence[float] = OBLIQUE, temporal_index: bool = True,
                isotropic: bool = False, reverse_frames: bool = False) -> Path:
    """An Enhanced MR file with two stacks (Stack ID "1" and "2", the second 40 mm away)
    of ``slices`` slices over ``times`` temporal positions; Dimension Index Sequence:
    Stack ID, In-Stack Position, Temporal Position Index. Frames are written in temporal
    order, stack 2 first (against the numbering); ``reverse_frames``: in reverse.
    ``temporal_index=False``: no Temporal Position Index (time only in the Dimension Index
    Values). ``isotropic``: one more temporal position of ISOTROPIC derived frames (Frame
    Type DERIVED\\PRIMARY\\DIFFUSION\\ISOTROPIC), as scanners append a trace."""
    from rawdicom import Dataset

    def item(**values: Any) -> Dataset:
        ds = Dataset()
        for keyword, v in values.items():
            ds.set(keyword, v)
        return ds

    base = ct_slice(modality="MR", sop_class_uid=ENHANCED_MR, position=None, orientation=None,
                    spacing=None, image_type=("ORIGINAL", "PRIMARY", "M", "NONE"),
                    series_number=11)
    shared = Dataset()
    shared.set("PixelMeasuresSequence", [item(PixelSpacing=[2.0, 2.0], SliceThickness=3.0)])
    shared.set("PlaneOrientationSequence",
               [item(ImageOrientationPatient=[float(v) for v in orientation])])
    dim = [item(DimensionIndexPointer=0x00209056, FunctionalGroupPointer=0x00209111),
           item(DimensionIndexPointer=0x00209057, FunctionalGroupPointer=0x00209111),
           item(DimensionIndexPointer=0x00209128, FunctionalGroupPointer=0x00209111)]
    base.set("DimensionIndexSequence", dim)
    frames, data = [], []
    cells = [(t, stack, k) for t in range(times + isotropic) for stack in (2, 1)
             for k in range(slices)]
    for t, stack, k in cells[::-1] if reverse_frames else cells:
        offset = 40.0 if stack == 2 else 0.0
        pos = positions(slices, orientation, origin=(-12.0, -20.0, 5.0 + offset))
        frame = Dataset()
        content = item(DimensionIndexValues=[stack, k + 1, t + 1], StackID=str(stack),
                       InStackPositionNumber=k + 1)
        if temporal_index:
            content.set("TemporalPositionIndex", t + 1)
        frame.set("FrameContentSequence", [content])
        frame.set("PlanePositionSequence",
                  [item(ImagePositionPatient=[float(v) for v in pos[k]])])
        kind = "ISOTROPIC" if t == times else "NONE"
        frame.set("MRImageFrameTypeSequence", [item(FrameType=[
            "DERIVED" if t == times else "ORIGINAL", "PRIMARY",
            "DIFFUSION" if t == times else "M", kind])])
        frames.append(frame)
        data.append(tile(t, k + 10 * (stack - 1)).tobytes())
    base.set("NumberOfFrames", len(frames))
    base.set("SharedFunctionalGroupsSequence", [shared])
    base.set("PerFrameFunctionalGroupsSequence", frames)
    base.set("PixelData", b"".join(data), "OW")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write(base, path)
    return path


__all__ = ["write_4d", "write_dwi", "write_mosaics", "enhanced_mr", "diffusion_extra",
           "strip_private_creators",
           "dwi_scheme", "value", "tile", "positions", "OBLIQUE", "DIRECTIONS"]
