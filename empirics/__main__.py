"""``python -m empirics <command>``: measure (engine), train and run (zoo presets)."""

import sys

from empirics.cli import main

if __name__ == "__main__":
    sys.exit(main())
