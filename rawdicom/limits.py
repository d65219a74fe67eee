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
        exceed 6 levels; the cap also keeps Python's recursion well bounded.
    max_inflated_size: the most bytes a deflated dataset may inflate to.
        Deflate can reach ratios above 1000:1, so without this a small file
        could claim gigabytes (a "deflate bomb").
    max_elements: the most data elements (all levels) one read may create;
        bounds memory independently of value sizes.
    """

    max_depth: int = 128
    max_inflated_size: int = 1 << 30
    max_elements: int = 5_000_000


DEFAULT_LIMITS = Limits()
