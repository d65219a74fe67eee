"""One displayable 8-bit image from a dataset: what ``png`` writes and ``info`` measures.

The display pipeline of PS3.4 N.2.1: modality values (HU for CT), then a window (asked for,
a named CT preset, or the file's own window or VOI LUT), then MONOCHROME1 turned so that
white is the highest value. Colour images (RGB, YBR converted, palette colour) are shown as
their RGB values, scaled to 8 bits when stored with more.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from . import common

__all__ = ["add_window_options", "colour_note", "display_image", "window_of", "window_words"]


def add_window_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--window", metavar="C,W", help="window centre and width (in HU for CT)")
    group.add_argument("--preset", metavar="NAME",
                       help="a CT window: brain, subdural, stroke, bone, lung, mediastinum, "
                            "abdomen, liver")
    parser.add_argument("--frame", type=int, default=None, metavar="N",
                        help="frame N (from 0) of a multi-frame image (default: the first)")


def window_of(args: argparse.Namespace) -> tuple[float, float] | None:
    """The window asked for on the command line, or None (the file's own)."""
    if getattr(args, "window", None):
        try:
            centre, width = (float(v) for v in args.window.split(","))
        except ValueError:
            raise SystemExit(common.usage_error(args, f"--window {args.window!r}: give C,W "
                                                 "(e.g. 40,400)")) from None
        if width <= 0:
            raise SystemExit(common.usage_error(args, "--window: the width must be positive"))
        return centre, width
    if getattr(args, "preset", None):
        common.need("numpy", "pixels")
        import rawdicom
        try:
            return rawdicom.CT_PRESETS[args.preset.lower()]
        except KeyError:
            raise SystemExit(common.usage_error(args, f"--preset {args.preset!r}: one of "
                                                    f"{', '.join(rawdicom.CT_PRESETS)}")) from None
    return None


def colour_note(args: argparse.Namespace, ds: Any, path: str) -> None:
    """Say on stderr that a window asked for was not applied: windows are for grey values,
    and a colour image is written with its own colours."""
    asked = (f"--window {args.window}" if getattr(args, "window", None) else
             f"--preset {args.preset}" if getattr(args, "preset", None) else None)
    if asked:
        photometric = str(ds.get("PhotometricInterpretation") or "RGB").strip()
        print(f"rawdicom {args.command}: {path}: warning: {asked} does not apply to a colour "
              f"image ({photometric}): its colours are written as stored", file=sys.stderr)


def window_words(ds: Any, window: tuple[float, float] | None) -> str:
    """What the 8 bits of a grey image show, in the unit of its values: ``window -600/1500
    HU``, ``the file's window 40/80 HU``, ``the file's VOI LUT``, or its full range."""
    from .info import modality_unit
    unit = modality_unit(ds.get)
    if window is not None:
        return f"window {window[0]:g}/{window[1]:g} {unit}"
    centres, widths = ds.get("WindowCenter"), ds.get("WindowWidth")
    if centres is not None and widths is not None:
        def first(v: Any) -> str:
            v = v[0] if isinstance(v, list) and v else v
            return f"{v:g}" if isinstance(v, (int, float)) else str(v)
        return f"the file's window {first(centres)}/{first(widths)} {unit}"
    if ds.get("VOILUTSequence") is not None:
        return "the file's VOI LUT"
    if ds.get("SharedFunctionalGroupsSequence") is not None:
        return f"each frame's own window ({unit})"
    return f"no window in the file: its full range ({unit})"


def display_image(ds: Any, frame: int | None, window: tuple[float, float] | None,
                  stored: Any = None) -> Any:
    """The 8-bit image (rows, cols) or (rows, cols, 3) of one frame, as a viewer shows it.

    ``stored``: the frame's stored values when the caller has them already.
    """
    np = common.need("numpy", "pixels")
    import rawdicom
    from rawdicom.pixels import apply_palette

    frames = common.integer(ds.get("NumberOfFrames"), 1)
    if frame is not None and not 0 <= frame < frames:
        raise common.Failure(f"--frame {frame}: the image has {frames} frame(s), 0 to "
                             f"{frames - 1}")
    index = (frame or 0) if frames > 1 else None  # a single-frame image has no frame index
    arr = rawdicom.pixel_array(ds, frame=index) if stored is None else stored
    photometric = str(ds.get("PhotometricInterpretation") or "MONOCHROME2").strip().upper()
    if photometric == "PALETTE COLOR":
        arr = apply_palette(ds, arr)
    if arr.ndim == 3:  # colour: RGB (YBR is converted by pixel_array)
        bits = common.integer(ds.get("BitsStored"), 8)
        if arr.dtype != np.uint8 or bits > 8:
            arr = (arr.astype(np.float64) * (255 / ((1 << max(bits, 8)) - 1)))
            arr = np.clip(np.rint(arr), 0, 255).astype(np.uint8)
        return arr
    if window is not None:
        values = rawdicom.modality_lut(ds, arr, index)
        image = rawdicom.window(values, *window)
    else:
        image = rawdicom.to_uint8(ds, arr, frame=index)
    if photometric == "MONOCHROME1":
        image = 255 - image
    return image
