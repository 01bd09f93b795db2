"""``python -m bplight`` runs the command line."""

import sys

from bplight.cli import main

sys.exit(main())
