"""The benchmark report: titled tables printed as Markdown (ready for benchmarks/README.md)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Table:
    """One section of the report: a title, column names, rows of cells, and notes.

    Cells may be anything; numbers are formatted by :func:`cell`.
    """

    title: str
    columns: list
    rows: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    def add(self, *cells) -> None:
        """Append a row; it must have one cell per column."""
        if len(cells) != len(self.columns):
            raise ValueError(f"table {self.title!r}: a row needs {len(self.columns)} cells "
                             f"({', '.join(map(str, self.columns))}), got {len(cells)}: {cells!r}")
        self.rows.append(list(cells))

    def to_markdown(self) -> str:
        """The table as Markdown, with its title as a heading and notes below."""
        text = [[cell(c) for c in row] for row in self.rows]
        lines = [f"### {self.title}", ""]
        lines.append("| " + " | ".join(map(str, self.columns)) + " |")
        # Numbers align right, text left: a column is numeric when all its cells are.
        numeric = [all(isinstance(row[i], (int, float)) and not isinstance(row[i], bool)
                       for row in self.rows if row[i] is not None) and bool(self.rows)
                   for i in range(len(self.columns))]
        lines.append("|" + "|".join("---:" if n else "---" for n in numeric) + "|")
        lines.extend("| " + " | ".join(row) + " |" for row in text)
        for note in self.notes:  # one paragraph each
            lines.extend(["", note])
        return "\n".join(lines)


def cell(value) -> str:
    """Format one cell: thousands separators for integers, 3 significant digits for floats."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.3g}"
    return str(value)


def from_rows(title: str, rows: list[dict], notes: list | None = None) -> Table:
    """A table from a list of dicts (columns in order of first appearance)."""
    columns: list = []
    for row in rows:
        for key in row:
            if key not in columns:
                columns.append(key)
    table = Table(title, columns, notes=list(notes or []))
    for row in rows:
        table.add(*(row.get(c) for c in columns))
    return table
