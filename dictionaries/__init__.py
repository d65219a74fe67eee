"""Generated data dictionary tables (*.tsv), installed as package ``rawdicom._dictionaries``.

A package, not loose files, so rawdicom reads them with importlib.resources from wherever it is
installed (wheel, zip, Pyodide) rather than from the repository layout. Regenerate with
``python tools/gen_dictionary.py``; never edit the tables by hand.
"""
