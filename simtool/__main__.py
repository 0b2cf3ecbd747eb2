"""``python -m simtool`` is the ``simtool`` command."""

import sys

from simtool.cli.main import main

sys.exit(main())
