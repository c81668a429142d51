"""Figures drawn to pictures: a matplotlib Figure that notebooks show, and its PNG bytes.

No pyplot: nothing global is created, so nothing leaks between cells or threads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["figure_png", "new_figure"]


def new_figure(width: float, height: float) -> Figure:
    """A matplotlib Figure of ``width`` x ``height`` inches that a notebook shows as a PNG."""
    from matplotlib.figure import Figure

    # a plain Figure (not pyplot): nothing global is created, so nothing leaks
    # between cells or threads; Jupyter displays it as the cell's result
    _show_figures_in_notebooks(Figure)
    return Figure(figsize=(width, height), layout="constrained")


def figure_png(figure: Figure) -> bytes:
    """The PNG bytes of ``figure``, trimmed to what is drawn."""
    import io

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()


def _show_figures_in_notebooks(figure_class: type[Figure]) -> None:
    """Let a notebook show a Figure returned by a cell as a PNG.

    IPython learns to draw figures only once pyplot is imported; these figures
    never touch pyplot, so the PNG formatter is registered here instead.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    shell.display_formatter.formatters["image/png"].for_type(figure_class, figure_png)
