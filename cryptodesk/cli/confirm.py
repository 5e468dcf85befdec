"""Asking before a delete. On a terminal: a y/N question (anything but y or yes keeps the thing).
Elsewhere (a script, a pipe, a closed stdin) the command refuses in one line that names
``--yes``: it neither hangs on a question nobody sees nor ends in a traceback at end of input."""

from __future__ import annotations

import sys

from cryptodesk.errors import CryptoDeskError


def confirmed(question: str, what: str, yes: bool, error: type[CryptoDeskError]) -> bool:
    """True when ``yes`` was given or the user answers y/yes to ``question``; ``error`` (the
    command's own kind) when there is no terminal to ask on, naming ``what`` would be deleted."""
    if yes:
        return True
    if not sys.stdin.isatty():
        raise error(f"refusing to delete {what} without --yes (no terminal to confirm)")
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:  # Ctrl+D at the question: the same as no
        print()
        return False
    return answer.strip().lower() in ("y", "yes")
