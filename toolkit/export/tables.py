"""Tables of the stakeholder report: numbers formatted by their column's kind, wide tables set
small, very wide ones split into parts that repeat the row labels (:func:`tidy_tables`)."""

from __future__ import annotations

import re
from html import escape as html_escape

__all__ = ["tidy_tables", "WIDE_COLUMNS", "SPLIT_COLUMNS"]

_NUMBER_RE = re.compile(r"^\s*[-+]?(\d+\.?\d*(e[-+]?\d+)?|\.\d+(e[-+]?\d+)?|nan|inf)\s*$", re.I)
_CELL_RE = re.compile(r"(<t([hd])(?:\s[^>]*)?>)(.*?)(</t[hd]>)", re.S | re.I)
_TABLE_RE = re.compile(r"<table\b.*?</table>", re.S | re.I)
#: columns above which a table is set in small type, and above which it is split into parts
#: (each repeating the row labels) that fit a portrait page
WIDE_COLUMNS, SPLIT_COLUMNS = 7, 11


def _format_cell(header: str, text: str) -> str:
    """A plain number in a table cell, formatted by its column's kind; anything else unchanged."""
    from toolkit.findings import _number, format_value, value_kind

    if not _NUMBER_RE.match(text):
        return text
    raw = text.strip()
    v = float(raw)
    if v != v:  # nan
        return "—"
    is_int = re.fullmatch(r"[-+]?\d+", raw) is not None
    kind = value_kind(header)
    if is_int:
        return f"{int(raw):,}" if abs(v) >= 10_000 else raw
    if kind == "p":
        return format_value("p", v)
    if kind == "percent" and -0.0001 <= v <= 1.0001:
        return format_value("share", v)
    if kind == "signed_percent" and abs(v) < 10:
        return format_value("rel_lift", v)
    if kind in ("seconds", "usd"):
        return format_value(header, v)
    return _number(v)


def _tidy_table(table: str, numbers: bool = True) -> str:
    rows = re.findall(r"<tr\b[^>]*>.*?</tr>", table, re.S | re.I)
    if not rows:
        return table
    head_end = table.lower().find("</thead>")
    cells = [list(_CELL_RE.finditer(r)) for r in rows]
    ncols = max(len(c) for c in cells)
    names = [""] * ncols
    for row, cs in zip(rows, cells):
        in_head = head_end >= 0 and table.find(row) < head_end
        if in_head and len(cs) == ncols:
            for j, m in enumerate(cs):
                text = re.sub(r"<[^>]+>", "", m.group(3)).strip()
                if text:
                    names[j] = text

    def fix_row(row: str, in_head: bool) -> str:
        cs = list(_CELL_RE.finditer(row))
        if len(cs) != ncols and not in_head:
            return row
        out, pos = [], 0
        for j, m in enumerate(cs):
            content = m.group(3)
            if in_head or m.group(2).lower() == "h":
                if "<" not in content:  # let long snake_case headers break after "_"
                    content = re.sub(r"_(?=\w)", "_<wbr>", content)
            elif "<" not in content:
                new = _format_cell(names[j], content) if numbers else content
                if new != content:
                    content = html_escape(new)
            out.append(row[pos:m.start()] + m.group(1) + content + m.group(4))
            pos = m.end()
        out.append(row[pos:])
        return "".join(out)

    out, pos = [], 0
    for row in rows:
        i = table.find(row, pos)
        in_head = head_end >= 0 and i < head_end
        out.append(table[pos:i] + fix_row(row, in_head))
        pos = i + len(row)
    out.append(table[pos:])
    new = "".join(out)
    if ncols > SPLIT_COLUMNS:
        parts = _split_columns(new, ncols)
        if parts:
            return "".join(f'<div class="report-wide report-split">{p}</div>' for p in parts)
    if ncols > WIDE_COLUMNS:
        return f'<div class="report-wide">{new}</div>'
    return new


def _split_columns(table: str, ncols: int) -> list[str] | None:
    """A very wide table as several tables of at most :data:`SPLIT_COLUMNS` columns each, every
    part repeating the row labels (the index and the first column); None when its rows are not
    a plain grid (merged cells)."""
    rows = re.findall(r"<tr\b[^>]*>.*?</tr>", table, re.S | re.I)
    grid = [list(_CELL_RE.finditer(r)) for r in rows]
    if any(len(cs) != ncols for cs in grid):
        return None
    body = [cs for r, cs in zip(rows, grid) if table.find(r) > table.lower().find("</thead>")]
    lead = 0
    while lead < ncols and body and all(cs[lead].group(2).lower() == "h" for cs in body):
        lead += 1
    keep = list(range(min(lead + 1, ncols)))  # the index cells and the first data column
    rest = [j for j in range(ncols) if j not in keep]
    width = max(SPLIT_COLUMNS - len(keep), 3)
    n_parts = -(-len(rest) // width)
    size = -(-len(rest) // n_parts)  # parts of even width
    start = re.match(r"\s*(<style.*?</style>\s*)?<table\b[^>]*>", table, re.S | re.I)
    opening = start.group(0) if start else "<table>"
    head_end = table.lower().find("</thead>")
    parts = []
    for k in range(n_parts):
        cols = keep + rest[k * size:(k + 1) * size]
        head, tbody = [], []
        for r, cs in zip(rows, grid):
            tr = re.match(r"<tr\b[^>]*>", r).group(0)
            cells = "".join(cs[j].group(0) for j in cols)
            (head if head_end >= 0 and table.find(r) < head_end else tbody).append(f"{tr}{cells}</tr>")
        label = f'<p class="report-part">columns {k + 1} of {n_parts}</p>' if n_parts > 1 else ""
        parts.append(f"{label}{opening}<thead>{''.join(head)}</thead><tbody>{''.join(tbody)}</tbody></table>")
    return parts


def tidy_tables(html: str, *, numbers: bool = True) -> str:
    """Make the HTML tables of an output fit a page: numbers formatted by their column's kind
    (p-values, percent, seconds, dollars, counts with separators), long ``snake_case`` headers
    allowed to break, wide tables set in small type (``report-wide``) and very wide ones split
    into parts of at most :data:`SPLIT_COLUMNS` columns that repeat the row labels. Only the
    markup and plain numbers change: cell text is kept as it is (it is already escaped by
    whoever wrote the table). ``numbers=False`` keeps the numbers as they are (the full
    notebook's PDF).

    Examples
    --------
    >>> t = ("<table><thead><tr><th></th><th>p_value</th><th>share</th><th>fit_seconds</th></tr></thead>"
    ...      "<tbody><tr><th>0</th><td>2.2e-08</td><td>0.4975</td><td>9.696e-01</td></tr></tbody></table>")
    >>> print(tidy_tables(t))  # doctest: +NORMALIZE_WHITESPACE
    <table><thead><tr><th></th><th>p_<wbr>value</th><th>share</th><th>fit_<wbr>seconds</th></tr></thead><tbody><tr><th>0</th><td>&lt; 0.001</td><td>49.8 %</td><td>0.97 s</td></tr></tbody></table>
    """
    return _TABLE_RE.sub(lambda m: _tidy_table(m.group(0), numbers), html)

