"""``rawdicom hist``: the Hounsfield histogram, as terminal bars or a PNG plot.

The tissue ranges marked are the conventional CT values (Radiopaedia, "Hounsfield unit"):
air about -1000, fat -150 to -50 (typically -120 to -90), water 0, soft tissue +20 to +80
(brain, muscle, blood), bone from +300 (cancellous +300 to +400, cortical +500 and up).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from typing import Any

from ..reader import read
from . import common
from .folder import add_series_option, series_values

TISSUES: tuple[tuple[str, float, float], ...] = (
    ("air", -1024, -900), ("fat", -150, -50), ("water", -10, 10), ("soft tissue", 20, 80),
    ("bone", 300, 3071),
)


def add(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "hist", help="the Hounsfield histogram, tissue ranges marked",
        description="The histogram of an image's modality values (HU for CT), or of a "
                    "folder's series volume, as bars on the terminal (log scale), the air / "
                    "fat / water / soft tissue / bone ranges marked; or a PNG plot (--png, "
                    "needs rawdicom[plot]).")
    parser.add_argument("paths", nargs="*", metavar="FILE|DIR")
    common.add_example(parser, "the whole study (the volume of its axial CT)")
    add_series_option(parser)
    parser.add_argument("--bins", type=int, default=40, help="number of bins (default 40)")
    parser.add_argument("--range", metavar="LO,HI", help="only values from LO to HI")
    parser.add_argument("--linear", action="store_true", help="bars in linear, not log, scale")
    parser.add_argument("--width", type=int, default=40, help="width of the longest bar")
    parser.add_argument("--png", metavar="OUT.png", help="write a plot instead (matplotlib)")
    parser.set_defaults(run=run)
    return parser


def _range(args: argparse.Namespace) -> tuple[float, float] | None:
    if not args.range:
        return None
    try:
        lo, hi = (float(v) for v in args.range.split(","))
    except ValueError:
        raise SystemExit(common.usage_error(args, f"--range {args.range!r}: give LO,HI")) from None
    if hi < lo:
        raise SystemExit(common.usage_error(args, "--range: LO must not exceed HI"))
    return lo, hi


def run(args: argparse.Namespace) -> int:
    if args.bins < 1:
        raise SystemExit(common.usage_error(args, "--bins must be at least 1"))
    value_range = _range(args)
    status = 0
    for path in common.inputs(args, folder=True):
        if os.path.isdir(path):
            values, label, unit = series_values(path, args.series, "hist")
            show(values, label, unit, args.bins, value_range, args)
            continue
        status = max(status, common.catch(path, lambda: _one(path, args, value_range)))
    return status


def _one(path: str, args: argparse.Namespace, value_range: tuple[float, float] | None) -> int:
    common.need("numpy", "pixels")
    import rawdicom
    ds = read(path)
    values = rawdicom.modality_lut(ds, rawdicom.pixel_array(ds))
    from .info import modality_unit
    unit = modality_unit(ds.get)
    if values.ndim >= 3 and common.integer(ds.get("SamplesPerPixel"), 1) > 1:
        unit = "colour sample value (R, G and B counted together)"
    show(values, path, unit, args.bins, value_range, args)
    return 0


def show(values: Any, label: str, unit: str, bins: int, value_range: tuple[float, float] | None,
         args: argparse.Namespace) -> None:
    """The histogram of ``values`` as bars on stdout, or as a plot in ``args.png``."""
    import rawdicom
    try:
        edges, counts = rawdicom.histogram(values, bins=bins, range=value_range)
    except ValueError as exc:  # no finite values (an all-NaN volume), nothing in the range
        raise common.Failure(f"{label}: {exc}") from None
    tissues = unit == "HU"
    if args.png:
        plot(edges, counts, args.png, label, unit, tissues)
        print(f"wrote {args.png}: the histogram of {label}")
        return
    sys.stdout.write(bars(edges, counts, unit, tissues, log=not args.linear,
                          width=args.width) + "\n")


def _tissue(lo: float, hi: float) -> str:
    """The tissues whose range the bin [lo, hi) overlaps."""
    return ", ".join(name for name, a, b in TISSUES if lo <= b and hi > a)


def bars(edges: Any, counts: Any, unit: str, tissues: bool, *, log: bool = True,
         width: int = 40) -> str:
    """One line per bin: its range, a bar (log scale by default), the count, the tissues."""
    def number(x: Any) -> str:
        x = float(x)
        return str(int(x)) if x.is_integer() else f"{x:.4g}"

    scale = (lambda c: math.log10(c + 1)) if log else float
    top = max((scale(int(c)) for c in counts), default=0) or 1
    width_lo = max((len(number(x)) for x in edges[:-1]), default=1)
    width_hi = max((len(number(x)) for x in edges[1:]), default=1)
    labels = [f"{number(lo):>{width_lo}} .. {number(hi):>{width_hi}}"
              for lo, hi in zip(edges[:-1], edges[1:])]
    label_width = max(map(len, labels), default=0)
    count_width = max((len(str(int(c))) for c in counts), default=1)
    head = f"{unit or 'value'} (bar length: {'log' if log else 'linear'} scale of the count)"
    lines = [head]
    for text, lo, hi, c in zip(labels, edges[:-1], edges[1:], counts):
        c = int(c)
        bar = "#" * (max(1, round(scale(c) * width / top)) if c else 0)
        mark = _tissue(float(lo), float(hi)) if tissues else ""
        lines.append(f"{text:>{label_width}}  {c:>{count_width}}  {bar:<{width}}  {mark}"
                     .rstrip())
    return "\n".join(lines)


def plot(edges: Any, counts: Any, out: str, label: str, unit: str, tissues: bool) -> None:
    """The histogram as a PNG: log-scale counts, the tissue ranges as shaded bands."""
    matplotlib = common.need("matplotlib", "plot")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4), dpi=100)
    ax.stairs(counts, edges, fill=True, color="#4477aa")
    ax.set_yscale("log")
    ax.set_xlabel(unit or "value")
    ax.set_ylabel("pixels")
    # A file's title is its name; a series' label ("DIR, series 3 (T1/SE), 20 slices") is
    # kept whole: a "/" in a series description is no path.
    title = os.path.basename(label) if os.path.isfile(label) else label
    ax.set_title(f"Histogram of {title}", fontsize=9, wrap=True)
    if tissues:
        colours = ("#dddddd", "#f4e285", "#9ad0ec", "#f4a6a6", "#c9b6e4")
        lo, hi = float(edges[0]), float(edges[-1])
        for (name, a, b), colour in zip(TISSUES, colours):
            if b < lo or a > hi:
                continue
            ax.axvspan(max(a, lo), min(b, hi), color=colour, alpha=0.6, zorder=0, label=name)
        ax.legend(fontsize=8, loc="upper right", framealpha=0.9)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
