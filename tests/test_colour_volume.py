"""Colour volumes (issue 21, item 4): a series of RGB, YBR_* or PALETTE COLOR images is a
volume of shape (slices, rows, columns, 3), each slice what pydicom gives for its file
(YBR converted to RGB, palette indices looked up), written to NIfTI as RGB24."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import rawdicom
from series_builders import axial_positions, ct_slice
from volume_builders import stacks_of, world

pydicom = pytest.importorskip("pydicom")
nibabel = pytest.importorskip("nibabel")

ROWS, COLUMNS, SLICES = 5, 6, 4


def rgb(k: int) -> np.ndarray:
    """Slice k's RGB pixels, every sample telling where it belongs."""
    r, c = np.mgrid[0:ROWS, 0:COLUMNS]
    return np.stack([r * 40 + k, c * 30 + k, (r + c) * 10 + 50 * k], axis=-1).astype(np.uint8)


def colour_slice(k: int, photometric: str = "RGB", planar: int = 0, **kw) -> rawdicom.Dataset:
    ds = ct_slice(position=axial_positions(SLICES, spacing=2.5)[k], k=k, rows=ROWS,
                  columns=COLUMNS, slope=None, intercept=None, modality="OT",
                  series_number=7, **kw)
    pixels = rgb(k)
    for keyword, value in (("SamplesPerPixel", 3), ("PhotometricInterpretation", photometric),
                           ("PlanarConfiguration", planar), ("BitsAllocated", 8),
                           ("BitsStored", 8), ("HighBit", 7), ("PixelRepresentation", 0)):
        ds.set(keyword, value)
    if photometric == "YBR_FULL":  # the same colours as YBR (PS3.3 C.7.6.3.1.2)
        f = pixels.astype(np.float64)
        y = 0.299 * f[..., 0] + 0.587 * f[..., 1] + 0.114 * f[..., 2]
        cb = -0.168736 * f[..., 0] - 0.331264 * f[..., 1] + 0.5 * f[..., 2] + 128
        cr = 0.5 * f[..., 0] - 0.418688 * f[..., 1] - 0.081312 * f[..., 2] + 128
        pixels = np.clip(np.rint(np.stack([y, cb, cr], -1)), 0, 255).astype(np.uint8)
    data = pixels.transpose(2, 0, 1) if planar else pixels
    ds.set("PixelData", np.ascontiguousarray(data).tobytes(), "OB")
    return ds


def palette_slice(k: int, bits: int) -> rawdicom.Dataset:
    ds = ct_slice(position=axial_positions(SLICES, spacing=2.5)[k], k=k, rows=ROWS,
                  columns=COLUMNS, slope=None, intercept=None, modality="OT", series_number=8)
    for keyword, value in (("PhotometricInterpretation", "PALETTE COLOR"), ("BitsAllocated", 8),
                           ("BitsStored", 8), ("HighBit", 7), ("PixelRepresentation", 0)):
        ds.set(keyword, value)
    entries = np.arange(256)
    scale = 257 if bits == 16 else 1
    luts = [entries * scale, (255 - entries) * scale, (entries // 2) * scale]
    dtype = "<u2" if bits == 16 else "u1"
    for tag, lut in zip((0x00281201, 0x00281202, 0x00281203), luts):
        raw = lut.astype(dtype).tobytes()
        ds.set(tag, raw + b"\0" * (len(raw) % 2), "OW")
    for tag in (0x00281101, 0x00281102, 0x00281103):
        ds.set(tag, [256, 0, bits], "US")
    r, c = np.mgrid[0:ROWS, 0:COLUMNS]
    ds.set("PixelData", ((r * 7 + c * 11 + k * 13) % 256).astype(np.uint8).tobytes(), "OB")
    return ds


def write(folder: Path, datasets: list[rawdicom.Dataset]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, ds in enumerate(datasets):
        paths.append(folder / f"im{k}.dcm")
        rawdicom.write(ds, paths[-1])
    return paths


def pydicom_rgb(path: Path) -> np.ndarray:
    ds = pydicom.dcmread(path)
    if ds.PhotometricInterpretation == "PALETTE COLOR":
        from pydicom.pixels import apply_color_lut
        return apply_color_lut(ds.pixel_array, ds)
    return ds.pixel_array  # pydicom 3 gives YBR_FULL as RGB


@pytest.mark.parametrize("photometric, planar", [("RGB", 0), ("RGB", 1), ("YBR_FULL", 0)])
def test_a_colour_series_is_a_volume_of_rgb_slices(tmp_path, photometric, planar):
    paths = write(tmp_path / "in", [colour_slice(k, photometric, planar)
                                    for k in range(SLICES)][::-1])
    [stack] = stacks_of(tmp_path / "in")
    volume = stack.volume()
    assert volume.colour and volume.shape == (SLICES, ROWS, COLUMNS, 3)
    assert volume.array.dtype == np.uint8
    positions = axial_positions(SLICES, spacing=2.5)
    for k in range(SLICES):  # slice k along the normal is file im{SLICES-1-k}
        assert np.allclose(world(volume.affine, (k, 0, 0)), positions[k])
        assert np.array_equal(volume.array[k], pydicom_rgb(paths[SLICES - 1 - k]))
    if photometric == "RGB":
        assert np.array_equal(volume.array, np.stack([rgb(k) for k in range(SLICES)]))


@pytest.mark.parametrize("bits", [8, 16])
def test_a_palette_colour_series_is_looked_up(tmp_path, bits):
    paths = write(tmp_path / "in", [palette_slice(k, bits) for k in range(SLICES)])
    [stack] = stacks_of(tmp_path / "in")
    volume = stack.volume()
    assert volume.colour and volume.shape == (SLICES, ROWS, COLUMNS, 3)
    for k in range(SLICES):
        expected = pydicom_rgb(paths[k])
        assert volume.array.dtype == expected.dtype
        assert np.array_equal(volume.array[k], expected)


def test_nifti_rgb24_readable_by_nibabel(tmp_path):
    write(tmp_path / "in", [colour_slice(k) for k in range(SLICES)])
    [stack] = stacks_of(tmp_path / "in")
    volume = stack.volume()
    path = volume.to_nifti(tmp_path / "rgb.nii")
    image = nibabel.load(path)
    assert image.header.get_data_dtype() == np.dtype([("R", "u1"), ("G", "u1"), ("B", "u1")])
    assert image.shape == (COLUMNS, ROWS, SLICES)
    data = np.asanyarray(image.dataobj)
    for i, j, k in [(0, 0, 0), (5, 4, 3), (2, 3, 1)]:
        # voxel (i, j, k) of the NIfTI is column i, row j, slice k, at the same world point
        point = image.affine @ [i, j, k, 1]
        assert np.allclose(np.diag([-1, -1, 1, 1]) @ point, volume.affine @ [k, j, i, 1])
        assert tuple(data[i, j, k]) == tuple(volume.array[k, j, i])


def test_sixteen_bit_palette_samples_become_rgb24_scaled(tmp_path):
    write(tmp_path / "in", [palette_slice(k, 16) for k in range(SLICES)])
    [stack] = stacks_of(tmp_path / "in")
    volume = stack.volume()
    data = np.asanyarray(nibabel.load(volume.to_nifti(tmp_path / "p.nii")).dataobj)
    assert data["R"][2, 3, 1] == round(int(volume.array[1, 3, 2, 0]) * 255 / 65535)


def test_colour_and_grayscale_are_never_one_volume(tmp_path):
    datasets = [colour_slice(k) for k in range(SLICES)]
    gray = ct_slice(position=axial_positions(SLICES + 1, spacing=2.5)[SLICES], k=SLICES,
                    rows=ROWS, columns=COLUMNS, modality="OT", series_number=7)
    write(tmp_path / "in", datasets + [gray])
    [stack] = stacks_of(tmp_path / "in")  # nothing in the split keys tells them apart
    with pytest.raises(rawdicom.DicomError, match="mixes colour and grayscale"):
        stack.volume()


@pytest.mark.parametrize("command", ["volume", "hist"])
def test_the_commands_on_a_colour_series(tmp_path, command):
    import subprocess
    import sys
    write(tmp_path / "in", [colour_slice(k) for k in range(SLICES)])
    root = Path(__file__).resolve().parents[1]
    args = [str(tmp_path / "in")] + ([str(tmp_path / "rgb.nii")] if command == "volume" else [])
    result = subprocess.run([sys.executable, "-m", "rawdicom", command, *args], cwd=root,
                            capture_output=True, text=True, timeout=300)
    assert "Traceback" not in result.stderr
    if command == "volume":
        assert result.returncode == 0, result.stderr
        assert f"{SLICES} x {ROWS} x {COLUMNS} x 3 (slices, rows, columns, RGB)" in result.stdout
        image = nibabel.load(tmp_path / "rgb.nii")
        assert image.shape == (COLUMNS, ROWS, SLICES) and image.get_data_dtype().names
    else:  # a histogram of grey values: refused in one line
        assert result.returncode == 1 and "colour images" in result.stderr
