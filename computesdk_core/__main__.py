"""``python -m computesdk_core``: the command line."""

import sys

from computesdk_core.cli import main

sys.exit(main())
