"""The modules of rawdicom/pixels/ import one another one way: no cycle (issue 12, item 6).

Read from the source with ast, every import counted: at module level, under
TYPE_CHECKING and inside functions (an import deferred into a function to dodge
a cycle is still a cycle in the design).  The layers, top to bottom:
frames -> codecs -> native / rle / color -> image_pixel; the grayscale stages
voi -> modality -> functional_groups / tables; image_pixel imports no other
module of the package.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PIXELS = Path(__file__).resolve().parent.parent / "rawdicom" / "pixels"
PACKAGE = "rawdicom.pixels"


def _imported(path: Path, modules: set[str]) -> set[str]:
    """The ``modules`` of rawdicom/pixels/ (short names) that ``path`` imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1:  # from . import x / from .x import y
                base = node.module
            elif node.level == 0 and (node.module or "").startswith(PACKAGE + "."):
                base = node.module[len(PACKAGE) + 1:]
            elif node.level == 0 and node.module == PACKAGE:
                base = None
            else:
                continue  # the layers below pixels/ (rawdicom.errors, ...) or outside
            if base is None:  # from . import codecs, native
                found |= {alias.name for alias in node.names if alias.name in modules}
            else:
                found.add(base.split(".")[0])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(PACKAGE + "."):
                    found.add(alias.name[len(PACKAGE) + 1:].split(".")[0])
    return found - {path.stem}


def graph() -> dict[str, set[str]]:
    paths = sorted(PIXELS.glob("*.py"))
    modules = {path.stem for path in paths}
    return {path.stem: _imported(path, modules) for path in paths}


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path (first module repeated at the end), or None."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(edges):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_pixels_import_graph_has_no_cycle():
    edges = graph()
    assert {"frames", "codecs", "native", "color", "rle", "image_pixel"} <= set(edges)
    cycle = _cycle(edges)
    assert cycle is None, " -> ".join(cycle)


def test_the_layers_run_one_way():
    edges = graph()
    assert edges["image_pixel"] == set()
    assert edges["frames"] >= {"codecs", "native", "color", "image_pixel"}
    assert edges["codecs"] >= {"native", "rle"}
    for module in ("native", "rle", "color", "codecs"):
        assert "frames" not in edges[module], module
    assert "voi" not in edges["modality"] and "modality" in edges["voi"]


@pytest.mark.parametrize("edges,expected", [
    ({"a": {"b"}, "b": {"c"}, "c": set()}, None),
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, ["a", "b", "c", "a"]),
    ({"a": {"a"}}, ["a", "a"]),
])
def test_the_cycle_finder_itself(edges, expected):
    assert _cycle(edges) == expected


def test_imports_deferred_into_functions_and_type_checking_count(tmp_path):
    path = tmp_path / "x.py"
    path.write_text("from typing import TYPE_CHECKING\n"
                    "if TYPE_CHECKING:\n    from .image_pixel import Geometry\n"
                    "def f():\n    from .frames import pixel_array\n"
                    "from . import codecs, numpy_helpers\n"
                    "from ..errors import PixelDataError\n"
                    "import rawdicom.pixels.native\n")
    assert _imported(path, {"image_pixel", "frames", "codecs", "native", "x"}) == {
        "image_pixel", "frames", "codecs", "native"}
