"""The series, studies and patients views: GROUP BY queries over the instances table.

One text for SQLite and DuckDB (the SQL both accept), as NCI's Imaging Data Commons builds
its series tables from its instance table. Only rows with status ``ok`` count; ``where``
adds the sink's own condition (SQLite keeps removed files as marked rows).
"""

from __future__ import annotations

__all__ = ["view_statements"]

_SERIES = """
SELECT series_instance_uid,
       MIN(study_instance_uid) AS study_instance_uid,
       MIN(patient_id) AS patient_id,
       MIN(modality) AS modality,
       MIN(series_number) AS series_number,
       MIN(series_description) AS series_description,
       MIN(frame_of_reference_uid) AS frame_of_reference_uid,
       COUNT(*) AS instances,
       SUM(COALESCE(number_of_frames, 1)) AS frames,
       COUNT(DISTINCT stack_key) AS stack_keys,
       COUNT(DISTINCT frame_of_reference_uid) AS frames_of_reference,
       MIN("rows") AS "rows", MAX("rows") AS max_rows,
       MIN("columns") AS "columns", MAX("columns") AS max_columns,
       MIN(slice_position) AS min_slice_position,
       MAX(slice_position) AS max_slice_position,
       COUNT(DISTINCT slice_position) AS slice_positions,
       SUM(size) AS bytes,
       SUM(header_bytes) AS header_bytes
FROM instances
WHERE status = 'ok' AND series_instance_uid IS NOT NULL{where}
GROUP BY series_instance_uid"""

_STUDIES = """
SELECT study_instance_uid,
       MIN(patient_id) AS patient_id,
       MIN(study_date) AS study_date,
       MIN(study_time) AS study_time,
       MIN(accession_number) AS accession_number,
       MIN(study_description) AS study_description,
       COUNT(DISTINCT series_instance_uid) AS series,
       COUNT(*) AS instances,
       SUM(size) AS bytes
FROM instances
WHERE status = 'ok' AND study_instance_uid IS NOT NULL{where}
GROUP BY study_instance_uid"""

_PATIENTS = """
SELECT patient_id,
       issuer_of_patient_id,
       COUNT(DISTINCT study_instance_uid) AS studies,
       COUNT(DISTINCT series_instance_uid) AS series,
       COUNT(*) AS instances,
       SUM(size) AS bytes
FROM instances
WHERE status = 'ok'{where}
GROUP BY patient_id, issuer_of_patient_id"""


def view_statements(where: str = "") -> list[str]:
    """``CREATE VIEW`` statements for series, studies and patients; ``where`` is ANDed in."""
    extra = f" AND {where}" if where else ""
    return [f"CREATE VIEW {name} AS {sql.format(where=extra)}"
            for name, sql in (("series", _SERIES), ("studies", _STUDIES), ("patients", _PATIENTS))]
