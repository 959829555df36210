"""HTML building blocks of the leaderboard site: escaped cells, sortable tables (each in its own scroll container
with a sticky header and first column; headers are buttons, so sorting works from the keyboard, and carry their
column's explanation as a tooltip), a filter box, embedded images, the page shell. Everything is inline (CSS,
script, PNGs as data URIs), so a page works from a file and behind any static server."""
from __future__ import annotations

import base64
import html
import math
from pathlib import Path
from typing import Any, Callable

CSS = """
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1500px; padding: 0 1em; color: #222;
       overflow-wrap: anywhere; }
h1, h2, h3 { line-height: 1.2; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 2em; }
.scroll { overflow: auto; max-width: 100%; max-height: 75vh; margin: .6em 0 1.2em; border: 1px solid #ddd; }
table { border-collapse: separate; border-spacing: 0; font-variant-numeric: tabular-nums; }
th, td { border-right: 1px solid #e3e3e3; border-bottom: 1px solid #e3e3e3; padding: .25em .55em; text-align: right;
         white-space: nowrap; overflow-wrap: normal; background: #fff; }
td.text { white-space: normal; min-width: 8em; max-width: 28em; }
thead th { position: sticky; top: 0; z-index: 2; background: #f3f3f3; }
th:first-child, td:first-child { position: sticky; left: 0; z-index: 1; }
thead th:first-child { z-index: 3; }
th button { font: inherit; font-weight: bold; background: none; border: 0; padding: 0; cursor: pointer; color: inherit; }
th button:focus-visible { outline: 2px solid #36c; }
th[aria-sort="ascending"] button::after { content: " ▲"; } th[aria-sort="descending"] button::after { content: " ▼"; }
td.text, th.text { text-align: left; } tbody.baselines td { background: #fafafa; color: #555; font-style: italic; }
tr.entry:hover td { background: #eef5ff; } img { max-width: 100%; height: auto; border: 1px solid #eee; }
.note { color: #666; font-size: 12.5px; } nav a { margin-right: 1em; display: inline-block; }
code { background: #f5f5f5; padding: 0 .2em; } .flag { color: #b35900; }
#filter { font: inherit; padding: .3em .5em; width: min(28em, 100%); }
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
document.querySelectorAll("table.sortable th button").forEach(
  button => button.addEventListener("click", () => sortTable(button.closest("th"))));
const filter = document.getElementById("filter");
if (filter) filter.addEventListener("input", () => {
  const query = filter.value.trim().toLowerCase();
  document.querySelectorAll("table.sortable tbody:not(.baselines) tr").forEach(row => {
    row.hidden = query !== "" && !row.textContent.toLowerCase().includes(query);
  });
});
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


def interval(row: dict[str, Any], key: str, spec: str | None = None) -> str:
    """``value [low, high]``; with ``spec`` (e.g. ".4f") every number in that format."""
    show = (lambda v: "—" if v is None else format(v, spec)) if spec else (lambda v: fmt(v, 3))
    low, high = row.get(f"{key}_lo"), row.get(f"{key}_hi")
    value = show(row.get(key)) if spec else fmt(row.get(key))
    return f"{value} [{show(low)}, {show(high)}]" if low is not None else value


Column = tuple[str, str, Callable[[dict[str, Any]], Any], Callable[[dict[str, Any]], str] | None, str]


def num(title: str, key: str, render: Callable[[dict[str, Any]], str] | None = None, help: str = "") -> Column:
    return (title, "num", lambda row: row.get(key), render, help)


def text(title: str, render: Callable[[dict[str, Any]], str], help: str = "") -> Column:
    return (title, "text", render, None, help)


def _cell(column: Column, row: dict[str, Any]) -> str:
    _, kind, value, render, _ = column
    if kind == "text":
        return f'<td class="text">{value(row)}</td>'
    raw = value(row)
    data = "" if raw is None else repr(float(raw))
    return f'<td data-value="{data}">{render(row) if render else esc(fmt(raw))}</td>'


def table(columns: list[Column], rows: list[dict[str, Any]], *, table_id: str = "", row_class: str = "entry",
          extra_rows: list[dict[str, Any]] | None = None) -> str:
    """A sortable table: ``rows`` in the sortable body, ``extra_rows`` (baselines) in a second body below."""
    head = "".join(f'<th data-type="{kind}" class="{"text" if kind == "text" else ""}"'
                   f'{f" title={chr(34)}{esc(help)}{chr(34)}" if help else ""}><button type="button">{esc(title)}'
                   f"</button></th>" for title, kind, _, _, help in columns)
    body = "".join(f'<tr class="{row_class}">' + "".join(_cell(c, r) for c in columns) + "</tr>" for r in rows)
    extra = ""
    if extra_rows:
        extra = '<tbody class="baselines">' + "".join(
            '<tr class="baseline">' + "".join(_cell(c, r) for c in columns) + "</tr>" for r in extra_rows) + "</tbody>"
    ident = f' id="{esc(table_id)}"' if table_id else ""
    return (f'<div class="scroll"><table class="sortable"{ident}><thead><tr>{head}</tr></thead><tbody>{body}</tbody>'
            f"{extra}</table></div>")


def image(path: Path | None, alt: str) -> str:
    if path is None:
        return f'<p class="note">{esc(alt)}: not available</p>'
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img alt="{esc(alt)}" src="data:image/png;base64,{data}">'


def page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{esc(title)}</title>'
            f"<style>{CSS}</style></head><body>{body}<script>{SORT_SCRIPT}</script></body></html>\n")
