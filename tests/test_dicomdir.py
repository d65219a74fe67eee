"""read_dicomdir on a DICOMDIR written by pydicom's FileSet, and on hostile ones built from it
(loops, offsets that point nowhere, file IDs that leave the folder, records that lie)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Callable

import pytest

import rawdicom
from rawdicom import MalformedElementError

sys.path.insert(0, str(Path(__file__).parent))
from series_builders import write_collection, write_series  # noqa: E402

pydicom = pytest.importorskip("pydicom")
from pydicom.fileset import FileSet  # noqa: E402

ROOT_FIRST, NEXT, LOWER = 0x00041200, 0x00041400, 0x00041420
LINKS = (NEXT, LOWER)


@pytest.fixture()
def fileset(tmp_path: Path) -> Path:
    """A File-set of 17 instances (3 patients, 4 studies, 5 series) written by pydicom."""
    info = write_collection(tmp_path / "src", seed=7)
    fs = FileSet()
    for path in info["paths"]:
        fs.add(pydicom.dcmread(path))
    fs.write(tmp_path / "media")
    return tmp_path / "media" / "DICOMDIR"


def rewrite(dicomdir: Path, mutate: Callable[[list, list[dict[int, int | None]]], None]) -> None:
    """Rewrite a DICOMDIR with its links edited by record index.

    ``links[i]`` maps NEXT/LOWER to the index of the record linked to (None: no link);
    ``mutate`` may change them, the records, or put a raw offset (a ``Raw``) in a link.
    The file is written twice: offsets are then set from where the records really are.
    """
    ds = rawdicom.read(dicomdir)
    items = ds.DirectoryRecordSequence
    index = {item.offset: i for i, item in enumerate(items)}
    links = [{tag: index.get(item.get(tag) or 0) for tag in LINKS} for item in items]
    root = [{ROOT_FIRST: index.get(ds.get(ROOT_FIRST))}]
    mutate(items, links + root)
    for _ in range(2):
        rawdicom.write(ds, dicomdir)
        again = rawdicom.read(dicomdir)
        offsets = [item.offset for item in again.DirectoryRecordSequence]
        for item, link in zip(items, links):
            for tag in LINKS:
                item.set(tag, _offset(link[tag], offsets), "UL")
        ds.set(ROOT_FIRST, _offset(root[0][ROOT_FIRST], offsets), "UL")
    rawdicom.write(ds, dicomdir)
    check = rawdicom.read(dicomdir)
    assert [item.offset for item in check.DirectoryRecordSequence] == offsets


class Raw(int):
    """A link given as a byte offset, not as a record index."""


def _offset(target: int | None, offsets: list[int]) -> int:
    if target is None:
        return 0
    if isinstance(target, Raw):
        return int(target)
    return offsets[target]


def record_types(dicomdir: Path) -> list[str]:
    return [item.DirectoryRecordType for item in rawdicom.read(dicomdir).DirectoryRecordSequence]


def test_fileset_gives_the_collection_a_scan_gives(fileset: Path) -> None:
    c = rawdicom.read_dicomdir(fileset)
    scanned = rawdicom.scan(fileset.parent, workers=1)
    assert len(c.instances) == 17 and not c.failed and not c.skipped
    for instance in c.instances:
        parts = Path(instance.path).relative_to(fileset.parent).parts
        assert instance.referenced_file_id == list(parts)
    assert [dict(r, referenced_file_id=None) for r in c.to_records()] == scanned.to_records()
    assert str(c) == str(scanned)
    assert c.dicomdirs == [str(fileset)] and scanned.dicomdirs == [str(fileset)]
    assert all(not i.problems for i in c.instances)
    # rewritten by rawdicom (offsets recomputed): the same
    rewrite(fileset, lambda items, links: None)
    assert rawdicom.read_dicomdir(fileset).to_records() == c.to_records()
    assert rawdicom.read_dicomdir(fileset, workers=2).to_records() == c.to_records()


def test_file_ids_are_matched_case_insensitively(fileset: Path) -> None:
    for folder in sorted(fileset.parent.glob("PT*")):
        folder.rename(folder.with_name(folder.name.lower()))
    c = rawdicom.read_dicomdir(fileset)
    assert len(c.instances) == 17 and not c.failed


def test_a_next_link_back_to_an_earlier_record_is_a_loop(fileset: Path) -> None:
    types = record_types(fileset)
    images = [i for i, t in enumerate(types) if t == "IMAGE"]

    def loop(items, links):
        last = images[0]
        while links[last][NEXT] is not None:
            last = links[last][NEXT]
        links[last][NEXT] = images[0]

    rewrite(fileset, loop)
    with pytest.raises(MalformedElementError, match="loop") as info:
        rawdicom.read_dicomdir(fileset)
    assert info.value.tag == NEXT


def test_a_lower_link_to_an_ancestor_is_a_loop(fileset: Path) -> None:
    types = record_types(fileset)
    first_series = types.index("SERIES")

    def loop(items, links):
        links[first_series][LOWER] = links[-1][ROOT_FIRST]  # series -> the first patient

    rewrite(fileset, loop)
    with pytest.raises(MalformedElementError, match="loop"):
        rawdicom.read_dicomdir(fileset)


@pytest.mark.parametrize("where", ["past the end", "inside a record", "root"])
def test_offsets_that_point_at_no_record_are_an_error(fileset: Path, where: str) -> None:
    first = rawdicom.read(fileset).DirectoryRecordSequence[0].offset

    def stray(items, links):
        if where == "root":
            links[-1][ROOT_FIRST] = Raw(first + 2)
        else:
            links[0][LOWER] = Raw(1 << 30 if where == "past the end" else first + 8)

    rewrite(fileset, stray)
    with pytest.raises(MalformedElementError, match="does not point at a directory record"):
        rawdicom.read_dicomdir(fileset)


@pytest.mark.parametrize("file_id", [["..", "..", "etc", "passwd"], ["/etc/passwd"],
                                     ["PT000000", "..", "..", "x"], ["C:", "WINDOWS"],
                                     ["a/b"], ["PT000000", ""]])
def test_file_ids_leaving_the_folder_are_refused_and_reported(fileset: Path,
                                                              file_id: list[str]) -> None:
    types = record_types(fileset)
    victim = types.index("IMAGE")
    (fileset.parent.parent / "etc").mkdir()
    (fileset.parent.parent / "etc" / "passwd").write_text("root:x:0:0")

    def hostile(items, links):
        items[victim].set("ReferencedFileID", file_id, "CS")

    rewrite(fileset, hostile)
    c = rawdicom.read_dicomdir(fileset)
    assert len(c.instances) == 16
    (path, error), = c.failed
    assert path == "\\".join(file_id)
    assert isinstance(error, MalformedElementError)


def test_records_that_disagree_with_their_files_are_noted(fileset: Path) -> None:
    types = record_types(fileset)
    series = types.index("SERIES")

    def lie(items, links):
        items[series].set("SeriesInstanceUID", "1.2.3.4")

    rewrite(fileset, lie)
    c = rawdicom.read_dicomdir(fileset)
    noted = [i for i in c.instances if i.problems]
    assert noted and all("1.2.3.4" in i.problems[0] for i in noted)
    assert all(i.series_instance_uid != "1.2.3.4" for i in c.instances)  # the file's own


def test_missing_referenced_file_is_failed(fileset: Path) -> None:
    victim = next(fileset.parent.rglob("IM000000"))
    victim.unlink()
    c = rawdicom.read_dicomdir(fileset)
    assert [p for p, _ in c.failed] == [str(victim)]
    assert isinstance(c.failed[0][1], FileNotFoundError)
    assert len(c.instances) == 16


def test_not_a_dicomdir(tmp_path: Path) -> None:
    path = write_series(tmp_path, n=1)[0]
    with pytest.raises(MalformedElementError, match="not a DICOMDIR"):
        rawdicom.read_dicomdir(path)


def test_a_dicomdir_found_by_a_scan_is_not_an_instance(fileset: Path, tmp_path: Path) -> None:
    shutil.copy(fileset, tmp_path / "renamed")
    c = rawdicom.scan([tmp_path / "renamed"], workers=1)
    assert c.dicomdirs == [str(tmp_path / "renamed")] and not c.instances


# -- issue 20: symbolic links out of the folder, values of the wrong type ---------------------
def _first_patient(fileset: Path) -> Path:
    return sorted(p for p in fileset.parent.iterdir() if p.is_dir())[0]


def test_a_folder_component_linked_out_of_the_folder_is_refused(fileset: Path) -> None:
    patient = _first_patient(fileset)
    outside = fileset.parent.parent / "outside"
    outside.mkdir()
    moved = outside / patient.name
    patient.rename(moved)
    patient.symlink_to(moved, target_is_directory=True)
    inside = len(list(moved.rglob("IM*")))
    c = rawdicom.read_dicomdir(fileset)
    assert len(c.instances) == 17 - inside
    assert len(c.failed) == inside
    for file_id, error in c.failed:
        assert file_id.startswith(patient.name + "\\")
        assert isinstance(error, MalformedElementError) and "outside" in str(error)
        assert error.tag == 0x00041500 and error.offset
    assert all(str(outside) not in i.path for i in c.instances)


def test_a_file_linked_out_of_the_folder_is_refused(fileset: Path) -> None:
    victim = next(fileset.parent.rglob("IM000000"))
    outside = fileset.parent.parent / "secret.dcm"
    victim.rename(outside)
    victim.symlink_to(outside)
    c = rawdicom.read_dicomdir(fileset)
    assert len(c.instances) == 16
    (file_id, error), = c.failed
    assert file_id.endswith("IM000000") and "outside" in str(error)


def test_links_inside_the_folder_are_followed(fileset: Path) -> None:
    patient = _first_patient(fileset)
    store = fileset.parent / "store"
    store.mkdir()
    patient.rename(store / patient.name)
    patient.symlink_to(store / patient.name, target_is_directory=True)
    c = rawdicom.read_dicomdir(fileset)
    assert len(c.instances) == 17 and not c.failed


def test_a_numeric_referenced_file_id_is_refused(fileset: Path) -> None:
    types = record_types(fileset)
    victim = types.index("IMAGE")

    def numeric(items, links):
        items[victim].set("ReferencedFileID", [7, 8], "US")

    rewrite(fileset, numeric)
    c = rawdicom.read_dicomdir(fileset)
    assert len(c.instances) == 16
    (file_id, error), = c.failed
    assert isinstance(error, MalformedElementError) and "not text" in str(error)
    assert error.tag == 0x00041500 and error.offset is not None


def test_a_record_sequence_that_is_not_a_sequence_is_an_error(fileset: Path) -> None:
    ds = rawdicom.read(fileset)
    ds.set(0x00041220, b"\x00" * 16, "OB")
    rawdicom.write(ds, fileset)
    with pytest.raises(MalformedElementError, match="not SQ") as info:
        rawdicom.read_dicomdir(fileset)
    assert info.value.tag == 0x00041220 and info.value.offset is not None
