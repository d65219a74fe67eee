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


def test_a_plain_checkout_runs_without_installing(tmp_path):
    """A copy of the repository's ``rawdicom/`` and ``dictionaries/`` folders, no installer:
    ``import rawdicom`` reads, looks up tags, and ``python -m rawdicom`` runs. ``-S`` keeps
    site-packages (and any installed rawdicom) out of the way."""
    import shutil
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent
    shutil.copytree(root / "rawdicom", tmp_path / "rawdicom")
    shutil.copytree(root / "dictionaries", tmp_path / "dictionaries")
    code = ("import sys; sys.path.insert(0, '.'); import rawdicom; from rawdicom import dictionary; "
            f"ds = rawdicom.read({example_path()!r}); "
            "print(ds['SeriesInstanceUID'].keyword, dictionary.keyword_for(0x00100020), rawdicom.__file__)")
    result = subprocess.run([sys.executable, "-S", "-c", code], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    keyword, patient_id, origin = result.stdout.split()
    assert (keyword, patient_id) == ("SeriesInstanceUID", "PatientID")
    assert Path(origin).resolve().is_relative_to(tmp_path.resolve())
    module = subprocess.run([sys.executable, "-S", "-m", "rawdicom", "tag", "PatientID"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert module.returncode == 0, module.stderr
    assert "(0010,0020) PatientID" in module.stdout


def test_import_loads_only_the_format_layer():
    """The layers above the reader (JSON, model, index, vendor, command line) load on first
    use: `import rawdicom` stays as cheap as reading one file needs."""
    code = ("import sys, rawdicom; print(' '.join(sorted(m for m in sys.modules "
            "if m.startswith(('rawdicom.dicomjson', 'rawdicom.model', 'rawdicom.index', "
            "'rawdicom.vendor', 'rawdicom.cli', 'rawdicom.pixels')))))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
