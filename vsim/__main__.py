"""``python -m vsim``: the ``vsim`` command."""

import sys

from vsim.cli import main

sys.exit(main())
