"""`import rawdicom` and reading every element need the standard library only."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from rawdicom.cli import example_path


def _run_without_numpy(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter where numpy and imagecodecs cannot be imported."""
    prelude = textwrap.dedent("""
        import sys
        sys.modules["numpy"] = None        # `import numpy` now raises ImportError
        sys.modules["imagecodecs"] = None
    """)
    return subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=60)


def test_import_and_read_without_numpy_or_imagecodecs():
    result = _run_without_numpy(f"""
        import rawdicom
        ds = rawdicom.read({example_path()!r})
        for depth, el in ds.walk():
            el.value
        print(ds.PatientName.family_name, len(ds))
        assert "numpy" not in [m for m in sys.modules if sys.modules[m] is not None]
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "Phantom"


def test_pixel_functions_name_the_extra_to_install():
    result = _run_without_numpy(f"""
        import rawdicom
        ds = rawdicom.read({example_path()!r})
        try:
            rawdicom.pixel_array(ds)
        except ImportError as exc:
            print(exc)
    """)
    assert result.returncode == 0, result.stderr
    assert "rawdicom[pixels]" in result.stdout


def test_import_does_not_load_the_dictionary_tables():
    result = subprocess.run([sys.executable, "-c", "import rawdicom, rawdicom.dictionary as d; "
                             "print(d._tables is None)"], capture_output=True, text=True)
    assert result.stdout.strip() == "True", result.stderr
