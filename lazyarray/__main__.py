"""``python -m lazyarray``: the ``lazyarray`` command line (:mod:`lazyarray.cli`)."""

from __future__ import annotations

import sys

from lazyarray.cli import main

if __name__ == "__main__":
    sys.exit(main())
