"""``python -m dermnet.cli``: the ``dermnet`` command."""

import sys

from dermnet.cli import main

sys.exit(main())
