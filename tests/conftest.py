"""Test-wide settings.

In CI (the CI environment variable set), hypothesis runs derandomized: the
same examples every run, so a submission's result does not depend on luck.
New examples are explored by every developer's local runs (random by default)
and by tools/fuzz.py.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
