"""``rawdicom tree``: a folder as patients -> studies -> series -> stacks, with diagnostics."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from . import common
from .folder import scan_folder, stack_summary
from .labels import series_selector, study_label, text, uid_ends


def add(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "tree", help="patients, studies, series and stacks of a folder",
        description="Scan a folder (recursively, by content, headers only) and print its "
                    "patients, studies and series with counts, modality and description; "
                    "each series' stacks (the regular grids in it) and their diagnostics "
                    "(a missing slice, a tilt) one line each.")
    parser.add_argument("paths", nargs="*", metavar="DIR")
    common.add_example(parser, "the whole study")
    parser.add_argument("--json", action="store_true", help="print the tree as JSON")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    status = 0
    for path in common.inputs(args, folder=True):
        collection = scan_folder(path, "tree")
        if collection.failed:
            status = 1
        if args.json:
            sys.stdout.write(json.dumps(as_json(path, collection), indent=2,
                                        ensure_ascii=False) + "\n")
        else:
            sys.stdout.write("\n".join(lines(path, collection)) + "\n")
    return status


def _count(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else plural or word + 's'}"


def lines(path: str, collection: Any) -> list[str]:
    """The tree as text, one line per node, stack and diagnostic."""
    notes = [f"{_count(len(collection.instances), 'instance')}"]
    if collection.skipped:
        notes.append(f"{len(collection.skipped)} not DICOM")
    if collection.failed:
        notes.append(f"{len(collection.failed)} unreadable")
    if collection.duplicates:
        notes.append(_count(len(collection.duplicates), "duplicate"))
    out = [f"{path}: {', '.join(notes)}"]
    study_ends = uid_ends([st.study_instance_uid for st in collection.studies])
    for patient in collection.patients:
        name = text(patient.patient_name)
        out.append(f"Patient {text(patient.patient_id) or '(no PatientID)'}"
                   f"{' ' + repr(name) if name else ''}"
                   f": {_count(len(patient.studies), 'study', 'studies')}")
        for study in patient.studies:
            out.append(f"  Study {study_label(study, study_ends)}"
                       f": {_count(len(study.series), 'series', 'series')}")
            series_ends = uid_ends([s.series_instance_uid for s in study.series])
            numbers = [s.series_number for s in study.series]
            for series in study.series:
                desc = text(series.series_description)
                desc = f' "{desc}"' if desc else ""
                number = "?" if series.series_number is None else series.series_number
                twin = numbers.count(series.series_number) > 1 and series.series_instance_uid
                end = f" [...{series_ends[series.series_instance_uid]}]" if twin else ""
                out.append(f"    Series {number}{end} {text(series.modality) or '-'}{desc}: "
                           f"{_count(len(series), 'instance')}")
                stacks = series.stacks()
                for index, stack in enumerate(stacks, 1):
                    summary, diagnostics = stack_summary(stack)
                    name = f"stack {index}" if len(stacks) > 1 else "stack"
                    reason = f" [{stack.reason}]" if len(stacks) > 1 else ""
                    out.append(f"      {name}: {summary}{reason}")
                    out += [f"        ! {d}" for d in diagnostics]
    if len(study_ends) > 1:
        out.append("(select a series with --series STUDY/N: the end of the study's UID in "
                   "[...], then its Series Number)")
    return out


def as_json(path: str, collection: Any) -> dict[str, Any]:
    """The tree as plain JSON objects (``--json``)."""
    def stack_json(stack: Any) -> dict[str, Any]:
        text, diagnostics = stack_summary(stack)
        out: dict[str, Any] = {"images": len(stack), "reason": stack.reason, "summary": text}
        try:
            g = stack.grid
            out.update(shape=list(g.shape), spacing=list(g.spacing), origin=list(g.origin),
                       regular=g.regular, affine=[list(row) for row in g.affine])
        except ValueError:
            pass
        out["diagnostics"] = [{"kind": d.kind, "slices": list(d.slices), "measured": d.measured,
                               "tolerance": d.tolerance, "message": d.message}
                              for d in diagnostics]
        return out

    study_ends = uid_ends([st.study_instance_uid for st in collection.studies])

    def select(study: Any, series: Any) -> str:
        return series_selector(study, series, study_ends,
                               uid_ends([s.series_instance_uid for s in study.series]))

    return {
        "path": path,
        "patients": [{
            "patient_id": p.patient_id, "patient_name": None if p.patient_name is None
            else str(p.patient_name), "issuer_of_patient_id": p.issuer_of_patient_id,
            "studies": [{
                "study_instance_uid": st.study_instance_uid, "study_date": st.study_date,
                "study_time": st.study_time,
                "study_description": st.study_description,
                "accession_number": st.accession_number,
                "series": [{
                    "series_instance_uid": s.series_instance_uid, "select": select(st, s),
                    "series_number": s.series_number, "modality": s.modality,
                    "series_description": s.series_description, "instances": len(s),
                    "stacks": [stack_json(stack) for stack in s.stacks()],
                } for s in st.series],
            } for st in p.studies],
        } for p in collection.patients],
        "skipped": collection.skipped,
        "failed": [{"path": f, "error": str(e)} for f, e in collection.failed],
    }
