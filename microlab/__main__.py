"""``python -m microlab``: check and run Conductor workflow definitions (see :mod:`microlab.cli`)."""

import sys

from .cli import main

sys.exit(main())
