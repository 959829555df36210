"""HTML building blocks of the leaderboard site: escaped cells, sortable tables, embedded images, the page shell.
Everything is inline (CSS, script, PNGs as data URIs), so a page works from a file and behind any static server."""
from __future__ import annotations

import base64
import html
import math
from pathlib import Path
from typing import Any, Callable

CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1500px; padding: 0 1em; color: #222; }
h1, h2, h3 { line-height: 1.2; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; margin: .6em 0 1.2em; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ddd; padding: .25em .55em; text-align: right; white-space: nowrap; }
td.text { white-space: normal; }
th { background: #f3f3f3; cursor: pointer; user-select: none; white-space: nowrap; }
th[aria-sort="ascending"]::after { content: " ▲"; } th[aria-sort="descending"]::after { content: " ▼"; }
td.text, th.text { text-align: left; } tbody.baselines td { background: #fafafa; color: #555; font-style: italic; }
tr.entry:hover td { background: #eef5ff; } img { max-width: 100%; border: 1px solid #eee; }
.note { color: #666; font-size: 12.5px; } nav a { margin-right: 1em; } code { background: #f5f5f5; padding: 0 .2em; }
"""

SORT_SCRIPT = """
function sortTable(th) {
  const table = th.closest("table"), body = table.tBodies[0], col = th.cellIndex;
  const ascending = th.getAttribute("aria-sort") !== "ascending";
  table.querySelectorAll("th").forEach(h => h.removeAttribute("aria-sort"));
  th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  const numeric = th.dataset.type === "num";
  const key = row => {
    const cell = row.cells[col];
    return numeric ? (cell.dataset.value === "" ? NaN : Number(cell.dataset.value)) : cell.textContent.trim();
  };
  const rows = Array.from(body.rows);
  rows.sort((a, b) => {
    const x = key(a), y = key(b);
    if (numeric) {
      if (Number.isNaN(x) || Number.isNaN(y)) return Number.isNaN(x) - Number.isNaN(y);  // blanks last
      return ascending ? x - y : y - x;
    }
    return ascending ? x.localeCompare(y) : y.localeCompare(x);
  });
  rows.forEach(row => body.appendChild(row));
}
document.querySelectorAll("table.sortable th").forEach(th => th.addEventListener("click", () => sortTable(th)));
"""

esc = html.escape


def fmt(value: Any, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.{digits}g}"
    return str(value)


def interval(row: dict[str, Any], key: str) -> str:
    low, high = row.get(f"{key}_lo"), row.get(f"{key}_hi")
    return f"{fmt(row.get(key))} [{fmt(low, 3)}, {fmt(high, 3)}]" if low is not None else fmt(row.get(key))


Column = tuple[str, str, Callable[[dict[str, Any]], Any], Callable[[dict[str, Any]], str] | None]


def num(title: str, key: str, render: Callable[[dict[str, Any]], str] | None = None) -> Column:
    return (title, "num", lambda row: row.get(key), render)


def text(title: str, render: Callable[[dict[str, Any]], str]) -> Column:
    return (title, "text", render, None)


def _cell(column: Column, row: dict[str, Any]) -> str:
    _, kind, value, render = column
    if kind == "text":
        return f'<td class="text">{value(row)}</td>'
    raw = value(row)
    data = "" if raw is None else repr(float(raw))
    return f'<td data-value="{data}">{render(row) if render else esc(fmt(raw))}</td>'


def table(columns: list[Column], rows: list[dict[str, Any]], *, table_id: str = "", row_class: str = "entry",
          extra_rows: list[dict[str, Any]] | None = None) -> str:
    """A sortable table: ``rows`` in the sortable body, ``extra_rows`` (baselines) in a second body below."""
    head = "".join(f'<th data-type="{kind}" class="{"text" if kind == "text" else ""}">{esc(title)}</th>'
                   for title, kind, _, _ in columns)
    body = "".join(f'<tr class="{row_class}">' + "".join(_cell(c, r) for c in columns) + "</tr>" for r in rows)
    extra = ""
    if extra_rows:
        extra = '<tbody class="baselines">' + "".join(
            '<tr class="baseline">' + "".join(_cell(c, r) for c in columns) + "</tr>" for r in extra_rows) + "</tbody>"
    ident = f' id="{esc(table_id)}"' if table_id else ""
    return f'<table class="sortable"{ident}><thead><tr>{head}</tr></thead><tbody>{body}</tbody>{extra}</table>'


def image(path: Path | None, alt: str) -> str:
    if path is None:
        return f'<p class="note">{esc(alt)}: not available</p>'
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img alt="{esc(alt)}" src="data:image/png;base64,{data}">'


def page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{esc(title)}</title>'
            f"<style>{CSS}</style></head><body>{body}<script>{SORT_SCRIPT}</script></body></html>\n")
