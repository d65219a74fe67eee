"""Histograms of an image's values (HU for a CT dataset), and a text rendering of them."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..dataset import Dataset
from .modality import hounsfield

__all__ = ["histogram", "format_histogram"]


def histogram(data: Dataset | np.ndarray, bins: int = 64,
              range: tuple[float, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(bin_edges, counts) of an image's values, HU for a CT Dataset (via :func:`hounsfield`).

    Integer values get integer-aligned bins of equal width (no bin collects
    more distinct values than its neighbours, which plain ``np.histogram``
    does not guarantee), with ``range`` the (lowest, highest) value counted,
    both included.  Float values use ``np.histogram`` over the finite values.
    ``len(edges) == len(counts) + 1``, ready for ``plt.stairs(counts, edges)``
    or :func:`format_histogram`.
    """
    arr = hounsfield(data) if isinstance(data, Dataset) else np.asarray(data)
    if bins < 1:
        raise ValueError(f"bins must be >= 1, not {bins}")
    if arr.dtype.kind == "b":
        arr = arr.astype(np.uint8)
    if arr.dtype.kind not in "iu":
        finite = arr[np.isfinite(arr)]
        if range is None and finite.size == 0:
            raise ValueError("no finite values to make a histogram of")
        counts, edges = np.histogram(finite, bins=bins, range=range)
        return edges, counts
    if range is None:
        if arr.size == 0:
            raise ValueError("no values to make a histogram of")
        lo, hi = int(arr.min()), int(arr.max())
    else:
        lo, hi = math.floor(range[0]), math.ceil(range[1])
        if hi < lo:
            raise ValueError(f"empty range {range}")
    step = -(-(hi - lo + 1) // bins)
    count = -(-(hi - lo + 1) // step)
    values = arr.ravel()
    if range is not None:
        values = values[(values >= lo) & (values <= hi)]
    counts = np.bincount((values.astype(np.int64) - lo) // step, minlength=count)
    edges = lo + step * np.arange(count + 1, dtype=np.int64)
    return edges, counts


def format_histogram(edges: np.ndarray, counts: np.ndarray, width: int = 50) -> str:
    """A histogram as text bars, one line per bin: ``[lo, hi)  ####  count``, for terminals."""
    if len(edges) != len(counts) + 1:
        raise ValueError(f"{len(edges)} edges for {len(counts)} counts: one more edge expected")

    def text(x: Any) -> str:
        x = float(x)
        return str(int(x)) if x.is_integer() else f"{x:.4g}"

    labels = [f"[{text(lo)}, {text(hi)})" for lo, hi in zip(edges[:-1], edges[1:])]
    label_width = max(map(len, labels), default=0)
    top = max((int(c) for c in counts), default=0)
    lines = []
    for label, c in zip(labels, counts):
        c = int(c)
        bar = max(1, round(c * width / top)) if c else 0
        lines.append(f"{label:<{label_width}} {'#' * bar:<{width}} {c}")
    return "\n".join(lines)
