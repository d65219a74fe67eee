"""The hierarchy from records: keys, unknown nodes, order, printing, delegation to stacks."""

from __future__ import annotations

import random
import sys
import types
from typing import Any

import pytest

from rawdicom import Collection
from rawdicom.model.hierarchy import Series
from rawdicom.model.record import record_fields


def record(path: str, **values: Any) -> dict[str, Any]:
    r = dict.fromkeys(record_fields())
    r.update(path=path, problems=[], **values)
    return r


def records() -> list[dict[str, Any]]:
    base = dict(patient_id="P1", issuer_of_patient_id="A", patient_name="One^P",
                study_instance_uid="1.1", study_date="20250101", study_description="Head",
                modality="CT")

    def r(path: str, **values: Any) -> dict[str, Any]:
        return record(path, **{**base, **values})

    return [
        r("a1", series_instance_uid="1.1.1", series_number=1, series_description="Axial",
          sop_instance_uid="1.1.1.1"),
        r("a2", series_instance_uid="1.1.1", series_number=1, sop_instance_uid="1.1.1.2"),
        # the same SeriesNumber, another SeriesInstanceUID: another series
        r("a3", series_instance_uid="1.1.2", series_number=1, sop_instance_uid="1.1.2.1"),
        # the same series UID with another number: the same series
        r("a4", series_instance_uid="1.1.1", series_number=9, sop_instance_uid="1.1.1.3"),
        # the same PatientID from another issuer: another patient
        r("b1", issuer_of_patient_id="B", study_instance_uid="2.1",
          series_instance_uid="2.1.1", sop_instance_uid="2.1.1.1"),
        # a second study of P1/A, earlier
        r("c1", study_date="20240101", study_instance_uid="1.2", series_instance_uid="1.2.1",
          sop_instance_uid="1.2.1.1", modality="MR", study_description=None),
        # missing identifiers: explicit unknown nodes
        r("u1", sop_instance_uid="9.1"),
        r("u2", study_instance_uid=None, series_instance_uid="9.9", sop_instance_uid="9.2"),
        record("u3", modality="OT", study_instance_uid="8.1", series_instance_uid="8.1.1",
               sop_instance_uid="9.3"),
    ]


def test_keys_are_the_standards_identifiers() -> None:
    c = Collection.from_records(records())
    assert [p.key for p in c.patients] == [("P1", "A"), ("P1", "B"), (None, None)]
    p1 = c.patients[0]
    assert [s.study_instance_uid for s in p1.studies] == ["1.2", "1.1", None]
    head = p1.studies[1]
    assert [s.series_instance_uid for s in head.series] == ["1.1.1", "1.1.2", None]
    assert [i.path for i in head.series[0]] == ["a1", "a2", "a4"]
    assert head.series[0].series_description == "Axial"
    assert head.study_description == "Head" and p1.patient_name == "One^P"


def test_missing_identifiers_are_unknown_nodes_with_the_reason() -> None:
    c = Collection.from_records(records())
    p1 = c.patients[0]
    no_series = p1.studies[1].series[-1]
    assert no_series.series_instance_uid is None and no_series.unknown == "no SeriesInstanceUID"
    assert [i.path for i in no_series] == ["u1"]
    no_study = p1.studies[-1]
    assert no_study.unknown == "no StudyInstanceUID"
    assert [i.path for s in no_study for i in s] == ["u2"]
    nobody = c.patients[-1]
    assert nobody.unknown == "no PatientID" and [i.path for i in nobody.instances] == ["u3"]
    text = str(c)
    for reason in ("no SeriesInstanceUID", "no StudyInstanceUID", "no PatientID"):
        assert f"unknown: {reason}" in text


def test_order_does_not_depend_on_the_order_of_the_records() -> None:
    first = Collection.from_records(records())
    shuffled = records()
    random.Random(1).shuffle(shuffled)
    second = Collection.from_records(shuffled)
    assert second.to_records() == first.to_records()
    assert str(second) == str(first)


def test_every_level_iterates_and_counts() -> None:
    c = Collection.from_records(records())
    assert len(c) == 3 and list(c) == c.patients
    assert sum(len(s) for p in c for st in p for s in st) == len(c.instances) == 9
    assert len(c.studies) == 5 and len(c.series) == 7
    assert [r["path"] for r in c.to_records()] == [i.path for i in c.instances]
    assert all(type(r) is dict for r in c.to_records())


def test_print_is_a_tree_with_counts_modality_and_description() -> None:
    text = str(Collection.from_records(records(), skipped=["junk"],
                                       failed=[("bad", ValueError("x"))]))
    lines = text.splitlines()
    assert lines[0] == ("Collection: 3 patients, 5 studies, 7 series, 9 instances "
                        "(1 not DICOM, 1 failed)")
    assert "  Patient P1 (issuer A) One^P: 3 studies" in lines
    assert '    Study 20250101 "Head": 3 series' in lines
    assert '      Series 1 CT "Axial": 3 instances' in lines
    assert "      Series MR: 1 instance" in lines


def test_stacks_and_volume_delegate_to_the_geometry_modules(monkeypatch) -> None:
    seen: dict[str, Any] = {}
    stacks = types.ModuleType("rawdicom.model.stacks")
    volume = types.ModuleType("rawdicom.model.volume")

    def split_stacks(instances, **tolerances):
        seen["split"] = (list(instances), tolerances)
        return ["stack"]

    def series_volume(found, **kw):
        seen["volume"] = (found, kw)
        return "volume"

    stacks.split_stacks = split_stacks  # type: ignore[attr-defined]
    volume.series_volume = series_volume  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "rawdicom.model.stacks", stacks)
    monkeypatch.setitem(sys.modules, "rawdicom.model.volume", volume)
    series: Series = Collection.from_records(records()).patients[0].studies[1].series[0]
    assert series.stacks(position_tolerance=0.5) == ["stack"]
    assert seen["split"] == (series.instances, {"position_tolerance": 0.5})
    assert series.volume(hounsfield=True) == "volume"
    assert seen["volume"] == (["stack"], {"hounsfield": True})


def test_duplicate_uids_that_cannot_be_compared_are_all_kept() -> None:
    rs = [record("/nonexistent/a", sop_instance_uid="1", series_instance_uid="2"),
          record("/nonexistent/b", sop_instance_uid="1", series_instance_uid="2")]
    c = Collection.from_records(rs)
    (duplicate,) = c.duplicates
    assert duplicate.identical is None and "cannot compare" in duplicate.reason
    assert len(c.instances) == 2


@pytest.mark.parametrize("n", [0, 1])
def test_small_collections(n: int) -> None:
    c = Collection.from_records(records()[:n])
    assert len(c.instances) == n
    assert str(c).startswith(f"Collection: {n} patient")


def test_values_of_unexpected_shape_do_not_break_grouping_or_order() -> None:
    """A backslash in an ID or a UID makes a list; an IS that is text sorts beside numbers."""
    rs = [record("x1", patient_id=["A", "B"], study_instance_uid=["1", "2"],
                 series_instance_uid="3", series_number=[1, 2], sop_instance_uid="4"),
          record("x2", patient_id=["A", "B"], study_instance_uid=["1", "2"],
                 series_instance_uid="5", series_number=7, sop_instance_uid="6"),
          record("x3", patient_id="A", study_instance_uid="1", series_instance_uid="7",
                 series_number="text", sop_instance_uid="8")]
    c = Collection.from_records(rs)
    assert len(c.patients) == 2 and len(c.instances) == 3
    assert [s.series_number for s in c.patients[1].studies[0].series] == [7, [1, 2]]
