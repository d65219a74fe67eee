"""The example study shipped in the package (made by tools/make_example_study.py).

One patient, one study, three series: a lateral localizer (implicit VR), a 40-slice axial CT
tilted 12 degrees (deflated explicit VR), a 5 mm reconstruction (RLE Lossless); 65 files with
shuffled, extension-less names. Commands that take a folder use the study; commands that
take one file use the middle slice of the axial CT.
"""

from __future__ import annotations

import functools
import os
from importlib import resources

from ..reader import read

__all__ = ["study_path", "slice_path", "EXAMPLE_SERIES", "EXAMPLE_INSTANCE"]

# The axial CT and its middle slice: what a one-file command shows of the study.
EXAMPLE_SERIES = 2
EXAMPLE_INSTANCE = 20


def study_path() -> str:
    """The folder of the example study."""
    return str(resources.files("rawdicom") / "examples" / "study")


@functools.lru_cache(maxsize=1)
def slice_path() -> str:
    """The middle slice of the example's axial CT, found by its attributes (not its name)."""
    folder = study_path()
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        ds = read(path, tags=("SeriesNumber", "InstanceNumber"))
        if (ds.get("SeriesNumber"), ds.get("InstanceNumber")) == (EXAMPLE_SERIES,
                                                                  EXAMPLE_INSTANCE):
            return path
    raise FileNotFoundError(f"the example study in {folder} has no slice "
                            f"{EXAMPLE_INSTANCE} of series {EXAMPLE_SERIES}")
