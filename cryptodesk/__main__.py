"""``python -m cryptodesk``: the same entry point as the ``cryptodesk`` command."""

from cryptodesk.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
