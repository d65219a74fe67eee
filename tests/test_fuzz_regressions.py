"""Replay every reproducer the fuzzer saved (tests/fuzz_regressions/*.dcm).

Each file once made rawdicom raise something other than a DicomError, hang or
blow its memory; its ``.txt`` holds the original traceback.  Now each must
end, through tools/fuzz.py's full exercise, in success or a DicomError.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pytest

import rawdicom

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import fuzz  # noqa: E402

REPRODUCERS = sorted((Path(__file__).parent / "fuzz_regressions").glob("*.dcm"))


def test_there_are_reproducers():
    assert REPRODUCERS


@pytest.mark.parametrize("path", REPRODUCERS, ids=lambda p: p.stem)
def test_reproducer_gives_a_dataset_or_a_dicom_error(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fuzz.exercise_rawdicom(path.read_bytes())
        except rawdicom.DicomError:
            pass
