"""Markdown tables for the reports and the walkthrough, and the one way their numbers
are written."""

from collections.abc import Iterable, Sequence

# Each column's separator cell: its alignment.
LEFT, RIGHT = "---", "--:"


def number(value, unit: str = "", *, digits: int = 1, grouping: bool = True) -> str:
    """A table cell for a figure: 1,234.5 (`digits` after the point for a float, none for
    an int), `unit` appended; "–" for a missing figure."""
    if value is None:
        return "–"
    comma = "," if grouping else ""
    if isinstance(value, float):
        return f"{value:{comma}.{digits}f}{unit}"
    return f"{value:{comma}}{unit}"


def table(header: Sequence[str], align: Sequence[str], rows: Iterable[Sequence]) -> str:
    """A Markdown table: the header's cells, each column's separator cell (LEFT, RIGHT
    or another), then a line per row; cells are written with str()."""
    lines = [_line(header), "|" + "|".join(align) + "|"]
    lines.extend(_line(row) for row in rows)
    return "\n".join(lines)


def _line(cells: Iterable) -> str:
    return "| " + " | ".join(map(str, cells)) + " |"
