"""Errors of the sentiment and external-series features.

They subclass :class:`~cryptodesk.errors.DataError` (itself a ``CryptoDeskError``), so the CLI
prints them as one line and the GUI shows them in a dialog, like every other data problem.
"""

from __future__ import annotations

from cryptodesk.errors import DataError


class SentimentError(DataError):
    """A sentiment dataset, lexicon or scorer cannot do what was asked."""


class TextImportError(SentimentError):
    """A text file could not be imported. The message names the file, the line and the problem.

    Same shape as :class:`~cryptodesk.errors.CsvImportError`, so the GUI can point at the line.
    """

    def __init__(self, path: object, problem: str, row: int | None = None) -> None:
        self.path = str(path)
        self.problem = problem
        self.row = row
        where = self.path + (f", line {row}" if row is not None else "")
        super().__init__(f"{where}: {problem}")
