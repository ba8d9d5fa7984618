"""Entry point: `python run.py <command>` (see README.md and docs/interfaces.md §1)."""

import sys

from survey.commands import main

if __name__ == "__main__":
    sys.exit(main())
