"""Safety bounds for reading untrusted data.

A parser that may be handed hostile bytes must bound its work.  Every bound
here is checked where the data is read and, when exceeded, raises
:class:`rawdicom.errors.LimitExceededError` naming the offset and tag.  The
defaults are far above what real scanners write, so only hostile or broken
data meets them; pass your own ``Limits`` to ``rawdicom.read`` to tighten or
loosen them.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Limits", "DEFAULT_LIMITS"]


@dataclass(frozen=True)
class Limits:
    """The bounds of one read.

    max_depth: sequences nested deeper than this raise.  Real files rarely
        exceed 6 levels; the cap also keeps Python's recursion well bounded,
        which is why it may not be set above MAX_DEPTH.
    max_inflated_size: the most bytes a deflated dataset may inflate to.
        Deflate can reach ratios above 1000:1, so without a bound a small
        file could claim gigabytes (a "deflate bomb").
    max_inflate_ratio: a deflated dataset may also inflate to at most this
        many times its compressed size (but always to 16 MiB), so that memory
        stays a bounded multiple of the input; the smaller bound applies.
    max_elements: the most data elements (all levels) one read may create;
        bounds memory independently of value sizes.
    max_pixel_bytes: the most bytes one array of pixels (an image's frames, a volume, a
        resampled grid, a 4-D series) may take. Far above any real study, far below what
        a lying header (Rows = Columns = 46,341) could make a machine attempt.
    max_pixel_ratio: an encapsulated (compressed) image may claim at most this many
        times the bytes its Pixel Data holds (but always 64 MiB), before it is decoded;
        native pixel data must hold every byte it claims.
    """

    max_depth: int = 128
    max_inflated_size: int = 1 << 30
    max_inflate_ratio: int = 100
    max_elements: int = 5_000_000
    max_pixel_bytes: int = 1 << 33
    max_pixel_ratio: int = 1000

    def __post_init__(self) -> None:
        if not 1 <= self.max_depth <= MAX_DEPTH:
            raise ValueError(f"max_depth must be between 1 and {MAX_DEPTH}: each level of "
                             "nesting takes a few Python stack frames")

    def pixel_cap(self, compressed_size: int) -> int:
        """The most bytes an encapsulated image of ``compressed_size`` bytes may decode to."""
        return min(self.max_pixel_bytes, max(PIXEL_FLOOR, self.max_pixel_ratio * compressed_size))

    def inflate_cap(self, compressed_size: int) -> int:
        """The most bytes a deflated dataset of ``compressed_size`` bytes may inflate to."""
        return min(self.max_inflated_size,
                   max(INFLATE_FLOOR, self.max_inflate_ratio * compressed_size))


# Deepest nesting allowed: reading an undefined-length sequence takes four stack
# frames per level (and writing or printing it about as many), which must stay well
# inside Python's default recursion limit of 1000.
MAX_DEPTH = 160
INFLATE_FLOOR = 16 << 20
PIXEL_FLOOR = 64 << 20


DEFAULT_LIMITS = Limits()
