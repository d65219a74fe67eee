"""``rawdicom info DIR``: the tree of a folder, then the full geometry of every stack."""

from __future__ import annotations

import sys

from . import common
from .folder import geometry_lines, scan_folder
from .tree import lines


def folder_info(path: str) -> int:
    """Print the folder's tree and each stack's geometry; 1 when a file could not be read."""
    try:
        collection = scan_folder(path, "info")
    except common.Failure as exc:
        print(f"rawdicom: {exc}", file=sys.stderr)
        return 1
    out = lines(path, collection)
    for series in collection.series:
        for index, stack in enumerate(series.stacks(), 1):
            out.append("")
            out.append(f"Series {series.series_number} stack {index}: {len(stack)} image(s), "
                       f"{stack.reason}")
            out += [f"  {line}" for line in geometry_lines(stack)]
    print("\n".join(out))
    return 1 if collection.failed else 0
