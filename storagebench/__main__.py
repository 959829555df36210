"""``python -m storagebench``: the ``storagebench`` command."""
import sys

from storagebench.benchmarks.cli import main

sys.exit(main())
