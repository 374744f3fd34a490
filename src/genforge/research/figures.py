"""The one home of the small figure and table helpers the research pictures and reports share:
matplotlib's Agg pyplot (imported only when a picture is drawn), a figure as reproducible PNG bytes
(no software stamp, 100 dpi), an HTML table cell and table, and a PNG inlined as an ``<img>``."""

from __future__ import annotations

import base64
import html
import io
import math
from typing import Any


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def png_bytes(fig) -> bytes:
    """``fig`` laid out and saved as PNG bytes (the same bytes for the same figure), then closed."""
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    pyplot().close(fig)
    return buffer.getvalue()


def cell(value: Any) -> str:
    """One table cell: floats to 6 significant digits, a pair of floats as an interval, text escaped."""
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.6g}"
    if isinstance(value, list | tuple) and len(value) == 2 and all(isinstance(v, float) for v in value):
        return f"[{cell(value[0])}, {cell(value[1])}]"
    return html.escape("" if value is None else str(value))


def html_table(columns: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def png_img(data: bytes, alt: str) -> str:
    """PNG bytes inlined as an ``<img>`` (a data URI: the page needs no other file)."""
    return f"<img alt='{alt}' src='data:image/png;base64,{base64.b64encode(data).decode('ascii')}'>"
