"""``papers graph``: the citation graph of the indexed papers as a picture (and its edges as data).

Nodes are the papers of a papers index; a solid arrow ``A -> B`` says A's references name B (the
``cites`` of ``papers.json``); with ``shared=N``, a dashed line joins two papers that share at least N
references (bibliographic coupling: reference lines compared after lower-casing and dropping
punctuation), which links papers that cite the same outside work. Papers sit on a circle ordered by year
then title (the picture is the same for the same index), each labelled with its number; the legend
lists number, year, title and cited-by count.
"""

from __future__ import annotations

import io as _io
import math
import re
from pathlib import Path
from typing import Any

from genforge.core.errors import ConfigError
from genforge.render.images import save_picture
from genforge.research.papers import list_papers


def _normal(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def citation_graph(
    store: str | Path, shared: int | None = None, similar: int | None = None
) -> dict[str, Any]:
    """Nodes (number, file, title, year, cited_by) and edges (``cites``: directed; ``shared``: pairs
    with at least ``shared`` common references, with their count; ``similar``: each paper joined to its
    ``similar`` most similar others by TF-IDF cosine, :mod:`genforge.research.papers_similar`) of the
    papers in ``store``."""
    if shared is not None and shared < 1:
        raise ConfigError(f"--shared must be at least 1 reference, got {shared}")
    if similar is not None and similar < 1:
        raise ConfigError(f"--similar must be at least 1 paper, got {similar}")
    papers = sorted(list_papers(store), key=lambda p: (p["year"] or 0, p["title"], p["file"]))
    number = {p["file"]: i + 1 for i, p in enumerate(papers)}
    nodes = [
        {"number": number[p["file"]], "file": p["file"], "title": p["title"], "year": p["year"],
         "cited_by": p["cited_by"]}
        for p in papers
    ]  # fmt: skip
    edges = [
        {"kind": "cites", "source": number[p["file"]], "target": number[f]}
        for p in papers
        for f in p["cites"]
        if f in number
    ]
    if shared is not None:
        refs = [{_normal(r) for r in p["references"]} for p in papers]
        for i in range(len(papers)):
            for j in range(i + 1, len(papers)):
                common = len(refs[i] & refs[j])
                if common >= shared:
                    edges.append({"kind": "shared", "source": i + 1, "target": j + 1, "count": common})
    if similar is not None:
        from genforge.research.papers_similar import similar_edges

        edges += similar_edges(store, [p["file"] for p in papers], similar)
    return {"nodes": nodes, "edges": edges, "shared": shared, "similar": similar}


def graph_png(graph: dict[str, Any]) -> bytes:
    """PNG bytes of :func:`citation_graph`'s record (matplotlib's Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    nodes = graph["nodes"]
    if not nodes:
        raise ConfigError("the papers index holds no paper to draw")
    n = len(nodes)
    where = {
        node["number"]: (
            math.cos(math.pi / 2 - 2 * math.pi * k / n),
            math.sin(math.pi / 2 - 2 * math.pi * k / n),
        )
        for k, node in enumerate(nodes)
    }
    fig, (ax, legend) = plt.subplots(1, 2, figsize=(12, 6.5), gridspec_kw={"width_ratios": [1, 1]})
    for edge in graph["edges"]:
        (x0, y0), (x1, y1) = where[edge["source"]], where[edge["target"]]
        if edge["kind"] == "cites":
            ax.annotate(
                "",
                xy=(x1, y1),
                xytext=(x0, y0),
                arrowprops={"arrowstyle": "-|>", "color": "#4c72b0", "lw": 0.9, "shrinkA": 9, "shrinkB": 9},
            )
        elif edge["kind"] == "similar":
            ax.plot([x0, x1], [y0, y1], linestyle=":", color="#55a868", linewidth=1.2, alpha=0.9)
        else:
            ax.plot([x0, x1], [y0, y1], linestyle="--", color="#dd8452", linewidth=0.8, alpha=0.7)
    most = max((node["cited_by"] for node in nodes), default=0) or 1
    for node in nodes:
        x, y = where[node["number"]]
        ax.scatter(
            [x], [y], s=180 + 420 * node["cited_by"] / most, color="#f2f2f2", edgecolors="#333333", zorder=3
        )
        ax.text(x, y, str(node["number"]), ha="center", va="center", fontsize=7, zorder=4)
    ax.set_xlim(-1.25, 1.25)
    ax.set_ylim(-1.25, 1.25)
    ax.set_aspect("equal")
    ax.axis("off")
    cites = sum(e["kind"] == "cites" for e in graph["edges"])
    title = f"{n} papers, {cites} citations (arrow: cites; size: cited by)"
    if graph.get("shared") is not None:
        title += f"; dashed: ≥ {graph['shared']} shared references"
    if graph.get("similar") is not None:
        title += f"; dotted: {graph['similar']} most similar"
    ax.set_title(title, fontsize=9)
    legend.axis("off")
    lines = [
        f"{node['number']:>3}  {node['year'] or '----'}  {node['title'][:58]}  ({node['cited_by']})"
        for node in nodes
    ]
    legend.text(
        0.0, 1.0, "\n".join(lines), va="top", ha="left", family="monospace", fontsize=min(8, 300 / max(n, 1))
    )
    fig.tight_layout()
    buffer = _io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def draw_graph(
    store: str | Path, out: str | Path, shared: int | None = None, similar: int | None = None
) -> dict[str, Any]:
    """Draw the citation graph of ``store`` to ``out`` (PNG, JPEG or WebP); the graph record with
    ``out``."""
    from genforge.core.paths import check_output_file
    from genforge.render.images import image_format

    image_format(out)
    check_output_file(out)
    graph = citation_graph(store, shared, similar)
    graph["out"] = str(save_picture(graph_png(graph), out))
    return graph
