"""A canonical listing of what rawdicom reads from a file, the same in CPython and in Pyodide.

This one module runs unchanged in both interpreters: ``tests/test_wasm.py`` runs it with
CPython (``python tests/wasm/canonical.py PATH...``) and ``run_pyodide.mjs`` runs it inside
Pyodide in Node, on the same files; the two outputs must be identical line for line.

Output: JSON Lines on stdout, one line per file, in sorted order of a key that does not
depend on where the files are mounted:

    {"file": KEY, "transfer_syntax": ..., "meta": [ELEMENT...], "elements": [ELEMENT...],
     "warnings": [[CATEGORY, MESSAGE]...]}
    {"file": KEY, "error": CLASS_NAME, "message": ..., "warnings": [...]}

An ELEMENT is ``[TAG, VR, VM, KEYWORD, LENGTH, VALUE]``: every element, every value decoded,
recursively into sequences (a sequence's VALUE is ``{"items": [[ELEMENT...], ...]}``).  A
value is rendered canonically: ``str`` and ``int`` as themselves, a ``float`` as
``{"float": repr}``, bytes as ``{"bytes": LENGTH, "sha256": HEX}``, a ``str`` subclass such
as ``PersonName`` as ``{"PersonName": str}``, a list as a list; an element whose value
raises gives ``{"error": CLASS_NAME, "message": ...}``.  Encapsulated pixel data also lists
its fragments (length and hash of each).

The last line is a summary with timings (which differ between runs and interpreters, and
are not compared): ``{"summary": true, "files": N, "import_s": ..., "first_read_s": ...,
"first_list_s": ..., "python": ...}``; with ``--repeat N`` also ``best_read_s`` and
``best_list_s``, the sums over the files of the best of N timed runs (``read`` alone, and
``read`` plus the whole listing: every value decoded) and ``import_best_s``, the best of
N more imports of rawdicom after removing it from ``sys.modules`` (all compiled from source:
no ``.pyc`` is written or read for rawdicom in either interpreter).

The keys: for a directory argument, its base name and each file's path below it
(``test_files/CT_small.dcm``); for a file argument, its base name.  Only the standard library is used here (no numpy): the core
must run where only pure Python runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
import warnings

_MAX_LISTING_DEPTH = 200  # rawdicom caps nesting far below this; a guard against loops


def collect(paths):
    """``[(key, path)]`` for every file under the given files and directories, sorted by key."""
    found = []
    for arg in paths:
        if os.path.isdir(arg):
            top = os.path.basename(os.path.normpath(arg))
            for root, dirs, files in os.walk(arg):
                dirs[:] = sorted(d for d in dirs if d != "__pycache__")
                for name in files:
                    full = os.path.join(root, name)
                    key = top + "/" + os.path.relpath(full, arg).replace(os.sep, "/")
                    found.append((key, full))
        else:
            found.append((os.path.basename(arg), arg))
    found.sort()
    return found


def canon_value(value):
    """A JSON-ready rendering of a decoded value that is equal only for equal values."""
    if value is None or type(value) in (bool, int, str):
        return value
    if isinstance(value, float):
        return {"float": repr(value)}
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        return {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    if isinstance(value, (list, tuple)):
        return [canon_value(v) for v in value]
    if isinstance(value, str):  # PersonName and other str subclasses
        return {type(value).__name__: str(value)}
    if isinstance(value, int):  # int subclasses (an enum, a tag type)
        return {type(value).__name__: int(value)}
    return {type(value).__name__: str(value)}


def _error(exc):
    return {"error": type(exc).__name__, "message": str(exc)}


def canon_element(el, depth):
    import rawdicom

    try:
        vr = el.vr
    except rawdicom.DicomError as exc:
        return [f"{el.tag:08X}", None, None, el.keyword, el.length, _error(exc)]
    try:
        value = el.value
    except rawdicom.DicomError as exc:
        return [f"{el.tag:08X}", vr, None, el.keyword, el.length, _error(exc)]
    if vr == "SQ" and isinstance(value, list):
        if depth >= _MAX_LISTING_DEPTH:
            rendered = {"error": "ListingTooDeep", "message": str(depth)}
        else:
            rendered = {"items": [canon_dataset(item, depth + 1) for item in value]}
    else:
        rendered = canon_value(value)
    try:
        vm = el.vm
    except rawdicom.DicomError as exc:
        vm = _error(exc)
    row = [f"{el.tag:08X}", vr, vm, el.keyword, el.length, rendered]
    encapsulated = getattr(el, "encapsulated", None)
    if encapsulated is not None:
        try:
            row.append({"fragments": [canon_value(f) for f in encapsulated.fragments]})
        except rawdicom.DicomError as exc:
            row.append(_error(exc))
    return row


def canon_dataset(ds, depth=0):
    return [canon_element(el, depth) for el in ds]


def listing(src, key):
    """The canonical record of one file (a dict), and the seconds spent in ``read``."""
    import rawdicom

    record = {"file": key}
    read_s = 0.0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            t0 = time.perf_counter()
            ds = rawdicom.read(src)
            read_s = time.perf_counter() - t0
        except rawdicom.DicomError as exc:
            read_s = time.perf_counter() - t0
            record.update(_error(exc))
        else:
            ts = ds.transfer_syntax
            record["transfer_syntax"] = [ts.uid, ts.name] if ts is not None else None
            record["meta"] = canon_dataset(ds.file_meta) if ds.file_meta is not None else None
            record["elements"] = canon_dataset(ds)
    record["warnings"] = [[w.category.__name__, str(w.message)] for w in caught]
    return record, read_s


def _warm_timings(files, repeat):
    """Per file, the best of ``repeat`` runs of ``read`` alone and of read + full listing."""
    import rawdicom

    read_best = list_best = 0.0
    for _key, path in files:
        best_read = best_list = float("inf")
        for _ in range(repeat):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t0 = time.perf_counter()
                try:
                    ds = rawdicom.read(path)
                except rawdicom.DicomError:
                    ds = None
                t1 = time.perf_counter()
                if ds is not None:
                    canon_dataset(ds)
                t2 = time.perf_counter()
            best_read = min(best_read, t1 - t0)
            best_list = min(best_list, t2 - t0)
        read_best += best_read
        list_best += best_list
    return read_best, list_best


def main(argv=None):
    """``canonical.py [--repeat N] PATH...``: the listing of every file, then a summary line."""
    argv = list(sys.argv[1:] if argv is None else argv)
    repeat = 0
    if argv[:1] == ["--repeat"]:
        repeat = int(argv[1])
        del argv[:2]
    out = sys.stdout
    sys.dont_write_bytecode = True  # every import below compiles from source, in both
    t0 = time.perf_counter()
    import rawdicom  # noqa: F401  (timed: the import itself; tables are loaded lazily)
    import_s = time.perf_counter() - t0
    import_best_s = import_s
    for _ in range(repeat):  # again, from a clean slate: the best of a few, for the figures
        for name in [m for m in sys.modules if m == "rawdicom" or m.startswith("rawdicom.")]:
            del sys.modules[name]
        t0 = time.perf_counter()
        import rawdicom  # noqa: F811
        import_best_s = min(import_best_s, time.perf_counter() - t0)
    t0 = time.perf_counter()
    from rawdicom import dictionary
    dictionary.lookup(0x00100010)  # the first lookup loads the element table
    dictionary_s = time.perf_counter() - t0
    files = collect(argv)
    read_total = 0.0
    t_all = time.perf_counter()
    for key, path in files:
        record, read_s = listing(path, key)
        read_total += read_s
        out.write(json.dumps(record, sort_keys=True, ensure_ascii=True) + "\n")
    list_total = time.perf_counter() - t_all
    summary = {"summary": True, "files": len(files), "bytes": sum(os.path.getsize(p) for _, p in files),
               "import_s": import_s, "import_best_s": import_best_s,
               "dictionary_s": dictionary_s,
               "first_read_s": read_total, "first_list_s": list_total,
               "python": sys.version.split()[0], "platform": sys.platform}
    if repeat:
        summary["repeat"] = repeat
        summary["best_read_s"], summary["best_list_s"] = _warm_timings(files, repeat)
    out.write(json.dumps(summary, sort_keys=True) + "\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
