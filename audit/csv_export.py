"""CSV that spreadsheets open safely. No Django here: the audit log and the inventory both use it.

Subjects, friendly names, owners and user names are untrusted text. A spreadsheet treats a cell
that starts with = + - @ (or a tab or carriage return before them) as a formula, so such a cell
gets a leading apostrophe: the spreadsheet then shows it as text and evaluates nothing.
"""

import csv
from collections.abc import Iterable, Iterator

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def formula_safe(value) -> str:
    """The text of one cell; numbers we computed stay numbers, text gets defused."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    if text.startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


class _Line:
    """A file-like target for csv.writer that hands back each line instead of storing it."""

    def write(self, line: str) -> str:
        return line


def csv_lines(header: Iterable[str], rows: Iterable[Iterable]) -> Iterator[str]:
    """The header, then one CSV line per row, every cell made formula-safe."""
    writer = csv.writer(_Line())
    yield writer.writerow([formula_safe(cell) for cell in header])
    for row in rows:
        yield writer.writerow([formula_safe(cell) for cell in row])
