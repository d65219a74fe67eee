"""DICOM series to NIfTI: ``rawdicom.convert(source, out)`` (and ``rawdicom convert``).

Every series of a folder, a list of paths, a DICOMDIR or an index is split into stacks by
the model, and every stack that forms a volume is written as NIfTI (3-D or 4-D, the
narrowest exact type) with a BIDS-named JSON sidecar and, for diffusion, FSL ``.bval``/
``.bvec``; ``OUT/convert-manifest.jsonl`` holds one line per stack: its files, or why it was
not converted. Reruns convert only what the manifest lacks; files appear whole or not at
all. Modules: :mod:`.naming` (safe names from a template), :mod:`.sidecar`, :mod:`.nifti`
and :mod:`.pgzip` (writing), :mod:`.series` (one series' stacks: the task),
:mod:`.manifest` (committing, recovering), :mod:`.engines` (processes, Dask), :mod:`.job`
(the whole run).

The package is itself callable, ``rawdicom.convert(src, out)``, as the public API names it:
``rawdicom.convert`` is both this package and the function, whichever import came first.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from .job import ConvertReport, convert
from .manifest import MANIFEST_NAME
from .naming import DEFAULT_NAME

__all__ = ["convert", "ConvertReport", "MANIFEST_NAME", "DEFAULT_NAME"]


class _CallableModule(types.ModuleType):
    def __call__(self, *args: Any, **kw: Any) -> ConvertReport:
        return convert(*args, **kw)


sys.modules[__name__].__class__ = _CallableModule
