"""``python -m aiimpact`` runs the CLI."""

import sys

from aiimpact.cli import main

sys.exit(main())
