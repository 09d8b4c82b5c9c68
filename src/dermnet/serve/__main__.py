"""``python -m dermnet.serve RUN``: the same as ``dermnet serve RUN``."""

import sys

from dermnet.serve.command import main

if __name__ == "__main__":
    sys.exit(main())
