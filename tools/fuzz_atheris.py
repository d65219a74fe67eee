"""Coverage-guided fuzzing of rawdicom with atheris (optional: ``pip install atheris``).

    python tools/fuzz_atheris.py CORPUS_DIR [atheris/libFuzzer options, e.g. -max_total_time=600]

The target is tools/fuzz.py's ``exercise_rawdicom`` (read, every value, walk,
str, pixel_array, write and re-read); a DicomError or ImportError is an
expected outcome, anything else is reported by libFuzzer as a crash with its
input saved.  Seed CORPUS_DIR with DICOM files (e.g. pydicom's test files).
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent))
with atheris.instrument_imports():
    import rawdicom
    import fuzz


def test_one_input(data: bytes) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fuzz.exercise_rawdicom(data)
        except (rawdicom.DicomError, ImportError):
            pass


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
