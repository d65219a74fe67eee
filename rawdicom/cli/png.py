"""``rawdicom png``: one frame (or, for a series, one slice or a contact sheet) as a PNG.

The output's name decides its format: ``.png``, or ``.jpg``/``.jpeg`` (baseline JPEG,
quality 95, lossy: for a glance, never for measuring); any other ending is refused rather
than written as PNG bytes under a name that says otherwise.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from ..reader import read
from . import common
from .folder import add_series_option
from .images import add_window_options, colour_note, display_image, window_of, window_words


def add(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "png", help="write a windowed 8-bit PNG",
        description="Write one image as an 8-bit PNG: modality values (HU for CT) through "
                    "the file's own window by default, or --window / --preset; MONOCHROME1 "
                    "shown white-is-high; colour as RGB. Needs rawdicom[codecs].")
    parser.add_argument("paths", nargs="*", metavar="FILE|DIR OUT.png",
                        help="the image (or folder), then the PNG to write")
    common.add_example(parser, "the middle slice of the axial CT (with --sheet, --slice or "
                               "--series: the study)")
    add_window_options(parser)
    folder = parser.add_argument_group("a folder (a series of its largest regular stack)")
    add_series_option(folder)
    folder.add_argument("--slice", type=int, metavar="N",
                        help="slice N (from 0, along the slice normal; default: the middle)")
    folder.add_argument("--sheet", action="store_true",
                        help="a contact sheet of every slice of the volume")
    folder.add_argument("--columns", type=int, metavar="N", help="slices per row of the sheet")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    series_options = args.sheet or args.slice is not None or args.series is not None
    paths = common.inputs(args, folder=series_options)  # --example: the study for those
    if len(paths) != 2:
        raise SystemExit(common.usage_error(args, "give one FILE or DIR (or --example), then "
                                             "OUT.png"))
    path, args.out = paths
    _check_format(args)
    window = window_of(args)
    if os.path.isdir(path):
        from .series_png import series_png
        image, what = series_png(path, args.out, args, window)
        write_png(args.out, image)
        print(f"wrote {args.out}: {image.shape[1]} x {image.shape[0]}, {what}")
        return 0
    if args.sheet or args.slice is not None or args.series:
        raise SystemExit(common.usage_error(args, "--sheet, --slice and --series need a folder"))
    return common.catch(path, lambda: _one(path, args, window))


def _check_format(args: argparse.Namespace) -> None:
    if not args.out.lower().endswith(_FORMATS):
        raise SystemExit(common.usage_error(
            args, f"{args.out}: the output ends in .png, .jpg or .jpeg (the format it is "
                  "written in)"))


def _one(path: str, args: argparse.Namespace, window: tuple[float, float] | None) -> int:
    ds = read(path)
    image = display_image(ds, args.frame, window)
    if image.ndim == 3:
        colour_note(args, ds, path)
    out = args.out
    write_png(out, image)
    shown = "RGB" if image.ndim == 3 else window_words(ds, window)
    print(f"wrote {out}: {image.shape[1]} x {image.shape[0]} from {path}, {shown}")
    return 0


_FORMATS = (".png", ".jpg", ".jpeg")


def write_png(out: str, image: Any) -> None:
    """``image`` (uint8, 2-D or RGB) as a PNG file, or a JPEG when ``out`` ends in .jpg or
    .jpeg, with imagecodecs' encoders (which take C-contiguous arrays only: colour stored
    plane by plane comes out of pixel_array as a strided view)."""
    imagecodecs = common.need("imagecodecs", "codecs")
    import numpy as np
    image = np.ascontiguousarray(image)
    jpeg = out.lower().endswith((".jpg", ".jpeg"))
    try:
        if jpeg:
            data = imagecodecs.jpeg8_encode(image, level=95)
        else:
            data = imagecodecs.png_encode(image)
    except (ValueError, RuntimeError) as exc:  # the encoder's own errors (imagecodecs.PngError)
        raise common.Failure(f"{out}: cannot encode a {' x '.join(map(str, image.shape))} "
                             f"{image.dtype} image as {'JPEG' if jpeg else 'PNG'}: {exc}") from None
    with open(out, "wb") as f:
        f.write(data)
