"""A generic self-contained HTML page builder: text, tables and figures embedded as data
URIs (the evaluation report and `dermnet explain` pages are built with it)."""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from dermnet.metrics.formatting import format_value
from dermnet.metrics.plots import figure_to_png

__all__ = ["HtmlReport"]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;
margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{border-bottom:2px solid #444}h2{margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.6em 0}
td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th{background:#f2f2f2}td:first-child,th:first-child{text-align:left}
figure{margin:1em 0}figure img{max-width:100%}figcaption{color:#555;font-size:.9em}
.note{background:#fff8e1;border-left:4px solid #f0b400;padding:.4em .8em}
"""


def _cell(value: Any) -> str:
    return html.escape(format_value(value))


class HtmlReport:
    """Build one self-contained HTML file (no external files, no network).

    Examples:
        >>> report = HtmlReport("Demo")
        >>> report.add_paragraph("Hello")
        >>> "<p>Hello</p>" in report.render()
        True
    """

    def __init__(self, title: str) -> None:
        self.title = title
        self._parts: list[str] = []

    def add_heading(self, text: str, level: int = 2) -> None:
        """Add a section heading (``level`` 2 to 4)."""
        level = min(max(level, 2), 4)
        self._parts.append(f"<h{level}>{html.escape(text)}</h{level}>")

    def add_paragraph(self, text: str, *, note: bool = False) -> None:
        """Add a paragraph of plain text (``note=True`` highlights it)."""
        cls = ' class="note"' if note else ""
        self._parts.append(f"<p{cls}>{html.escape(text)}</p>")

    def add_list(self, items: Sequence[str]) -> None:
        """Add a bulleted list of plain-text items."""
        body = "".join(f"<li>{html.escape(str(item))}</li>" for item in items)
        self._parts.append(f"<ul>{body}</ul>")

    def add_table(
        self, rows: Sequence[Mapping[str, Any]] | Mapping[str, Any], *, caption: str | None = None
    ) -> None:
        """Add a table from a list of row dicts (columns from the first row) or one dict."""
        if isinstance(rows, Mapping):
            rows = [{"name": k, "value": v} for k, v in rows.items()]
        rows = list(rows)
        if not rows:
            return
        cols = list(rows[0])
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in cols)
        body = "".join(
            "<tr>" + "".join(f"<td>{_cell(r.get(c))}</td>" for c in cols) + "</tr>" for r in rows
        )
        cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
        self._parts.append(
            f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        )

    def add_figure(self, figure: Any, *, caption: str = "", alt: str | None = None) -> None:
        """Embed a matplotlib figure or PNG bytes as a data URI."""
        png = figure if isinstance(figure, (bytes, bytearray)) else figure_to_png(figure)
        data = base64.b64encode(png).decode("ascii")
        alt_text = html.escape(alt or caption or "figure")
        cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
        self._parts.append(
            f'<figure><img alt="{alt_text}" src="data:image/png;base64,{data}">{cap}</figure>'
        )

    def render(self) -> str:
        """The whole document as a string."""
        title = html.escape(self.title)
        body = "\n".join(self._parts)
        return (
            f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{title}</title><style>{_CSS}</style></head>"
            f"<body><h1>{title}</h1>\n{body}\n</body></html>\n"
        )

    def save(self, path: str | Path) -> Path:
        """Write the document to ``path`` and return the path."""
        path = Path(path)
        path.write_text(self.render(), encoding="utf-8")
        return path
