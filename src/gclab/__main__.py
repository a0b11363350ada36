"""``python -m gclab``: the same command line as the ``gclab`` script."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
