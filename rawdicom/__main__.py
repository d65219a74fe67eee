"""``python -m rawdicom``: the command line, installed or run from a checkout."""

import sys

from .cli import main

sys.exit(main())
