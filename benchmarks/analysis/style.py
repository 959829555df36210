"""One look and one way out for every figure storagebench draws (fit, curves, matrix, reductions, rate–distortion,
theory, the leaderboard's). Figures are ``matplotlib.figure.Figure`` objects on their own Agg canvas: no pyplot state,
no backend switch, nothing left open in a notebook. Log axes label plain numbers, never colliding: major ticks at the
decades and, when an axis spans less than a few decades, at 2× and 5× them (or every multiple on a very short
axis), with unlabelled minor ticks between. ``save`` writes the PNG and the formats ``--format`` asked for."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

FORMATS = ("png", "pdf", "svg")
PNG_DPI = 120
PLAIN = FuncFormatter(lambda value, _: f"{value:g}")
# candidate label positions within each decade, fewest first: the first giving ≥ 3 labels on the axis is used
LABEL_SUBS = ((1.0,), (1.0, 2.0, 5.0), (1.0, 2.0, 3.0, 5.0), tuple(float(k) for k in range(1, 10)))
_extra_formats: list[str] = []


def set_formats(formats: list[str] | tuple[str, ...]) -> None:
    """Besides each PNG, also write these formats (``pdf``, ``svg``) beside it; the CLI's ``--format``."""
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise ValueError(f"figure format(s) {', '.join(unknown)}; choose from {', '.join(FORMATS)}")
    _extra_formats[:] = [f for f in dict.fromkeys(formats) if f != "png"]


def figure(width: float, height: float, rows: int = 1, cols: int = 1) -> tuple[Figure, Any]:
    """A figure (constrained layout: titles, labels and legends never overlap) and its axes."""
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.subplots(rows, cols, squeeze=True)


def colors(name: str, count: int, stop: float = 0.9) -> np.ndarray:
    """``count`` colours of a matplotlib colour map: a qualitative map's in turn, a sequential one's up to ``stop``."""
    cmap = colormaps[name]
    if cmap.N < 256:
        return cmap(np.arange(count) % cmap.N)
    return cmap(np.linspace(0.0, stop, count))


def log_axis(ax: Any, which: str = "both") -> None:
    """Log scale on ``x``, ``y`` or ``both`` axes, with plain, non-colliding labels. Call after plotting: the
    labels are chosen from the data's range."""
    for name in ("x", "y") if which == "both" else (which,):
        getattr(ax, f"set_{name}scale")("log")
        axis = getattr(ax, f"{name}axis")
        low, high = sorted(getattr(ax, f"get_{name}lim")())
        axis.set_major_locator(LogLocator(base=10, subs=_label_subs(low, high)))
        axis.set_major_formatter(PLAIN)
        axis.set_minor_locator(LogLocator(base=10, subs=tuple(float(k) for k in range(1, 10))))
        axis.set_minor_formatter(NullFormatter())


def _label_subs(low: float, high: float) -> tuple[float, ...]:
    if not (0 < low < high < np.inf):
        return LABEL_SUBS[0]
    for subs in LABEL_SUBS:
        ticks = [s * 10.0 ** e for e in range(int(np.floor(np.log10(low))), int(np.ceil(np.log10(high))) + 1)
                 for s in subs]
        if sum(low <= t <= high for t in ticks) >= 3:
            return subs
    return LABEL_SUBS[-1]


def save(fig: Figure, path: Path, dpi: int = PNG_DPI) -> Path:
    """``path`` (a PNG) and, beside it, each extra format; the PNG's path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    for extension in _extra_formats:
        fig.savefig(path.with_suffix(f".{extension}"))
    return path
