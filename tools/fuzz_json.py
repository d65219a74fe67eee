"""A seeded mutation fuzzer for ``rawdicom.from_json``: hostile DICOM JSON, counted by outcome.

The corpus is the DICOM JSON model of real files (the built-in example study and, when
pydicom is installed, its test files), binary values past 1 KiB given as ``BulkDataURI`` s
that point at a local file and a local port (so a from_json that followed one would be
seen). Every case is a pure function of (seed, index): the index picks a corpus object and
1-4 mutations of its tree (a node replaced by a hostile value, a VR changed, a key renamed
or removed, a value moved between Value / InlineBinary / BulkDataURI, an item nested a
thousand deep, a huge array), so any case can be rebuilt.

Outcomes: ``ok`` (a Dataset), ``JSONModelError`` (the one error from_json raises for bad
input), or a defect: any other exception, named by its class. While the cases run, an audit
hook counts every file opened outside Python's own installation and every socket use:
from_json must do no I/O at all (``io`` in the outcomes is a defect too).

    python tools/fuzz_json.py --count 20000 --seed 1
"""

from __future__ import annotations

import argparse
import base64
import random
import sys
import time
import warnings
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterator

ROOT = Path(__file__).resolve().parents[1]
BULK_URIS = ("file:///etc/passwd", "http://127.0.0.1:9/bulk", "/etc/hostname", "../../x.raw")
_VRS = ("AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL "
        "UN UR US UT UV").split()


# -- the corpus ----------------------------------------------------------------------------
def corpus_files() -> list[Path]:
    """Small real files: the example study (one per transfer syntax) and pydicom's test files."""
    files = sorted((ROOT / "rawdicom" / "examples" / "study").iterdir())[:6]
    try:
        import pydicom
        data = Path(pydicom.__file__).parent / "data" / "test_files"
        files += sorted(p for p in data.glob("*.dcm") if p.stat().st_size < 200_000)
    except ImportError:
        pass
    return files


def corpus() -> list[dict[str, Any]]:
    """The DICOM JSON model of each corpus file that rawdicom reads (bulk data as URIs)."""
    import rawdicom
    from rawdicom.dicomjson import to_json

    out = []
    uris = iter(BULK_URIS * 10_000)
    for path in corpus_files():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                out.append(to_json(rawdicom.read(path), bulk_data_threshold=1024,
                                   bulk_data_uri=lambda el, where: next(uris)))
            except rawdicom.DicomError:
                continue
    return out


# -- mutations -----------------------------------------------------------------------------
def _deep(depth: int, leaf: Any, kind: str) -> Any:
    for _ in range(depth):
        leaf = [leaf] if kind == "list" else {"00081115": {"vr": "SQ", "Value": [leaf]}}
    return leaf


def hostile_value(rng: random.Random) -> Any:
    """A JSON value a careless or hostile writer may put anywhere."""
    choices: list[Callable[[], Any]] = [
        lambda: None, lambda: True, lambda: 0, lambda: -1, lambda: 2 ** 64, lambda: -2 ** 63 - 1,
        lambda: 10 ** 400, lambda: 1e308, lambda: -1e308, lambda: float("nan"),
        lambda: float("inf"), lambda: 0.5, lambda: "", lambda: "zz", lambda: "NaN",
        lambda: "Infinity", lambda: "00100010", lambda: "FFFFFFFFFF", lambda: "\ud800",
        lambda: "a\\b\\c", lambda: "x" * rng.choice((64, 70_000)), lambda: [], lambda: {},
        lambda: [[]], lambda: [None], lambda: [{}], lambda: {"vr": "SQ"},
        lambda: {"vr": rng.choice(_VRS)}, lambda: [rng.choice((1, "a", None, 1.5, [], {}))] * 3,
        lambda: {"Alphabetic": 5}, lambda: ["ISO 2022 IR 87", "nonsense", 7],
        lambda: base64.b64encode(rng.randbytes(rng.randrange(9))).decode(),
        lambda: "====", lambda: "AAEC" * 3 + "!", lambda: rng.choice(BULK_URIS),
        lambda: _deep(rng.choice((50, 200, 900, 3000)), 1, "list"),
        lambda: _deep(rng.choice((50, 200, 900, 3000)), {}, "dict"),
        lambda: list(range(rng.choice((1000, 100_000)))),
    ]
    return rng.choice(choices)()


def _nodes(obj: Any) -> Iterator[tuple[Any, Any]]:
    """(container, key) of every node below ``obj`` (without recursion: mutants nest deep)."""
    stack = [obj]
    while stack:
        node = stack.pop()
        keys: Any = ()
        if isinstance(node, dict):
            keys = node
        elif isinstance(node, list):
            keys = range(len(node))
        for key in keys:
            yield node, key
            stack.append(node[key])


def _attributes(obj: Any) -> list[dict[str, Any]]:
    return [c[k] for c, k in _nodes(obj) if isinstance(c, dict) and isinstance(c[k], dict)
            and "vr" in c[k]]


def _replace(rng: random.Random, obj: dict[str, Any]) -> None:
    nodes = list(_nodes(obj))
    if nodes:
        container, key = rng.choice(nodes)
        container[key] = hostile_value(rng)


def _change_vr(rng: random.Random, obj: dict[str, Any]) -> None:
    attributes = _attributes(obj)
    if attributes:
        rng.choice(attributes)["vr"] = rng.choice(_VRS + ["xx", "ob", "", "SQ"])


def _rename(rng: random.Random, obj: dict[str, Any]) -> None:
    dicts = [obj] + [c[k] for c, k in _nodes(obj) if isinstance(c[k], dict)]
    target = rng.choice(dicts)
    if target:
        key = rng.choice(list(target))
        new = rng.choice(("FFFEE000", "FFFEE00D", "FFFEE0DD", "7FE00010", "00080005",
                          "00020010", "00100000", "0008 005", "0x100010", "ffffffff",
                          f"{rng.getrandbits(32):08X}", f"{rng.getrandbits(32):08x}", ""))
        target[new] = target.pop(key)


def _remove(rng: random.Random, obj: dict[str, Any]) -> None:
    nodes = [(c, k) for c, k in _nodes(obj)]
    if nodes:
        container, key = rng.choice(nodes)
        del container[key]


def _move_value(rng: random.Random, obj: dict[str, Any]) -> None:
    attributes = _attributes(obj)
    if attributes:
        attribute = rng.choice(attributes)
        present = [k for k in ("Value", "InlineBinary", "BulkDataURI") if k in attribute]
        if present:
            value = attribute.pop(rng.choice(present))
            attribute[rng.choice(("Value", "InlineBinary", "BulkDataURI"))] = value


def _nest(rng: random.Random, obj: dict[str, Any]) -> None:
    """An item nested hundreds or thousands of sequences deep."""
    obj["00081115"] = _deep(rng.choice((100, 161, 900, 3000)), {}, "dict")["00081115"]


def _big_array(rng: random.Random, obj: dict[str, Any]) -> None:
    attributes = _attributes(obj)
    if attributes:
        rng.choice(attributes)["Value"] = [rng.choice((1, "1", None, 1e308))] * 5000


MUTATIONS = (_replace, _replace, _replace, _change_vr, _rename, _remove, _move_value, _nest,
             _big_array)


def _copy(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _copy(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_copy(v) for v in obj]
    return obj


def mutant(objects: list[dict[str, Any]], seed: int, index: int) -> Any:
    """Case ``index`` of run ``seed``: a copy of a corpus object with 1-4 mutations."""
    rng = random.Random(seed * 1_000_003 + index)
    obj = _copy(rng.choice(objects))
    for _ in range(rng.randint(1, 4)):
        rng.choice(MUTATIONS)(rng, obj)
        if rng.random() < 0.02:
            return hostile_value(rng)  # not even an object
    return obj


# -- outcomes ------------------------------------------------------------------------------
class NoIO:
    """An audit hook that records I/O while ``active``: opened files outside Python's own
    installation (imports of codecs are Python's business) and every socket call."""

    def __init__(self) -> None:
        self.active = False
        self.seen: list[str] = []
        self.allowed = tuple({sys.base_prefix, sys.prefix, str(ROOT / "rawdicom")})
        sys.addaudithook(self._hook)

    def _hook(self, event: str, args: tuple) -> None:
        if not self.active:
            return
        if event == "open":
            path = str(args[0])
            if not path.startswith(self.allowed):
                self.seen.append(f"open {path}")
        elif event.startswith(("socket.", "urllib.", "subprocess.", "os.system")):
            self.seen.append(f"{event} {args!r:.80}")


def outcome(obj: Any, io: NoIO) -> str:
    """ok, JSONModelError, io (from_json did I/O), or the class name of any other exception."""
    from rawdicom.dicomjson import JSONModelError, from_json

    io.seen.clear()
    io.active = True
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from_json(obj)
        result = "ok"
    except JSONModelError:
        result = "JSONModelError"
    except Exception as exc:  # noqa: BLE001 - what the fuzzer is here to count
        result = type(exc).__name__
    finally:
        io.active = False
    return "io" if io.seen else result


def run(count: int, seed: int) -> Counter:
    import rawdicom.dicomjson  # noqa: F401 - imported before the hook watches
    io = NoIO()
    objects = corpus()
    outcomes: Counter = Counter()
    for index in range(count):
        outcomes[outcome(mutant(objects, seed, index), io)] += 1
    return outcomes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    outcomes = run(args.count, args.seed)
    seconds = time.perf_counter() - start
    print(f"{args.count} cases, seed {args.seed}, {seconds:.0f} s, {len(corpus_files())} corpus "
          "files")
    for name, number in outcomes.most_common():
        print(f"  {name:<20} {number}")
    defects = sum(n for name, n in outcomes.items() if name not in ("ok", "JSONModelError"))
    print(f"defects: {defects}")
    return 1 if defects else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
