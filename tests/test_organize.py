"""organize: safe names from hostile headers, atomic no-overwrite placement, re-runs that
complete an interrupted job, dry runs, the three modes, duplicates, junk."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import textwrap
import unicodedata
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

import rawdicom
from rawdicom.model.layout import (COMPONENT_BYTES, COMPONENT_CHARS, DEFAULT_LAYOUT, Layout,
                                   PathPlanner, fold, safe_component, safe_value)
from rawdicom.model.organize import LOCK_NAME, MANIFEST_NAME, OTHER_FOLDER, organize

sys.path.insert(0, str(Path(__file__).parent))
from series_builders import axial_positions, write_series  # noqa: E402

HOSTILE = ["../../x", "/etc/passwd", "a\\..\\b", "A\x00B", "x" * 10_000, "CON", "con.txt",
           "..", ".", "COM1", "LPT9.dcm", "ＣＯＮ", "／etc／passwd", "שלום עולם", "مرحبا",
           "😀🎉", "\u202egnp.exe", "e\u0301te", "  trailing. ", "_hidden", ".hidden",
           "a" * 60 + "é" * 60, "\u3164", "", "C:\\Windows\\System32"]
WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{d}" for d in range(10)),
                    *(f"LPT{d}" for d in range(10))}
UTF8 = {"SpecificCharacterSet": "ISO_IR 192"}


def assert_safe_component(name: str) -> None:
    assert name and name not in (".", "..")
    assert not any(c in name for c in "/\\\0:*?\"<>|"), name
    assert all(unicodedata.category(c)[0] != "C" for c in name), name
    assert name == unicodedata.normalize("NFKC", name)
    assert name[0] not in "._" and name[-1] not in ". "
    assert name.split(".")[0].upper() not in WINDOWS_RESERVED
    assert len(name) <= COMPONENT_CHARS and len(name.encode("utf-8")) <= COMPONENT_BYTES


def output_files(target: Path) -> list[Path]:
    """Every file organize wrote (not its manifest nor its lock)."""
    return sorted(p for p in target.rglob("*") if p.is_file() and not p.is_symlink()
                  and p.name not in (MANIFEST_NAME, LOCK_NAME))


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def manifest_rows(target: Path) -> list[dict]:
    rows = []
    for line in (target / MANIFEST_NAME).read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except ValueError:
            pass
    return rows


# -- names -------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", HOSTILE, ids=lambda v: repr(v)[:24])
def test_hostile_values_give_safe_components(value):
    assert_safe_component(safe_component(safe_value(value)))
    assert_safe_component(safe_component(safe_value(value), ".dcm"))
    assert safe_component(safe_value(value), ".dcm").endswith(".dcm")


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=0, max_size=400), st.sampled_from(["", ".dcm"]))
def test_any_text_gives_a_safe_component(text, extension):
    assert_safe_component(safe_component(safe_value(text), extension))


def test_readable_values_stay_readable():
    assert safe_value("Doe^John") == "Doe_John"
    assert safe_value("שלום עולם") == "שלום_עולם"
    assert safe_value("e\u0301te") == "\u00e9te"  # NFKC composes the accent
    assert safe_value(["ORIGINAL", "PRIMARY"]) == "ORIGINAL-PRIMARY"
    assert safe_value(7, "03d") == "007"
    assert safe_value("CT", "03d") == "CT"  # a spec that does not suit the value is ignored
    assert safe_value(None) == "unknown"
    assert safe_component("CON") == "CON_" and safe_component("con.txt") == "con_.txt"
    assert safe_component("COM¹") == "COM1_"  # NFKC: the superscript is a device name too


def test_values_that_vanish_are_kept_apart_by_a_hash_of_the_raw_value():
    a, b = safe_value("😀"), safe_value("🎉")
    assert a.startswith("unknown-") and b.startswith("unknown-") and a != b
    assert safe_value("..") != safe_value(".")


def test_long_values_are_bounded_in_characters_and_utf8_bytes():
    name = safe_component(safe_value("€" * 5000) + "_" + safe_value("€" * 5000), ".dcm")
    assert len(name.encode("utf-8")) <= COMPONENT_BYTES and name.endswith(".dcm")


@pytest.mark.parametrize("layout", ["", "{path.__class__}", "{patient_id!r}", "{nope}",
                                    "{patient_id}//{sop_instance_uid}", "../{patient_id}",
                                    "{patient_id}/..", "_x/{sop_instance_uid}",
                                    ".x/{sop_instance_uid}", "a b/{sop_instance_uid}",
                                    "{frames}", "{patient_id}/{rows[0]}", "{patient_id",
                                    "{series_number:>999999999}", "{rows:{columns}}"])
def test_invalid_layouts_are_refused(layout):
    with pytest.raises(ValueError):
        Layout(layout)


def test_case_and_sanitising_collisions_get_distinct_folders_deterministically():
    base = dict(patient_id="P", patient_name="N", study_instance_uid="1", sop_instance_uid=None)
    records = [dict(base, series_instance_uid=uid, series_description=desc, series_number=1,
                    modality="CT", sop_instance_uid=f"{uid}.1")
               for uid, desc in [("1.1", "Head"), ("1.2", "HEAD"), ("1.3", "head"),
                                 ("1.4", "a/b"), ("1.5", "a_b"), ("1.6", "a\\b"),
                                 ("1.7", "Head")]]  # the last: another series, same words
    plans = [PathPlanner(DEFAULT_LAYOUT).plan(order)
             for order in (records, records[::-1], random.Random(3).sample(records, 7))]
    by_uid = [{r["series_instance_uid"]: p[0][2] for r, p in zip(order, plan)}
              for order, plan in zip((records, records[::-1],
                                      random.Random(3).sample(records, 7)), plans)]
    assert by_uid[0] == by_uid[1] == by_uid[2]  # whatever the order the records come in
    folders = list(by_uid[0].values())
    assert len({fold(f) for f in folders}) == 7
    assert "1_CT_HEAD" in folders and "1_CT_a_b" in folders  # the first keeps the plain name


def test_names_given_by_an_earlier_run_are_kept():
    rec = lambda uid: dict(patient_id="P", series_instance_uid=uid, series_number=1,  # noqa
                           modality="CT", series_description="S", sop_instance_uid=uid + ".1")
    first = PathPlanner(DEFAULT_LAYOUT).plan([rec("9"), rec("1")])
    prior = {(parts[:i], keys[i]): parts[i] for parts, keys in first for i in range(4)}
    # Later only series "9" is left (series "1" was moved away): it keeps its suffix.
    (parts, _), = PathPlanner(DEFAULT_LAYOUT, prior).plan([rec("9")])
    assert parts == first[0][0]
    # A new series with the same words gets neither taken name.
    (new, _), = PathPlanner(DEFAULT_LAYOUT, prior).plan([rec("5")])
    assert fold(new[2]) not in {fold(first[0][0][2]), fold(first[1][0][2])}


# -- end to end --------------------------------------------------------------------------------
def write_hostile(root: Path) -> list[Path]:
    paths = []
    for i, value in enumerate(HOSTILE):
        paths += write_series(root / f"s{i}", axial_positions(2), seed=i, patient_id=value,
                              patient_name=value, study_description=value,
                              series_description=value, study_id=str(i), extra=UTF8)
    return paths


def test_a_multi_valued_patient_id_does_not_stop_the_job(tmp_path):
    # A backslash splits a value into several (PS3.5 6.4): a list where one ID is expected.
    write_series(tmp_path / "src", n=1, patient_id="a\\..\\b")
    write_series(tmp_path / "src", n=1, patient_id="ok", seed=1)
    report = organize(tmp_path / "src", tmp_path / "out", workers=1)
    assert report.ok and len(report.dicom) == 2


def test_hostile_headers_stay_inside_the_target(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    sources = write_hostile(src)
    report = organize(src, out, workers=1)
    assert report.ok, str(report)
    assert len(report.dicom) == len(sources) and not report.conflicts
    root = os.path.realpath(out)
    files = output_files(out)
    assert len(files) == len(sources)
    assert sorted(map(sha, files)) == sorted(map(sha, sources))
    for path in out.rglob("*"):
        assert os.path.commonpath([root, os.path.realpath(path)]) == root
        if path.name not in (MANIFEST_NAME, LOCK_NAME):
            assert_safe_component(path.name)
    # No folder anywhere differs from a sibling by case alone.
    for folder in [out, *(p for p in out.rglob("*") if p.is_dir())]:
        names = [p.name for p in folder.iterdir()]
        assert len({fold(n) for n in names}) == len(names)
    # Every hostile patient is its own folder (one patient per distinct raw ID).
    assert len([p for p in out.iterdir() if p.is_dir()]) == len(HOSTILE)
    assert (out / "שלום_עולם_שלום_עולם").is_dir()
    assert not (tmp_path / "x").exists() and not (tmp_path / "etc").exists()


def test_patients_whose_names_differ_only_in_case_get_two_folders(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    write_series(src / "a", n=2, patient_id="doe", patient_name="X")
    write_series(src / "b", n=2, patient_id="DOE", patient_name="X", seed=1)
    report = organize(src, out, workers=1)
    assert report.ok
    folders = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert len(folders) == 2 and len({fold(f) for f in folders}) == 2


def test_a_symlink_in_the_target_cannot_redirect_a_write(tmp_path):
    src, out, outside = tmp_path / "src", tmp_path / "out", tmp_path / "outside"
    write_series(src, n=2, patient_id="P", patient_name="N")
    outside.mkdir()
    out.mkdir()
    (out / "P_N").symlink_to(outside, target_is_directory=True)
    report = organize(src, out, workers=1)
    assert not report.ok and len(report.errors) == 2
    assert all("leaves the target" in e.reason for e in report.errors)
    assert list(outside.iterdir()) == []
    assert len(report.missing) == 2 and "MISSING" in str(report)


def test_dry_run_writes_nothing_and_plans_what_a_run_does(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    write_series(src, n=3)
    (src / "junk").write_bytes(b"not dicom")
    plan = organize(src, out, dry_run=True, workers=1)
    assert not out.exists()
    assert plan.dry_run and not plan.verified and plan.manifest is None
    assert [e.action for e in plan.dicom] == ["copy"] * 3
    report = organize(src, out, workers=1)
    assert [(e.source, e.target) for e in plan.entries] == \
        [(e.source, e.target) for e in report.entries]
    # A dry run over a finished target plans to skip, and still writes nothing.
    before = sorted((p, p.stat().st_mtime_ns) for p in out.rglob("*"))
    again = organize(src, out, dry_run=True, workers=1)
    assert [e.action for e in again.dicom] == ["skip"] * 3
    assert sorted((p, p.stat().st_mtime_ns) for p in out.rglob("*")) == before


def test_rerun_skips_everything_and_adds_no_file(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    write_series(src, n=3)
    organize(src, out, workers=1)
    files = output_files(out)
    report = organize(src, out)  # threads and worker defaults this time
    assert report.ok and {e.action for e in report.dicom} == {"skip"}
    assert output_files(out) == files


def test_link_mode_makes_hard_links(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    write_series(src, n=3)
    report = organize(src, out, mode="link", workers=1)
    assert report.ok and {e.action for e in report.dicom} == {"link"}
    for entry in report.dicom:
        assert os.path.samefile(entry.source, entry.target)


def test_link_across_devices_falls_back_to_a_copy(tmp_path, monkeypatch):
    src, out = tmp_path / "src", tmp_path / "out"
    write_series(src, n=2)
    real_link = os.link

    def link(a, b, **kw):  # only links from the source folder "cross a device"
        if str(src) in os.fspath(a):
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        return real_link(a, b, **kw)
    monkeypatch.setattr(os, "link", link)
    report = organize(src, out, mode="link", workers=1)
    assert report.ok and {e.action for e in report.dicom} == {"copy"}
    assert all("another device: copied" in e.reason for e in report.dicom)
    assert not any(os.path.samefile(e.source, e.target) for e in report.dicom)


def test_without_hard_links_files_are_published_by_rename(tmp_path, monkeypatch):
    src, out = tmp_path / "src", tmp_path / "out"
    sources = write_series(src, n=2)

    def link(a, b, **kw):
        raise OSError(errno.EPERM, "Operation not permitted")
    monkeypatch.setattr(os, "link", link)
    report = organize(src, out, mode="move", workers=1)
    assert report.ok and {e.action for e in report.dicom} == {"move"}
    assert not any(p.exists() for p in sources)
    assert all("no hard links here: copied, verified" in e.reason for e in report.dicom)


def test_move_mode_moves_and_verifies(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    sources = write_series(src, n=3)
    contents = sorted(map(sha, sources))
    (src / "junk").write_bytes(b"junk")
    report = organize(src, out, mode="move", workers=1)
    assert report.ok and {e.action for e in report.dicom} == {"move"}
    assert not any(p.exists() for p in sources)
    assert (src / "junk").exists()  # not DICOM: left in place
    assert sorted(map(sha, output_files(out))) == contents
    assert organize(src, out, mode="move", workers=1).dicom == []


def test_exact_copies_give_one_file_and_every_copy_is_accounted_for(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    (first,) = write_series(src, n=1)
    shutil.copyfile(first, src / "copy-of-it")
    report = organize(src, out, workers=1)
    assert report.ok and len(report.dicom) == 2 and not report.conflicts
    assert sorted(e.action for e in report.dicom) == ["copy", "skip"]
    assert report.dicom[0].target == report.dicom[1].target
    assert len(output_files(out)) == 1


def test_same_uid_with_different_bytes_is_kept_twice_and_reported(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    uid = "1.2.3.4.5"
    write_series(src / "a", n=1, sop_instance_uid=uid)
    write_series(src / "b", n=1, sop_instance_uid=uid, pixels=lambda k, r, c: 7)
    report = organize(src, out, workers=1)
    assert report.ok
    assert [u for u, _ in report.conflicts] == [uid]
    files = output_files(out)
    assert len(files) == 2 and files[0].parent == files[1].parent
    kept = [e for e in report.dicom if "holds different bytes" in e.reason]
    assert len(kept) == 1 and kept[0].sha256[:12] in Path(kept[0].target).name
    assert Path(kept[0].target).name.endswith(f"-{kept[0].sha256[:12]}.dcm")
    again = organize(src, out, workers=1)  # both found where the first run put them
    assert again.ok and {e.action for e in again.dicom} == {"skip"}
    assert [e.target for e in again.dicom] == [e.target for e in report.dicom]


def test_different_bytes_already_in_the_target_are_not_overwritten(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    (path,) = write_series(src, n=1)
    organize(src, out, workers=1)
    (existing,) = output_files(out)
    existing.write_bytes(b"someone else's bytes")
    report = organize(src, out, workers=1)
    assert report.ok and existing.read_bytes() == b"someone else's bytes"
    assert sorted(map(sha, output_files(out))) == sorted([sha(existing), sha(path)])


def test_junk_empty_and_truncated_files_are_reported_and_nothing_is_lost(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    good = write_series(src, n=3)
    (src / "junk.txt").write_bytes(b"hello, not a DICOM file at all")
    (src / "empty").write_bytes(b"")
    data = good[0].read_bytes()
    (src / "truncated-header").write_bytes(data[:200])
    (src / "truncated-pixels").write_bytes(data[:-40])
    (src / "deep").mkdir()
    (src / "deep" / "CON").write_bytes(b"MZ\x90\x00" + bytes(range(256)) * 4)
    report = organize(src, out, workers=1)
    assert report.ok
    entries = {Path(e.source).name: e for e in report.entries}
    assert len(entries) == len(report.entries) == 8  # every file, once
    assert {p.name for p in good} <= {Path(e.source).name for e in report.dicom}
    assert entries["junk.txt"].kind == entries["empty"].kind == entries["CON"].kind == "other"
    # A cut file is failed (or, read leniently, an instance): either way it is accounted for.
    assert {entries["truncated-header"].kind, entries["truncated-pixels"].kind} <= {"failed",
                                                                                    "dicom"}
    assert all(e.action == "leave" and e.target is None for e in report.others)
    # A file that scans as DICOM (a header read leniently) is copied byte for byte.
    for entry in report.dicom:
        assert Path(entry.target).read_bytes() == Path(entry.source).read_bytes()
    assert not (out / OTHER_FOLDER).exists()
    # With others=True they are copied under _other/, their names made safe.
    out2 = tmp_path / "out2"
    report = organize(src, out2, workers=1, others=True)
    assert report.ok and all(e.action == "copy" for e in report.entries)
    assert (out2 / OTHER_FOLDER / "junk.txt").read_bytes().startswith(b"hello")
    assert (out2 / OTHER_FOLDER / "deep" / "CON_").read_bytes().startswith(b"MZ")
    assert (out2 / OTHER_FOLDER / "empty").read_bytes() == b""


def test_a_target_inside_the_source_is_left_out_of_the_scan(tmp_path):
    src = tmp_path / "src"
    write_series(src, n=2)
    out = src / "sorted"
    organize(src, out, workers=1, others=True)
    report = organize(src, out, workers=1, others=True)
    assert report.ok and {e.action for e in report.dicom} == {"skip"}
    assert len(report.ignored) >= 2  # the outputs and the manifest of the first run
    assert len(output_files(out)) == 2


def test_a_source_inside_the_target_is_refused(tmp_path):
    (tmp_path / "out" / "in").mkdir(parents=True)
    with pytest.raises(ValueError, match="separate folder"):
        organize(tmp_path / "out" / "in", tmp_path / "out")
    with pytest.raises(ValueError, match="separate folder"):
        organize(tmp_path / "out", tmp_path / "out")
    with pytest.raises(ValueError, match="mode"):
        organize(tmp_path, tmp_path / "x", mode="rename")


def test_temporaries_of_an_interrupted_run_are_removed_and_torn_lines_ignored(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    write_series(src, n=2)
    organize(src, out, workers=1)
    (leftover := next(out.rglob("*.dcm")).parent / ".rawdicom-0123456789abcdef.part") \
        .write_bytes(b"half")
    with open(out / MANIFEST_NAME, "a") as f:
        f.write('{"source": "x", "tar')
    report = organize(src, out, workers=1)
    assert report.ok and not leftover.exists()
    assert len(manifest_rows(out)) == 4  # two runs of two files; the torn line closed off


def test_a_second_run_into_the_same_target_is_refused_while_one_runs(tmp_path):
    fcntl = pytest.importorskip("fcntl")
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "nothing").mkdir()  # (a source that does not exist is a FileNotFoundError)
    with open(out / LOCK_NAME, "a+b") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        with pytest.raises(RuntimeError, match="another organize"):
            organize(tmp_path / "nothing", out, workers=1)


def test_a_user_layout_groups_by_its_fields_and_loses_nothing(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    a = write_series(src / "a", n=3, series_number=1)
    b = write_series(src / "b", n=3, series_number=2, seed=1)
    report = organize(src, out, layout="{modality}/{patient_id}/{instance_number:04d}.dcm",
                      workers=1)
    assert report.ok
    files = output_files(out)
    assert {f.parent.relative_to(out).as_posix() for f in files} == {"CT/PAT-1"}
    assert sorted(map(sha, files)) == sorted(map(sha, a + b))
    assert {f.name for f in files} >= {"0001.dcm", "0002.dcm", "0003.dcm"}


def test_manifest_rows_name_source_target_action_reason(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    write_series(src, n=2)
    report = organize(src, out, workers=1)
    rows = manifest_rows(out)
    assert {r["action"] for r in rows} == {"copy"}
    for row in rows:
        assert (out / row["target"]).is_file() and os.path.isabs(row["source"])
        assert {"source", "target", "action", "reason"} <= set(row)
    assert "every DICOM source is in the target" in str(report)


# -- interrupted runs -------------------------------------------------------------------------
CHILD = textwrap.dedent(r"""
    import errno, os, signal, sys
    sys.path.insert(0, sys.argv[1])
    from rawdicom.model import organize as organize_module
    src, out, mode, kill_at, exdev = sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6] == "1"
    events = [0]

    def event():
        events[0] += 1
        return events[0] == kill_at

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    def hooked(real, name):
        def call(*args, **kw):
            if event():
                die()
            if name == "link" and exdev and src in os.fspath(args[0]):
                raise OSError(errno.EXDEV, "Invalid cross-device link")
            return real(*args, **kw)
        return call

    for name in ("link", "unlink", "fsync", "mkdir", "rename", "open"):
        setattr(os, name, hooked(getattr(os, name), name))

    class Tearing:  # a write that stops half way when the process is killed there
        def __init__(self, f):
            self.f = f
        def write(self, data):
            if event():
                self.f.write(data[: len(data) // 2]); self.f.flush(); die()
            return self.f.write(data)
        def __getattr__(self, name):
            return getattr(self.f, name)
        def __enter__(self):
            return self
        def __exit__(self, *exc):
            return self.f.__exit__(*exc)

    real_fdopen, real_open = os.fdopen, open
    os.fdopen = lambda *a, **kw: Tearing(real_fdopen(*a, **kw))
    organize_module.open = lambda p, mode="r", *a, **kw: (
        Tearing(real_open(p, mode, *a, **kw)) if "a" in mode and p.endswith(".jsonl")
        else real_open(p, mode, *a, **kw))
    organize_module.organize(src, out, mode=mode, workers=1)
    print(events[0])
""")


def build_source(root: Path) -> dict[str, int]:
    """A small source: two series, an exact copy, a same-UID-other-bytes pair, junk."""
    write_series(root / "a", n=4, series_number=1)
    write_series(root / "b", n=3, series_number=2, seed=1, series_description="Other")
    (first,) = write_series(root / "c", n=1, sop_instance_uid="1.2.3.9")
    write_series(root / "d", n=1, sop_instance_uid="1.2.3.9", pixels=lambda k, r, c: 3)
    shutil.copyfile(first, root / "copy")
    (root / "junk").write_bytes(b"junk")
    return Counter(sha(p) for p in root.rglob("*") if p.is_file() and p.name != "junk")


def run_child(src: Path, out: Path, mode: str, kill_at: int, exdev: bool) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", CHILD, str(Path(__file__).parents[1]), str(src),
                           str(out), mode, str(kill_at), "1" if exdev else "0"],
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("mode,exdev", [("copy", False), ("link", False), ("move", False),
                                        ("move", True)])
def test_a_run_killed_at_random_points_is_completed_by_a_rerun(tmp_path, mode, exdev):
    probe_src, probe_out = tmp_path / "probe-src", tmp_path / "probe-out"
    build_source(probe_src)
    done = run_child(probe_src, probe_out, mode, 0, exdev)
    assert done.returncode == 0, done.stderr
    events = int(done.stdout.split()[-1])
    assert events > 20
    rng = random.Random(f"{mode}{exdev}")
    points = sorted(rng.sample(range(1, events + 1), 6))
    for kill_at in points:
        src, out = tmp_path / f"src{kill_at}", tmp_path / f"out{kill_at}"
        contents = build_source(src)
        killed = run_child(src, out, mode, kill_at, exdev)
        assert killed.returncode == -9, (kill_at, killed.stderr)
        report = organize(src, out, mode=mode, workers=1)
        assert report.ok, (kill_at, str(report))
        files = output_files(out)
        assert not [f for f in out.rglob(".rawdicom-*")], kill_at
        # Every distinct source content exactly once, nothing else, no partial file.
        assert Counter(map(sha, files)) == Counter(dict.fromkeys(contents, 1)), kill_at
        if mode == "move":
            assert [p.name for p in src.rglob("*") if p.is_file()] == ["junk"], kill_at
        rows = manifest_rows(out)
        assert {r["action"] for r in rows} <= {"copy", "link", "move", "skip", "leave"}


def test_threads_and_one_thread_give_the_same_tree(tmp_path):
    src = tmp_path / "src"
    for i in range(4):
        write_series(src / str(i), n=5, series_number=i, seed=i,
                     series_description="Same" if i < 2 else "same")
    serial = organize(src, tmp_path / "one", workers=1)
    threaded = organize(src, tmp_path / "many", workers=4)
    assert serial.ok and threaded.ok
    rel = lambda report, root: [(e.source, os.path.relpath(e.target, root))  # noqa: E731
                                for e in report.entries]
    assert rel(serial, serial.target) == rel(threaded, threaded.target)


def test_progress_counts_every_file_placed(tmp_path):
    src = tmp_path / "src"
    write_series(src, n=4)
    calls = []
    organize(src, tmp_path / "out", workers=1, progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (4, 4) and (1, 4) in calls


def test_a_scanned_collection_can_be_organized(tmp_path):
    src = tmp_path / "src"
    write_series(src, n=2)
    collection = rawdicom.scan(src, workers=1)
    report = rawdicom.organize(collection, tmp_path / "out")
    assert rawdicom.organize is organize
    assert report.ok and len(output_files(tmp_path / "out")) == 2


def test_a_source_that_cannot_be_removed_is_reported_as_copied(tmp_path, monkeypatch):
    src, out = tmp_path / "src", tmp_path / "out"
    sources = write_series(src, n=2)
    real_unlink = os.unlink

    def unlink(path, *a, **kw):
        if str(src) in os.fspath(path):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real_unlink(path, *a, **kw)
    monkeypatch.setattr(os, "unlink", unlink)
    report = organize(src, out, mode="move", workers=1)
    assert report.ok and {e.action for e in report.dicom} == {"copy"}
    assert all("source not removed" in e.reason for e in report.dicom)
    assert all(p.exists() for p in sources)


def test_one_patient_spelled_two_ways_stays_in_one_folder(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    write_series(src / "a", n=2, patient_id="P7", patient_name="Doe^John", study_id="1")
    write_series(src / "b", n=2, patient_id="P7", patient_name="DOE^JOHN", study_id="2", seed=1)
    write_series(src / "c", n=1, patient_id="P7", issuer="OTHER", patient_name="Doe^John",
                 seed=2)
    report = organize(src, out, workers=1)
    assert report.ok
    folders = sorted(p.name for p in out.iterdir() if p.is_dir())
    # (PatientID, Issuer) is the patient: one folder for P7, another for P7 from OTHER.
    assert len(folders) == 2 and "P7_Doe_John" in folders
    assert len(list((out / "P7_Doe_John").iterdir())) == 2  # both studies


def test_series_whose_names_collide_after_folding_get_distinct_folders(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    for i, description in enumerate(["Head", "HEAD", "a/b", "a_b", "a\\b", "Head"]):
        write_series(src / str(i), n=2, seed=i, series_number=1, series_description=description,
                     series_instance_uid=f"1.2.826.0.1.{i}")
    report = organize(src, out, workers=1)
    assert report.ok
    (study,) = [p for p in out.glob("*/*") if p.is_dir()]
    names = sorted(p.name for p in study.iterdir())
    assert len(names) == 6 and len({fold(n) for n in names}) == 6
    assert all(len(list((study / n).iterdir())) == 2 for n in names)
    again = organize(src, tmp_path / "again", workers=2)  # the same names, whatever the run
    assert sorted(p.name for p in next((tmp_path / "again").glob("*/*")).iterdir()) == names
