"""Entry point of the PyInstaller bundle: the same as the ``cryptodesk`` command."""

import multiprocessing
import sys

from cryptodesk.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # Windows: worker processes of a frozen app
    sys.exit(main())
