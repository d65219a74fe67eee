"""The modules of rawdicom/model/ that build stacks and volumes import one another one way
(issue 21): header values -> geometry -> volume -> stacks -> mosaic/diffusion -> fourd.

Read from the source with ast, every import counted (module level, TYPE_CHECKING, inside
functions), as tests/test_pixels_imports.py does for the pixel layer. The MR layer reaches
the generic split only through ``stacks.add_regroup``; no module imports another's
private name.
"""

from __future__ import annotations

import ast
from pathlib import Path

from test_pixels_imports import _cycle

MODEL = Path(__file__).resolve().parent.parent / "rawdicom" / "model"
LAYERS = ("header_values", "instance", "geometry", "volume", "stacks", "mosaic", "diffusion",
          "fourd")


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module of rawdicom/model/ imported, names taken from it) for every relative import."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.append((node.module.split(".")[0], [a.name for a in node.names]))
            else:
                found += [(a.name, []) for a in node.names]
    return found


def graph() -> dict[str, set[str]]:
    return {name: {module for module, _ in _imports(MODEL / f"{name}.py") if module in LAYERS}
            - {name} for name in LAYERS}


def test_the_stack_and_volume_modules_have_no_import_cycle():
    cycle = _cycle(graph())
    assert cycle is None, " -> ".join(cycle)


def test_each_layer_imports_only_the_layers_below_it():
    edges = graph()
    for name, imported in edges.items():
        below = set(LAYERS[:LAYERS.index(name)])
        assert imported <= below, (name, imported - below)
    assert edges["header_values"] == set()


def test_no_private_name_crosses_a_module():
    for path in MODEL.glob("*.py"):
        for module, names in _imports(path):
            private = [n for n in names if n.startswith("_")]
            assert not private, f"{path.name} imports {private} from {module}"


def test_the_mr_regrouping_is_plugged_into_every_split():
    import rawdicom.model.stacks as stacks
    from rawdicom.model import fourd
    assert fourd.regroup in stacks._REGROUPS
