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
    if type(value) is str:  # most cells: the shortest way
        return "'" + value if value.startswith(FORMULA_TRIGGERS) else value
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


class _Lines:
    """A file-like target for csv.writer that keeps the lines written until they are taken."""

    def __init__(self):
        self.lines: list[str] = []

    def write(self, line: str) -> None:
        self.lines.append(line)

    def take(self) -> str:
        text = "".join(self.lines)
        self.lines.clear()
        return text


def csv_lines(
    header: Iterable[str], rows: Iterable[Iterable], *, rows_per_chunk: int = 1
) -> Iterator[str]:
    """The header, then the rows, every cell made formula-safe; the header goes out alone and
    the rows `rows_per_chunk` lines at a time (a long export need not send line by line)."""
    target = _Lines()
    writer = csv.writer(target)
    writer.writerow([formula_safe(cell) for cell in header])
    yield target.take()
    for row in rows:
        writer.writerow([formula_safe(cell) for cell in row])
        if len(target.lines) >= rows_per_chunk:
            yield target.take()
    if target.lines:
        yield target.take()
