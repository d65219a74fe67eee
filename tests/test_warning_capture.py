"""rawdicom.warning_capture: each capture gets its own warnings, whatever the threads."""

from __future__ import annotations

import threading
import warnings

from rawdicom.warning_capture import captured_warnings


def test_captured_warnings_take_turns_across_threads() -> None:
    """Two threads capturing with overlapping, not nested, spans: each list holds its own
    thread's warning, and the process's warning machinery is as it was after both.
    (catch_warnings alone: the first thread's warning lands in the second's list, the
    second's in neither, and the first's list stays installed for every later warning.)"""
    before = (warnings._showwarnmsg_impl, warnings.showwarning,  # type: ignore[attr-defined]
              list(warnings.filters))
    first_inside, second_inside, first_done = (threading.Event() for _ in range(3))
    lists: dict[str, list] = {}

    def first() -> None:
        with captured_warnings() as caught:
            first_inside.set()
            second_inside.wait(0.3)  # (with turns taken, the second is not inside yet)
            warnings.warn("first", UserWarning)
        first_done.set()
        lists["first"] = [str(w.message) for w in caught]

    def second() -> None:
        first_inside.wait()
        with captured_warnings() as caught:
            second_inside.set()
            first_done.wait(2)
            warnings.warn("second", UserWarning)
        lists["second"] = [str(w.message) for w in caught]

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert lists == {"first": ["first"], "second": ["second"]}
    assert (warnings._showwarnmsg_impl, warnings.showwarning,  # type: ignore[attr-defined]
            list(warnings.filters)) == before


def test_scan_reads_in_threads_keep_each_files_outcome(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """scan's read_one in 8 threads: the outcome of serial reads, file by file (half the
    files are cut inside their header: their reader warns while the others are read)."""
    import concurrent.futures
    import io

    import rawdicom
    from rawdicom.model.scan import read_one
    from series_builders import ct_slice
    paths = []
    for i in range(32):
        buffer = io.BytesIO()
        rawdicom.write(ct_slice(k=i, position=(0, 0, i)), buffer)
        data = buffer.getvalue()
        path = tmp_path / f"f{i:02d}.dcm"
        path.write_bytes(data[:700] if i % 2 else data)
        paths.append(str(path))
    serial = [read_one(p) for p in paths]
    assert [kind for kind, _ in serial] == ["record", "failed"] * 16
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        threaded = list(pool.map(read_one, paths))
    assert threaded == serial


def test_other_warnings_are_not_the_files(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A warning that is not the reader's (another library's, another thread's) raised
    while a file is read goes on to the caller, and not into the file's row."""
    import importlib
    import io

    import rawdicom
    from rawdicom.index import record
    from series_builders import ct_slice
    record_module = importlib.import_module("rawdicom.index.record")  # (the package's
    buffer = io.BytesIO()                                                # record is the function)
    rawdicom.write(ct_slice(), buffer)
    original = record_module.instance_record

    def noisy(*args, **kw):  # type: ignore[no-untyped-def]
        warnings.warn("someone else's", RuntimeWarning)
        return original(*args, **kw)

    record_module.instance_record = noisy
    try:
        with warnings.catch_warnings(record=True) as outside:
            warnings.simplefilter("always")
            row = record(buffer.getvalue())
    finally:
        record_module.instance_record = original
    assert row["status"] == "ok" and row["warnings"] == []
    assert [str(w.message) for w in outside] == ["someone else's"]
